"""Appending the learner service's events to Kafka: the only way it writes to the log.

A document that changed carries ``pending = {event_id, type, topic, subject, data}``; appending
publishes exactly that event (same id on every attempt, so consumers see one event however
often a failed append is retried) and then clears it.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel

from contracts.catalogue import EVENT_TYPES
from contracts.envelope import new_event_id
from services.common.broker import EventLog, publish_pending, publish_pending_many
from services.common.mongo import Document
from services.learner.store import LearnerStore, OutboxKind

SOURCE = "/learner"
_log = logging.getLogger("learningtrail.learner.appending")
_MODELS = {e.name: (e.topic, e.data) for e in EVENT_TYPES}


class AppendFailed(Exception):
    """Kafka did not confirm the event; the change is kept and the caller should retry."""


def pending_event(event_type: str, subject: str, data: BaseModel) -> Document:
    """The ``pending`` field for a document whose change ``data`` announces."""
    topic, _ = _MODELS[event_type]
    return {
        "event_id": new_event_id(),
        "type": event_type,
        "topic": topic,
        "subject": subject,
        "data": data.model_dump(mode="json", exclude_none=True),
    }


async def append_pending(
    log: EventLog,
    store: LearnerStore,
    kind: OutboxKind,
    doc: Document,
    also: dict[str, Any] | None = None,
) -> None:
    """Append the document's pending event (if any) and clear it, setting ``also`` with it."""
    pending = doc.get("pending")
    if not pending:
        return
    topic = pending["topic"]
    try:
        await publish_pending(log, pending, SOURCE, pending["subject"])
    except Exception as exc:
        _log.warning("append failed", extra={"topic": topic, "error": repr(exc)})
        raise AppendFailed(str(exc)) from exc
    await store.clear_pending(kind, doc["_id"], pending["event_id"], also or {})
    _log.info("event appended", extra={"topic": topic, "event_type": pending["type"]})


async def append_pending_many(
    log: EventLog, store: LearnerStore, kind: OutboxKind, docs: list[Document]
) -> dict[str, BaseException]:
    """Append the pending events of many documents pipelined and clear them in one bulk
    write; the documents whose event Kafka did not confirm, with the reason (they keep their
    pending event, and a retry appends it again)."""
    waiting = [d for d in docs if d.get("pending")]
    if not waiting:
        return {}
    results = await publish_pending_many(
        log, [(d["pending"], d["pending"]["subject"]) for d in waiting], SOURCE
    )
    appended = [d for d, error in zip(waiting, results, strict=True) if error is None]
    await store.clear_pending_many(kind, [(d["_id"], d["pending"]["event_id"]) for d in appended])
    for doc in appended:
        doc["pending"] = None
    failed = {d["_id"]: e for d, e in zip(waiting, results, strict=True) if e is not None}
    if failed:
        _log.warning(
            "append failed",
            extra={"kind": kind, "failed": len(failed), "error": repr(next(iter(failed.values())))},
        )
    if appended:
        _log.info("event appended", extra={"kind": kind, "count": len(appended)})
    return failed
