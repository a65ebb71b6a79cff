"""The services' outbox relay, on the real stack: a change stored whose event never
reached Kafka (the append failed, or the process died between the two) reaches the log and
the trail anyway, once, without a retry; an outbox entry whose change was never stored is
dropped."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pymongo import AsyncMongoClient

from cli import localstack
from contracts import credentials
from contracts import notifications as notifications_contract
from contracts import records as records_contract
from contracts.credentials import CredentialIssued
from contracts.envelope import new_event_id
from services.common.broker import EventLog
from services.common.mongo import Document
from services.common.outbox import AppendFailed, pending_event
from services.credential.store import CredentialStore
from services.learner.identity import national_id_hash
from services.learner.intake import RecordSubmission
from services.learner.store import LearnerStore, learner_key, record_key
from services.learner.submissions import Records
from tests.conftest import Stack, eventually, national_id, new_provider, read_topic, submission
from tests.e2e.test_credentials import learner_with_records
from tests.e2e.test_record_path import submit, trail_of
from tests.faults.conftest import Ledger, another_instance


def _records_without_kafka(stack: Stack, store: LearnerStore) -> Records:
    """The service's own use case with a producer that never started: every append fails,
    as when Kafka is away or the process dies between storing and appending."""
    dead_log = EventLog(stack.kafka, "test-dead-producer")
    return Records(store, dead_log, stack.secrets["LT_IDENTITY_HMAC_KEY"].encode())


async def _events(stack: Stack, topic: str, key: str) -> list[dict[str, object]]:
    found = []
    for r in await read_topic(stack.kafka, topic):
        if r.key == key.encode():
            found.append(json.loads(r.value))
    return found


async def test_a_record_stored_whose_append_failed_reaches_the_trail_once_without_a_retry(
    stack: Stack, http: httpx.AsyncClient, mongo: AsyncMongoClient[Document]
) -> None:
    centre = await new_provider(http, stack)
    nid = national_id()
    first = await submit(http, stack, centre["api_key"], submission(nid, "RELAY-0"))
    assert first.status_code == 202
    learner_id = first.json()["learner_id"]

    store = LearnerStore(mongo["lt_learner"])
    provider = await store.provider(centre["provider"]["id"])
    assert provider is not None
    body = RecordSubmission.model_validate(submission(nid, "RELAY-1", title="Khóa chuyển tiếp"))
    with pytest.raises(AppendFailed):
        await _records_without_kafka(stack, store).submit(provider, body)
    stored = await store.records.find_one(
        {"provider_id": provider["_id"], "provider_record_ref": "RELAY-1"}
    )
    assert stored is not None and stored["state"] == "accepted"
    assert await store.outbox.entries.find_one({"_id": stored["pending"]["event_id"]}) is not None

    # the centre never retries: the running service's relay appends the stored event
    trail = await eventually(
        lambda: trail_of(http, stack, learner_id),
        lambda t: t.get("entry_count") == 2,
        within=45,
    )
    titles = sorted(e["title"] for g in trail["pathways"] for e in g["entries"])
    assert "Khóa chuyển tiếp" in titles
    await eventually(
        lambda: store.outbox.entries.find_one({"_id": stored["pending"]["event_id"]}),
        lambda entry: entry is None,
    )
    await asyncio.sleep(2)  # a doubled event would show by now
    assert (await trail_of(http, stack, learner_id))["entry_count"] == 2
    recorded = [
        e
        for e in await _events(stack, "learning-records.v1", learner_id)
        if e.get("record_id") == stored["_id"]
    ]
    assert len(recorded) == 1


async def test_a_learner_stored_whose_append_failed_is_announced_by_the_relay(
    stack: Stack, http: httpx.AsyncClient, mongo: AsyncMongoClient[Document]
) -> None:
    centre = await new_provider(http, stack)
    store = LearnerStore(mongo["lt_learner"])
    provider = await store.provider(centre["provider"]["id"])
    assert provider is not None
    nid = national_id()
    body = RecordSubmission.model_validate(submission(nid, "RELAY-L"))
    with pytest.raises(AppendFailed):
        await _records_without_kafka(stack, store).submit(provider, body)
    identity_key = stack.secrets["LT_IDENTITY_HMAC_KEY"].encode()
    learner_id = learner_key(national_id_hash(identity_key, nid))
    stored = await store.learners.find_one({"_id": learner_id})
    assert stored is not None
    assert await store.outbox.entries.find_one({"_id": stored["pending"]["event_id"]}) is not None
    registered = await eventually(
        lambda: _events(stack, "learners.v1", learner_id), lambda found: len(found) == 1, within=45
    )
    assert registered[0]["learner_id"] == learner_id
    # the record was never stored (its learner was not announced): the centre's retry stores it
    retry = await submit(http, stack, centre["api_key"], submission(nid, "RELAY-L"))
    assert retry.status_code == 202 and retry.json()["learner_id"] == learner_id


async def test_an_outbox_entry_whose_change_was_never_stored_is_dropped(
    stack: Stack, mongo: AsyncMongoClient[Document]
) -> None:
    outbox = mongo["lt_learner"]["outbox"]
    orphan = {
        "_id": new_event_id(),
        "kind": "records",
        "doc_id": f"never-stored-{new_event_id()}",
        "at": datetime.now(UTC) - timedelta(hours=1),
    }
    await outbox.insert_one(orphan)
    await eventually(
        lambda: outbox.find_one({"_id": orphan["_id"]}), lambda d: d is None, within=45
    )


async def test_a_credential_stored_whose_event_was_never_appended_is_announced_by_the_relay(
    stack: Stack, mongo: AsyncMongoClient[Document]
) -> None:
    """What an issue leaves when Kafka did not confirm after the credential was stored: the
    credential with its event kept. The credential service's relay appends it, once."""
    credential_id = f"urn:uuid:{new_event_id()}"
    learner_id = f"relay-{new_event_id()}"
    issued_at = datetime.now(UTC) - timedelta(minutes=1)
    event = CredentialIssued(
        credential_id=credential_id,
        learner_id=learner_id,
        record_ids=["r-1"],
        verify_url=f"http://example.invalid/v1/credentials/{credential_id}/verification",
        issued_at=issued_at,
    )
    doc: Document = {
        "_id": credential_id,
        "learner_id": learner_id,
        "record_ids": ["r-1"],
        "issued_at": issued_at,
        "revoked_at": None,
        "pending": pending_event(credentials.CREDENTIAL_ISSUED, learner_id, event),
    }
    store = CredentialStore(mongo["lt_credential"])
    await store.add_credential(doc)  # stored with its outbox entry, never appended
    try:
        told = await eventually(
            lambda: _events(stack, credentials.TOPIC, learner_id),
            lambda found: len(found) == 1,
            within=45,
        )
        assert told[0]["credential_id"] == credential_id
        await eventually(
            lambda: store.outbox.waiting([doc["pending"]["event_id"]]), lambda left: not left
        )
    finally:
        await store.credentials.delete_one({"_id": credential_id})


