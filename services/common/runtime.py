"""What a service process is made of: settings, logs, traces, one Mongo client, one broker.

Each service's composition root (``bootstrap.py``) builds one :class:`Runtime` and hangs its
own store, handlers and routes on it.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import Generic, TypeVar

import uvicorn
from fastapi import FastAPI
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

from contracts.catalogue import data_types_on
from services.common.broker import EventLog, ensure_topics, make_broker
from services.common.consumer import BatchConsumer, BatchHandler, ConsumerStats
from services.common.http import Check
from services.common.logs import configure_logging
from services.common.metrics import Metrics
from services.common.mongo import database, make_client, ping
from services.common.outbox import Outbox, OutboxRelay
from services.common.settings import Settings
from services.common.telemetry import configure_tracing


def _age(since: datetime | None) -> float:
    return 0.0 if since is None else max(0.0, (datetime.now(UTC) - since).total_seconds())


T = TypeVar("T")


class SharedRead(Generic[T]):
    """One read answering every caller within ``fresh_for`` seconds of its start, whether it
    is still running or done (for gauges refreshed together, which would each read alike)."""

    def __init__(self, read: Callable[[], Awaitable[T]], fresh_for: float) -> None:
        self.read = read
        self.fresh_for = fresh_for
        self._last: tuple[float, asyncio.Task[T]] | None = None

    async def __call__(self) -> T:
        now = time.monotonic()
        if self._last is None or now - self._last[0] >= self.fresh_for:
            self._last = (now, asyncio.ensure_future(self.read()))
        return await asyncio.shield(self._last[1])


class Runtime:
    """The process-wide resources of one service."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        configure_logging(settings.service, settings.log_level)
        self.tracer_provider = configure_tracing(
            settings.service,
            settings.otlp_endpoint,
            settings.otlp_schedule_delay_ms,
            settings.trace_sample_ratio,
        )
        PymongoInstrumentor().instrument()
        self.client = make_client(settings)
        self.db = database(self.client, settings)
        self.broker = make_broker(settings)
        self.log = EventLog(settings.kafka_bootstrap_servers, f"learningtrail-{settings.service}")
        self.consumer: BatchConsumer | None = None
        self.outbox_backlog: Callable[[], Awaitable[tuple[int, datetime | None]]] | None = None
        self.started_at: float | None = None  # monotonic; when the broker had started
        self.metrics = Metrics(settings.service)
        self.metrics.gauge_from(
            "learningtrail_readiness",
            "Each /readyz check: 1 passes, 0 fails (mongodb, kafka, consumer).",
            ("check",),
            self._readiness_samples,
        )

    def relay(self, outbox: Outbox) -> OutboxRelay:
        """The relay of the service's outbox (started by the service's lifespan), its backlog
        watched on /metrics and /readyz."""
        self.watch_outbox(outbox.backlog)
        return OutboxRelay(
            outbox,
            self.log,
            self.settings.outbox_grace_seconds,
            self.settings.outbox_orphan_seconds,
        )

    def watch_outbox(self, backlog: Callable[[], Awaitable[tuple[int, datetime | None]]]) -> None:
        """Expose the service's outbox (how many events wait, and the oldest one's age) on
        /metrics, and report on /readyz when its relay is behind."""
        # the two gauges are refreshed together at each scrape: one read of the outbox serves both
        shared = SharedRead(backlog, fresh_for=1.0)
        self.outbox_backlog = shared

        async def waiting() -> dict[tuple[()], float]:
            count, _ = await shared()
            return {(): float(count)}

        async def oldest() -> dict[tuple[()], float]:
            _, since = await shared()
            return {(): _age(since)}

        self.metrics.gauge_from(
            "learningtrail_outbox_events",
            "Events stored with their change and not yet in the log (the relay appends them).",
            (),
            waiting,
        )
        self.metrics.gauge_from(
            "learningtrail_outbox_oldest_seconds",
            "How long the oldest event not yet in the log has waited (0 when none waits).",
            (),
            oldest,
        )

    def consume(self, topics: Sequence[str], handler: BatchHandler) -> BatchConsumer:
        """Subscribe the service's consumer group to ``topics``; events reach ``handler`` in
        batches, already decoded against the contracts."""
        data_types = {t: m for topic in topics for t, m in data_types_on(topic).items()}
        consumer = BatchConsumer(self.broker, self.log, self.settings, topics, data_types, handler)
        self.consumer = consumer
        group = self.settings.consumer_group
        self.metrics.watch_consumer(group, lambda: consumer.stats)

        async def lag() -> dict[tuple[str, str, str], float]:
            return {(group, t, str(p)): n for (t, p), n in (await consumer.lag()).items()}

        async def assigned() -> dict[tuple[str], float]:
            return {(group,): len(self.assignment())}

        self.metrics.gauge_from(
            "learningtrail_consumer_lag",
            "Records not yet consumed, per topic and partition assigned to this instance.",
            ("group", "topic", "partition"),
            lag,
        )
        self.metrics.gauge_from(
            "learningtrail_consumer_assigned_partitions",
            "Partitions the consumer group has assigned to this instance.",
            ("group",),
            assigned,
        )
        return consumer

    def assignment(self) -> set[tuple[str, int]]:
        """The (topic, partition) pairs the group has assigned to this instance's consumer —
        known from the join on, before any record arrives."""
        found: set[tuple[str, int]] = set()
        for subscriber in self.broker.subscribers:
            kafka = getattr(subscriber, "consumer", None)
            if (
                kafka is None
                or getattr(subscriber, "group_id", None) != self.settings.consumer_group
            ):
                continue
            try:
                found |= {(tp.topic, tp.partition) for tp in kafka.assignment()}
            except Exception:  # noqa: S112 - stopping, or between generations: none now
                continue
        return found

    async def readiness(self) -> dict[str, bool | Check]:
        """MongoDB answers a ping, Kafka answers; for a consuming service, also that its
        consumer has partitions assigned or has consumed — allowed to be neither for
        ``consumer_ready_grace_seconds`` after start-up, while the group is joined."""
        mongodb, kafka = await asyncio.gather(ping(self.client), self.broker.ping(timeout=2.0))
        checks: dict[str, bool | Check] = {"mongodb": mongodb, "kafka": bool(kafka)}
        if self.consumer is not None:
            checks["consumer"] = self._consumer_check(self.consumer)
        if self.outbox_backlog is not None and mongodb:
            count, since = await self.outbox_backlog()
            age = _age(since)
            checks["outbox"] = Check(
                age < self.settings.outbox_behind_seconds,
                {"waiting": count, "oldest_seconds": round(age, 1)},
            )
        return checks

    def _consumer_check(self, consumer: BatchConsumer) -> Check:
        since = None if self.started_at is None else time.monotonic() - self.started_at
        return consumer_check(
            self.settings.consumer_group,
            consumer.stats,
            len(self.assignment()),
            since,
            self.settings.consumer_ready_grace_seconds,
        )

    async def _readiness_samples(self) -> dict[tuple[str], float]:
        checks = await self.readiness()
        return {(name,): float(c.ok if isinstance(c, Check) else c) for name, c in checks.items()}

    def lifespan(
        self,
        on_start: Callable[[], Awaitable[None]],
        on_stop: Callable[[], Awaitable[None]] | None = None,
    ) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
        """Start-up: topics, then the service's own preparation (indexes, background workers),
        then the broker. Shut-down: the broker first, so in-flight batches finish and commit,
        then the service's own ``on_stop`` (stop workers), then MongoDB."""

        @asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            groups = (self.settings.consumer_group,) if self.consumer else ()
            await ensure_topics(
                self.settings.kafka_bootstrap_servers,
                self.settings.topic_partitions,
                self.settings.topic_replication_factor,
                groups,
            )
            await self.log.start()
            await on_start()
            await self.broker.start()
            self.started_at = time.monotonic()
            try:
                yield
            finally:
                await self.broker.stop()
                if on_stop is not None:
                    await on_stop()
                await self.log.stop()
                await self.client.close()
                self.tracer_provider.shutdown()

        return lifespan


