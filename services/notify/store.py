"""The notify service's MongoDB access layer.

Collections: ``subscriptions`` (one per learner: the profile from ``learners.v1``, the
preferences the learner set, channels stopped by unsubscribe links, whom they were merged
into), ``programmes`` (the latest description of each, and whether it was withdrawn),
``learning`` (one per learner: ``{_id: learner_id, records: {record_id: {...}}, trail: {...}}``,
the prior level and completions, summed up in ``trail`` in the same write), ``notifications``
(the outbox and the inbox: one document per learner, subject and channel, with its delivery
state), ``notification_index`` (one per learner: ``{_id: learner_id, ids: [...]}``, the
learner's notifications that are or may again be pending) and ``delivery_queue`` (one small
document per notification still to be sent: ``{_id, channel, learner_id, digest, due_at,
state, lease...}``; the delivery workers' claims and releases and the backlog gauge read this
queue, never the notifications themselves). A notification sent or failed is announced on
``notifications.v1`` through the chassis' outbox (``outbox``, :mod:`services.common.outbox`).

Everything on the path of learner and learning-record events reads and writes by ``_id`` (an
equality, or ``$in``): the local FerretDB (SQLite) serves only ``_id`` from an index and reads
the whole collection for a condition on any other field. What is still found by other fields:
the candidates of a programme and the programmes in some places (matching, when a programme
changes: programmes are few, announcing one is rare), a subject's notifications (a programme
withdrawn, a recognition or credential revoked), the delivery queue (it holds only what is
waiting, so reading it whole stays cheap while the notifications grow), and the inbox and
delivery-status reads of the API.

FerretDB 1.x applies concurrent updates to one document without a lock (the last write wins
whole), and the consumer, the API and the delivery workers of one process all write
subscriptions and notifications; so this process's writes to them go one at a time through
``_writes``. On MongoDB each conditional update is atomic besides, so several instances can
share the outbox: a claim only takes documents still ``pending`` (or whose lease expired).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable, Mapping
from datetime import date, datetime, timedelta

from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from contracts.envelope import new_event_id
from contracts.programmes import Programme
from services.common.keyed import add_to_sets, by_ids, chunks, insert_new, set_fields
from services.common.merges import final_survivors
from services.common.mongo import Document
from services.common.outbox import Kind, Outbox
from services.notify.matching import age_reference_day, birth_date_bounds
from services.notify.outbox import (
    CANCELLED,
    FAILED,
    PENDING,
    REVIVABLE,
    SENDING,
    SENT,
    announcement,
)

ACTIVE = "active"
WITHDRAWN = "withdrawn"

SOURCE = "/notify"
# A queue entry whose notification is missing this long after it was queued is an orphan (the
# process stopped between the two writes) and is dropped; younger ones may still be written.
ORPHAN_SECONDS = 60
QUEUE_FIELDS = ("channel", "learner_id", "digest", "due_at")


def record_field(record_id: str) -> str:
    """A record id as a field name of ``learning.records`` (``%``, ``.`` and ``$`` escaped,
    which a field path cannot hold)."""
    return record_id.replace("%", "%25").replace(".", "%2E").replace("$", "%24")


def record_id_of(field: str) -> str:
    return field.replace("%24", "$").replace("%2E", ".").replace("%25", "%")


def settled(notification: Document) -> bool:
    """Whether a notification can never be pending again: sent, failed, or cancelled for a
    reason a later match cannot undo. (A ``sending`` one may go back to pending.)"""
    state = notification.get("state")
    return state in (SENT, FAILED) or (
        state == CANCELLED and notification.get("cancel_reason") not in REVIVABLE
    )


OFFICER_NOTICE_ATTEMPTS = 10  # tries at an officer's report notice before it is given up


class NotifyStore:
    """Subscriptions, programmes, learning records and notifications."""

    def __init__(self, db: AsyncDatabase[Document], pause_before_append: float = 0.0) -> None:
        self.subscriptions = db["subscriptions"]
        self.programmes = db["programmes"]
        self.learning = db["learning"]
        self.notifications = db["notifications"]
        self.notification_index = db["notification_index"]
        self.queue = db["delivery_queue"]
        self.migrations = db["migrations"]
        # officers who asked to be told of periodic reports, and each notice owed to them
        # (services/notify/report_notices.py)
        self.officer_subscriptions_ = db["officer_subscriptions"]
        self.officer_notices = db["officer_notices"]
        self._writes = asyncio.Lock()
        # a notification sent or failed carries its notifications.v1 event (derived from its
        # state): the chassis' outbox notes it before the state is written, and appends it
        self.outbox = Outbox(
            db,
            [Kind("notifications", self.notifications, announcement)],
            SOURCE,
            pause_before_append,
        )

    async def set_officer_subscription(self, doc: Document) -> None:
        """An officer's subscription as last changed (events of one subscription come in
        order: same key, same partition)."""
        await self.officer_subscriptions_.replace_one({"_id": doc["_id"]}, doc, upsert=True)

    async def officer_subscriptions(self) -> list[Document]:
        """Every officer subscription (a few per unit: read whole)."""
        return [doc async for doc in self.officer_subscriptions_.find({})]

    async def add_officer_notices(self, notices: list[Document]) -> int:
        """Note the notices not noted before (unique by id); how many were new."""
        return len(await insert_new(self.officer_notices, notices))

    async def pending_officer_notices(self) -> list[Document]:
        return [doc async for doc in self.officer_notices.find({"state": "pending"})]

    async def officer_notice_sent(self, notice_id: str, at: datetime) -> None:
        await self.officer_notices.update_one(
            {"_id": notice_id}, {"$set": {"state": "sent", "sent_at": at}}
        )

    async def officer_notice_failed(self, notice_id: str, error: str) -> None:
        """A try that failed: kept pending for the next round, given up after ten."""
        found = await self.officer_notices.find_one({"_id": notice_id}) or {}
        attempts = int(found.get("attempts", 0)) + 1
        await self.officer_notices.update_one(
            {"_id": notice_id},
            {
                "$set": {
                    "attempts": attempts,
                    "last_error": error[:500],
                    "state": "pending" if attempts < OFFICER_NOTICE_ATTEMPTS else "failed",
                }
            },
        )

    async def ensure_indexes(self) -> None:
        # Matching: the programme's places, then the birth-date range its age limits imply.
        await self.subscriptions.create_index(
            [("profile.commune_code", ASCENDING), ("profile.birth_date", ASCENDING)]
        )
        await self.subscriptions.create_index(
            [("preferences.places", ASCENDING), ("profile.birth_date", ASCENDING)]
        )
        await self.programmes.create_index([("place_codes", ASCENDING), ("state", ASCENDING)])
        # Delivery: what is due per channel; a learner's inbox; a subject's notifications.
        await self.notifications.create_index(
            [("channel", ASCENDING), ("state", ASCENDING), ("due_at", ASCENDING)]
        )
        await self.notifications.create_index(
            [("learner_id", ASCENDING), ("channel", ASCENDING), ("created_at", DESCENDING)]
        )
        await self.notifications.create_index([("subject_id", ASCENDING), ("state", ASCENDING)])
        await self.queue.create_index([("channel", ASCENDING), ("due_at", ASCENDING)])
        await self._fill_queue()

    async def _fill_queue(self) -> None:
        """Once per database: queue what an earlier version left waiting in the notifications
        (one read of them all, at start-up)."""
        if await self.migrations.find_one({"_id": "delivery_queue"}) is not None:
            return
        entries = [
            _queue_entry(doc, SENDING if doc["state"] == SENDING else PENDING)
            async for doc in self.notifications.find({"state": {"$in": [PENDING, SENDING]}})
        ]
        await insert_new(self.queue, entries)
        await self.migrations.update_one(
            {"_id": "delivery_queue"}, {"$set": {"queued": len(entries)}}, upsert=True
        )

    # subscriptions

    async def put_profiles(self, profiles: Mapping[str, Document]) -> None:
        """The latest profile of each learner, as ``learners.v1`` carries it."""
        if not profiles:
            return
        async with self._writes:
            await set_fields(
                self.subscriptions, {lid: {"profile": p} for lid, p in profiles.items()}
            )

    async def merge(self, merges: Mapping[str, str]) -> None:
        """Mark each learner (key) as merged into another (value)."""
        if not merges:
            return
        async with self._writes:
            await set_fields(
                self.subscriptions, {lid: {"merged_into": into} for lid, into in merges.items()}
            )

    async def survivors(self, learner_ids: Iterable[str]) -> dict[str, str]:
        """For each of these learners that was merged away, the learner that finally remains
        (following merges of merges): one read by ``_id`` per step of the longest chain."""
        merged: dict[str, str] = {}
        frontier = set(learner_ids)
        while frontier:
            step = {
                d["_id"]: d["merged_into"]
                for d in await _found(self.subscriptions, frontier, {"merged_into": 1})
                if d.get("merged_into")
            }
            merged.update(step)
            frontier = set(step.values()) - set(merged)
        return final_survivors(merged)

    async def _with_trails(
        self, docs: list[Document], known: Mapping[str, Document] | None = None
    ) -> list[Document]:
        """Subscriptions with their learner's trail summary, which is kept beside the
        learning it sums up (written with it, in the same update) and read by ``_id`` —
        but for the summaries ``known`` (just written by the caller). A summary stored in the
        subscription by an earlier version stands where the learning holds none yet."""
        known = known or {}
        for doc in docs:
            if doc["_id"] in known:
                doc["trail"] = known[doc["_id"]]
        rest = [d for d in docs if d["_id"] not in known]
        if rest:
            kept = await by_ids(self.learning, (d["_id"] for d in rest), {"trail": 1})
            for doc in rest:
                trail = kept.get(doc["_id"], {}).get("trail")
                if trail is not None:
                    doc["trail"] = trail
        return docs

    async def subscription(self, learner_id: str) -> Document | None:
        found = await self.subscriptions.find_one({"_id": learner_id})
        return (await self._with_trails([found]))[0] if found else None

    async def subscriptions_of(
        self, learner_ids: Iterable[str], trails: Mapping[str, Document] | None = None
    ) -> list[Document]:
        """These learners' subscriptions with their trail summaries (``trails``: those the
        caller knows already)."""
        ids = list(dict.fromkeys(learner_ids))
        if len(ids) == 1:  # an _id equality is what every backend serves from its key
            found = await self.subscriptions.find_one({"_id": ids[0]})
            return await self._with_trails([found], trails) if found else []
        return await self._with_trails(list(await _found(self.subscriptions, ids)), trails)

    async def save_preferences(self, learner_id: str, preferences: Document) -> Document:
        """Replace what the learner set; channels they ask for again are no longer stopped."""
        async with self._writes:
            current = await self.subscriptions.find_one({"_id": learner_id}) or {}
            asked = set(preferences.get("channels") or ())
            stopped = [c for c in current.get("unsubscribed") or () if c not in asked]
            saved = await self.subscriptions.find_one_and_update(
                {"_id": learner_id},
                {"$set": {"preferences": preferences, "unsubscribed": stopped}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        assert saved is not None
        return saved

    async def unsubscribe(self, learner_id: str, channel: str) -> None:
        async with self._writes:
            await self.subscriptions.update_one(
                {"_id": learner_id}, {"$addToSet": {"unsubscribed": channel}}, upsert=True
            )

    async def candidates(self, programme: Programme, today: date) -> list[Document]:
        """Learners who live in, or asked to hear about, a place the programme is offered in,
        and whose age fits — by index, not by looking at every learner."""
        earliest, latest = birth_date_bounds(
            programme.min_age, programme.max_age, age_reference_day(programme, today)
        )
        born: dict[str, str] = {}
        if earliest is not None:
            born["$gte"] = earliest.isoformat()
        if latest is not None:
            born["$lte"] = latest.isoformat()
        query: Document = {
            "$or": [
                {"profile.commune_code": {"$in": programme.place_codes}},
                {"preferences.places": {"$in": programme.place_codes}},
            ]
        }
        if born:
            query["profile.birth_date"] = born
        return await self._with_trails([d async for d in self.subscriptions.find(query)])

    async def everyone(self) -> list[Document]:
        """Every subscription (for the benchmark's naive baseline only)."""
        return await self._with_trails([d async for d in self.subscriptions.find({})])

    # programmes

    async def programme(self, programme_id: str) -> Document | None:
        return await self.programmes.find_one({"_id": programme_id})

    async def put_programme(self, programme: Programme, version_at: datetime) -> bool:
        """Keep the newest description; False if a newer one (or a withdrawal) is kept."""
        current = await self.programme(programme.programme_id)
        if current is not None and (
            current["state"] == WITHDRAWN or current["version_at"] > version_at
        ):
            return False
        await self.programmes.replace_one(
            {"_id": programme.programme_id},
            {
                "_id": programme.programme_id,
                **programme.model_dump(mode="json"),
                "state": ACTIVE,
                "version_at": version_at,
            },
            upsert=True,
        )
        return True

    async def withdraw_programme(self, programme_id: str, at: datetime, reason: str) -> None:
        await self.programmes.update_one(
            {"_id": programme_id},
            {"$set": {"state": WITHDRAWN, "withdrawn_at": at, "withdrawn_reason": reason}},
            upsert=True,
        )

    async def programmes_in(self, places: Iterable[str]) -> list[Document]:
        codes = sorted(set(places))
        if not codes:
            return []
        cursor = self.programmes.find({"place_codes": {"$in": codes}, "state": ACTIVE})
        return [p async for p in cursor]

    # learning records

    async def learning_of(
        self, learner_ids: Iterable[str]
    ) -> tuple[dict[str, dict[str, Document]], set[str]]:
        """Each learner's records by record id (empty for a learner with none), and which of
        these learners have a learning document (for :meth:`write_learning`)."""
        ids = list(dict.fromkeys(learner_ids))
        found: dict[str, dict[str, Document]] = {lid: {} for lid in ids}
        stored = set()
        for doc in await _found(self.learning, ids):
            records = doc.get("records") or {}
            found[doc["_id"]] = {record_id_of(f): r for f, r in records.items()}
            stored.add(doc["_id"])
        return found, stored

    async def write_learning(
        self,
        records: Mapping[str, Mapping[str, Document]],
        trails: Mapping[str, Document],
        stored: Collection[str],
        cleared: Iterable[str] = (),
    ) -> None:
        """Store these records whole (learner id -> record id -> record) with each learner's
        new trail summary, and drop every record of the ``cleared`` learners (merged away:
        their learning went to the survivor). A learner's first records are inserted as a new
        document; later ones update it — one write per learner, summary included. ``stored``:
        the learners that have a document, as :meth:`learning_of` just read them (a document
        made since is found by the insert, which then updates it)."""
        gone = list(dict.fromkeys(cleared))
        ops = [UpdateOne({"_id": lid}, {"$unset": {"records": "", "trail": ""}}) for lid in gone]
        changed = {lid: r for lid, r in records.items() if r}
        known = set(stored)
        fresh = [
            {
                "_id": lid,
                "records": {record_field(rid): r for rid, r in recs.items()},
                "trail": trails[lid],
            }
            for lid, recs in changed.items()
            if lid not in known and lid not in gone  # cleared first, then written, in order
        ]
        raced = {d["_id"] for d in fresh} - await insert_new(self.learning, fresh)
        ops.extend(
            UpdateOne(
                {"_id": lid},
                {
                    "$set": {
                        **{f"records.{record_field(rid)}": r for rid, r in recs.items()},
                        "trail": trails[lid],
                    }
                },
                upsert=True,
            )
            for lid, recs in changed.items()
            if lid in known or lid in raced or lid in gone
        )
        if ops:
            await self.learning.bulk_write(ops, ordered=True)

    # the outbox: planning and cancelling

    async def put_planned(self, planned: list[Document], refresh: Iterable[str]) -> int:
        """Create the planned notifications that do not exist yet; refresh the content
        (``refresh`` names its fields) of those still pending if it changed; bring back those
        cancelled only because they had stopped fitting. Returns how many were created.

        What exists is read first, so that a re-match of unchanged content writes nothing and
        new notifications are written by id alone (cheap on every backend).
        """
        if not planned:
            return 0
        fields = tuple(refresh)
        ops: list[UpdateOne] = []
        listed: dict[str, list[str]] = {}  # learner id -> notifications to list on their index
        queued: list[Document] = []
        new: list[Document] = []
        unique: dict[str, Document] = {}
        for doc in planned:  # the first plan of a notification stands, as an upsert would keep
            unique.setdefault(doc["_id"], doc)
        async with self._writes:
            existing = {
                d["_id"]: d
                for d in await _found(
                    self.notifications,
                    unique,
                    {"state": 1, "cancel_reason": 1, **dict.fromkeys(fields, 1)},
                )
            }
            for doc in unique.values():
                found = existing.get(doc["_id"])
                update = {k: doc[k] for k in fields}
                if found is None:
                    new.append(doc)
                    listed.setdefault(doc["learner_id"], []).append(doc["_id"])
                    queued.append(_queue_entry(doc, PENDING))
                elif found["state"] == PENDING:
                    if any(found.get(k) != v for k, v in update.items()):
                        pending = {"_id": doc["_id"], "state": PENDING}
                        ops.append(UpdateOne(pending, {"$set": update}))
                elif found["state"] == CANCELLED and found.get("cancel_reason") in REVIVABLE:
                    revive = {
                        **update,
                        "state": PENDING,
                        "due_at": doc["due_at"],
                        "digest": doc["digest"],
                        "attempts": 0,
                        "updated_at": doc["created_at"],
                    }
                    ops.append(
                        UpdateOne(
                            {"_id": doc["_id"], "state": CANCELLED},
                            {"$set": revive, "$unset": {"cancel_reason": "", "cancelled_at": ""}},
                        )
                    )
                    listed.setdefault(doc["learner_id"], []).append(doc["_id"])
                    queued.append(_queue_entry({**doc, **revive}, PENDING))
            if not ops and not new:
                return 0
            # The index and the queue first: a listed or queued notification not written yet is
            # only skipped when read, while a written one not listed would be missed by the
            # learner's re-matching, and one not queued would never be sent.
            await self._list(listed)
            await self._queue(queued)
            created = await insert_new(self.notifications, new)  # another writer's stands
            if ops:
                await self.notifications.bulk_write(ops, ordered=False)
        return len(created)

    async def _list(self, ids_by_learner: Mapping[str, list[str]]) -> None:
        await add_to_sets(self.notification_index, "ids", ids_by_learner)

    async def _queue(self, entries: list[Document]) -> None:
        """Queue these (each replacing what its notification had queued before)."""
        if entries:
            await self.queue.delete_many({"_id": {"$in": [e["_id"] for e in entries]}})
            await insert_new(self.queue, entries)

    async def pending_about(self, subject_id: str) -> list[Document]:
        cursor = self.notifications.find(
            {"subject_id": subject_id, "state": PENDING},
            {"_id": 1, "learner_id": 1, "channel": 1},
        )
        return [d async for d in cursor]

    async def _listed(self, learner_ids: Iterable[str]) -> dict[str, list[str]]:
        """Each learner's notification ids that are or may again be pending (their index)."""
        return {
            d["_id"]: d.get("ids") or [] for d in await _found(self.notification_index, learner_ids)
        }

    async def pending_of(self, learner_ids: Iterable[str]) -> list[Document]:
        """The pending notifications of these learners, found through their index (two reads by
        ``_id``). Those that can never be pending again leave the index as they are seen."""
        listed = await self._listed(learner_ids)
        names = [nid for ids in listed.values() for nid in ids]
        if not names:
            return []
        pending: list[Document] = []
        done: dict[str, list[str]] = {}
        fields = ("learner_id", "channel", "about", "subject_id", "state", "cancel_reason")
        for doc in await _found(
            self.notifications, names, {**dict.fromkeys(fields, 1), "attempts": 1, "due_at": 1}
        ):
            if doc["state"] == PENDING:
                pending.append(doc)
            elif settled(doc) and doc["learner_id"] in listed:
                done.setdefault(doc["learner_id"], []).append(doc["_id"])
        if done:
            async with self._writes:
                await self.notification_index.bulk_write(
                    [
                        UpdateOne({"_id": lid}, {"$pullAll": {"ids": ids}})
                        for lid, ids in done.items()
                    ],
                    ordered=False,
                )
        return sorted(pending, key=lambda d: d["_id"])

    async def cancel(self, ids: Iterable[str], reason: str, now: datetime) -> int:
        """Cancel the named notifications that are still pending."""
        names = sorted(set(ids))
        cancelled = 0
        async with self._writes:
            for part in chunks(names):
                result = await self.notifications.update_many(
                    {"_id": {"$in": part}, "state": PENDING},
                    {"$set": {"state": CANCELLED, "cancel_reason": reason, "cancelled_at": now}},
                )
                cancelled += result.modified_count
                await self.queue.delete_many({"_id": {"$in": part}, "state": PENDING})
        return cancelled

    async def cancel_about(self, subject_id: str, reason: str, now: datetime) -> int:
        """Cancel every pending notification about a subject (and mark delivered inbox
        messages about it, so the inbox can say it no longer stands)."""
        async with self._writes:
            names = [d["_id"] for d in await self.pending_about(subject_id)]
            result = await self.notifications.update_many(
                {"_id": {"$in": names}, "state": PENDING},
                {"$set": {"state": CANCELLED, "cancel_reason": reason, "cancelled_at": now}},
            )
            await self.queue.delete_many({"_id": {"$in": names}, "state": PENDING})
            await self.notifications.update_many(
                {"subject_id": subject_id, "state": SENT, "channel": "inbox"},
                {"$set": {"retracted": reason, "retracted_at": now}},
            )
        return result.modified_count

    async def reschedule(self, changes: Mapping[str, Document], now: datetime) -> None:
        """New due times for notifications not yet due and never tried (preferences changed)."""
        if not changes:
            return
        async with self._writes:
            await self.notifications.bulk_write(
                [
                    UpdateOne(
                        {"_id": nid, "state": PENDING, "attempts": 0, "due_at": {"$gt": now}},
                        {"$set": change},
                    )
                    for nid, change in changes.items()
                ],
                ordered=False,
            )
            await self.queue.bulk_write(
                [
                    UpdateOne(
                        {"_id": nid, "state": PENDING, "due_at": {"$gt": now}},
                        {"$set": {k: v for k, v in change.items() if k in QUEUE_FIELDS}},
                    )
                    for nid, change in changes.items()
                ],
                ordered=False,
            )

    # the outbox: delivery

    async def claim(
        self, channel: str, owner: str, now: datetime, lease_seconds: float, limit: int
    ) -> tuple[str, list[Document]]:
        """Take up to ``limit`` due notifications of ``channel`` (and, for a learner with a
        digest among them, all their other due digest notifications, to go as one message).

        Due means pending with ``due_at`` past, or claimed by a worker whose lease ran out.
        Returns the claim id (the lease) and the claimed documents, attempts already counted.
        """
        due: Document = {
            "channel": channel,
            "$or": [
                {"state": PENDING, "due_at": {"$lte": now}},
                {"state": SENDING, "lease_until": {"$lte": now}},
            ],
        }
        lease_id = new_event_id()
        lease = {
            "state": SENDING,
            "lease_owner": owner,
            "lease_id": lease_id,
            "lease_until": now + timedelta(seconds=lease_seconds),
        }
        async with self._writes:
            # the first ``limit`` due entries the server finds (on FerretDB in the order they
            # were queued; on MongoDB by the channel and due-time index): the read stops there,
            # so a claim costs its page, not the whole queue (a programme announced to a
            # province queues 100,000 emails, claimed 20 at a time)
            first = [d async for d in self.queue.find(due).limit(limit)]
            chosen = [d["_id"] for d in first]
            digests = {d["learner_id"] for d in first if d.get("digest")}
            if digests:  # their other due digest notifications, found through their index
                taken = set(chosen)
                listed = [nid for ids in (await self._listed(digests)).values() for nid in ids]
                chosen += [
                    d["_id"]
                    for d in await _found(self.queue, listed, {"_id": 1, "digest": 1})
                    if d["_id"] not in taken and d.get("digest")
                ]
            if not chosen:
                return lease_id, []
            await self.queue.update_many({**due, "_id": {"$in": chosen}}, {"$set": lease})
            mine = [
                d["_id"]
                async for d in self.queue.find(
                    {"_id": {"$in": chosen}, "lease_id": lease_id}, {"_id": 1, "queued_at": 1}
                )
            ]
            open_ = {"_id": {"$in": mine}, "state": {"$in": [PENDING, SENDING]}}
            await self.notifications.update_many(
                open_, {"$set": {**lease, "updated_at": now}, "$inc": {"attempts": 1}}
            )
            claimed = [
                d async for d in self.notifications.find(open_) if d.get("lease_id") == lease_id
            ]
            found = {d["_id"] for d in claimed}
            gone = [nid for nid in mine if nid not in found]
            if gone:  # settled by another way, or orphans: nothing left to send for them
                old = now - timedelta(seconds=ORPHAN_SECONDS)
                await self.queue.delete_many(
                    {"_id": {"$in": gone}, "lease_id": lease_id, "queued_at": {"$lt": old}}
                )
        return lease_id, sorted(claimed, key=lambda d: (d["due_at"], d["_id"]))

    async def finish(
        self,
        ids: Iterable[str],
        lease_id: str,
        state: str,
        now: datetime,
        error: str | None = None,
        cancel_reason: str | None = None,
    ) -> list[Document]:
        """Close claimed notifications as ``sent``, ``failed`` or ``cancelled``. Only those
        this claim still holds change; returns them as they now are (a sent or failed one
        carries its ``notifications.v1`` event, noted in the outbox before the change)."""
        names = list(ids)
        stamp = {SENT: "sent_at", FAILED: "failed_at", CANCELLED: "cancelled_at"}[state]
        change: Document = {"state": state, stamp: now, "updated_at": now, "lease_until": None}
        if error is not None:
            change["last_error"] = error
        if cancel_reason is not None:
            change["cancel_reason"] = cancel_reason
        async with self._writes:
            held = [
                {**d, **change}
                async for d in self.notifications.find(
                    {"_id": {"$in": names}, "lease_id": lease_id, "state": SENDING}
                )
            ]
            if held:
                ids_held = [d["_id"] for d in held]
                await self.outbox.expect("notifications", held)
                await self.notifications.update_many(
                    {"_id": {"$in": ids_held}, "lease_id": lease_id, "state": SENDING},
                    {"$set": change},
                )
                await self.queue.delete_many({"_id": {"$in": ids_held}})
        return held

    async def retry_later(
        self, retries: Mapping[str, datetime], lease_id: str, error: str, now: datetime
    ) -> None:
        """Back to pending, due again at the given times (after back-off)."""
        if not retries:
            return
        async with self._writes:
            await self.notifications.bulk_write(
                [
                    UpdateOne(
                        {"_id": nid, "lease_id": lease_id, "state": SENDING},
                        {
                            "$set": {
                                "state": PENDING,
                                "due_at": due,
                                "last_error": error,
                                "updated_at": now,
                                "lease_until": None,
                            }
                        },
                    )
                    for nid, due in retries.items()
                ],
                ordered=False,
            )
            await self.queue.bulk_write(
                [
                    UpdateOne(
                        {"_id": nid, "lease_id": lease_id, "state": SENDING},
                        {"$set": {"state": PENDING, "due_at": due, "lease_until": None}},
                    )
                    for nid, due in retries.items()
                ],
                ordered=False,
            )

    async def release(self, owner: str, now: datetime) -> int:
        """Give back at once what this worker had claimed when its process stopped: it is
        the same worker (same id), so it knows no one else is sending them."""
        back = {"$set": {"state": PENDING, "due_at": now, "lease_until": None}}
        async with self._writes:
            held = [
                d["_id"]
                async for d in self.queue.find({"state": SENDING, "lease_owner": owner}, {"_id": 1})
            ]
            if not held:
                return 0
            result = await self.notifications.update_many(
                {"_id": {"$in": held}, "state": SENDING, "lease_owner": owner}, back
            )
            await self.queue.update_many(
                {"_id": {"$in": held}, "state": SENDING, "lease_owner": owner}, back
            )
        return result.modified_count

    # the inbox and delivery status

    async def inbox(self, learner_id: str, limit: int, unread_only: bool) -> list[Document]:
        query: Document = {"learner_id": learner_id, "channel": "inbox", "state": SENT}
        if unread_only:
            query["read_at"] = None
        cursor = self.notifications.find(query).sort("created_at", DESCENDING).limit(limit)
        return [n async for n in cursor]

    async def count_by_channel_and_state(
        self, channels: Iterable[str], states: Iterable[str]
    ) -> dict[tuple[str, str], int]:
        """How many notifications each channel holds in each state (the outbox backlog, for
        metrics): one read of the delivery queue, which holds only what is waiting."""
        counts = dict.fromkeys(((c, s) for c in channels for s in states), 0)
        async for doc in self.queue.find({}, {"channel": 1, "state": 1}):
            pair = (doc.get("channel"), doc.get("state"))
            if pair in counts:
                counts[pair] += 1
        return counts

    async def unread_count(self, learner_id: str) -> int:
        return await self.notifications.count_documents(
            {"learner_id": learner_id, "channel": "inbox", "state": SENT, "read_at": None}
        )

    async def mark_read(
        self, learner_id: str, nid: str, read_at: datetime | None
    ) -> Document | None:
        """Mark an inbox message read (``read_at``) or unread (None); None if there is none."""
        async with self._writes:
            return await self.notifications.find_one_and_update(
                {"_id": nid, "learner_id": learner_id, "channel": "inbox", "state": SENT},
                {"$set": {"read_at": read_at}},
                return_document=ReturnDocument.AFTER,
            )

    async def delivery_status(self, query: Document, limit: int) -> list[Document]:
        cursor = self.notifications.find(query).sort("created_at", DESCENDING).limit(limit)
        return [n async for n in cursor]


async def _found(
    collection: AsyncCollection[Document], ids: Iterable[str], projection: Document | None = None
) -> Iterable[Document]:
    return (await by_ids(collection, ids, projection)).values()


def _queue_entry(notification: Document, state: str) -> Document:
    """What the delivery queue holds of a notification."""
    entry: Document = {"_id": notification["_id"], "state": state}
    entry.update({k: notification.get(k) for k in QUEUE_FIELDS})
    entry["queued_at"] = notification.get("updated_at") or notification.get("created_at")
    for field in ("lease_owner", "lease_id", "lease_until"):
        if notification.get(field) is not None and state == SENDING:
            entry[field] = notification[field]
    return entry
