"""Stores and projections against the real MongoDB-protocol server (FerretDB, or MongoDB if
configured) and the real Kafka broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase

from contracts import learners, programmes, records
from contracts.envelope import Envelope, new_event_id
from contracts.learners import LearnerMerged, LearnerRegistered, LearnerUpdated
from contracts.programmes import ProgrammeAnnounced
from contracts.records import LearningRecordCorrected, LearningRecordRecorded, LearningRecordRevoked
from services.common.broker import EventLog
from services.common.mongo import Document
from services.credential.projection import TrailProjection
from services.credential.recognition import load_rules
from services.credential.store import CredentialStore
from services.learner.store import LearnerStore, learner_key, record_key
from services.notify.matching import completion_key
from services.notify.matchmaker import Matchmaker
from services.notify.projection import NotifyProjection
from services.notify.settings import DeliverySettings
from services.notify.store import NotifyStore
from tests.conftest import Stack, record

T0 = datetime(2026, 1, 1, tzinfo=UTC)


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


async def test_a_chain_of_merges_in_one_batch_ends_under_the_last_survivor(
    db: AsyncDatabase[Document], broker: EventLog
) -> None:
    """A record of A, then A merged into B, then B into C: in one batch (a replay) as in three
    (the live consumer), the record ends under C. Found by the event fuzzing: a replay left it
    under B, one hop short, and the rebuilt trail differed from the live one."""
    a, b, c = (f"L-{n}-{new_event_id()}" for n in "abc")
    stream = [recorded("r1", a, hours=10), merged(a, b), merged(b, c)]
    for batches in ([stream], [[event] for event in stream]):
        store = CredentialStore(db.client[f"{db.name}_{len(batches)}"])
        await store.ensure_indexes()
        projection = TrailProjection(store, broker, load_rules())
        for batch in batches:
            await projection.handle(batch)
        assert await trail_state(store, a, b, c) == {a: [], b: [], c: [("r1", 10)]}
        await db.client.drop_database(f"{db.name}_{len(batches)}")


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
    assert granted["state"] == "granted"
    await store.outbox.settle()
    assert await store.outbox.waiting([granted["pending"]["event_id"]]) == set()  # in the log
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
    assert after["pending"]["type"].endswith("recognition.revoked.v1")
    await store.outbox.settle()
    assert await store.outbox.waiting([after["pending"]["event_id"]]) == set()  # announced


# notify


PLACE = "22735"


def notify_on(db: AsyncDatabase[Document]) -> tuple[NotifyStore, NotifyProjection]:
    store = NotifyStore(db)
    matchmaker = Matchmaker(store, DeliverySettings(), "secret", wake=lambda: None)
    return store, NotifyProjection(store, matchmaker)


def profile_event(learner_id: str, email: str | None, update: bool = False) -> Envelope[BaseModel]:
    profile: dict[str, Any] = {
        "learner_id": learner_id,
        "full_name": "Trần Văn An",
        "birth_date": date(1995, 1, 1),
        "commune_code": PLACE,
        "email": email,
    }
    if update:
        data: BaseModel = LearnerUpdated(**profile, updated_at=T0)
        return envelope(learners.LEARNER_UPDATED, learner_id, data)
    return envelope(
        learners.LEARNER_REGISTERED, learner_id, LearnerRegistered(**profile, registered_at=T0)
    )


def revoked(rid: str, learner_id: str) -> Envelope[BaseModel]:
    data = LearningRecordRevoked(
        record_id=rid, learner_id=learner_id, provider_id="P", reason="nhầm", revoked_at=T0
    )
    return envelope(records.LEARNING_RECORD_REVOKED, learner_id, data)


def merged(old: str, new: str) -> Envelope[BaseModel]:
    data = LearnerMerged(learner_id=old, merged_into=new, reason="trùng", merged_at=T0)
    return envelope(learners.LEARNER_MERGED, old, data)


def announced(programme_id: str, **changes: Any) -> Envelope[BaseModel]:
    data = ProgrammeAnnounced.model_validate(
        {
            "programme_id": programme_id,
            "provider_id": "P",
            "title": "Cao đẳng Điện công nghiệp",
            "pathway": "vocational",
            "place_codes": [PLACE],
            "how_to_enrol": "Đăng ký tại Trung tâm, ĐT 0259 3864 123",
            "announced_at": T0,
            **changes,
        }
    )
    return envelope(programmes.PROGRAMME_ANNOUNCED, programme_id, data)


async def test_notify_learning_moves_to_the_survivor_in_any_interleaving_of_the_topics(
    db: AsyncDatabase[Document],
) -> None:
    """Records and merges travel on different topics: however the two logs interleave (each in
    its own order), and however often a batch comes again, the learner that remains ends with
    all the learning, its trail, and the programme that its learning now opens to it."""
    store, projection = notify_on(db)
    await store.ensure_indexes()
    programme_id = f"prog-{new_event_id()}"
    await projection.handle([announced(programme_id, prior_vqf_level=4)])

    def topics(old: str, new: str) -> tuple[list[Envelope[BaseModel]], list[Envelope[BaseModel]]]:
        people = [
            profile_event(old, f"{old}@example.vn"),
            profile_event(new, f"{new}@example.vn"),
            merged(old, new),
        ]
        learning = [
            recorded("r1", new, title="Sơ cấp Điện dân dụng", vqf_level=2),
            recorded("r2", old, kind="diploma", title="Trung cấp Điện", vqf_level=4),
            corrected(
                "r1", new, T0 + timedelta(hours=1), title="Sơ cấp Điện dân dụng", vqf_level=3
            ),
            recorded("r3", new, title="Sơ cấp Hàn"),
            revoked("r3", new),
            recorded("r4", old, title="Sơ cấp Tin học"),  # after the merge, under the old id
            corrected(
                "r2",
                old,
                T0 + timedelta(hours=2),
                kind="diploma",
                title="Trung cấp Điện CN",
                vqf_level=4,
            ),
        ]
        return people, learning

    def one_batch(people: list[Any], learning: list[Any]) -> list[list[Envelope[BaseModel]]]:
        return [[*people[:2], *learning[:5], people[2], *learning[5:]]]

    orders = {
        "one batch": one_batch,
        "records first": lambda p, r: [r, p],
        "learners first": lambda p, r: [p, r],
        "one by one, records first": lambda p, r: [[e] for e in [*r, *p]],
        "one by one, learners first": lambda p, r: [[e] for e in [*p, *r]],
        "merge last, then all again": lambda p, r: [[*p[:2], *r[:5]], [p[2], *r[5:]], [*p, *r]],
    }
    expected_trail = {
        "highest_vqf_level": 4,
        "completed": sorted(
            completion_key("vocational", t)
            for t in ("Sơ cấp Điện dân dụng", "Trung cấp Điện CN", "Sơ cấp Tin học")
        ),
    }
    for name, order in orders.items():
        old, new = f"L-old-{new_event_id()}", f"L-new-{new_event_id()}"
        for batch in order(*topics(old, new)):
            await projection.handle(batch)
        learning, _ = await store.learning_of([old, new])
        assert sorted(learning[new]) == ["r1", "r2", "r3", "r4"], name
        assert learning[old] == {}, name
        assert learning[new]["r1"]["vqf_level"] == 3 and learning[new]["r3"]["revoked"], name
        assert (await store.subscription(new) or {})["trail"] == expected_trail, name
        pending = await store.pending_of([new, old])
        assert {(p["learner_id"], p["subject_id"], p["channel"]) for p in pending} == {
            (new, programme_id, "inbox"),
            (new, programme_id, "email"),
        }, name


class Commands(monitoring.CommandListener):
    """The commands a client sent (name, collection, filters)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, list[Document]]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name, command = event.command_name, event.command
        filters = {
            "find": lambda: [command.get("filter", {})],
            "update": lambda: [u["q"] for u in command.get("updates", [])],
            "delete": lambda: [d["q"] for d in command.get("deletes", [])],
            "findAndModify": lambda: [command.get("query", {})],
            "count": lambda: [command.get("query", {})],
            "aggregate": lambda: [{}],
            "insert": lambda: [],
        }
        if name in filters:
            self.seen.append((name, str(command[name]), filters[name]()))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_notify_applies_learner_and_record_batches_by_id_in_constant_round_trips(
    stack: Stack, db: AsyncDatabase[Document]
) -> None:
    """Profiles, records, revocations and a merge, for 3 learners or 30: the same number of
    commands, each (but the programmes in the learners' places) with an ``_id`` condition."""
    commands = Commands()
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        stack.mongodb_uri, tz_aware=True, event_listeners=[commands]
    )
    try:
        store, projection = notify_on(client[db.name])
        programme_id = f"prog-{new_event_id()}"
        await projection.handle([announced(programme_id)])
        counts = []
        for size in (3, 30):
            ids = [f"L-{size}-{i}-{new_event_id()}" for i in range(size)]
            first = [profile_event(lid, f"{lid}@example.vn") for lid in ids]
            first += [recorded(f"{lid}-r1", lid, title="Sơ cấp Hàn") for lid in ids]
            first.append(profile_event(f"{ids[0]}-twin", f"{ids[0]}@example.vn"))
            await projection.handle(first)  # each is told on inbox and email
            # then: email addresses dropped (email cancelled), more learning, a revocation,
            # and a merge
            second = [profile_event(lid, None, update=True) for lid in ids]
            second += [recorded(f"{lid}-r2", lid, title="Trung cấp Hàn") for lid in ids]
            second += [revoked(f"{lid}-r1", lid) for lid in ids]
            second.append(merged(f"{ids[0]}-twin", ids[0]))
            commands.seen.clear()
            await projection.handle(second)
            unkeyed = [
                (name, collection, f)
                for name, collection, filters in commands.seen
                for f in filters
                if collection != "programmes" and "_id" not in f
            ]
            assert unkeyed == []
            counts.append([(name, collection) for name, collection, _ in commands.seen])
            emails = [p for p in await store.pending_of(ids) if p["channel"] == "email"]
            assert emails == [] and len(await store.pending_of(ids)) == size
            twin = [f"{ids[0]}-twin:{programme_id}:{c}" for c in ("inbox", "email")]
            cancelled = [n async for n in store.notifications.find({"_id": {"$in": twin}})]
            assert [n["cancel_reason"] for n in cancelled] == ["learner merged"] * 2
            assert await store.pending_of([f"{ids[0]}-twin"]) == []  # and leave the index
            index = await store.notification_index.find_one({"_id": f"{ids[0]}-twin"})
            assert index is not None and index["ids"] == []
            index = await store.notification_index.find_one({"_id": ids[0]})
            assert index is not None and len(index["ids"]) == 2  # email may come back
            trails = await store.subscriptions_of(ids)
            assert {t["trail"]["completed"][0] for t in trails} == {
                completion_key("vocational", "Trung cấp Hàn")
            }
        assert counts[0] == counts[1]
    finally:
        await client.close()
