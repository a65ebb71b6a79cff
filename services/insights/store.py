"""The insights service's MongoDB access: facts inserted once by id, read whole for a report,
and the population figures the department enters.

Facts are only ever inserted (:mod:`services.insights.facts`), so the consumer needs no
conditional update — the one kind of write FerretDB does not make atomic — and applying a
batch twice inserts nothing new.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.common.keyed import Document, insert_new
from services.common.outbox import Kind, Outbox
from services.insights.facts import PROJECTED, Fact

# The facts of each consumed batch, packed as JSON text in one document: FerretDB converts
# every field of every document it returns, so reading 170,000 small documents took 144 s
# on the development machine and the same facts packed in JSON took about a tenth of that
# (bench/insights_report.py, BENCHMARKS.md).
PACKS = "fact_packs"
PACK_FACTS = 1_000  # facts a pack holds at most (about 0.4 MB of JSON)
PACKS_A_BATCH = 50
POPULATIONS = "populations"
REPORTS = "reports"
SUBSCRIPTIONS = "report_subscriptions"  # officers who asked to be told of reports, by id
OFFICER_SESSIONS = "officer_sessions"  # officers signed in on the pages, by session id
OFFICER_CREDENTIALS = "officer_credentials"  # what the department issued officers, by id
CREDENTIAL_REVOKED = "credential revoked"  # how a session ended by a revocation is marked
SOURCE = "/insights"


def _canonical(doc: Document) -> str:
    return json.dumps(doc, sort_keys=True, ensure_ascii=False)


class InsightsStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        # a stored report carries the event announcing it (``pending``): the chassis' outbox
        # and so does a subscription (the event of its latest change)
        self.outbox = Outbox(
            db, [Kind("reports", db[REPORTS]), Kind("subscriptions", db[SUBSCRIPTIONS])], SOURCE
        )

    async def add(self, facts: dict[str, list[Fact]]) -> int:
        """Store a batch's facts packed, at most PACK_FACTS a document; how many facts went
        into packs not stored before (a batch delivered again as it was adds nothing)."""
        every = sorted(
            ((name, doc) for name, docs in facts.items() for doc in docs),
            key=lambda item: (item[0], str(item[1]["_id"])),
        )
        packs: list[Document] = []
        counts: dict[str, int] = {}
        for start in range(0, len(every), PACK_FACTS):
            part = every[start : start + PACK_FACTS]
            grouped: dict[str, list[Fact]] = {}
            for name, doc in part:
                grouped.setdefault(name, []).append(doc)
            names = "\n".join(f"{name}/{doc['_id']}" for name, doc in part)
            pack_id = hashlib.sha256(names.encode()).hexdigest()
            counts[pack_id] = len(part)
            packs.append(
                {
                    "_id": pack_id,
                    "count": len(part),
                    "facts": json.dumps(grouped, ensure_ascii=False, sort_keys=True),
                }
            )
        if not packs:
            return 0
        stored = await insert_new(self.db[PACKS], packs)
        return sum(counts[pack_id] for pack_id in stored)

    async def facts(self) -> dict[str, list[Document]]:
        """Every stored fact, by collection, each once (what the figures are computed from)."""
        found: dict[str, dict[str, Document]] = {name: {} for name in PROJECTED}
        await self.read_packs(found)
        return listed(found)

    async def read_packs(
        self, found: dict[str, dict[str, Document]], ids: list[str] | None = None
    ) -> None:
        """Add the facts of the packs (all, or those ``ids``) to ``found``, each fact once."""
        query: Document = {} if ids is None else {"_id": {"$in": ids}}
        # FerretDB sends a batch as one message however large (MongoDB stops at 16 MiB): a
        # batch of PACKS_A_BATCH full packs stays far under the 48 MB a message may carry
        async for pack in self.db[PACKS].find(query, batch_size=PACKS_A_BATCH):
            for name, docs in json.loads(pack["facts"]).items():
                known = found.setdefault(name, {})
                for doc in docs:
                    # the same fact in two packs (a batch delivered again in other company) is
                    # one fact; should two events ever give one id different facts (a record
                    # revoked twice), the same one is kept whatever the order packs are read in
                    held = known.get(doc["_id"])
                    if held is None or (held != doc and _canonical(doc) < _canonical(held)):
                        known[doc["_id"]] = doc

    async def pack_count(self) -> int:
        """How many packs are stored: they are only ever inserted, so a count not changed
        since means no fact was added."""
        # the ``count`` command: count_documents is an aggregation, which FerretDB answers by
        # reading every pack (2.2 s for 100,000 records' facts)
        return int(await self.db[PACKS].estimated_document_count())

    async def pack_ids(self) -> set[str]:
        return {doc["_id"] async for doc in self.db[PACKS].find({}, {"_id": 1})}

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

    async def report(self, period: str) -> Document | None:
        """A stored periodic report, by its period."""
        found: Document | None = await self.db[REPORTS].find_one({"_id": period})
        return found

    async def reports(self) -> list[dict[str, Any]]:
        """The stored reports, newest period first, without their figures."""
        cursor = self.db[REPORTS].find({}, {"figures": 0, "pending": 0})
        return sorted(
            [{"period": d["_id"], "produced_at": d["produced_at"]} async for d in cursor],
            key=lambda d: d["period"],
            reverse=True,
        )

    async def add_report(self, doc: Document) -> bool:
        """Store a report, with its event noted in the outbox, unless its period has one;
        whether this call stored it (the loser's outbox entry is an orphan the relay drops)."""
        await self.outbox.expect("reports", [doc])
        return bool(await insert_new(self.db[REPORTS], [doc]))

    async def add_officer_session(self, doc: Document) -> None:
        """A new officer sign-in session (its id is fresh: a plain insert)."""
        await self.db[OFFICER_SESSIONS].insert_one(doc)

    async def officer_session(self, session_id: str) -> Document | None:
        found: Document | None = await self.db[OFFICER_SESSIONS].find_one({"_id": session_id})
        return found

    async def end_officer_session(self, session_id: str, at: datetime) -> None:
        """Sign a session out (by ``_id``; ending it twice keeps the first time's mark)."""
        await self.db[OFFICER_SESSIONS].update_one(
            {"_id": session_id, "signed_out_at": None}, {"$set": {"signed_out_at": at}}
        )

    async def end_officer_sessions_of(self, credential_id: str, at: datetime) -> None:
        """End every live session started with a credential (when it is revoked: rare, so
        the scan of the sessions FerretDB makes for a filter not on ``_id`` is no matter)."""
        await self.db[OFFICER_SESSIONS].update_many(
            {"credential": credential_id, "signed_out_at": None},
            {"$set": {"signed_out_at": at, "ended_by": CREDENTIAL_REVOKED}},
        )

    async def add_officer_credential(self, doc: Document) -> None:
        """A new officer credential (its id is fresh: a plain insert)."""
        await self.db[OFFICER_CREDENTIALS].insert_one(doc)

    async def officer_credential(self, credential_id: str) -> Document | None:
        found: Document | None = await self.db[OFFICER_CREDENTIALS].find_one({"_id": credential_id})
        return found

    async def officer_credentials(self) -> list[Document]:
        """Every officer credential issued (a few per unit: read whole)."""
        return [doc async for doc in self.db[OFFICER_CREDENTIALS].find({})]

    async def revoke_officer_credential(
        self, credential_id: str, at: datetime, reason: str
    ) -> None:
        """Mark a credential revoked (by ``_id``; one revoked already keeps its first mark,
        but for two revocations at the same instant, which FerretDB may both apply)."""
        await self.db[OFFICER_CREDENTIALS].update_one(
            {"_id": credential_id, "revoked_at": None},
            {"$set": {"revoked_at": at, "revoked_reason": reason}},
        )

    async def set_subscription(self, doc: Document) -> None:
        """Store an officer's subscription whole, with the event announcing it (by ``_id``:
        the last one saved wins)."""
        await self.outbox.expect("subscriptions", [doc])
        await self.db[SUBSCRIPTIONS].replace_one({"_id": doc["_id"]}, doc, upsert=True)

    async def subscriptions_of(self, officer_unit: str) -> list[Document]:
        """The subscriptions officers of a unit made (a small collection, read whole)."""
        return [
            doc
            async for doc in self.db[SUBSCRIPTIONS].find({}, {"pending": 0})
            if doc["officer_unit"] == officer_unit
        ]


def listed(found: dict[str, dict[str, Document]]) -> dict[str, list[Document]]:
    """Facts by collection as the figures take them: each collection's facts in id order."""
    return {name: [docs[k] for k in sorted(docs)] for name, docs in found.items()}
