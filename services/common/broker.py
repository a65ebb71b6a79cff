"""Kafka: the consuming broker's factory, topic creation, and the event log every service
writes through (the one way to publish an event)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    KafkaConnectionError,
    OutOfOrderSequenceNumber,
    ProducerFenced,
    TopicAlreadyExistsError,
    UnknownProducerId,
)
from faststream.kafka import KafkaBroker
from pydantic import BaseModel

from contracts.catalogue import EVENT_TYPES, TOPICS, dead_letter_topic
from contracts.envelope import Envelope, to_kafka
from contracts.text import STORED
from services.common.settings import Settings
from services.common.telemetry import current_traceparent

_log = logging.getLogger("learningtrail.broker")


def make_broker(settings: Settings) -> KafkaBroker:
    """The FastStream broker the service consumes with (events are written through
    :class:`EventLog`)."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=f"learningtrail-{settings.service}",
        allow_auto_create_topics=False,  # topics are made by ensure_topics, with their settings
        logger=logging.getLogger(f"learningtrail.{settings.service}.kafka"),
    )


async def ensure_topics(
    bootstrap_servers: str,
    partitions: int,
    replication_factor: int,
    dead_letter_groups: tuple[str, ...] = (),
) -> list[str]:
    """Create the system's topics (and the given groups' dead-letter topics) if missing.

    Topics are never auto-created by the broker: partition count and compaction are decided
    here. Returns the names that were created now.
    """
    wanted = [
        NewTopic(
            t.name,
            num_partitions=partitions,
            replication_factor=replication_factor,
            topic_configs={"cleanup.policy": "compact"} if t.compacted else {},
        )
        for t in TOPICS
    ] + [
        NewTopic(
            dead_letter_topic(group),
            num_partitions=partitions,
            replication_factor=replication_factor,
        )
        for group in dead_letter_groups
    ]
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, client_id="learningtrail-admin"
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            # another instance may have created them first
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
        created = [t.name for t in missing]
        if created:
            _log.info("created topics", extra={"topics": created})
        return created
    finally:
        await admin.close()


# How long an append may wait for Kafka's acknowledgement before the caller is told it failed
# (and answers 503): a broker outage must not hold requests open for its whole duration.
PUBLISH_TIMEOUT_SECONDS = 5.0

# Errors after which an idempotent producer's id or sequence numbers are no longer valid (a
# broker restart can cause them); the producer must be replaced, it never recovers by itself.
FATAL_PRODUCER_ERRORS: tuple[type[BaseException], ...] = (
    OutOfOrderSequenceNumber,
    UnknownProducerId,
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    ProducerFenced,
)


