"""The outbox relay: every stored change reaches the log, whatever happened to its request.

A request appends its events at once (so that ``202`` means Kafka has them), but correctness
does not depend on it: if the append failed (Kafka away, ``503``), timed out after Kafka took
it, or the process died between storing and appending, the event's outbox entry stays. This
task, in every instance, appends what the outbox has held for more than ``grace`` seconds —
at start-up, continuously, and after an outage — with the event's original id (so a relayed
event that Kafka already had is one event to consumers), learners' events before records',
oldest first (events of one subject share a key, so their order holds), and deletes the
entries Kafka confirmed in bulk.

An entry whose document does not carry its event was never written (the write failed after
the entry was noted) or was appended and superseded; after ``orphan`` seconds it is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import get_args

from services.common.broker import EventLog
from services.common.mongo import Document
from services.learner.appending import append_pending_many
from services.learner.store import LearnerStore, OutboxKind

_log = logging.getLogger("learningtrail.learner.relay")
KINDS: tuple[OutboxKind, ...] = ("learners", "programmes", "records", "bindings", "statements")
assert set(KINDS) == set(get_args(OutboxKind))


@dataclass(frozen=True)
class Relayed:
    """What one pass did."""

    appended: int = 0
    failed: int = 0
    dropped: int = 0


class OutboxRelay:
    """Appends the events the learner service's outbox still holds."""

    def __init__(
        self,
        store: LearnerStore,
        log: EventLog,
        grace_seconds: float = 15.0,
        orphan_seconds: float = 120.0,
        interval_seconds: float = 1.0,
        batch: int = 1000,
    ) -> None:
        self.store = store
        self.log = log
        self.grace = timedelta(seconds=grace_seconds)
        self.orphan = timedelta(seconds=orphan_seconds)
        self.interval = interval_seconds
        self.batch = batch
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="learner-outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.store.settle()

    async def _run(self) -> None:
        while not self.log.running:  # noqa: ASYNC110 - appending needs the producer
            await asyncio.sleep(0.1)
        while True:
            try:
                done = await self.relay_once(datetime.now(UTC))
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.exception("outbox relay pass failed; trying again")
                done = Relayed()
            if done.appended or done.dropped or done.failed:
                _log.info(
                    "outbox relayed",
                    extra={
                        "appended": done.appended,
                        "failed": done.failed,
                        "dropped": done.dropped,
                    },
                )
            # a full pass means more waits: go on at once; else look again after a pause
            if done.appended + done.dropped < self.batch or done.failed:
                await asyncio.sleep(self.interval)

    async def relay_once(self, now: datetime) -> Relayed:
        """One pass over the entries older than the grace period."""
        entries = await self.store.outbox_due(now - self.grace, self.batch)
        if not entries:
            return Relayed()
        appended = failed = 0
        orphans: list[str] = []
        for kind in KINDS:
            mine = [e for e in entries if e["kind"] == kind]
            if not mine:
                continue
            docs = await self.store.documents(kind, {e["doc_id"] for e in mine})
            carrying = [docs[e["doc_id"]] for e in mine if _carries(docs.get(e["doc_id"]), e)]
            orphans += [
                e["_id"]
                for e in mine
                if not _carries(docs.get(e["doc_id"]), e) and e["at"] < now - self.orphan
            ]
            if carrying:
                errors = await append_pending_many(self.log, self.store, kind, carrying)
                failed += len(errors)
                appended += len(carrying) - len(errors)
                if errors:
                    break  # Kafka is away: records wait for their learners' events
        await self.store.appended(orphans)
        return Relayed(appended, failed, len(orphans))


def _carries(doc: Document | None, entry: Document) -> bool:
    """Whether the document still carries the entry's event (else the entry is an orphan)."""
    return doc is not None and (doc.get("pending") or {}).get("event_id") == entry["_id"]
