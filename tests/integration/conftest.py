"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from contracts.envelope import new_event_id
from services.common.mongo import Document
from tests.conftest import Stack
from tests.integration.test_stores import Commands


@pytest.fixture
async def db(stack: Stack) -> AsyncIterator[AsyncDatabase[Document]]:
    """A throwaway database on the stack's server."""
    client: AsyncMongoClient[Document] = AsyncMongoClient(stack.mongodb_uri, tz_aware=True)
    name = f"lt_test_{new_event_id()[-12:]}"
    yield client[name]
    await client.drop_database(name)
    await client.close()


@pytest.fixture
async def watched(stack: Stack) -> AsyncIterator[tuple[AsyncDatabase[Document], Commands]]:
    """A throwaway database on the stack's server, with every command it is sent noted."""
    commands = Commands()
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        stack.mongodb_uri, tz_aware=True, event_listeners=[commands]
    )
    name = f"lt_test_{new_event_id()[-12:]}"
    yield client[name], commands
    await client.drop_database(name)
    await client.close()
