"""The learner service's MongoDB access layer: providers, keys, learners, records, programmes.

Learners, records, programmes and bindings carry the event announcing their latest change in a
``pending`` field: the change and its event are one atomic write, and the chassis' outbox
(:mod:`services.common.outbox`) notes that the event waits before the change is written.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.common.keyed import by_ids, insert_new
from services.common.mongo import Document
from services.common.outbox import Kind, Outbox

OutboxKind = Literal["learners", "records", "programmes", "bindings", "sign_outs", "statements"]
# learners' events before records': a relayed record never reaches a consumer before its learner
OUTBOX_KINDS: tuple[OutboxKind, ...] = (
    "learners",
    "programmes",
    "records",
    "bindings",
    "sign_outs",
    "statements",
)
SOURCE = "/learner"


ABANDONED_CLAIM = timedelta(seconds=30)


class RevisionMoved(Exception):
    """The document changed since it was read (or since the revision the caller expected)."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the current revision is {current}")
        self.current = current


def revision_of(doc: Document) -> int:
    return int(doc.get("revision") or 0)


def check_revision(doc: Document, expected: int | None) -> int:
    """The document's revision, if it is the one the caller expected (or expected none)."""
    current = revision_of(doc)
    if expected is not None and expected != current:
        raise RevisionMoved(current)
    return current


# Learners and records are keyed by ids derived from what identifies them, so the two lookups
# on the intake path are primary-key reads: cheap on MongoDB, and the only kind FerretDB 1.x
# (SQLite) answers without scanning the collection.
_LEARNERS = uuid.UUID("6f0b6a52-5a51-4a38-9a3e-4c2f3b1d7e01")
_RECORDS = uuid.UUID("0d9e3c1a-8c2b-4f57-b0c4-2a7d5e6f9b02")


def learner_key(id_hash: str) -> str:
    """The learner id of a national-ID hash (a UUIDv5 of the keyed hash: not reversible
    without the identity key)."""
    return str(uuid.uuid5(_LEARNERS, id_hash))


_log = logging.getLogger("learningtrail.learner.store")


def record_key(provider_id: str, provider_record_ref: str) -> str:
    """The record id of a training centre's reference: the same reference, the same id."""
    return str(uuid.uuid5(_RECORDS, f"{provider_id}\x1f{provider_record_ref}"))


