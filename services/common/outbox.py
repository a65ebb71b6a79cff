"""The transactional outbox every service uses: a stored change and the event announcing it
are never separated, whatever fails between storing and appending.

A document that changed carries the event announcing its change (by default in its
``pending`` field: ``{event_id, type, topic, subject, data, traceparent}``), so the change and
its event are one atomic write. Whether that event still waits for Kafka is kept beside it, in
the service's ``outbox`` collection: one small document per event not yet appended
(``{_id: event_id, kind, doc_id, at}``), inserted *before* the change is written and deleted
once Kafka has the event. Appending a batch costs one bulk insert and one bulk delete instead of
an update of every document (updates are FerretDB's most expensive operation), and the outbox
holds only what waits, read by the relay a page at a time in the order of its ids (UUIDv7).
An event is appended only while its entry exists: a document's event alone says nothing.

A request appends its own events at once (so that ``202`` means the log has them), but
correctness never depends on it: :class:`OutboxRelay`, one task in every instance, appends what
the outbox has held for longer than a grace period — at start-up, continuously, and after an
outage — with the event's original id (a relayed event that Kafka already had is one event to
consumers), kinds in the order the service lists them, oldest first (events of one subject share
a key, hence a partition, so their order holds), and deletes the confirmed entries in bulk. An
entry whose document does not carry its event was never written (the write failed after the
entry was noted) or was superseded by a later change; after ``orphan`` seconds it is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from contracts.catalogue import EVENT_TYPES
from contracts.envelope import event_ids_before, new_event_id
from services.common.broker import EventLog, publish_pending_many
from services.common.keyed import by_ids, chunks, insert_new
from services.common.mongo import Document
from services.common.telemetry import current_traceparent

_log = logging.getLogger("learningtrail.outbox")
_TOPICS = {e.name: e.topic for e in EVENT_TYPES}
_UUID7 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
AHEAD_ALLOWED = timedelta(minutes=1)
BACKLOG_COUNTED = 10_000
"""How many waiting events the backlog gauge counts at most (a read of ids, each scrape)."""


def relay_bound(noted_at: datetime) -> str:
    """The id every entry noted at ``noted_at`` must sort below for the relay to find it: it
    reads ids below a time's bound, so an id made ``AHEAD_ALLOWED`` after its noting is found
    that much later (a generator may run a few milliseconds ahead when it makes many ids in
    one), and one made later still would wait too long."""
    return event_ids_before(noted_at + AHEAD_ALLOWED)


def relayable(event_id: str, bound: str) -> bool:
    """Whether the relay will find an entry with this id: the text of a UUIDv7 (lower case)
    below ``bound`` (:func:`relay_bound` of when it is noted)."""
    return _UUID7.fullmatch(event_id) is not None and event_id < bound


EventOf = Callable[[Document], Document | None]
"""The event a stored document carries (``event_id``, ``type``, ``subject``, ``data``), or None."""


def carried(doc: Document) -> Document | None:
    """The usual place of a document's event: its ``pending`` field."""
    pending: Document | None = doc.get("pending")
    return pending


def pending_event(
    event_type: str,
    subject: str,
    data: BaseModel | dict[str, Any],
    traceparent: str | None = None,
    event_id: str | None = None,
) -> Document:
    """The event announcing a change, to be stored with it: ``subject`` is also the Kafka key
    (the learner, or the programme). It carries the trace of the request that made the change
    (the current one unless given): however and whenever it is appended, it continues that
    trace."""
    pending: Document = {
        "event_id": event_id or new_event_id(),
        "type": event_type,
        "topic": _TOPICS[event_type],
        "subject": subject,
        "data": data if isinstance(data, dict) else data.model_dump(mode="json", exclude_none=True),
    }
    traceparent = traceparent or current_traceparent()
    if traceparent:
        pending["traceparent"] = traceparent
    return pending


@dataclass(frozen=True)
class Kind:
    """A collection whose changes are announced, and where its documents keep their event."""

    name: str
    collection: AsyncCollection[Document]
    event_of: EventOf = carried


