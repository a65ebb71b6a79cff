"""The idempotent batch consumer: decode, dead-letter what cannot be decoded, hand on the rest.

Every service consumes the same way. A FastStream batch subscriber fetches up to
``consumer_batch_size`` records; each is decoded against the contracts; a record that is not a
valid event goes to ``<group>.dlq`` with the reason in its headers and the stream goes on; the
valid ones go to the service's handler, which writes them with ``bulk_write`` keyed so that a
redelivered event changes nothing. Offsets are committed only after the handler returns.

When the handler fails, the kind of failure decides: an outage (MongoDB or Kafka unreachable)
rewinds the batch and retries it with exponential back-off until the outage passes — nothing is
dead-lettered for it; any other error is a poison event: the batch is applied event by event,
the failing event is retried ``consumer_max_attempts`` times and then dead-lettered with its
error and attempt count, and the partition goes on. Dead letters keep the original headers and
add ``dlq_reason``, ``dlq_original_topic``/``_partition``/``_offset``, ``dlq_group``,
``dlq_attempts`` and ``dlq_failed_at``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy
from opentelemetry import trace
from pydantic import BaseModel
from pymongo.errors import ConnectionFailure

from contracts.catalogue import dead_letter_topic
from contracts.envelope import ContractError, Envelope, from_kafka
from services.common.broker import EventLog
from services.common.mongo import is_busy
from services.common.settings import Settings
from services.common.telemetry import context_from_traceparent, links_from

BatchHandler = Callable[[list[Envelope[BaseModel]]], Awaitable[None]]

# Outages, not bad events: the batch waits (rewound, retried with back-off) until they pass.
TRANSIENT: tuple[type[BaseException], ...] = (
    ConnectionFailure,  # MongoDB unreachable, primary lost, network timeout
    KafkaError,
    OSError,
    TimeoutError,
)


def is_transient(exc: BaseException) -> bool:
    """Whether an error is an outage to wait out rather than an event to dead-letter."""
    return isinstance(exc, TRANSIENT) or is_busy(exc)


_log = logging.getLogger("learningtrail.consumer")
# How many dead-lettered positions an instance remembers, so that a rewound batch does not
# dead-letter the same record twice.
REMEMBERED_DEAD_LETTERS = 10_000
_tracer = trace.get_tracer("learningtrail.consumer")


@dataclasses.dataclass
class ConsumerStats:
    """Counters a service exposes about its consumer."""

    consumed: int = 0
    dead_lettered: int = 0
    failed_batches: int = 0
    last_error: str | None = None


def _safe_header(value: bytes | None) -> bytes:
    if value is None:
        return b""
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("utf-8", errors="replace").encode()
    return value


async def _tolerant_parser(records: Any, original: Callable[[Any], Awaitable[Any]]) -> Any:
    """FastStream decodes every header as UTF-8 before our code runs; one bad header would
    fail the whole batch forever. Parse sanitised copies, but keep the original records so that
    the bad one is dead-lettered as it arrived."""
    batch = records if isinstance(records, tuple) else (records,)
    safe = tuple(
        dataclasses.replace(r, headers=[(k, _safe_header(v)) for k, v in r.headers]) for r in batch
    )
    message = await original(safe if isinstance(records, tuple) else safe[0])
    message.raw_message = records
    return message


async def _raw_values(message: Any, original: Callable[[Any], Awaitable[Any]]) -> list[bytes]:
    """Leave decoding to the contracts, record by record."""
    return [r.value or b"" for r in message.raw_message]


class BatchConsumer:
    """Consumes ``topics`` in the service's consumer group into ``handler``."""

    def __init__(
        self,
        broker: KafkaBroker,
        log: EventLog,
        settings: Settings,
        topics: Sequence[str],
        data_types: dict[str, type[BaseModel]],
        handler: BatchHandler,
    ) -> None:
        self.broker = broker
        self.log = log
        self.settings = settings
        self.topics = tuple(topics)
        self.data_types = data_types
        self.handler = handler
        self.group = settings.consumer_group
        self.dead_letter_topic = dead_letter_topic(self.group)
        self.stats = ConsumerStats()
        self._failures = 0
        # where the records this instance dead-lettered were (topic, partition, offset)
        self._dead_lettered: OrderedDict[tuple[str, int, int], None] = OrderedDict()
        self._kafka: Any = None  # the aiokafka consumer, known once the first batch arrives
        subscriber = broker.subscriber(
            *self.topics,
            group_id=self.group,
            batch=True,
            max_records=settings.consumer_batch_size,
            batch_timeout_ms=settings.consumer_batch_timeout_ms,
            fetch_min_bytes=settings.consumer_fetch_min_bytes,
            fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            parser=_tolerant_parser,
            decoder=_raw_values,
            title=f"{self.group}:{'+'.join(self.topics)}",
        )
        subscriber(self._consume)

    async def _consume(self, values: list[bytes], message: KafkaMessage) -> None:
        records: tuple[ConsumerRecord[bytes, bytes], ...] = message.raw_message
        self._kafka = getattr(message, "consumer", None) or self._kafka
        decoded: list[tuple[ConsumerRecord[bytes, bytes], Envelope[BaseModel]]] = []
        for record in records:
            try:
                decoded.append(
                    (record, from_kafka(list(record.headers), record.value, self.data_types))
                )
            except ContractError as exc:
                await self._dead_letter(record, exc.reason, attempts=1)
        if not decoded:
            return
        events = [event for _, event in decoded]
        parent = context_from_traceparent(events[0].traceparent)
        with _tracer.start_as_current_span(
            f"{self.group} process",
            context=parent,
            kind=trace.SpanKind.CONSUMER,
            links=links_from(e.traceparent for e in events[1:]),
            attributes={
                "messaging.system": "kafka",
                "messaging.consumer.group.name": self.group,
                "messaging.batch.message_count": len(events),
            },
        ):
            try:
                await self.handler(events)
            except Exception as exc:
                if is_transient(exc):
                    await self._back_off(exc)
                    raise  # the batch is rewound and comes again once the outage is over
                await self._isolate(decoded, exc)
        self._failures = 0
        self.stats.consumed += len(events)

    async def _isolate(
        self,
        decoded: list[tuple[ConsumerRecord[bytes, bytes], Envelope[BaseModel]]],
        first: Exception,
    ) -> None:
        """A batch failed for a reason that is not an outage: apply its events one by one,
        so that only the event that cannot be processed is retried and, after
        ``consumer_max_attempts``, dead-lettered with its error — the partition goes on."""
        self.stats.failed_batches += 1
        _log.warning(
            "batch failed, isolating the poison event",
            extra={"group": self.group, "error": f"{type(first).__name__}: {first}"},
        )
        for record, event in decoded:
            for attempt in range(1, self.settings.consumer_max_attempts + 1):
                try:
                    await self.handler([event])
                    break
                except Exception as exc:
                    if is_transient(exc):
                        await self._back_off(exc)
                        raise
                    if attempt == self.settings.consumer_max_attempts:
                        await self._dead_letter(
                            record, f"{type(exc).__name__}: {exc}", attempts=attempt
                        )
                    else:
                        await asyncio.sleep(min(2.0, 0.1 * 2**attempt))

    async def _back_off(self, exc: Exception) -> None:
        """Wait before the rewound batch is fetched again: 0.5 s doubling to the cap."""
        self._failures += 1
        self.stats.failed_batches += 1
        self.stats.last_error = f"{type(exc).__name__}: {exc}"
        delay = min(self.settings.consumer_retry_max_seconds, 0.5 * 2 ** (self._failures - 1))
        _log.warning(
            "batch failed, retrying",
            extra={
                "group": self.group,
                "attempt": self._failures,
                "retry_in_s": delay,
                "error": self.stats.last_error,
            },
        )
        await asyncio.sleep(delay)

    async def lag(self) -> dict[tuple[str, int], int]:
        """Records not yet consumed, per assigned partition (empty before the first batch)."""
        consumer = self._kafka
        if consumer is None:
            return {}
        lags = {}
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            try:
                position = await consumer.position(tp)
            except Exception as exc:  # a partition being revoked right now
                _log.debug("no position", extra={"partition": str(tp), "error": repr(exc)})
                continue
            lags[(tp.topic, tp.partition)] = max(0, highwater - position)
        return lags

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], reason: str, attempts: int
    ) -> None:
        """Send a record to the group's dead-letter topic — once: a batch rewound after an
        outage brings its undecodable records again, and they are not sent a second time."""
        where = (record.topic, record.partition, record.offset)
        if where in self._dead_lettered:
            return
        headers = {k: _safe_header(v).decode() for k, v in record.headers}
        headers.update(
            {
                "dlq_reason": reason,
                "dlq_original_topic": record.topic,
                "dlq_original_partition": str(record.partition),
                "dlq_original_offset": str(record.offset),
                "dlq_group": self.group,
                "dlq_attempts": str(attempts),
                "dlq_failed_at": datetime.now(UTC).isoformat(),
            }
        )
        await self.log.append(self.dead_letter_topic, record.value or b"", record.key, headers)
        self._dead_lettered[where] = None
        while len(self._dead_lettered) > REMEMBERED_DEAD_LETTERS:
            self._dead_lettered.popitem(last=False)
        self.stats.dead_lettered += 1
        _log.warning(
            "event dead-lettered",
            extra={
                "group": self.group,
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "reason": reason,
            },
        )
