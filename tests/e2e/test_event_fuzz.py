"""Property-based fuzzing of the event consumers (credential, notify, insights) on the real broker.

Hypothesis draws batches of events that *validate* against the contracts — learners with odd
but valid names, birth dates from 1900 on, any topics and interests; programmes with any
places, ages, dates, fees and long descriptions; records, corrections, revocations, merges,
withdrawals, recognitions and credentials among those learners — and publishes them to the
real topics. Then a control learner (a fresh id: another learner) is registered and offered a
programme. The property: every drawn event is handled or dead-lettered on its own — every
consumer group commits past all of them, nothing of the control learner's is dead-lettered,
and the control learner is told about the control programme.

Budget: ``EXAMPLES`` batches of up to ``MAX_EVENTS`` events, no shrinking (seconds on a laptop).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from contracts import credentials, learners, programmes, records
from contracts.envelope import Envelope
from contracts.text import text_problem
from contracts.vocabulary import Language, Pathway, RecordKind, ResultStatus
from services.common.broker import EventLog, publish_event
from tests.conftest import Stack, read_topic

EXAMPLES = 10
MAX_EVENTS = 12
GROUPS = {
    "notify": (learners, programmes, credentials, records),
    "credential": (learners, records),
    "insights": (learners, programmes, credentials, records),
}

# text a person could type: any visible character, as the contracts accept it
_visible = st.characters(exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))
short_text = st.text(_visible, min_size=1, max_size=40).filter(
    lambda t: bool(t.strip()) and text_problem(t.strip()) is None
)
long_text = st.text(st.one_of(_visible, st.sampled_from("\n\t")), min_size=1, max_size=200).filter(
    lambda t: bool(t.strip()) and text_problem(t.strip(), long=True) is None
)
names = st.sampled_from(["Nguyễn Thị Hương", "H'Hen Niê", "Lê Văn A.", "Trần-Đỗ Yến"])
dates = st.dates(min_value=date(1900, 1, 1), max_value=date.today())
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)
ids = st.uuids().map(str)


def _event(kind: str, subject: str, data: BaseModel) -> tuple[str, Envelope[BaseModel]]:
    topic = kind.split(".")[2]
    topics = {
        "learners": learners.TOPIC,
        "programmes": programmes.TOPIC,
        "records": records.TOPIC,
        "credentials": credentials.TOPIC,
    }
    return topics[topic], Envelope[BaseModel](type=kind, source="/fuzz", subject=subject, data=data)


@st.composite
def batches(draw: st.DrawFn, places: tuple[str, str]) -> list[tuple[str, Envelope[BaseModel]]]:
    """A batch of valid events about a few fresh learners and programmes in ``places``."""
    people = draw(st.lists(ids, min_size=1, max_size=3, unique=True))
    events: list[tuple[str, Envelope[BaseModel]]] = []
    for _ in range(draw(st.integers(1, MAX_EVENTS))):
        who = draw(st.sampled_from(people))
        choice = draw(st.integers(0, 7))
        if choice <= 1:
            profile = {
                "learner_id": who,
                "full_name": draw(names),
                "birth_date": draw(dates),
                "commune_code": draw(st.none() | st.sampled_from(places)),
                "email": draw(st.none() | st.just(f"fuzz-{who[:8]}@example.vn")),
                "phone": draw(st.none() | st.from_regex(r"\+84[0-9]{9}", fullmatch=True)),
                "preferred_language": draw(st.sampled_from(list(Language))),
                "interests": draw(st.lists(st.sampled_from(list(Pathway)), max_size=3)),
                "topics": draw(st.lists(short_text, max_size=3)),
            }
            if choice == 0:
                data: BaseModel = learners.LearnerRegistered(**profile, registered_at=draw(moments))
                events.append(_event(learners.LEARNER_REGISTERED, who, data))
            else:
                data = learners.LearnerUpdated(**profile, updated_at=draw(moments))
                events.append(_event(learners.LEARNER_UPDATED, who, data))
        elif choice <= 3:
            low = draw(st.none() | st.integers(0, 120))
            content: dict[str, Any] = {
                "programme_id": draw(ids),
                "provider_id": "fuzz-centre",
                "title": draw(short_text),
                "description": draw(st.none() | long_text),
                "pathway": draw(st.sampled_from(list(Pathway))),
                "vqf_level": draw(st.none() | st.integers(1, 8)),
                "place_codes": draw(st.lists(st.sampled_from(places), min_size=1, unique=True)),
                "starts_on": draw(st.none() | dates),
                "ends_on": draw(st.none() | st.dates(min_value=date.today())),
                "min_age": low,
                "max_age": draw(st.none() | st.integers(low or 0, 120)),
                "prior_vqf_level": draw(st.none() | st.integers(1, 8)),
                "topics": draw(st.lists(short_text, max_size=3)),
                "how_to_enrol": draw(short_text),
                "capacity": draw(st.none() | st.integers(1, 10_000)),
                "fee_vnd": draw(st.none() | st.integers(0, 10**9)),
            }
            content = {k: v for k, v in content.items() if k in programmes.Programme.model_fields}
            data = programmes.ProgrammeAnnounced(**content, announced_at=draw(moments))
            events.append(_event(programmes.PROGRAMME_ANNOUNCED, content["programme_id"], data))
        elif choice <= 5:
            record = {
                "record_id": draw(ids),
                "learner_id": who,
                "provider_id": "fuzz-centre",
                "provider_record_ref": draw(short_text),
                "recorded_at": draw(moments),
                "pathway": draw(st.sampled_from(list(Pathway))),
                "kind": draw(st.sampled_from(list(RecordKind))),
                "title": draw(short_text),
                "code": draw(st.none() | short_text),
                "vqf_level": draw(st.none() | st.integers(1, 8)),
                "result": {
                    "status": draw(st.sampled_from(list(ResultStatus))),
                    "grade": draw(st.none() | short_text),
                    "grade_scale": draw(st.none() | short_text),
                },
                "completed_on": draw(dates),
                "provider_name": draw(st.none() | short_text),
            }
            data = records.LearningRecordRecorded(**record)
            events.append(_event(records.LEARNING_RECORD_RECORDED, who, data))
            if draw(st.booleans()):
                revoked = records.LearningRecordRevoked(
                    record_id=record["record_id"],
                    learner_id=who,
                    provider_id="fuzz-centre",
                    reason=draw(short_text),
                    revoked_at=draw(moments),
                )
                events.append(_event(records.LEARNING_RECORD_REVOKED, who, revoked))
        elif choice == 6:
            issued = credentials.CredentialIssued(
                credential_id=f"urn:uuid:{draw(ids)}",
                learner_id=who,
                record_ids=[draw(ids)],
                verify_url=draw(st.none() | st.just("https://trail.example.vn/verify/x")),
                issued_at=draw(moments),
            )
            events.append(_event(credentials.CREDENTIAL_ISSUED, who, issued))
        else:
            other = draw(st.sampled_from(people))
            if other != who:
                merged = learners.LearnerMerged(
                    learner_id=who,
                    merged_into=other,
                    reason=draw(short_text),
                    merged_at=draw(moments),
                )
                events.append(_event(learners.LEARNER_MERGED, who, merged))
    return events


async def _ends(kafka: str, topics: set[str]) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or ())
        ]
        if not partitions:
            await consumer.topics()
            partitions = [
                TopicPartition(t, p)
                for t in topics
                for p in (consumer.partitions_for_topic(t) or ())
            ]
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return ends
    finally:
        await consumer.stop()


async def _committed_past(kafka: str, group: str, ends: dict[TopicPartition, int]) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return all(
        tp in committed and committed[tp].offset >= end for tp, end in ends.items() if end > 0
    )


async def _check(stack: Stack, batch: list[tuple[str, Envelope[BaseModel]]]) -> None:
    log = EventLog(stack.kafka, "fuzz-events")
    await log.start()
    try:
        for topic, envelope in batch:
            await publish_event(log, topic, envelope)
        ends = await _ends(stack.kafka, {topic for topic, _ in batch})
        # the control: another learner, registered and offered a programme after the batch
        control, place = str(uuid.uuid4()), f"{uuid.uuid4().int % 90_000 + 10_000}"
        now = datetime.now(UTC)
        registered = learners.LearnerRegistered(
            learner_id=control,
            full_name="Phạm Minh Châu",
            birth_date=date(1995, 1, 2),
            commune_code=place,
            registered_at=now,
        )
        await publish_event(
            log, learners.TOPIC, _event(learners.LEARNER_REGISTERED, control, registered)[1]
        )
        headers = stack.learner_token(control)
        base = f"{stack.endpoints.notify}/v1/learners/{control}"
        async with httpx.AsyncClient(timeout=10) as http:
            await _until(lambda: _status(http, f"{base}/preferences", headers), 60)
            offered = programmes.ProgrammeAnnounced(
                programme_id=str(uuid.uuid4()),
                provider_id="fuzz-centre",
                title="Chương trình kiểm chứng",
                pathway=Pathway.COMMUNITY,
                place_codes=[place],
                how_to_enrol="Tại trung tâm",
                announced_at=now,
            )
            await publish_event(
                log,
                programmes.TOPIC,
                _event(programmes.PROGRAMME_ANNOUNCED, offered.programme_id, offered)[1],
            )
            await _until(lambda: _told(http, f"{base}/notifications", headers), 60)
        for group, families in GROUPS.items():
            mine = {tp: e for tp, e in ends.items() if tp.topic in {f.TOPIC for f in families}}
            await _until(lambda g=group, m=mine: _committed_past(stack.kafka, g, m), 60)  # type: ignore[misc]
        for group in GROUPS:
            dead = await read_topic(stack.kafka, f"{group}.dlq")
            assert not [r for r in dead if r.key == control.encode()], "the control was hurt"
    finally:
        await log.stop()


async def _status(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> bool:
    return (await http.get(url, headers=headers)).status_code == 200


async def _told(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> bool:
    answer = await http.get(url, headers=headers)
    return answer.status_code == 200 and bool(answer.json()["notifications"])


async def _until(probe: Any, within: float) -> None:
    deadline = time.monotonic() + within
    while not await probe():
        assert time.monotonic() < deadline, f"not reached within {within}s"
        await asyncio.sleep(0.25)


@given(data=st.data())
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    phases=[Phase.generate],
)
def test_any_valid_event_is_handled_or_dead_lettered_alone(
    stack: Stack, data: st.DataObject
) -> None:
    places = (f"{uuid.uuid4().int % 90_000 + 10_000}", f"{uuid.uuid4().int % 90_000 + 10_000}")
    batch = data.draw(batches(places))
    asyncio.run(_check(stack, batch))