class EventLog:
    """The process's one Kafka producer: idempotent, acks=all, replaced when Kafka
    invalidates its producer id. Every event and dead letter a service writes goes through
    it."""

    def __init__(self, bootstrap_servers: str, client_id: str) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.client_id = client_id
        self._producer: AIOKafkaProducer | None = None
        self._replacing = asyncio.Lock()

    def _new(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers,
            client_id=self.client_id,
            enable_idempotence=True,
            acks="all",
            request_timeout_ms=10_000,
        )

    @property
    def running(self) -> bool:
        """Whether the producer has been started (and not stopped)."""
        return self._producer is not None

    async def start(self) -> None:
        producer = self._new()
        await producer.start()
        self._producer = producer

    async def stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def append(
        self,
        topic: str,
        value: bytes,
        key: bytes | None,
        headers: dict[str, str],
        within: float = PUBLISH_TIMEOUT_SECONDS,
    ) -> None:
        """Write one record and wait for acks=all, at most ``within`` seconds."""
        producer = self._producer
        if producer is None:
            raise KafkaConnectionError("the event log is not started")
        encoded = [(name, text.encode()) for name, text in headers.items()]
        try:
            await asyncio.wait_for(
                producer.send_and_wait(topic, value, key=key, headers=encoded), within
            )
        except FATAL_PRODUCER_ERRORS as exc:
            _log.warning("producer invalidated; replacing it", extra={"error": repr(exc)})
            await self._replace(producer)
            raise

    async def append_many(
        self,
        records: Sequence[tuple[str, bytes, bytes | None, dict[str, str]]],
        within: float = PUBLISH_TIMEOUT_SECONDS,
    ) -> list[BaseException | None]:
        """Write many records pipelined (all sent, then every acks=all awaited together), at
        most ``within`` seconds in all; one result per record: None when Kafka has it."""
        producer = self._producer
        if producer is None:
            return [KafkaConnectionError("the event log is not started")] * len(records)

        async def send_all() -> list[BaseException | None]:
            pending: list[asyncio.Future[Any] | BaseException] = []
            for topic, value, key, headers in records:
                encoded = [(name, text.encode()) for name, text in headers.items()]
                try:
                    pending.append(await producer.send(topic, value, key=key, headers=encoded))
                except Exception as exc:
                    pending.append(exc)
            futures = [p for p in pending if isinstance(p, asyncio.Future)]
            acked = iter(await asyncio.gather(*futures, return_exceptions=True))
            return [p if isinstance(p, BaseException) else _error_of(next(acked)) for p in pending]

        try:
            results = await asyncio.wait_for(send_all(), within)
        except TimeoutError as exc:
            return [exc] * len(records)
        if any(isinstance(r, FATAL_PRODUCER_ERRORS) for r in results):
            _log.warning("producer invalidated; replacing it")
            await self._replace(producer)
        return results

    async def _replace(self, broken: AIOKafkaProducer) -> None:
        async with self._replacing:
            if self._producer is not broken:
                return  # another append replaced it already
            fresh = self._new()
            await fresh.start()
            self._producer = fresh
        await _stop_quietly(broken)


def _error_of(result: object) -> BaseException | None:
    return result if isinstance(result, BaseException) else None


async def _stop_quietly(producer: AIOKafkaProducer) -> None:
    """Close a producer that is being replaced; its failures no longer matter."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(producer.stop(), 5)


async def publish_event(
    log: EventLog,
    topic: str,
    envelope: Envelope[BaseModel],
    within: float = PUBLISH_TIMEOUT_SECONDS,
) -> None:
    """Append one event and wait until Kafka has it (acks=all); raises if it could not,
    within ``within`` seconds.

    An append that timed out may still reach Kafka later: callers keep the event (same id)
    and append it again on retry, and consumers are idempotent, so it is never doubled. The
    envelope is stamped with the current trace context so that consumers continue the trace
    of the request that caused it.
    """
    if envelope.traceparent is None:
        envelope = envelope.model_copy(update={"traceparent": current_traceparent()})
    key, value, headers = to_kafka(envelope)
    if envelope.traceparent:
        headers["traceparent"] = envelope.traceparent
    await log.append(topic, value, key, headers, within)


_EVENT_TYPES = {e.name: (e.topic, e.data) for e in EVENT_TYPES}


def _pending_envelope(
    pending: dict[str, Any], source: str, subject: str
) -> tuple[str, Envelope[BaseModel]]:
    topic, model = _EVENT_TYPES[pending["type"]]
    return topic, Envelope[BaseModel](
        id=pending["event_id"],
        type=pending["type"],
        source=source,
        subject=subject,
        # kept when the change was made: read back under the rules it was made under
        data=model.model_validate(pending["data"], context=STORED),
        # the trace of the change, kept with it; else the one appending it now
        traceparent=pending.get("traceparent") or current_traceparent(),
    )


async def publish_pending_many(
    log: EventLog, items: list[tuple[dict[str, Any], str]], source: str
) -> list[BaseException | None]:
    """Append many kept events (``pending``, subject) pipelined; one result per event (None:
    Kafka has it). Events of one subject keep their order: they share a key, hence a
    partition, and the idempotent producer keeps a partition's order."""
    records = []
    for pending, subject in items:
        topic, envelope = _pending_envelope(pending, source, subject)
        key, value, headers = to_kafka(envelope)
        if envelope.traceparent:
            headers["traceparent"] = envelope.traceparent
        records.append((topic, value, key, headers))
    return await log.append_many(records)
