"""What a service process is made of: settings, logs, traces, one Mongo client, one broker.

Each service's composition root (``bootstrap.py``) builds one :class:`Runtime` and hangs its
own store, handlers and routes on it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import uvicorn
from fastapi import FastAPI
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

from contracts.catalogue import data_types_on
from services.common.broker import ensure_topics, make_broker
from services.common.consumer import BatchConsumer, BatchHandler
from services.common.logs import configure_logging
from services.common.mongo import database, make_client, ping
from services.common.settings import Settings
from services.common.telemetry import configure_tracing


class Runtime:
    """The process-wide resources of one service."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        configure_logging(settings.service, settings.log_level)
        self.tracer_provider = configure_tracing(settings.service, settings.otlp_endpoint)
        PymongoInstrumentor().instrument()
        self.client = make_client(settings)
        self.db = database(self.client, settings)
        self.broker = make_broker(settings)
        self.consumer: BatchConsumer | None = None

    def consume(self, topics: Sequence[str], handler: BatchHandler) -> BatchConsumer:
        """Subscribe the service's consumer group to ``topics``; events reach ``handler`` in
        batches, already decoded against the contracts."""
        data_types = {t: m for topic in topics for t, m in data_types_on(topic).items()}
        self.consumer = BatchConsumer(self.broker, self.settings, topics, data_types, handler)
        return self.consumer

    async def readiness(self) -> dict[str, bool]:
        return {"mongodb": await ping(self.client), "kafka": await self.broker.ping(timeout=2.0)}

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
            await on_start()
            await self.broker.start()
            try:
                yield
            finally:
                await self.broker.stop()
                if on_stop is not None:
                    await on_stop()
                await self.client.close()
                self.tracer_provider.shutdown()

        return lifespan


def serve(app: FastAPI, settings: Settings) -> None:
    """Run the app under uvicorn with the chassis' logging (not uvicorn's own)."""
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        timeout_graceful_shutdown=10,
        # longer than typical client pools keep idle connections, so the server rarely
        # closes one the client is about to reuse
        timeout_keep_alive=75,
    )
