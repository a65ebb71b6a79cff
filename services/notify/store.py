"""The notify service's MongoDB access layer: subscriptions, programmes and the inbox."""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from services.common.mongo import Document


class NotifyStore:
    """Who may be told (subscriptions), what is on offer (programmes), what was told (inbox)."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.subscriptions = db["subscriptions"]
        self.programmes = db["programmes"]
        self.notifications = db["notifications"]

    async def ensure_indexes(self) -> None:
        await self.subscriptions.create_index([("commune_code", ASCENDING)])
        await self.programmes.create_index([("place_codes", ASCENDING)])
        await self.notifications.create_index(
            [("learner_id", ASCENDING), ("created_at", DESCENDING)]
        )

    async def put_subscriptions(self, docs: list[Document]) -> None:
        await _put(self.subscriptions, docs)

    async def put_programmes(self, docs: list[Document]) -> None:
        await _put(self.programmes, docs)

    async def learners_in(self, communes: list[str]) -> list[Document]:
        return [s async for s in self.subscriptions.find({"commune_code": {"$in": communes}})]

    async def programmes_in(self, commune: str) -> list[Document]:
        return [p async for p in self.programmes.find({"place_codes": commune})]

    async def add_notifications(self, notes: list[Document]) -> int:
        """Insert notifications not already there (their id is learner:programme:channel)."""
        if not notes:
            return 0
        result = await self.notifications.bulk_write(
            [UpdateOne({"_id": n["_id"]}, {"$setOnInsert": n}, upsert=True) for n in notes],
            ordered=False,
        )
        return result.upserted_count

    async def inbox(self, learner_id: str, limit: int) -> list[Document]:
        cursor = (
            self.notifications.find({"learner_id": learner_id, "channel": "inbox"})
            .sort("created_at", DESCENDING)
            .limit(limit)
        )
        return [n async for n in cursor]


async def _put(collection: AsyncCollection[Document], docs: list[Document]) -> None:
    """Replace-or-insert by id: the latest event about a thing wins."""
    if docs:
        await collection.bulk_write(
            [UpdateOne({"_id": d["_id"]}, {"$set": d}, upsert=True) for d in docs], ordered=False
        )
