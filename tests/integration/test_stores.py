"""Stores and projections against the real MongoDB-protocol server (FerretDB, or MongoDB if
configured) and the real Kafka broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from contracts import learners, records
from contracts.envelope import Envelope, new_event_id
from contracts.learners import LearnerMerged, LearnerRegistered
from contracts.records import LearningRecordCorrected, LearningRecordRecorded, LearningRecordRevoked
from services.common.broker import EventLog
from services.common.mongo import Document
from services.credential.projection import TrailProjection
from services.credential.recognition import load_rules
from services.credential.store import CredentialStore
from services.learner.store import LearnerStore, learner_key, record_key
from tests.conftest import Stack, record

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
async def db(stack: Stack) -> AsyncIterator[AsyncDatabase[Document]]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(stack.mongodb_uri, tz_aware=True)
    name = f"lt_test_{new_event_id()[-12:]}"
    yield client[name]
    await client.drop_database(name)
    await client.close()


@pytest.fixture
async def broker(stack: Stack) -> AsyncIterator[EventLog]:
    log = EventLog(stack.kafka, "test-stores")
    await log.start()
    yield log
    await log.stop()


def envelope(event_type: str, subject: str, data: BaseModel) -> Envelope[BaseModel]:
    return Envelope[BaseModel](type=event_type, source="/test", subject=subject, data=data)


def recorded(rid: str, learner_id: str, **changes: Any) -> Envelope[BaseModel]:
    data = LearningRecordRecorded.model_validate(
        {
            **record(**changes),
            "record_id": rid,
            "learner_id": learner_id,
            "provider_id": "P",
            "provider_record_ref": rid,
            "recorded_at": T0,
        }
    )
    return envelope(records.LEARNING_RECORD_RECORDED, learner_id, data)


def corrected(rid: str, learner_id: str, at: datetime, **changes: Any) -> Envelope[BaseModel]:
    data = LearningRecordCorrected.model_validate(
        {
            **record(**changes),
            "record_id": rid,
            "learner_id": learner_id,
            "provider_id": "P",
            "reason": "sửa",
            "corrected_at": at,
        }
    )
    return envelope(records.LEARNING_RECORD_CORRECTED, learner_id, data)


async def trail_state(
    store: CredentialStore, *learner_ids: str
) -> dict[str, list[tuple[str, Any]]]:
    entries = await store.entries_of(list(learner_ids))
    return {
        lid: sorted((e["_id"], e.get("hours")) for e in found) for lid, found in entries.items()
    }


async def test_replaying_a_batch_in_any_order_gives_the_same_trail(
    db: AsyncDatabase[Document], broker: EventLog
) -> None:
    store = CredentialStore(db)
    await store.ensure_indexes()
    projection = TrailProjection(store, broker, load_rules())
    old, new = f"L-old-{new_event_id()}", f"L-new-{new_event_id()}"
    registered = envelope(
        learners.LEARNER_REGISTERED,
        new,
        LearnerRegistered(
            learner_id=new,
            full_name="Nguyễn Thị Hương",
            birth_date=date(1990, 5, 14),
            registered_at=T0,
        ),
    )
    merge = envelope(
        learners.LEARNER_MERGED,
        old,
        LearnerMerged(learner_id=old, merged_into=new, reason="trùng", merged_at=T0),
    )
    revoke = envelope(
        records.LEARNING_RECORD_REVOKED,
        new,
        LearningRecordRevoked(
            record_id="r3", learner_id=new, provider_id="P", reason="nhầm", revoked_at=T0
        ),
    )
    stream = [
        registered,
        recorded("r1", new, hours=10),
        recorded("r2", old, hours=20),
        corrected("r1", new, T0 + timedelta(hours=1), hours=11),
        corrected("r1", new, T0 + timedelta(hours=2), hours=12),
        recorded("r3", new, hours=30),
        revoke,
        merge,
        recorded("r4", old, hours=40),  # arrives after the merge, on the other topic
    ]
    await projection.handle(stream)
    expected = {new: [("r1", 12), ("r2", 20), ("r4", 40)], old: []}
    assert await trail_state(store, new, old) == expected

    await projection.handle(stream)  # redelivered whole
    await projection.handle(list(reversed(stream)))  # and in the worst order
    await projection.handle([stream[3]])  # an old correction late
    assert await trail_state(store, new, old) == expected
    assert (await store.learner(new))["full_name"] == "Nguyễn Thị Hương"  # type: ignore[index]


async def test_a_provider_reference_names_one_record(db: AsyncDatabase[Document]) -> None:
    store = LearnerStore(db)
    await store.ensure_indexes()
    doc = {
        "_id": record_key("P", "R-1"),
        "provider_id": "P",
        "provider_record_ref": "R-1",
        "state": "accepted",
        "created_at": datetime.now(UTC),
    }
    assert await store.add_record(doc)
    assert not await store.add_record({**doc, "state": "held"})
    assert (await store.record_by_ref("P", "R-1"))["state"] == "accepted"  # type: ignore[index]
    assert record_key("P", "R-1") != record_key("Q", "R-1")


async def test_one_national_id_hash_is_one_learner(db: AsyncDatabase[Document]) -> None:
    store = LearnerStore(db)
    await store.ensure_indexes()
    lid = learner_key("h")
    first, created_first = await store.add_learner({"_id": lid, "id_hash": "h", "n": 1})
    second, created_second = await store.add_learner({"_id": lid, "id_hash": "h", "n": 2})
    assert first["n"] == second["n"] == 1
    assert (created_first, created_second) == (True, False)


async def test_recognitions_are_granted_once_and_revoked_with_their_basis(
    db: AsyncDatabase[Document], broker: EventLog
) -> None:
    store = CredentialStore(db)
    projection = TrailProjection(store, broker, load_rules())
    lid = f"L-{new_event_id()}"
    diploma = recorded("d1", lid, kind="diploma", vqf_level=4, title="Trung cấp Điện")
    gdtx = recorded(
        "g1",
        lid,
        pathway="continuing",
        kind="programme",
        vqf_level=None,
        general_education_level="upper_secondary",
        title="Văn hóa THPT GDTX",
    )
    await projection.handle([diploma, gdtx])
    await projection.handle([diploma, gdtx])  # redelivery: no second decision
    (granted,) = (await store.recognitions_of([lid]))[lid]
    assert granted["state"] == "granted" and granted["pending"] is None
    assert set(granted["record_ids"]) == {"d1", "g1"}
    assert granted["rule_id"] == "progression/trung-cap-len-cao-dang"

    revoke = envelope(
        records.LEARNING_RECORD_REVOKED,
        lid,
        LearningRecordRevoked(
            record_id="d1", learner_id=lid, provider_id="P", reason="nhầm", revoked_at=T0
        ),
    )
    await projection.handle([revoke])
    (after,) = (await store.recognitions_of([lid]))[lid]
    assert after["_id"] == granted["_id"] and after["state"] == "revoked"
    assert after["pending"] is None  # the revocation was announced
