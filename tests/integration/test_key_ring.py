"""The issuer's key ring shared by two credential instances (two clients, one database): a
rotation made by one is used by the other once its cached ring is older than the TTL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from cryptography.fernet import Fernet
from pymongo import AsyncMongoClient

from contracts.envelope import new_event_id
from services.common.broker import EventLog
from services.common.mongo import Document
from services.credential import issuing
from services.credential.issuing import Issuer
from services.credential.store import CredentialStore
from tests.conftest import Stack


@pytest.fixture
async def two_issuers(stack: Stack) -> AsyncIterator[tuple[Issuer, Issuer]]:
    name = f"lt_test_{new_event_id()[-12:]}"
    secret = Fernet.generate_key().decode()
    clients: list[AsyncMongoClient[Document]] = [
        AsyncMongoClient(stack.mongodb_uri, tz_aware=True) for _ in range(2)
    ]
    issuers = [
        Issuer(
            CredentialStore(client[name]),
            EventLog(stack.kafka, "test-key-ring"),
            None,  # type: ignore[arg-type]  # keys need neither documents nor schemas
            None,  # type: ignore[arg-type]
            "https://credential.example.vn",
            "Sở Giáo dục và Đào tạo",
            secret,
        )
        for client in clients
    ]
    yield issuers[0], issuers[1]
    await clients[0].drop_database(name)
    for client in clients:
        await client.close()


async def test_a_rotation_by_one_instance_reaches_the_other_within_the_ttl(
    two_issuers: tuple[Issuer, Issuer], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = two_issuers
    before = (await first.key_ring()).current.public_key_multibase
    assert (await second.key_ring()).current.public_key_multibase == before  # one ring

    rotated = await second.rotate()
    after = rotated.current.public_key_multibase
    assert after != before and rotated.public_keys()[0] == before  # the old key still verifies
    assert (await first.key_ring()).current.public_key_multibase == before  # cached, within TTL

    monkeypatch.setattr(issuing, "KEY_RING_TTL", 0.0)
    ring = await first.key_ring()
    assert ring.current.public_key_multibase == after
    assert ring.public_keys() == rotated.public_keys()
