"""Status-list positions against the real MongoDB-protocol server: two instances (two
clients, two stores) allocating at once never share a position, and concurrent revocations
all stand."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient

from contracts.envelope import new_event_id
from services.common.mongo import Document
from services.credential.store import CredentialStore
from tests.conftest import Stack


@pytest.fixture
async def two_instances(stack: Stack) -> AsyncIterator[tuple[CredentialStore, CredentialStore]]:
    name = f"lt_test_{new_event_id()[-12:]}"
    clients: list[AsyncMongoClient[Document]] = [
        AsyncMongoClient(stack.mongodb_uri, tz_aware=True) for _ in range(2)
    ]
    yield CredentialStore(clients[0][name]), CredentialStore(clients[1][name])
    await clients[0].drop_database(name)
    for client in clients:
        await client.close()


async def test_two_instances_issuing_200_credentials_at_once_get_distinct_positions(
    two_instances: tuple[CredentialStore, CredentialStore],
) -> None:
    first, second = two_instances
    sizes = [1 + n % 4 for n in range(200)]  # a credential takes its CLR's and each record's
    at_once = asyncio.Semaphore(40)  # as many requests in flight as two busy instances have

    async def issue(store: CredentialStore, size: int) -> list[int]:
        async with at_once:
            return await store.allocate_status_indices("list-1", size)

    allocated = await asyncio.gather(
        *(issue(first if n % 2 else second, size) for n, size in enumerate(sizes))
    )
    assert [len(a) for a in allocated] == sizes
    every = [i for a in allocated for i in a]
    assert len(every) == len(set(every)) == sum(sizes)
    assert await first.status_indices.count_documents({"list_id": "list-1"}) == sum(sizes)


async def test_concurrent_revocations_all_stand(
    two_instances: tuple[CredentialStore, CredentialStore],
) -> None:
    first, second = two_instances
    await asyncio.gather(
        *((first if n % 2 else second).revoke_indices("list-1", [n, n + 1000]) for n in range(50))
    )
    await first.revoke_indices("list-1", [3])  # again: nothing changes
    revoked = await second.revoked_indices("list-1")
    assert revoked == sorted([*range(50), *range(1000, 1050)])