class AppendFailed(Exception):
    """Kafka did not confirm the event; the change is kept and the relay appends it later."""


class Outbox:
    """One service's outbox (its ``outbox`` collection) over the kinds of document it announces."""

    def __init__(
        self,
        db: AsyncDatabase[Document],
        kinds: Sequence[Kind],
        source: str,
        pause_before_append: float = 0.0,
        pause_kinds: Collection[str] | None = None,
    ) -> None:
        self.entries = db["outbox"]
        self.kinds = {k.name: k for k in kinds}
        self.order = [k.name for k in kinds]
        self.source = source
        # fault injection for tests only (see Settings): the window between storing a change
        # and appending its event, held open for the kinds named (all if None)
        self.pause_before_append = pause_before_append
        self.pause_kinds = set(self.order if pause_kinds is None else pause_kinds)
        self._clearing: set[asyncio.Task[None]] = set()  # deletes nobody waits for

    def event_of(self, kind: str, doc: Document | None) -> Document | None:
        return None if doc is None else self.kinds[kind].event_of(doc)

    async def expect(self, kind: str, docs: Iterable[Document]) -> None:
        """Note the events these writes will carry as waiting, before the writes are made."""
        now = datetime.now(UTC)
        bound = relay_bound(now)
        entries = []
        for doc in docs:
            event = self.event_of(kind, doc)
            if event:
                if not relayable(event["event_id"], bound):
                    raise ValueError(
                        f"event id {event['event_id']!r} is not a UUIDv7 made by now: the "
                        "relay, which reads entries by id, would never find it"
                    )
                entries.append(
                    {"_id": event["event_id"], "kind": kind, "doc_id": doc["_id"], "at": now}
                )
        await insert_new(self.entries, entries)

    async def waiting(self, event_ids: Iterable[str]) -> set[str]:
        """Which of these events are not appended yet."""
        return set(await by_ids(self.entries, event_ids))

    async def appended(self, event_ids: Iterable[str]) -> None:
        """These events wait no longer: Kafka has them, or their change was never stored."""
        for chunk in chunks(event_ids):
            await self.entries.delete_many({"_id": {"$in": chunk}})

    def appended_soon(self, event_ids: list[str]) -> None:
        """:meth:`appended`, without making the request wait for it: these events are in the
        log already. An entry the process could not delete (it died first) only makes the
        relay append that event again, with the same id, which consumers apply once."""
        if not event_ids:
            return
        task = asyncio.create_task(self.appended(event_ids))
        self._clearing.add(task)
        task.add_done_callback(self._cleared)

    def _cleared(self, task: asyncio.Task[None]) -> None:
        self._clearing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.warning(
                "outbox entries not deleted; the relay appends them again",
                extra={"error": repr(task.exception())},
            )

    async def settle(self) -> None:
        """Wait for the deletes still running (at shutdown)."""
        await asyncio.gather(*self._clearing, return_exceptions=True)

    async def due(self, before: datetime, limit: int) -> list[Document]:
        """Up to ``limit`` of the oldest entries noted before ``before`` (the relay's work),
        oldest first. Read as a range of ids, which are UUIDv7 made no later than their entry
        was noted, so a pass costs its page however much waits (after an outage, a lot): an
        index search on every server, FerretDB included (our range patch)."""
        cursor = self.entries.find({"_id": {"$lt": event_ids_before(before)}}).sort("_id", 1)
        return [e async for e in cursor.limit(limit) if e["at"] < before]

    async def backlog(self) -> tuple[int, datetime | None]:
        """How many events wait (counted up to ``BACKLOG_COUNTED``, past which it says that
        many), and since when the oldest waits: one read of at most that many ids."""
        cursor = self.entries.find({"_id": {"$gte": ""}}, {"at": 1}).sort("_id", 1)
        times = [e["at"] async for e in cursor.limit(BACKLOG_COUNTED)]
        return len(times), min(times, default=None)

    async def documents(self, kind: str, ids: Iterable[str]) -> dict[str, Document]:
        return await by_ids(self.kinds[kind].collection, ids)

    async def append(
        self,
        log: EventLog,
        kind: str,
        docs: Sequence[Document],
        noted: Collection[str] = (),
    ) -> dict[str, BaseException]:
        """Append the waiting events of these stored documents, pipelined, and mark them
        appended in one bulk delete; the documents (by id) whose event Kafka did not confirm,
        with the reason (their event keeps waiting for the relay, with the same id). The
        documents ``noted`` were stored by the caller a moment ago with their entries, so their
        events wait for certain; only the others' are looked up."""
        carrying = [(d, e) for d in docs if (e := self.event_of(kind, d))]
        if self.pause_before_append and carrying and kind in self.pause_kinds:
            await asyncio.sleep(self.pause_before_append)
        waiting_ids = await self.waiting(
            e["event_id"] for d, e in carrying if d["_id"] not in noted
        )
        waiting = [(d, e) for d, e in carrying if d["_id"] in noted or e["event_id"] in waiting_ids]
        if not waiting:
            return {}
        results = await publish_pending_many(
            log, [(e, e["subject"]) for _, e in waiting], self.source
        )
        # the events are in the log: the caller need not wait for their entries to go
        self.appended_soon(
            [e["event_id"] for (_, e), err in zip(waiting, results, strict=True) if err is None]
        )
        failed = {d["_id"]: err for (d, _), err in zip(waiting, results, strict=True) if err}
        if failed:
            _log.warning(
                "append failed",
                extra={
                    "kind": kind,
                    "failed": len(failed),
                    "error": repr(next(iter(failed.values()))),
                },
            )
        if len(failed) < len(waiting):
            _log.info("event appended", extra={"kind": kind, "count": len(waiting) - len(failed)})
        return failed

    async def append_one(self, log: EventLog, kind: str, doc: Document) -> None:
        """:meth:`append` for one document; :class:`AppendFailed` if Kafka did not take it."""
        failed = await self.append(log, kind, [doc])
        if failed:
            raise AppendFailed(str(next(iter(failed.values()))))


