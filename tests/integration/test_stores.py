"""The stores against the real MongoDB-protocol server (FerretDB, or MongoDB if configured)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from contracts.envelope import new_event_id
from services.common.mongo import Document
from services.credential.store import CredentialStore
from services.learner.store import LearnerStore
from tests.conftest import Stack


@pytest.fixture
async def db(stack: Stack) -> AsyncIterator[AsyncDatabase[Document]]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(stack.mongodb_uri, tz_aware=True)
    name = f"lt_test_{new_event_id()[-12:]}"
    yield client[name]
    await client.drop_database(name)
    await client.close()


async def test_trail_entries_are_stored_once_whatever_is_redelivered(
    db: AsyncDatabase[Document],
) -> None:
    store = CredentialStore(db)
    await store.ensure_indexes()
    entries = [{"_id": f"r{i}", "learner_id": "L1", "title": f"Khóa {i}"} for i in range(5)]
    assert await store.add_entries(entries[:3]) == 3
    assert await store.add_entries(entries) == 2
    assert await store.add_entries([{**entries[0], "title": "changed"}]) == 0
    found = (await store.entries_of(["L1"]))["L1"]
    assert len(found) == 5 and found[0]["title"] == "Khóa 0"


async def test_a_provider_reference_names_one_record(db: AsyncDatabase[Document]) -> None:
    store = LearnerStore(db)
    await store.ensure_indexes()
    doc = {
        "_id": "rec-1",
        "provider_id": "P",
        "provider_record_ref": "R-1",
        "state": "pending",
        "created_at": datetime.now(UTC),
    }
    assert await store.add_pending_record(doc) is not None
    assert await store.add_pending_record({**doc, "_id": "rec-2"}) is None
    assert (await store.record_by_ref("P", "R-1"))["_id"] == "rec-1"  # type: ignore[index]


async def test_one_national_id_hash_is_one_learner(db: AsyncDatabase[Document]) -> None:
    store = LearnerStore(db)
    await store.ensure_indexes()
    first = await store.add_learner({"_id": "L1", "id_hash": "h"})
    second = await store.add_learner({"_id": "L2", "id_hash": "h"})
    assert first["_id"] == second["_id"] == "L1"
