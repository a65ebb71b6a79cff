"""Where the LRS keeps what training centres send it: statements, documents, mappings, links.

Every collection is keyed so the hot reads are ``_id`` lookups or ``_id`` ranges (FerretDB
serves nothing else from an index): a statement by ``<centre>:<statement id>``, the voiding of
a statement by the same key in ``xapi_voids``, a document by its resource and parameters, a
centre's mapping by its id, an agent link by ``<centre>:<agent identifier>``. Statements are
kept as JSON text (their keys, IRIs and language tags, are not field names every server
accepts) with their event, in ``xapi_statements``; what a query filters on is kept apart, as
keys in ``xapi_statement_keys`` (one per statement and filter value, sorted by stored time:
``keys.py``): a query (``GET /xapi/statements?agent=…``) reads one ``_id`` range of keys, a
page long, and then the statements it found by ``_id`` — its cost is the page's, not the
store's. ``xapi_statement_index`` keeps each statement's filter fields by its key, for the
StatementRef rules. Keys and index entries are written after their statement; those a dead
request left unwritten are written by its retry (both are unique inserts), and until then the
statement is read by id but not found by queries. Statements stored before the keys existed
get theirs once, in the background when the service starts (``key_old_statements``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from services.common.keyed import by_ids, insert_new, set_fields
from services.common.mongo import Document
from services.learner.store import LearnerStore
from services.learner.xapi.keys import statement_keys


def statement_key(provider_id: str, statement_id: str) -> str:
    return f"{provider_id}:{statement_id.lower()}"


def _meets(entry: Document, conditions: Document) -> bool:
    """Whether an index entry meets equality conditions (a list field: holds the value), as
    the query would."""
    for name, wanted in conditions.items():
        value = entry.get(name)
        if value != wanted and not (isinstance(value, list) and wanted in value):
            return False
    return True


class XapiStore:
    """The LRS's collections; statements are inserted through the learner store's outbox."""

    def __init__(self, db: AsyncDatabase[Document], learner_store: LearnerStore) -> None:
        self.learner_store = learner_store
        self.statements = learner_store.statements
        self.index = db["xapi_statement_index"]
        self.keys = db["xapi_statement_keys"]
        self.migrations = db["xapi_migrations"]
        self.voids = db["xapi_voids"]
        self.refs = db["xapi_statement_refs"]
        self.documents = db["xapi_documents"]
        self.document_claims = db["xapi_document_claims"]
        self.mappings = db["xapi_mappings"]
        self.links = db["xapi_agent_links"]
        self.attachments = db["xapi_attachments"]
        self.activities = db["xapi_activities"]

    async def ensure_indexes(self) -> None:
        await self.index.create_index(
            [("provider_id", ASCENDING), ("stored", ASCENDING), ("statement_id", ASCENDING)]
        )
        await self.documents.create_index([("provider_id", ASCENDING), ("scope", ASCENDING)])
        await self.refs.create_index([("provider_id", ASCENDING)])

    async def key_old_statements(self, within: str = "", batch: int = 1000) -> int:
        """Write the query keys of statements stored before keys existed (those whose key
        starts with ``within``; all of them: once, a marker in ``xapi_migrations`` says it is
        done); how many statements were read. Statements stored meanwhile write their own
        keys; writing one twice keeps the first."""
        if not within and await self.migrations.find_one({"_id": "statement-keys"}) is not None:
            return 0
        read = 0
        last = within
        while True:
            cursor = (
                self.index.find({"_id": {"$gt": last, "$lt": within + "~"}})
                .sort([("_id", ASCENDING)])
                .limit(batch)
            )
            entries = [doc async for doc in cursor]
            if not entries:
                break
            # only those without their first key (``all``): a statement's keys are written
            # together, and what a dead request left unwritten its retry writes
            firsts = {statement_keys(e)[0]: e for e in entries}
            there = await by_ids(self.keys, firsts, {"_id": 1})
            await self.add_keys([e for k, e in firsts.items() if k not in there])
            read += len(entries)
            last = entries[-1]["_id"]
        if not within:
            marker = {"_id": "statement-keys", "done": datetime.now(UTC)}
            await insert_new(self.migrations, [marker])
        return read

    # statements

    async def statements_by_ids(self, provider_id: str, ids: Iterable[str]) -> dict[str, Document]:
        found = await by_ids(self.statements, (statement_key(provider_id, i) for i in ids))
        return {doc["statement_id"]: doc for doc in found.values()}

    async def add_statements(self, docs: list[Document]) -> set[str]:
        """Insert statements with their events noted in the outbox; the keys inserted."""
        return await self.learner_store.add_many("statements", docs)

    async def add_index(self, entries: list[Document]) -> None:
        """The query index entries of stored statements (those already there are kept)."""
        await insert_new(self.index, entries)

    async def add_keys(self, docs: list[Document]) -> None:
        """The query keys of stored statements (those already there are kept)."""
        await insert_new(
            self.keys, [{"_id": k, "statement": d["_id"]} for d in docs for k in statement_keys(d)]
        )

    async def key_page(
        self, bounds: dict[str, str], ascending: bool, count: int
    ) -> list[tuple[str, str]]:
        """Up to ``count`` query keys in this ``_id`` range, in order, each with its
        statement's key: one index search."""
        cursor = (
            self.keys.find({"_id": bounds}, {"statement": 1})
            .sort([("_id", ASCENDING if ascending else DESCENDING)])
            .limit(count)
        )
        return [(doc["_id"], doc["statement"]) async for doc in cursor]

    async def add_refs(self, entries: list[Document]) -> None:
        """Note which stored statements target another by StatementRef (``target``)."""
        await insert_new(self.refs, entries)

    async def refs_of(self, provider_id: str) -> dict[str, str]:
        """The centre's statements that target another by StatementRef (→ the target's id):
        a scan on FerretDB, of a collection that holds only such statements."""
        cursor = self.refs.find({"provider_id": provider_id}, {"statement_id": 1, "target": 1})
        return {doc["statement_id"]: doc["target"] async for doc in cursor}

    async def matching_among(
        self, provider_id: str, ids: Iterable[str], conditions: Document
    ) -> set[str]:
        """Of these statement ids, those whose index entry meets ``conditions`` (voided or
        not): read by ``_id $in``, then filtered."""
        found = await by_ids(
            self.index,
            (statement_key(provider_id, i) for i in ids),
            {k: 1 for k in ("statement_id", *conditions)},
        )
        return {doc["statement_id"] for doc in found.values() if _meets(doc, conditions)}

    async def voided_among(self, provider_id: str, ids: Iterable[str]) -> dict[str, str]:
        """Of these statement ids, those a stored voiding statement voids (→ its id)."""
        found = await by_ids(self.voids, (statement_key(provider_id, i) for i in ids))
        return {doc["target"]: doc["voiding_id"] for doc in found.values()}

    async def note_voids(self, provider_id: str, voids: dict[str, str]) -> None:
        """Note that each target statement is voided by the voiding statement given, and mark
        the targets stored already."""
        await insert_new(
            self.voids,
            [
                {"_id": statement_key(provider_id, t), "target": t.lower(), "voiding_id": v}
                for t, v in voids.items()
            ],
        )
        keys = [statement_key(provider_id, t) for t in voids]
        if keys:
            for collection in (self.statements, self.index):
                await collection.update_many({"_id": {"$in": keys}}, {"$set": {"voided": True}})

    async def statements_by_keys(self, keys: Iterable[str]) -> dict[str, Document]:
        return await by_ids(self.statements, keys)

    # canonical Activity definitions, by ``<centre>:<activity id>``, as JSON text (their
    # extensions' keys are IRIs, not field names every server accepts)

    async def activity_definitions(
        self, provider_id: str, activity_ids: Iterable[str]
    ) -> dict[str, dict[str, Any]]:
        found = await by_ids(self.activities, (f"{provider_id}:{a}" for a in activity_ids))
        return {doc["activity_id"]: json.loads(doc["definition"]) for doc in found.values()}

    async def set_activity_definitions(
        self, provider_id: str, definitions: dict[str, dict[str, Any]], at: datetime
    ) -> None:
        """Replace these canonical definitions. Two requests that change one Activity at the
        same moment may each merge into the definition read before the other's: the last
        write wins (a definition is advice to reporting tools, never what keeps data
        correct)."""
        await set_fields(
            self.activities,
            {
                f"{provider_id}:{activity_id}": {
                    "provider_id": provider_id,
                    "activity_id": activity_id,
                    "definition": json.dumps(definition, ensure_ascii=False, sort_keys=True),
                    "updated": at,
                }
                for activity_id, definition in definitions.items()
            },
        )

    # attachments' contents, by centre and SHA-256 (the same content is kept once)

    async def add_attachments(self, provider_id: str, parts: dict[str, tuple[str, bytes]]) -> None:
        await insert_new(
            self.attachments,
            [
                {"_id": f"{provider_id}:{sha2}", "content_type": kind, "content": data}
                for sha2, (kind, data) in parts.items()
            ],
        )

    async def attachments_by_hash(
        self, provider_id: str, hashes: Iterable[str]
    ) -> dict[str, tuple[str, bytes]]:
        found = await by_ids(self.attachments, (f"{provider_id}:{h}" for h in hashes))
        return {
            key.split(":", 1)[1]: (doc["content_type"], bytes(doc["content"]))
            for key, doc in found.items()
        }

    # documents (State, Activity Profile, Agent Profile)

    async def document(self, key: str) -> Document | None:
        return await self.documents.find_one({"_id": key})

    async def _claim(self, current: Document) -> bool:
        """Claim the replacing (or deleting) of this stored version of a document: a unique
        insert, so of two writers that read the same version only one goes on — atomic on
        FerretDB too, where two conditional updates of one document could both pass."""
        claim = {
            "_id": f"{current['_id']}:{current.get('version_id', current['etag'])}",
            "claimed": datetime.now(UTC),
        }
        return bool(await insert_new(self.document_claims, [claim]))

    async def forget_claims(self, before: datetime) -> int:
        """Delete the claims made before this time (and those kept without a time, from
        before claims had one); how many. A claim only has to outlive the writes that read
        its version, which end within a request's time."""
        result = await self.document_claims.delete_many(
            {"$or": [{"claimed": {"$lt": before}}, {"claimed": {"$exists": False}}]}
        )
        return result.deleted_count

    async def put_document(self, doc: Document, current: Document | None) -> bool:
        """Store the document: replace ``current`` (the version the caller read) or, with
        None, create it only if it is absent. False if another write came first."""
        if current is None:
            return bool(await insert_new(self.documents, [doc]))
        if not await self._claim(current):
            return False
        result = await self.documents.replace_one({"_id": doc["_id"], "etag": current["etag"]}, doc)
        return result.matched_count == 1

    async def delete_document(self, current: Document) -> bool:
        if not await self._claim(current):
            return False
        result = await self.documents.delete_one({"_id": current["_id"], "etag": current["etag"]})
        return result.deleted_count == 1

    async def documents_in(self, provider_id: str, scope: str) -> list[Document]:
        """The documents of one scope (an activity and agent's states, an activity's or
        agent's profiles): a scan on FerretDB, a rare read."""
        cursor = self.documents.find({"provider_id": provider_id, "scope": scope}, {"content": 0})
        return [d async for d in cursor]

    async def delete_documents(self, provider_id: str, scope: str) -> int:
        result = await self.documents.delete_many({"provider_id": provider_id, "scope": scope})
        return result.deleted_count

    # mappings and agent links

    async def mapping(self, provider_id: str) -> Document | None:
        return await self.mappings.find_one({"_id": provider_id})

    async def set_mapping(self, provider_id: str, mapping: Document) -> None:
        await self.mappings.replace_one({"_id": provider_id}, mapping, upsert=True)

    async def link(self, key: str) -> Document | None:
        return await self.links.find_one({"_id": key})

    async def links_by_ids(self, keys: Iterable[str]) -> dict[str, Document]:
        return await by_ids(self.links, keys)

    async def set_link(self, link: Document) -> None:
        await self.links.replace_one({"_id": link["_id"]}, link, upsert=True)

    async def counts(self) -> dict[str, Any]:
        return {"statements": await self.statements.count_documents({})}
