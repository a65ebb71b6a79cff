"""Appending the learner service's events to Kafka: the only way it writes to the log.

A document that changed carries ``pending = {event_id, type, topic, subject, data}``; appending
publishes exactly that event (same id on every attempt, so consumers see one event however
often a failed append is retried) while its entry in the store's outbox says it waits, and
then deletes that entry without holding up the request (see :mod:`services.learner.store`).
"""

from __future__ import annotations

import logging
from collections.abc import Collection

from pydantic import BaseModel

from contracts.catalogue import EVENT_TYPES
from contracts.envelope import new_event_id
from services.common.broker import EventLog, publish_pending_many
from services.common.mongo import Document
from services.common.telemetry import current_traceparent
from services.learner.store import LearnerStore, OutboxKind

SOURCE = "/learner"
_log = logging.getLogger("learningtrail.learner.appending")
_MODELS = {e.name: (e.topic, e.data) for e in EVENT_TYPES}


class AppendFailed(Exception):
    """Kafka did not confirm the event; the change is kept and the caller should retry."""


def pending_event(
    event_type: str, subject: str, data: BaseModel, traceparent: str | None = None
) -> Document:
    """The ``pending`` field for a document whose change ``data`` announces, with the trace of
    the request that made the change (the current one unless given): however and whenever the
    event is appended, it continues that trace."""
    topic, _ = _MODELS[event_type]
    pending: Document = {
        "event_id": new_event_id(),
        "type": event_type,
        "topic": topic,
        "subject": subject,
        "data": data.model_dump(mode="json", exclude_none=True),
    }
    traceparent = traceparent or current_traceparent()
    if traceparent:
        pending["traceparent"] = traceparent
    return pending


async def append_pending(
    log: EventLog,
    store: LearnerStore,
    kind: OutboxKind,
    doc: Document,
) -> None:
    """Append the document's pending event if it still waits for Kafka."""
    failed = await append_pending_many(log, store, kind, [doc])
    if failed:
        raise AppendFailed(str(next(iter(failed.values()))))


async def append_pending_many(
    log: EventLog,
    store: LearnerStore,
    kind: OutboxKind,
    docs: list[Document],
    noted: Collection[str] = (),
) -> dict[str, BaseException]:
    """Append the waiting events of many documents pipelined and mark them appended in one
    bulk delete; the documents whose event Kafka did not confirm, with the reason (their event
    keeps waiting, and a retry appends it again, with the same id). The documents ``noted``
    (by id) were inserted by the caller a moment ago with their outbox entries, so their
    events wait for certain; only the others' are looked up in the outbox."""
    carrying = [d for d in docs if d.get("pending")]
    waiting_ids = await store.waiting(
        d["pending"]["event_id"] for d in carrying if d["_id"] not in noted
    )
    waiting = [d for d in carrying if d["_id"] in noted or d["pending"]["event_id"] in waiting_ids]
    if not waiting:
        return {}
    results = await publish_pending_many(
        log, [(d["pending"], d["pending"]["subject"]) for d in waiting], SOURCE
    )
    # the events are in the log: the request need not wait for their outbox entries to go
    store.appended_soon(
        [d["pending"]["event_id"] for d, e in zip(waiting, results, strict=True) if e is None]
    )
    failed = {d["_id"]: e for d, e in zip(waiting, results, strict=True) if e is not None}
    if failed:
        _log.warning(
            "append failed",
            extra={"kind": kind, "failed": len(failed), "error": repr(next(iter(failed.values())))},
        )
    if len(failed) < len(waiting):
        _log.info("event appended", extra={"kind": kind, "count": len(waiting) - len(failed)})
    return failed