class LearnerStore:
    """Everything the learner service keeps. No other service reads these collections."""

    def __init__(self, db: AsyncDatabase[Document], pause_before_append: float = 0.0) -> None:
        self.providers = db["providers"]
        self.api_keys = db["api_keys"]
        self.learners = db["learners"]
        self.records = db["records"]
        self.programmes = db["programmes"]
        self.revisions = db["revisions"]
        # accounts (what a person signs in to), their bindings to learners and their sessions
        self.accounts = db["accounts"]
        self.bindings = db["bindings"]
        self.claim_codes = db["claim_codes"]
        self.claim_uses = db["claim_uses"]
        self.sessions = db["sessions"]
        self.refresh_tokens = db["refresh_tokens"]
        self.refresh_uses = db["refresh_uses"]
        self.oidc_flows = db["oidc_flows"]
        self.oidc_flow_uses = db["oidc_flow_uses"]
        # sessions that ended early, each carrying the event that tells the other services
        self.sign_outs = db["sign_outs"]
        # the xAPI Learning Record Store's statements (services/learner/xapi/store.py)
        self.statements = db["xapi_statements"]
        self.outbox = Outbox(
            db,
            [Kind(kind, self._collection(kind)) for kind in OUTBOX_KINDS],
            SOURCE,
            pause_before_append,
            pause_kinds={"records"},  # a batch's records stored, their events not yet appended
        )

    async def ensure_indexes(self) -> None:
        await self.learners.create_index([("id_hash", ASCENDING)], unique=True)
        await self.records.create_index(
            [("provider_id", ASCENDING), ("provider_record_ref", ASCENDING)], unique=True
        )
        await self.records.create_index([("state", ASCENDING), ("created_at", ASCENDING)])
        await self.records.create_index([("learner_id", ASCENDING)])
        await self.api_keys.create_index([("provider_id", ASCENDING)])
        await self.programmes.create_index([("provider_id", ASCENDING)])
        await self.bindings.create_index([("learner_id", ASCENDING)])
        await self.bindings.create_index([("account_id", ASCENDING)])
        await self.sessions.create_index([("account_id", ASCENDING)])

    # providers and keys

    async def add_provider(self, provider: Document) -> None:
        await self.providers.insert_one(provider)

    async def provider(self, provider_id: str) -> Document | None:
        return await self.providers.find_one({"_id": provider_id})

    async def update_provider(self, provider_id: str, changes: Document) -> Document | None:
        return await self.providers.find_one_and_update(
            {"_id": provider_id}, {"$set": changes}, return_document=ReturnDocument.AFTER
        )

    async def list_providers(self) -> list[Document]:
        return [p async for p in self.providers.find({}).sort("created_at", ASCENDING)]

    async def add_key(self, key: Document) -> None:
        await self.api_keys.insert_one(key)

    async def key(self, key_hash: str) -> Document | None:
        return await self.api_keys.find_one({"_id": key_hash})

    async def keys_of(self, provider_id: str) -> list[Document]:
        cursor = self.api_keys.find({"provider_id": provider_id}).sort("created_at", ASCENDING)
        return [k async for k in cursor]

    async def revoke_key(self, provider_id: str, key_id: str, at: datetime) -> bool:
        result = await self.api_keys.update_one(
            {"provider_id": provider_id, "key_id": key_id, "revoked_at": None},
            {"$set": {"revoked_at": at}},
        )
        return result.modified_count == 1

    # learners

    async def learner(self, learner_id: str) -> Document | None:
        return await self.learners.find_one({"_id": learner_id})

    async def learner_by_hash(self, id_hash: str) -> Document | None:
        return await self.learners.find_one({"_id": learner_key(id_hash)})

    async def add_learner(self, learner: Document) -> tuple[Document, bool]:
        """Insert a new learner; if another request created the same one first, return that.
        The flag says whether this call created it."""
        await self.outbox.expect("learners", [learner])
        try:
            await self.learners.insert_one(learner)
        except DuplicateKeyError:
            existing = await self.learner_by_hash(learner["id_hash"])
            if existing is None:  # pragma: no cover - the unique key was just violated
                raise
            return existing, False
        return learner, True

    async def change_learner(self, learner_id: str, changes: Document, revision: int) -> Document:
        """Apply ``changes`` to the learner at ``revision`` (and count one more); raises
        :class:`RevisionMoved` when another change came first."""
        return await self._change("learners", learner_id, changes, revision)

    async def _change(
        self, kind: OutboxKind, doc_id: str, changes: Document, revision: int
    ) -> Document:
        """A guarded read-modify-write: only the revision read is changed, so two concurrent
        changes never leave the stored document and the last event disagreeing.

        The next revision is first claimed by inserting ``{_id: "<kind>:<id>:<revision>"}``
        into ``revisions``: a unique insert is atomic on every server, where FerretDB 1.x
        would let two conditional updates of one document both pass. A claim left by a
        process that stopped before writing is taken over after ``ABANDONED_CLAIM``."""
        collection = self._collection(kind)
        started = datetime.now(UTC)
        claim: Document = {"_id": f"{kind}:{doc_id}:{revision + 1}", "at": started}
        if not await insert_new(self.revisions, [claim]):
            held = await self.revisions.find_one({"_id": claim["_id"]})
            now = await collection.find_one({"_id": doc_id}, {"revision": 1})
            current = int((now or {}).get("revision") or 0)
            if held is None or current != revision or held["at"] >= started - ABANDONED_CLAIM:
                raise RevisionMoved(max(current, revision + 1))
            await self.revisions.replace_one({"_id": claim["_id"], "at": held["at"]}, claim)
        await self.outbox.expect(kind, [{"_id": doc_id, **changes}])
        at = {"revision": revision} if revision else {"revision": {"$in": [None, 0]}}
        changed = await collection.find_one_and_update(
            {"_id": doc_id, **at},
            {"$set": {**changes, "revision": revision + 1}},
            return_document=ReturnDocument.AFTER,
        )
        if changed is None:
            now = await collection.find_one({"_id": doc_id}, {"revision": 1})
            raise RevisionMoved(int((now or {}).get("revision") or 0))
        return changed

    # records (idempotency keys: provider and the provider's reference)

    async def record(self, record_id: str) -> Document | None:
        return await self.records.find_one({"_id": record_id})

    async def record_by_ref(self, provider_id: str, ref: str) -> Document | None:
        return await self.records.find_one({"_id": record_key(provider_id, ref)})

    async def add_record(self, record: Document) -> bool:
        """Insert a record; False if the same (provider, reference) already exists."""
        await self.outbox.expect("records", [record])
        try:
            await self.records.insert_one(record)
        except DuplicateKeyError:
            return False
        return True

    async def change_record(
        self, record_id: str, changes: Document, expect: Document | None = None
    ) -> Document | None:
        """Apply ``changes`` if the record still matches ``expect``; the record after, or None."""
        await self.outbox.expect("records", [{"_id": record_id, **changes}])
        return await self.records.find_one_and_update(
            {"_id": record_id, **(expect or {})},
            {"$set": changes},
            return_document=ReturnDocument.AFTER,
        )

    async def held_records(self, limit: int) -> list[Document]:
        cursor = self.records.find({"state": "held"}).sort("created_at", ASCENDING).limit(limit)
        return [r async for r in cursor]

    async def records_of_learner(self, learner_id: str) -> list[Document]:
        return [r async for r in self.records.find({"learner_id": learner_id})]

    # programmes

    async def add_programme(self, programme: Document) -> None:
        await self.outbox.expect("programmes", [programme])
        await self.programmes.insert_one(programme)

    async def programme(self, programme_id: str) -> Document | None:
        return await self.programmes.find_one({"_id": programme_id})

    async def change_programme(
        self, programme_id: str, changes: Document, revision: int
    ) -> Document:
        """As :meth:`change_learner`, for a programme."""
        return await self._change("programmes", programme_id, changes, revision)

    async def programmes_of(self, provider_id: str) -> list[Document]:
        cursor = self.programmes.find({"provider_id": provider_id}).sort("announced_at", DESCENDING)
        return [p async for p in cursor]

    # many at once: the batch path (one round trip each, whatever the batch's size)

    async def records_by_ids(self, record_ids: Iterable[str]) -> dict[str, Document]:
        return await by_ids(self.records, record_ids)

    async def learners_by_ids(self, learner_ids: Iterable[str]) -> dict[str, Document]:
        return await by_ids(self.learners, learner_ids)

    async def add_many(self, kind: OutboxKind, docs: list[Document]) -> set[str]:
        """Insert documents that may exist already (a retry, or another request first); the
        ids of those this call inserted."""
        await self.outbox.expect(kind, docs)
        inserted = await insert_new(self._collection(kind), docs)
        # a document another request stored first carries that request's event, not these
        await self.outbox.appended(
            [
                d["pending"]["event_id"]
                for d in docs
                if d["_id"] not in inserted and d.get("pending")
            ]
        )
        return inserted

    def _collection(self, kind: OutboxKind) -> AsyncCollection[Document]:
        return {
            "learners": self.learners,
            "records": self.records,
            "programmes": self.programmes,
            "bindings": self.bindings,
            "sign_outs": self.sign_outs,
            "statements": self.statements,
        }[kind]

    # accounts, bindings, claim codes and sessions

    async def add_account(self, account: Document) -> None:
        await self.accounts.insert_one(account)

    async def account(self, account_id: str) -> Document | None:
        return await self.accounts.find_one({"_id": account_id})

    async def set_account_binding(
        self, account_id: str, bound_from: str | None, binding: Document | None
    ) -> Document | None:
        """Point the account at ``binding`` (None: at no learner but its own), if it is still
        bound as the caller read it (``bound_from``: the binding id it had); else None."""
        return await self.accounts.find_one_and_update(
            {"_id": account_id, "binding_id": bound_from},
            {
                "$set": {
                    "binding_id": binding["_id"] if binding else None,
                    "bound_learner_id": binding["learner_id"] if binding else None,
                }
            },
            return_document=ReturnDocument.AFTER,
        )

    async def add_binding(self, binding: Document) -> None:
        await self.outbox.expect("bindings", [binding])
        await self.bindings.insert_one(binding)

    async def binding(self, binding_id: str) -> Document | None:
        return await self.bindings.find_one({"_id": binding_id})

    async def change_binding(
        self, binding_id: str, changes: Document, expect: Document
    ) -> Document | None:
        await self.outbox.expect("bindings", [{"_id": binding_id, **changes}])
        return await self.bindings.find_one_and_update(
            {"_id": binding_id, **expect}, {"$set": changes}, return_document=ReturnDocument.AFTER
        )

    async def find_bindings(
        self, learner_id: str | None, account_id: str | None, limit: int
    ) -> list[Document]:
        query: Document = {}
        if learner_id is not None:
            query["learner_id"] = learner_id
        if account_id is not None:
            query["account_id"] = account_id
        cursor = self.bindings.find(query).sort("bound_at", DESCENDING).limit(limit)
        return [b async for b in cursor]

    async def add_claim_code(self, code: Document) -> None:
        await self.claim_codes.insert_one(code)

    async def claim_code(self, code_hash: str) -> Document | None:
        return await self.claim_codes.find_one({"_id": code_hash})

    async def use_claim_code(self, code_hash: str, account_id: str, at: datetime) -> bool:
        """Mark the code used by a unique insert (atomic on every server, where FerretDB 1.x
        could let two conditional updates both pass); False if it was used already."""
        used = {"_id": code_hash, "account_id": account_id, "at": at}
        return bool(await insert_new(self.claim_uses, [used]))

    async def claim_use(self, code_hash: str) -> Document | None:
        return await self.claim_uses.find_one({"_id": code_hash})

    async def add_session(self, session: Document, refresh: Document) -> None:
        await self.sessions.insert_one(session)
        await self.refresh_tokens.insert_one(refresh)

    async def session(self, session_id: str) -> Document | None:
        return await self.sessions.find_one({"_id": session_id})

    async def refresh_token(self, token_hash: str) -> Document | None:
        return await self.refresh_tokens.find_one({"_id": token_hash})

    async def use_refresh_token(self, token_hash: str, at: datetime) -> bool:
        """Spend a refresh token (a unique insert, as for claim codes); False if it was spent
        already — a reuse."""
        return bool(await insert_new(self.refresh_uses, [{"_id": token_hash, "at": at}]))

    async def refresh_use(self, token_hash: str) -> Document | None:
        """When the refresh token was spent, if it was."""
        return await self.refresh_uses.find_one({"_id": token_hash})

    async def keep_refresh_token(self, refresh: Document) -> None:
        """Record a session's next refresh token; a copy recorded already (two requests
        answering with the same successor) is left as it is."""
        await insert_new(self.refresh_tokens, [refresh])

    async def revoke_sessions(self, query: Document, at: datetime, reason: str) -> list[str]:
        """Revoke the live sessions ``query`` selects; their ids (a session revoked by two
        requests at once may be named by both: telling the other services twice is harmless)."""
        live = [
            d["_id"] async for d in self.sessions.find({**query, "revoked_at": None}, {"_id": 1})
        ]
        if live:
            await self.sessions.update_many(
                {"_id": {"$in": live}, "revoked_at": None},
                {"$set": {"revoked_at": at, "revoked_reason": reason}},
            )
        return live

    async def add_oidc_flow(self, flow: Document) -> None:
        await self.oidc_flows.insert_one(flow)

    async def oidc_flow(self, state: str) -> Document | None:
        return await self.oidc_flows.find_one({"_id": state})

    async def use_oidc_flow(self, state: str, at: datetime) -> bool:
        """Spend a sign-in's state (a unique insert); False if it was spent already."""
        return bool(await insert_new(self.oidc_flow_uses, [{"_id": state, "at": at}]))

    async def counts(self) -> dict[str, Any]:
        return {
            "providers": await self.providers.count_documents({}),
            "learners": await self.learners.count_documents({}),
            "records": await self.records.count_documents({}),
        }