async def test_a_learner_instance_killed_between_storing_and_appending_loses_nothing(
    stack: Stack, http: httpx.AsyncClient, mongo: AsyncMongoClient[Document], ledger: Ledger
) -> None:
    """``kill -9`` of a learner instance after it stored a record and before it appended the
    record's event (the window forced open with the fault-injection setting): the record
    reaches the log and the trail exactly once, through the outbox relay of the instance that
    is still running, and nobody resubmits."""
    doomed = another_instance(
        "learner", "learner-doomed", LT_FAULT_PAUSE_BEFORE_APPEND_SECONDS="120"
    )
    await asyncio.to_thread(localstack.start, doomed)
    centre = await new_provider(http, stack)
    record_id = record_key(centre["provider"]["id"], "KILL9-1")
    records = mongo["lt_learner"]["records"]
    answer = asyncio.create_task(
        http.post(
            f"{doomed.address}/v1/records",
            json=submission(national_id(), "KILL9-1", title="Khóa giữa hai bước"),
            headers={"X-API-Key": centre["api_key"]},
            timeout=60,
        )
    )
    try:
        stored = await eventually(lambda: records.find_one({"_id": record_id}), bool, within=30)
        assert stored["pending"] is not None  # stored, its event not in the log yet
    finally:
        assert await asyncio.to_thread(localstack.stop, doomed, True)  # kill -9 in the window
    with pytest.raises(httpx.TransportError):
        await answer  # the centre got no answer, and does not retry
    learner_id = stored["learner_id"]

    async def in_trail() -> list[str]:
        trail = await trail_of(http, stack, learner_id)
        return [e["record_id"] for g in trail.get("pathways", []) for e in g["entries"]]

    started = time.monotonic()
    await eventually(in_trail, lambda ids: record_id in ids, within=90)
    relayed_after = time.monotonic() - started
    events = [
        json.loads(r.value)
        for r in await read_topic(stack.kafka, records_contract.TOPIC)
        if r.key == learner_id.encode()
    ]
    assert [e["record_id"] for e in events] == [record_id]  # once, not twice
    assert await in_trail() == [record_id]
    assert (await records.find_one({"_id": record_id}) or {}).get("state") == "accepted"
    ledger.record(
        fault="kill -9 of a learner instance between storing a record and appending its event",
        stored=1,
        answered=0,
        in_trail=1,
        lost=0,
        duplicated=len(events) - 1,
        relayed_within_seconds=round(relayed_after, 1),
    )