@dataclass(frozen=True)
class Relayed:
    """What one relay pass did."""

    appended: int = 0
    failed: int = 0
    dropped: int = 0


class OutboxRelay:
    """Appends the events a service's outbox still holds (one task per instance)."""

    def __init__(
        self,
        outbox: Outbox,
        log: EventLog,
        grace_seconds: float = 15.0,
        orphan_seconds: float = 120.0,
        interval_seconds: float = 1.0,
        batch: int = 1000,
    ) -> None:
        self.outbox = outbox
        self.log = log
        self.grace = timedelta(seconds=grace_seconds)
        self.orphan = timedelta(seconds=orphan_seconds)
        self.interval = interval_seconds
        self.batch = batch
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self.outbox.source}-outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.outbox.settle()

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
        entries = await self.outbox.due(now - self.grace, self.batch)
        if not entries:
            return Relayed()
        appended = failed = 0
        orphans: list[str] = []
        for kind in self.outbox.order:
            mine = [e for e in entries if e["kind"] == kind]
            if not mine:
                continue
            docs = await self.outbox.documents(kind, {e["doc_id"] for e in mine})
            carrying: dict[str, Document] = {}
            for entry in mine:
                doc = docs.get(entry["doc_id"])
                if self._carries(kind, doc, entry):
                    carrying[entry["doc_id"]] = doc  # type: ignore[assignment]
                elif entry["at"] < now - self.orphan:
                    orphans.append(entry["_id"])
            if carrying:
                errors = await self.outbox.append(self.log, kind, list(carrying.values()))
                failed += len(errors)
                appended += len(carrying) - len(errors)
                if errors:
                    break  # Kafka is away: later kinds wait for the earlier ones' events
        await self.outbox.appended(orphans)
        return Relayed(appended, failed, len(orphans))

    def _carries(self, kind: str, doc: Document | None, entry: Document) -> bool:
        """Whether the document still carries the entry's event (else the entry is an orphan)."""
        event = self.outbox.event_of(kind, doc)
        return event is not None and event.get("event_id") == entry["_id"]
