"""Appending the learner service's events to Kafka: the only way it writes to the log."""

from __future__ import annotations

import logging

from faststream.kafka import KafkaBroker
from pydantic import BaseModel

from contracts.envelope import Envelope
from services.common.broker import publish_event

SOURCE = "/learner"
_log = logging.getLogger("learningtrail.learner.appending")


class AppendFailed(Exception):
    """Kafka did not confirm the event; nothing was accepted, the caller should retry."""


async def append(
    broker: KafkaBroker, topic: str, event_type: str, event_id: str, subject: str, data: BaseModel
) -> None:
    """Append one event, waiting for acks=all; :class:`AppendFailed` if Kafka did not take it."""
    envelope = Envelope[BaseModel](
        id=event_id, type=event_type, source=SOURCE, subject=subject, data=data
    )
    try:
        await publish_event(broker, topic, envelope)
    except Exception as exc:
        _log.warning("append failed", extra={"topic": topic, "error": repr(exc)})
        raise AppendFailed(str(exc)) from exc
