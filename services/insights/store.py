"""The insights service's MongoDB access: facts inserted once by id, read whole for a report,
and the population figures the department enters.

Facts are only ever inserted (:mod:`services.insights.facts`), so the consumer needs no
conditional update — the one kind of write FerretDB does not make atomic — and applying a
batch twice inserts nothing new.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.common.keyed import Document, insert_new
from services.insights.facts import PROJECTED, Fact

POPULATIONS = "populations"


class InsightsStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db

    async def add(self, facts: dict[str, list[Fact]]) -> int:
        """Insert the facts not yet stored; how many were new."""
        new = 0
        for collection, docs in facts.items():
            new += len(await insert_new(self.db[collection], docs))
        return new

    async def facts(self) -> dict[str, list[Document]]:
        """Every stored fact, by collection (what the figures are computed from)."""

        async def whole(collection: str) -> list[Document]:
            cursor = self.db[collection].find({}, batch_size=10_000)
            return [doc async for doc in cursor]

        # the collections at once: one wait for the largest, not the sum of all
        read = await asyncio.gather(*(whole(collection) for collection in PROJECTED))
        return dict(zip(PROJECTED, read, strict=True))

    async def populations(self) -> dict[tuple[str, int], int]:
        """The adult population the department entered, by (commune code, year)."""
        return {
            (doc["unit"], int(doc["year"])): int(doc["adults"])
            async for doc in self.db[POPULATIONS].find({})
        }

    async def population_list(self) -> list[dict[str, Any]]:
        return [
            {k: v for k, v in doc.items() if k != "_id"}
            async for doc in self.db[POPULATIONS].find({}).sort("_id", 1)
        ]

    async def set_population(self, unit: str, year: int, adults: int) -> dict[str, Any]:
        """Enter (or replace) a commune's adult population for a year; one document per
        (unit, year), replaced whole, so two entries at once leave one of them."""
        doc = {
            "unit": unit,
            "year": year,
            "adults": adults,
            "entered_at": datetime.now(UTC).isoformat(),
        }
        await self.db[POPULATIONS].replace_one({"_id": f"{unit}:{year}"}, doc, upsert=True)
        return doc
