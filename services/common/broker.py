"""The Kafka broker factory, topic creation and the one way to publish an event."""

from __future__ import annotations

import contextlib
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from pydantic import BaseModel

from contracts.catalogue import TOPICS, dead_letter_topic
from contracts.envelope import Envelope, to_kafka
from services.common.settings import Settings
from services.common.telemetry import current_traceparent

_log = logging.getLogger("learningtrail.broker")


def make_broker(settings: Settings) -> KafkaBroker:
    """A broker whose producer is idempotent and waits for every in-sync replica (acks=all)."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=f"learningtrail-{settings.service}",
        enable_idempotence=True,
        acks="all",
        request_timeout_ms=10_000,
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


async def publish_event(broker: KafkaBroker, topic: str, envelope: Envelope[BaseModel]) -> None:
    """Append one event and wait until Kafka has it (acks=all); raises if it could not.

    The envelope is stamped with the current trace context so that consumers continue the
    trace of the request that caused it.
    """
    if envelope.traceparent is None:
        envelope = envelope.model_copy(update={"traceparent": current_traceparent()})
    key, value, headers = to_kafka(envelope)
    if envelope.traceparent:
        headers["traceparent"] = envelope.traceparent
    await broker.publish(value, topic=topic, key=key, headers=headers)
