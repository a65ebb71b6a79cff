"""The chassis' batch consumer on the real broker: poison events are isolated, retried and
dead-lettered with their reason; outages are waited out; dead letters can be replayed once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream.kafka import KafkaBroker
from pydantic import BaseModel
from pymongo.errors import AutoReconnect

from cli.dlq import read_dead_letters, replay
from contracts.envelope import Envelope, new_event_id
from contracts.learners import LEARNER_REGISTERED, LearnerRegistered
from services.common.broker import EventLog, ensure_topics, make_broker, publish_event
from services.common.consumer import BatchConsumer
from services.common.settings import Settings
from tests.conftest import Stack, eventually


class Harness:
    def __init__(self, stack: Stack) -> None:
        self.group = f"test-consumer-{new_event_id()[-12:]}"
        self.topic = f"{self.group}.in"
        self.settings = Settings(
            service=self.group,
            kafka_bootstrap_servers=stack.kafka,
            identity_hmac_key="x",
            token_secret="x",
            admin_token="x",
            consumer_max_attempts=3,
            consumer_batch_timeout_ms=50,
            consumer_retry_max_seconds=1,
        )
        self.seen: Counter[str] = Counter()
        self.poison = {"poison"}
        self.outage_left = 0
        self.broker: KafkaBroker = make_broker(self.settings)
        self.log = EventLog(stack.kafka, self.group)
        self.consumer = BatchConsumer(
            self.broker,
            self.log,
            self.settings,
            [self.topic],
            {LEARNER_REGISTERED: LearnerRegistered},
            self.handle,
        )

    async def handle(self, events: list[Envelope[BaseModel]]) -> None:
        if self.outage_left:
            self.outage_left -= 1
            raise AutoReconnect("connection refused (simulated outage of the database)")
        for event in events:
            learner_id = event.subject
            self.seen[learner_id] += 1
            if learner_id in self.poison:
                raise ValueError(f"cannot project learner {learner_id}")

    async def send(self, learner_id: str) -> None:
        data = LearnerRegistered(
            learner_id=learner_id,
            full_name="Lê Văn A",
            birth_date=date(2000, 1, 1),
            registered_at=datetime.now(UTC),
        )
        await publish_event(
            self.log,
            self.topic,
            Envelope[BaseModel](
                type=LEARNER_REGISTERED, source="/test", subject=learner_id, data=data
            ),
        )


@pytest.fixture
async def harness(stack: Stack) -> AsyncIterator[Harness]:
    h = Harness(stack)
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka)
    await admin.start()
    await admin.create_topics([NewTopic(h.topic, num_partitions=1, replication_factor=1)])
    await admin.close()
    await ensure_topics(stack.kafka, 1, 1, (h.group,))
    await h.log.start()
    await h.broker.start()
    yield h
    await h.broker.stop()
    await h.log.stop()


async def test_a_poison_event_is_dead_lettered_after_its_attempts_and_the_rest_flows(
    harness: Harness, stack: Stack
) -> None:
    for learner_id in ("good-1", "poison", "good-2"):
        await harness.send(learner_id)
    await harness.broker.publish(
        b"{not json", topic=harness.topic, key=b"garbage", headers={"ce_type": LEARNER_REGISTERED}
    )

    async def dead() -> list[object]:
        return list(await read_dead_letters(stack.kafka, harness.group))

    letters = await eventually(dead, lambda found: len(found) == 2)
    by_key = {d.key: d for d in letters}  # type: ignore[attr-defined]
    poison = by_key[b"poison"]
    assert poison.headers["dlq_attempts"] == "3"
    assert poison.headers["dlq_reason"] == "ValueError: cannot project learner poison"
    assert poison.headers["dlq_original_topic"] == harness.topic
    assert poison.headers["ce_type"] == LEARNER_REGISTERED  # the original headers are kept
    assert by_key[b"garbage"].headers["dlq_attempts"] == "1"
    assert "missing CloudEvents headers" in by_key[b"garbage"].reason
    assert harness.seen["good-1"] >= 1 and harness.seen["good-2"] >= 1
    assert harness.seen["poison"] == 1 + 3  # once in the batch, then three attempts alone
    assert harness.consumer.stats.dead_lettered == 2

    # fixed: the poison can be processed now, and is replayed once
    harness.poison.clear()
    outcome = await replay(stack.kafka, harness.group, [poison.position])
    assert outcome == {poison.position: f"replayed to {harness.topic}"}
    await eventually(lambda: _count(harness, "poison"), lambda n: n == 5)
    again = await replay(stack.kafka, harness.group, [poison.position])
    assert "already replayed" in again[poison.position]
    listed = {d.position: d for d in await read_dead_letters(stack.kafka, harness.group)}
    assert listed[poison.position].replayed


async def test_an_undecodable_record_in_a_rewound_batch_is_dead_lettered_once(
    harness: Harness, stack: Stack
) -> None:
    harness.outage_left = 3  # the batch holding both comes back three times
    await harness.send("beside-garbage")
    await harness.broker.publish(
        b"{not json", topic=harness.topic, key=b"garbage-2", headers={"ce_type": LEARNER_REGISTERED}
    )
    await eventually(lambda: _count(harness, "beside-garbage"), lambda n: n == 1, within=30)
    assert harness.consumer.stats.failed_batches >= 3
    await asyncio.sleep(0.5)
    letters = await read_dead_letters(stack.kafka, harness.group)
    assert [d.key for d in letters] == [b"garbage-2"]  # type: ignore[attr-defined]


async def _count(harness: Harness, learner_id: str) -> int:
    return harness.seen[learner_id]


async def test_an_outage_is_waited_out_and_nothing_is_dead_lettered(
    harness: Harness, stack: Stack
) -> None:
    harness.outage_left = 3
    await harness.send("during-outage")
    await eventually(lambda: _count(harness, "during-outage"), lambda n: n == 1, within=30)
    assert harness.consumer.stats.failed_batches >= 3
    await asyncio.sleep(0.5)
    assert await read_dead_letters(stack.kafka, harness.group) == []
    lag = await harness.consumer.lag()
    assert lag == {(harness.topic, 0): 0}
