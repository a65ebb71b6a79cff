"""The notify service's MongoDB access layer.

Collections: ``subscriptions`` (one per learner: the profile from ``learners.v1``, the
preferences the learner set, channels stopped by unsubscribe links, a summary of their trail),
``programmes`` (the latest description of each, and whether it was withdrawn), ``learning``
(the learner's records, for prior level and completions) and ``notifications`` (the outbox and
the inbox: one document per learner, subject and channel, with its delivery state).

FerretDB 1.x applies concurrent updates to one document without a lock (the last write wins
whole), and the consumer, the API and the delivery workers of one process all write
subscriptions and notifications; so this process's writes to them go one at a time through
``_writes``. On MongoDB each conditional update is atomic besides, so several instances can
share the outbox: a claim only takes documents still ``pending`` (or whose lease expired).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta

from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from contracts.envelope import new_event_id
from contracts.programmes import Programme
from services.common.mongo import Document
from services.notify.matching import age_reference_day, birth_date_bounds
from services.notify.outbox import (
    CANCELLED,
    FAILED,
    PENDING,
    REVIVABLE,
    SENDING,
    SENT,
)

ACTIVE = "active"
WITHDRAWN = "withdrawn"


class NotifyStore:
    """Subscriptions, programmes, learning records and notifications."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.subscriptions = db["subscriptions"]
        self.programmes = db["programmes"]
        self.learning = db["learning"]
        self.notifications = db["notifications"]
        self._writes = asyncio.Lock()

    async def ensure_indexes(self) -> None:
        # Matching: the programme's places, then the birth-date range its age limits imply.
        await self.subscriptions.create_index(
            [("profile.commune_code", ASCENDING), ("profile.birth_date", ASCENDING)]
        )
        await self.subscriptions.create_index(
            [("preferences.places", ASCENDING), ("profile.birth_date", ASCENDING)]
        )
        await self.programmes.create_index([("place_codes", ASCENDING), ("state", ASCENDING)])
        await self.learning.create_index([("learner_id", ASCENDING)])
        # Delivery: what is due per channel; a learner's inbox; a subject's notifications.
        await self.notifications.create_index(
            [("channel", ASCENDING), ("state", ASCENDING), ("due_at", ASCENDING)]
        )
        await self.notifications.create_index(
            [("learner_id", ASCENDING), ("channel", ASCENDING), ("created_at", DESCENDING)]
        )
        await self.notifications.create_index([("subject_id", ASCENDING), ("state", ASCENDING)])
        await self.notifications.create_index([("lease_id", ASCENDING)])
        await self.notifications.create_index([("published", ASCENDING)])

    # subscriptions

    async def put_profiles(self, profiles: Mapping[str, Document]) -> None:
        """The latest profile of each learner, as ``learners.v1`` carries it."""
        if not profiles:
            return
        async with self._writes:
            await self.subscriptions.bulk_write(
                [
                    UpdateOne({"_id": lid}, {"$set": {"profile": p}}, upsert=True)
                    for lid, p in profiles.items()
                ],
                ordered=False,
            )

    async def merge(self, learner_id: str, into: str) -> None:
        async with self._writes:
            await self.subscriptions.update_one(
                {"_id": learner_id}, {"$set": {"merged_into": into}}, upsert=True
            )

    async def put_trails(self, trails: Mapping[str, Document]) -> None:
        if not trails:
            return
        async with self._writes:
            await self.subscriptions.bulk_write(
                [
                    UpdateOne({"_id": lid}, {"$set": {"trail": t}}, upsert=True)
                    for lid, t in trails.items()
                ],
                ordered=False,
            )

    async def subscription(self, learner_id: str) -> Document | None:
        return await self.subscriptions.find_one({"_id": learner_id})

    async def subscriptions_of(self, learner_ids: Iterable[str]) -> list[Document]:
        ids = list(dict.fromkeys(learner_ids))
        if len(ids) == 1:  # an _id equality is what every backend serves from its key
            found = await self.subscription(ids[0])
            return [found] if found else []
        return [d async for d in self.subscriptions.find({"_id": {"$in": ids}})]

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
        return [d async for d in self.subscriptions.find(query)]

    async def everyone(self) -> list[Document]:
        """Every subscription (for the benchmark's naive baseline only)."""
        return [d async for d in self.subscriptions.find({})]

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

    async def put_records(self, records: Mapping[str, Document]) -> None:
        if records:
            await self.learning.bulk_write(
                [UpdateOne({"_id": rid}, {"$set": r}, upsert=True) for rid, r in records.items()],
                ordered=False,
            )

    async def records_of(self, learner_ids: Iterable[str]) -> dict[str, list[Document]]:
        ids = list(dict.fromkeys(learner_ids))
        found: dict[str, list[Document]] = {lid: [] for lid in ids}
        if ids:
            async for r in self.learning.find({"learner_id": {"$in": ids}}):
                found[r["learner_id"]].append(r)
        return found

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
        async with self._writes:
            existing = {
                d["_id"]: d
                async for d in self.notifications.find(
                    {"_id": {"$in": [p["_id"] for p in planned]}},
                    {"state": 1, "cancel_reason": 1, **dict.fromkeys(fields, 1)},
                )
            }
            for doc in planned:
                found = existing.get(doc["_id"])
                update = {k: doc[k] for k in fields}
                if found is None:
                    ops.append(UpdateOne({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True))
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
            if not ops:
                return 0
            result = await self.notifications.bulk_write(ops, ordered=False)
        return result.upserted_count

    async def pending_about(self, subject_id: str) -> list[Document]:
        cursor = self.notifications.find(
            {"subject_id": subject_id, "state": PENDING},
            {"_id": 1, "learner_id": 1, "channel": 1},
        )
        return [d async for d in cursor]

    async def pending_of(self, learner_ids: Iterable[str]) -> list[Document]:
        ids = list(dict.fromkeys(learner_ids))
        if not ids:
            return []
        cursor = self.notifications.find(
            {"learner_id": {"$in": ids}, "state": PENDING},
            {"_id": 1, "learner_id": 1, "channel": 1, "about": 1, "subject_id": 1},
        )
        return [d async for d in cursor]

    async def cancel(self, ids: Iterable[str], reason: str, now: datetime) -> int:
        """Cancel the named notifications that are still pending."""
        names = list(ids)
        if not names:
            return 0
        async with self._writes:
            result = await self.notifications.update_many(
                {"_id": {"$in": names}, "state": PENDING},
                {"$set": {"state": CANCELLED, "cancel_reason": reason, "cancelled_at": now}},
            )
        return result.modified_count

    async def cancel_about(self, subject_id: str, reason: str, now: datetime) -> int:
        """Cancel every pending notification about a subject (and mark delivered inbox
        messages about it, so the inbox can say it no longer stands)."""
        async with self._writes:
            result = await self.notifications.update_many(
                {"subject_id": subject_id, "state": PENDING},
                {"$set": {"state": CANCELLED, "cancel_reason": reason, "cancelled_at": now}},
            )
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

    async def pending_due_later(self, learner_id: str, now: datetime) -> list[Document]:
        cursor = self.notifications.find(
            {
                "learner_id": learner_id,
                "state": PENDING,
                "attempts": 0,
                "due_at": {"$gt": now},
            },
            {"_id": 1, "channel": 1, "about": 1},
        )
        return [d async for d in cursor]

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
        taken = {
            "$set": {
                "state": SENDING,
                "lease_owner": owner,
                "lease_id": lease_id,
                "lease_until": now + timedelta(seconds=lease_seconds),
                "updated_at": now,
            },
            "$inc": {"attempts": 1},
        }
        async with self._writes:
            first = [
                d
                async for d in self.notifications.find(
                    due, {"_id": 1, "learner_id": 1, "digest": 1}
                )
                .sort("due_at", ASCENDING)
                .limit(limit)
            ]
            if not first:
                return lease_id, []
            await self.notifications.update_many(
                {**due, "_id": {"$in": [d["_id"] for d in first]}}, taken
            )
            digests = sorted({d["learner_id"] for d in first if d.get("digest")})
            if digests:
                await self.notifications.update_many(
                    {
                        "channel": channel,
                        "learner_id": {"$in": digests},
                        "digest": True,
                        "state": PENDING,
                        "due_at": {"$lte": now},
                    },
                    taken,
                )
            claimed = [d async for d in self.notifications.find({"lease_id": lease_id})]
        return lease_id, sorted(claimed, key=lambda d: (d["due_at"], d["_id"]))

    async def finish(
        self,
        ids: Iterable[str],
        lease_id: str,
        state: str,
        now: datetime,
        error: str | None = None,
        cancel_reason: str | None = None,
    ) -> list[str]:
        """Close claimed notifications as ``sent``, ``failed`` or ``cancelled``. Only those
        this claim still holds change; returns their ids."""
        names = list(ids)
        stamp = {SENT: "sent_at", FAILED: "failed_at", CANCELLED: "cancelled_at"}[state]
        change: Document = {"state": state, stamp: now, "updated_at": now, "lease_until": None}
        if state != CANCELLED:
            change["published"] = False  # notifications.v1 still to be told
        if error is not None:
            change["last_error"] = error
        if cancel_reason is not None:
            change["cancel_reason"] = cancel_reason
        async with self._writes:
            held = [
                d["_id"]
                async for d in self.notifications.find(
                    {"_id": {"$in": names}, "lease_id": lease_id, "state": SENDING}, {"_id": 1}
                )
            ]
            if held:
                await self.notifications.update_many(
                    {"_id": {"$in": held}, "lease_id": lease_id, "state": SENDING},
                    {"$set": change},
                )
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

    async def release(self, owner: str, now: datetime) -> int:
        """Give back at once what this worker had claimed when its process stopped: it is
        the same worker (same id), so it knows no one else is sending them."""
        async with self._writes:
            result = await self.notifications.update_many(
                {"state": SENDING, "lease_owner": owner},
                {"$set": {"state": PENDING, "due_at": now, "lease_until": None}},
            )
        return result.modified_count

    async def unpublished(self, settled_before: datetime, limit: int) -> list[Document]:
        """Closed notifications not yet announced, left alone for a moment after closing."""
        cursor = self.notifications.find(
            {"published": False, "updated_at": {"$lt": settled_before}}
        ).limit(limit)
        return [d async for d in cursor]

    async def mark_published(self, ids: Iterable[str]) -> None:
        names = list(ids)
        if names:
            async with self._writes:
                await self.notifications.update_many(
                    {"_id": {"$in": names}}, {"$set": {"published": True}}
                )

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
        metrics): one count per pair, each served by the (channel, state, due_at) index."""
        wanted = list(states)
        pairs = [(c, s) for c in channels for s in wanted]
        counts = await asyncio.gather(
            *(self.notifications.count_documents({"channel": c, "state": s}) for c, s in pairs)
        )
        return dict(zip(pairs, counts, strict=True))

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