def consumer_check(
    group: str, stats: ConsumerStats, assigned: int, since_start: float | None, grace: float
) -> Check:
    """Whether a consumer is doing its job, for /readyz: it has partitions assigned or has
    consumed something; for ``grace`` seconds after start-up (``since_start``) it may be neither
    while the group is joined. A consumer not yet started (None) is not ready."""
    detail: dict[str, object] = {
        "group": group,
        "assigned_partitions": assigned,
        "consumed": stats.consumed,
        "failed_batches": stats.failed_batches,
        "dead_lettered": stats.dead_lettered,
        "last_error": stats.last_error,
        "seconds_since_start": None if since_start is None else round(since_start, 1),
        "grace_seconds": grace,
    }
    if since_start is None:
        return Check(False, {**detail, "reason": "the consumer has not started"})
    if assigned or stats.consumed:
        return Check(True, detail)
    if since_start < grace:
        return Check(True, {**detail, "state": "joining the consumer group"})
    reason = f"no partitions assigned and nothing consumed {since_start:.0f}s after start-up"
    return Check(False, {**detail, "reason": reason})


YOUNG_GENERATION_THRESHOLD = 20_000
"""Allocations between two passes of the cyclic garbage collector over new objects (Python's
default is 700): a batch of 1,000 records makes hundreds of thousands of short-lived objects,
nearly all freed by reference counting, and every hundredth pass is a full one."""


def settle_garbage_collector() -> None:
    """Before serving: what the process made so far (modules, classes, models, the app) lives as
    long as it does, so it is frozen out of the cyclic collector's passes, and new objects are
    looked at less often. Measured on 10,000 records (BENCHMARKS.md, seventh round): the
    collector took a fifth to a quarter of each service's processor time, most of it full passes
    re-reading everything start-up had made."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)


def serve(app: FastAPI, settings: Settings) -> None:
    """Run the app under uvicorn with the chassis' logging (not uvicorn's own)."""
    settle_garbage_collector()
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        timeout_graceful_shutdown=10,
        # longer than typical client pools keep idle connections, so the server rarely
        # closes one the client is about to reuse
        timeout_keep_alive=75,
        # X-Forwarded-For only from the configured proxies; none by default (uvicorn would
        # otherwise believe any local caller), so the client is the socket peer
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or [],
    )
