"""The credential service's MongoDB access layer: trail entries and the learners they belong to."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from services.common.mongo import Document


class CredentialStore:
    """Trail entries (one per record id) and learner names, projected from the log."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.entries = db["trail_entries"]
        self.learners = db["learners"]

    async def ensure_indexes(self) -> None:
        await self.entries.create_index([("learner_id", ASCENDING), ("completed_on", ASCENDING)])

    async def add_entries(self, entries: list[Document]) -> int:
        """Insert entries not seen before; an entry already there is left as it is.
        Returns how many were new."""
        if not entries:
            return 0
        result = await self.entries.bulk_write(
            [UpdateOne({"_id": e["_id"]}, {"$setOnInsert": e}, upsert=True) for e in entries],
            ordered=False,
        )
        return result.upserted_count

    async def put_learners(self, learners: list[Document]) -> None:
        if learners:
            await self.learners.bulk_write(
                [UpdateOne({"_id": d["_id"]}, {"$set": d}, upsert=True) for d in learners],
                ordered=False,
            )

    async def entries_of(self, learner_ids: list[str]) -> dict[str, list[Document]]:
        found: dict[str, list[Document]] = {i: [] for i in learner_ids}
        async for entry in self.entries.find({"learner_id": {"$in": learner_ids}}):
            found[entry["learner_id"]].append(entry)
        return found

    async def learner(self, learner_id: str) -> Document | None:
        return await self.learners.find_one({"_id": learner_id})

    async def counts(self) -> dict[str, Any]:
        return {"entries": await self.entries.count_documents({})}