async def test_notify_killed_between_delivering_and_announcing_tells_the_log_once(
    stack: Stack, http: httpx.AsyncClient, mongo: AsyncMongoClient[Document], ledger: Ledger
) -> None:
    """``kill -9`` of notify after a notification was put in the learner's inbox and before
    ``notification.delivered`` was appended (the window held open by the fault-injection
    setting): after a restart the outcome is announced, once, with its own event id."""
    normal = localstack.component("notify")
    pausing = dataclasses.replace(
        normal, env={**normal.env, "LT_FAULT_PAUSE_BEFORE_APPEND_SECONDS": "120"}
    )
    await asyncio.to_thread(localstack.stop, normal)
    await asyncio.to_thread(localstack.start, pausing)
    notifications = mongo["lt_notify"]["notifications"]
    try:
        centre = await new_provider(http, stack)
        commune = national_id()[-5:]
        first = await submit(
            http, stack, centre["api_key"], submission(national_id(), "NK9-1", commune=commune)
        )
        assert first.status_code == 202
        learner_id = first.json()["learner_id"]
        programme = await http.post(
            f"{stack.endpoints.learner}/v1/programmes",
            json={
                "title": "Kỹ năng số cho người lớn tuổi",
                "pathway": "continuing",
                "place_codes": [commune],
                "how_to_enrol": "Gọi 0259 3864 123",
            },
            headers={"X-API-Key": centre["api_key"]},
        )
        assert programme.status_code in (201, 202), programme.text
        delivered = await eventually(
            lambda: notifications.find_one(
                {"learner_id": learner_id, "channel": "inbox", "state": "sent"}
            ),
            bool,
            within=60,
        )
        outbox = mongo["lt_notify"]["outbox"]
        waiting = await outbox.find_one({"doc_id": delivered["_id"]})
        assert waiting is not None  # in the inbox, not yet told to the log
    finally:
        assert await asyncio.to_thread(localstack.stop, pausing, True)  # kill -9 in the window
        await asyncio.to_thread(localstack.start, normal)

    async def told() -> list[dict[str, object]]:
        return [
            json.loads(r.value)
            for r in await read_topic(stack.kafka, notifications_contract.TOPIC)
            if r.key == learner_id.encode()
            and json.loads(r.value).get("notification_id") == delivered["_id"]
        ]

    started = time.monotonic()
    events = await eventually(told, bool, within=90)
    announced_after = time.monotonic() - started
    await asyncio.sleep(3)
    events = await told()
    assert len(events) == 1 and events[0]["channel"] == "inbox"
    await eventually(lambda: outbox.find_one({"doc_id": delivered["_id"]}), lambda d: d is None)
    ledger.record(
        fault="kill -9 of notify between delivering a notification and announcing it",
        delivered=1,
        announced=len(events),
        lost=0,
        duplicated=len(events) - 1,
        announced_within_seconds=round(announced_after, 1),
    )


async def test_a_credential_instance_killed_between_storing_and_announcing_an_issue(
    stack: Stack, http: httpx.AsyncClient, mongo: AsyncMongoClient[Document], ledger: Ledger
) -> None:
    """``kill -9`` of a credential instance after it stored a signed credential and before it
    appended ``credential.issued`` (the window held open by the fault-injection setting): the
    instance still running announces it, once, and the credential verifies."""
    learner_id, _, _ = await learner_with_records(http, stack, count=1)
    first = localstack.component("credential")
    doomed = another_instance(
        "credential",
        "credential-doomed",
        public_base_url=first.address,
        LT_FAULT_PAUSE_BEFORE_APPEND_SECONDS="120",
    )
    await asyncio.to_thread(localstack.start, doomed)
    stored = mongo["lt_credential"]["credentials"]
    asked = asyncio.create_task(
        http.post(
            f"{doomed.address}/v1/learners/{learner_id}/credentials",
            headers=stack.admin,
            timeout=60,
        )
    )
    try:
        doc = await eventually(lambda: stored.find_one({"learner_id": learner_id}), bool, within=30)
        waiting = mongo["lt_credential"]["outbox"].find_one({"_id": doc["pending"]["event_id"]})
        assert await waiting is not None  # signed and stored, not yet in the log
    finally:
        assert await asyncio.to_thread(localstack.stop, doomed, True)  # kill -9 in the window
    with pytest.raises(httpx.TransportError):
        await asked  # the caller got no answer

    started = time.monotonic()
    told = await eventually(
        lambda: _events(stack, credentials.TOPIC, learner_id),
        lambda found: any(e.get("credential_id") == doc["_id"] for e in found),
        within=60,
    )
    announced_after = time.monotonic() - started
    await asyncio.sleep(3)
    told = [
        e
        for e in await _events(stack, credentials.TOPIC, learner_id)
        if e.get("credential_id") == doc["_id"]
    ]
    assert len(told) == 1
    served = await http.get(f"{first.address}/v1/credentials/{doc['_id']}/verification")
    assert served.status_code == 200 and served.json()["verdict"]["status"] == "valid"
    ledger.record(
        fault="kill -9 of a credential instance between storing an issued credential and "
        "announcing it",
        stored=1,
        answered=0,
        announced=len(told),
        lost=0,
        duplicated=len(told) - 1,
        announced_within_seconds=round(announced_after, 1),
    )
