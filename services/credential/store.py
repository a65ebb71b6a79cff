"""The credential service's MongoDB access layer: trail entries, learners and merges.

Every read and write on the path of a record — the consumer's batches and a trail read — has
an ``_id`` condition: a learner's entries are found through the learner's list in
``trail_index`` (a chain of small documents ``{_id: "<learner_id>#<n>", records: [...]}``, one
inserted per batch that adds records: see :func:`services.common.keyed.append_to_lists`), and
their recognitions by the ids the rule
versions in ``rule_versions`` can give them (recognition ids are derived from learner, rule
version and subject), never by a query on ``learner_id``. MongoDB would serve either from an
index; the local FerretDB (SQLite) serves only ``_id`` from one and reads the whole collection
for anything else. Writes insert what is new and update only what changed
(:mod:`services.common.keyed`): an update is FerretDB's dearest operation.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from contextlib import suppress
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateMany, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.common.keyed import append_to_lists, by_ids, insert_new, read_lists, set_fields
from services.common.merges import final_survivors
from services.common.mongo import Document
from services.common.outbox import Kind, Outbox
from services.credential.recognition import (
    RecognitionRule,
    recognition_id_for,
    recognition_subjects,
)
from services.credential.vc.statuslist import LIST_SIZE, StatusSlot, slot

Write = UpdateOne | UpdateMany
VERSIONS_TTL = 30.0  # seconds
SERIES = "series"
"""The ``status_lists`` document whose counter suggests the next position of the series."""
FIRST_LIST = "1"
SOURCE = "/credential"


class CredentialStore:
    """Trail entries (one per record id), learner profiles and learner merges, from the log."""

    def __init__(self, db: AsyncDatabase[Document], pause_before_append: float = 0.0) -> None:
        self.entries = db["trail_entries"]
        self.index = db["trail_index"]
        self.learners = db["learners"]
        self.merges = db["learner_merges"]
        self.recognitions = db["recognitions"]
        self.rule_versions = db["rule_versions"]
        self._versions: tuple[float, list[Document]] | None = None
        self.issuer_keys = db["issuer_keys"]
        self.status_lists = db["status_lists"]
        self.status_indices = db["status_indices"]
        self.status_revocations = db["status_revocations"]
        self.credentials = db["credentials"]
        self.trusted = db["trusted_issuers"]
        # the first check of each credential each day (``<credential id>|<day>``), once
        self.verifications = db["verifications"]
        # recognitions, credentials and verifications carry their event in ``pending``
        self.outbox = Outbox(
            db,
            [
                Kind("recognitions", self.recognitions),
                Kind("credentials", self.credentials),
                Kind("verifications", self.verifications),
            ],
            SOURCE,
            pause_before_append,
            pause_kinds={"credentials"},  # an issued credential stored, not yet announced
        )

    async def ensure_indexes(self) -> None:
        await self.recognitions.create_index([("learner_id", ASCENDING)])
        await self.credentials.create_index([("learner_id", ASCENDING)])
        await self.credentials.create_index([("record_ids", ASCENDING)])

    async def add_entries(self, entries: list[Document]) -> set[str]:
        """Insert entries not stored yet (a redelivered record changes nothing) and list them
        on their learners' index; returns the ids of those that were new."""
        if not entries:
            return set()
        inserted = await insert_new(self.entries, entries)
        by_learner: dict[str, list[str]] = {}
        for entry in entries:
            by_learner.setdefault(entry["learner_id"], []).append(entry["_id"])
        await append_to_lists(self.index, "records", by_learner)
        return inserted

    async def write_entries(self, writes: list[Write]) -> None:
        """Apply changes of stored entries (each keyed by ``_id``), in order."""
        if writes:
            await self.entries.bulk_write(writes, ordered=True)

    async def move_entries(self, moves: dict[str, str]) -> None:
        """Move the entries of merged learners (key) to the learner they were merged into."""
        if not moves:
            return
        listed = await read_lists(self.index, "records", moves)
        moved: dict[str, list[str]] = {}
        for old, into in moves.items():
            record_ids = listed[old]
            if record_ids:
                await self.entries.update_many(
                    {"_id": {"$in": record_ids}}, {"$set": {"learner_id": into}}
                )
                moved.setdefault(into, []).extend(record_ids)
        await append_to_lists(self.index, "records", moved)

    async def put_learners(self, changes: dict[str, Document]) -> None:
        """Profiles (and whom a learner was merged into), as fields to hold, by learner id."""
        await set_fields(self.learners, changes)

    async def put_merges(self, merged_into: dict[str, str]) -> None:
        """Each learner (key) was merged into another (value)."""
        await set_fields(self.merges, {k: {"merged_into": v} for k, v in merged_into.items()})

    async def survivors(self, learner_ids: set[str]) -> dict[str, str]:
        """For each learner merged away, the learner that finally remains."""
        merged: dict[str, str] = {}
        frontier = set(learner_ids)
        while frontier:
            cursor = self.merges.find({"_id": {"$in": sorted(frontier)}})
            step = {m["_id"]: m["merged_into"] async for m in cursor}
            merged.update(step)
            frontier = set(step.values()) - set(merged)
        return final_survivors(merged)

    async def entries_of(
        self, learner_ids: list[str], known: Mapping[str, Document] | None = None
    ) -> dict[str, list[Document]]:
        """The live (not revoked) entries of each learner: their ids from the learner's list,
        then the entries by ``_id`` (in parts, see :data:`services.common.keyed.ID_CHUNK`),
        except those ``known`` as stored (a batch's own new entries: not read back)."""
        known = known or {}
        found: dict[str, list[Document]] = {i: [] for i in learner_ids}
        listed = await read_lists(self.index, "records", learner_ids)
        wanted = [i for ids in listed.values() for i in ids]
        entries = await by_ids(self.entries, (i for i in wanted if i not in known))
        entries.update({i: known[i] for i in wanted if i in known})
        for doc in entries.values():
            if doc["learner_id"] in found and not doc.get("revoked"):
                found[doc["learner_id"]].append(doc)
        return found

    async def register_rules(self, rules: Iterable[RecognitionRule]) -> None:
        """Note each rule version and the subjects it decides on (kept for good, so that the
        decisions of a version no longer loaded can still be found and revoked)."""
        await set_fields(
            self.rule_versions,
            {
                f"{r.id}|{r.version}": {
                    "rule_id": r.id,
                    "version": r.version,
                    "subjects": recognition_subjects(r),
                }
                for r in rules
            },
        )
        self._versions = None

    async def _rule_versions(self) -> list[Document]:
        """The registered rule versions, read again at most every ``VERSIONS_TTL`` seconds:
        versions are only ever added (by an instance starting with new rules), and every
        trail read and consumer batch needs them."""
        now = time.monotonic()
        if self._versions is None or now - self._versions[0] > VERSIONS_TTL:
            self._versions = (now, [v async for v in self.rule_versions.find({})])
        return self._versions[1]

    async def recognitions_of(self, learner_ids: list[str]) -> dict[str, list[Document]]:
        """Every recognition decided for each learner, granted or revoked: found by the ids
        every registered rule version can give them (one read by ``_id``, no index to keep)."""
        versions = await self._rule_versions()
        candidates = {
            recognition_id_for(lid, v["rule_id"], v["version"], subject): lid
            for lid in learner_ids
            for v in versions
            for subject in v["subjects"]
        }
        found: dict[str, list[Document]] = {lid: [] for lid in learner_ids}
        for doc in (await by_ids(self.recognitions, candidates)).values():
            found[candidates[doc["_id"]]].append(doc)
        return found

    async def write_recognitions(self, docs: list[Document]) -> None:
        """Store decisions (each carrying its pending event) by recognition id."""
        await self.outbox.expect("recognitions", docs)
        if docs:
            fields = {d["_id"]: {k: v for k, v in d.items() if k != "_id"} for d in docs}
            await set_fields(self.recognitions, fields)

    async def learner(self, learner_id: str) -> Document | None:
        return await self.learners.find_one({"_id": learner_id})

    async def counts(self) -> dict[str, Any]:
        return {"entries": await self.entries.count_documents({})}

    # other issuers the department trusts (for imports of their CLRs)

    async def trusted_issuers(self) -> list[Document]:
        """Every issuer the department added to its trust list, with its DID document."""
        return [d async for d in self.trusted.find({})]

    async def put_trusted_issuer(self, doc: Document) -> None:
        """Add an issuer to the trust list, or replace what is kept for it (by ``_id``)."""
        await self.trusted.replace_one({"_id": doc["_id"]}, doc, upsert=True)

    async def remove_trusted_issuer(self, issuer_id: str) -> bool:
        """Take an issuer off the trust list; False when it was not on it."""
        return (await self.trusted.delete_one({"_id": issuer_id})).deleted_count == 1

    # the issuer's keys, status lists and issued credentials

    async def sealed_keys(self) -> Document | None:
        return await self.issuer_keys.find_one({"_id": "issuer"})

    async def put_sealed_keys(self, sealed: str, controller: str, replace: bool) -> bool:
        """Store the sealed key ring; without ``replace`` only if none exists (False then)."""
        doc = {"_id": "issuer", "sealed": sealed, "controller": controller}
        if replace:
            await self.issuer_keys.replace_one({"_id": "issuer"}, doc, upsert=True)
            return True
        try:
            await self.issuer_keys.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def allocate_status_slots(self, count: int) -> list[StatusSlot]:
        """``count`` bits of the series of status lists (see
        :func:`services.credential.vc.statuslist.slot`) that no other caller — in this process
        or another instance — ever gets, in order; a new list begins when one is full.

        A bit is taken by inserting ``{_id: "<list>:<index>"}`` into ``status_indices``: the
        unique ``_id`` makes the insert the atomic step on every server (FerretDB 1.x does not
        serialise concurrent updates of one document, so the counter alone could hand a bit
        out twice). The series counter only suggests where to try; a bit another caller took
        meanwhile is skipped and more are tried."""
        await self._seed_series()
        taken: list[int] = []
        while len(taken) < count:
            wanted = count - len(taken)
            after = await self.status_lists.find_one_and_update(
                {"_id": SERIES},
                {"$inc": {"next_position": wanted}},
                return_document=ReturnDocument.AFTER,
            )
            assert after is not None  # seeded above, never deleted
            end = int(after["next_position"])
            tried = {_position(*_key(p)): p for p in range(end - wanted, end)}
            mine = await insert_new(
                self.status_indices,
                [{"_id": key, "list_id": key.partition(":")[0]} for key in tried],
            )
            taken.extend(tried[key] for key in mine)
        return [slot(p) for p in sorted(taken)]

    async def _seed_series(self) -> None:
        """Create the series counter once, after the positions the single list of earlier
        versions handed out (its counter was ``next_index`` on list ``"1"``)."""
        if await self.status_lists.find_one({"_id": SERIES}, {"_id": 1}) is not None:
            return
        earlier = await self.status_lists.find_one({"_id": FIRST_LIST})
        start = int(earlier.get("next_index", 0)) if earlier else 0
        with suppress(DuplicateKeyError):  # another caller seeded it first
            await self.status_lists.insert_one({"_id": SERIES, "next_position": start})

    async def status_list_ids(self) -> list[str]:
        """The lists of the series that exist: ``"1"`` always, one more per full list."""
        doc = await self.status_lists.find_one({"_id": SERIES})
        used = int(doc["next_position"]) if doc else 0
        return [str(n) for n in range(1, max(1, -(-used // LIST_SIZE)) + 1)]

    async def revoked_indices(self, list_id: str) -> list[int]:
        """Every revoked position of a list (one document per revocation, plus the array
        earlier versions kept on the list)."""
        doc = await self.status_lists.find_one({"_id": list_id})
        earlier = list(doc.get("revoked", [])) if doc else []
        revoked = [r["index"] async for r in self.status_revocations.find({"list_id": list_id})]
        return sorted(set(earlier) | set(revoked))

    async def revoke_slots(self, slots: Iterable[StatusSlot]) -> None:
        """Set bits by inserting one document each: concurrent revocations from any number of
        instances all stand (an update of one shared array could lose one)."""
        await insert_new(
            self.status_revocations,
            [
                {"_id": _position(s.list_id, s.index), "list_id": s.list_id, "index": s.index}
                for s in slots
            ],
        )

    async def add_credential(self, doc: Document) -> None:
        await self.outbox.expect("credentials", [doc])
        await self.credentials.insert_one(doc)

    async def credential(self, credential_id: str) -> Document | None:
        return await self.credentials.find_one({"_id": credential_id})

    async def credentials_with_record(self, record_id: str) -> list[Document]:
        return [d async for d in self.credentials.find({"record_ids": record_id})]

    async def latest_credential(self, learner_id: str) -> Document | None:
        cursor = self.credentials.find({"learner_id": learner_id}).sort("issued_at", DESCENDING)
        async for doc in cursor.limit(1):
            return doc
        return None

    async def change_credential(self, credential_id: str, changes: Document) -> None:
        await self.outbox.expect("credentials", [{"_id": credential_id, **changes}])
        await self.credentials.update_one({"_id": credential_id}, {"$set": changes})

    async def add_verification(self, doc: Document) -> bool:
        """Note a credential's first check of a day with its event, unless that day has one
        (a unique insert by id: two checks at once note one); whether this call noted it."""
        await self.outbox.expect("verifications", [doc])
        return bool(await insert_new(self.verifications, [doc]))


def _position(list_id: str, index: int) -> str:
    return f"{list_id}:{index}"


def _key(series_position: int) -> tuple[str, int]:
    where = slot(series_position)
    return where.list_id, where.index


class ShareStore:
    """Learners' share links. Opening one reads it by ``_id`` (its token's hash); a learner's
    own list and revoking one read by ``learner_id`` (few, and only on the learner's page)."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.shares = db["shares"]

    async def ensure_indexes(self) -> None:
        await self.shares.create_index([("learner_id", ASCENDING)])

    async def add(self, share: Document) -> None:
        await self.shares.insert_one(share)

    async def by_token_hash(self, token_hash: str) -> Document | None:
        return await self.shares.find_one({"_id": token_hash})

    async def of_learner(self, learner_id: str) -> list[Document]:
        cursor = self.shares.find({"learner_id": learner_id}).sort("created_at", DESCENDING)
        return [d async for d in cursor.limit(200)]

    async def revoke(self, learner_id: str, share_id: str, at: datetime) -> bool:
        """Revoke the learner's link; False if they have no such live link."""
        done = await self.shares.update_one(
            {"learner_id": learner_id, "share_id": share_id, "revoked_at": None},
            {"$set": {"revoked_at": at}},
        )
        return done.matched_count == 1

    async def opened(self, token_hash: str, at: datetime) -> None:
        """Note an opening (two at once may count once: the count is for the learner's eyes,
        the times are what matter)."""
        await self.shares.update_one(
            {"_id": token_hash}, {"$set": {"last_opened_at": at}, "$inc": {"opens": 1}}
        )
        await self.shares.update_one(
            {"_id": token_hash, "first_opened_at": None}, {"$set": {"first_opened_at": at}}
        )
