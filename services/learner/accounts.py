"""Accounts: opening one, and binding it to a learner known by national ID — only by proof.

Opening an account (``POST /v1/learners``) proves nothing about who the person is: it makes
the account and a learner of its own (random id, no national ID) for its profile and
programme news, and never touches the learner a national ID belongs to. Records a training
centre posts for a national ID always go to *that* learner (``learner_key`` of its keyed hash),
whoever opened accounts meanwhile. An account comes to act for it only through a proof:

- a **claim code** a training centre issued after checking the person's card (one-time,
  expiring, stored as a keyed hash; see :mod:`services.learner.claims`), or
- an **OpenID Connect** sign-in whose provider asserts the national ID (not built yet).

Each binding is a document with its event (``accounts.v1``) pending, written with the outbox
like every other change. The department lists bindings and undoes a wrong one: the account's
sessions are signed out and it acts for its own learner again. A binding moves no data (the
records stay with the national ID's learner), so undoing one needs no split.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from contracts import accounts as events
from contracts import learners
from contracts.accounts import BindingMethod, IdentityBound, IdentityUnbound
from contracts.learners import LearnerRegistered
from contracts.text import STORED
from contracts.vocabulary import ShortText
from services.common.broker import EventLog
from services.common.mongo import Document
from services.common.outbox import AppendFailed, pending_event
from services.learner.claims import canonical_code, claim_code_hash, new_claim_code
from services.learner.identity import national_id_hash, same_person
from services.learner.intake import LearnerIdentity
from services.learner.profiles import Contact
from services.learner.sessions import Sessions
from services.learner.store import LearnerStore, learner_key
from services.learner.submissions import learner_profile, new_learner_doc

_log = logging.getLogger("learningtrail.learner.accounts")


class ClaimCodeRequest(BaseModel):
    """A training centre asks for a claim code for the person in front of it."""

    model_config = ConfigDict(extra="forbid")

    learner: LearnerIdentity = Field(
        description="The person as their card shows them; email or phone, if given, are "
        "where they will hear about their learning."
    )


class ClaimCodeRedemption(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=64, examples=["7KQ4-M2XD-9PRT"])


class Undo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: ShortText = Field(examples=["Mã nhận hồ sơ cấp nhầm người"])


@dataclass(frozen=True)
class IssuedCode:
    claim_code_id: str
    code: str
    expires_at: datetime


class ClaimRefused(Exception):
    """The code cannot bind this account; ``status`` and the message say why."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title


class IdentityMismatch(Exception):
    """The name or birth date given differ from those known for the national ID."""


class BindingNotFound(Exception):
    pass


class Accounts:
    def __init__(
        self,
        store: LearnerStore,
        log: EventLog,
        identity_key: bytes,
        sessions: Sessions,
        claim_code_hours: int,
    ) -> None:
        self.store = store
        self.log = log
        self.identity_key = identity_key
        self.sessions = sessions
        self.claim_code_hours = claim_code_hours

    async def open(
        self, name: str, birth_date: date, contact: Contact
    ) -> tuple[Document, Document]:
        """A new account and its own learner (no national ID: it claims none)."""
        now = datetime.now(UTC)
        learner_id = str(uuid.uuid4())
        learner: Document = {
            "_id": learner_id,
            # unique like every learner's id_hash, and no keyed hash of any national ID: the
            # index is unique, so "none" must still differ from learner to learner
            "id_hash": f"account:{learner_id}",
            "full_name": name,
            "birth_date": birth_date.isoformat(),
            **contact.model_dump(mode="json"),
            "registered_at": now,
            "merged_into": None,
        }
        learner["pending"] = pending_event(
            learners.LEARNER_REGISTERED,
            learner_id,
            LearnerRegistered.model_validate(
                {**learner_profile(learner), "registered_at": now}, context=STORED
            ),
        )
        account: Document = {
            "_id": str(uuid.uuid4()),
            "own_learner_id": learner_id,
            "binding_id": None,
            "bound_learner_id": None,
            "created_at": now,
        }
        await self.store.add_learner(learner)
        await self.store.add_account(account)
        try:
            await self.store.outbox.append_one(self.log, "learners", learner)
        except AppendFailed as exc:
            # stored with its event in the outbox: the relay announces it
            _log.warning(
                "account opened; the relay will append its learner's event",
                extra={"learner_id": learner_id, "error": str(exc)},
            )
        return account, learner

    # claim codes

    async def issue_code(self, provider: Document, request: ClaimCodeRequest) -> IssuedCode:
        """A one-time code binding an account to the national ID the centre checked. The
        national ID's learner is registered now if no record made it known yet."""
        identity = request.learner
        id_hash = national_id_hash(self.identity_key, identity.national_id)
        learner = await self.store.learner_by_hash(id_hash)
        if learner is None:
            learner, _ = await self.store.add_learner(new_learner_doc(id_hash, identity))
        if not same_person(
            learner["full_name"],
            date.fromisoformat(learner["birth_date"]),
            identity.full_name,
            identity.birth_date,
        ):
            raise IdentityMismatch()
        await self.store.outbox.append_one(self.log, "learners", learner)
        code = new_claim_code()
        canonical = canonical_code(code)
        assert canonical is not None
        now = datetime.now(UTC)
        doc: Document = {
            "_id": claim_code_hash(self.identity_key, canonical),
            "claim_code_id": str(uuid.uuid4()),
            "learner_id": learner_key(id_hash),
            "provider_id": provider["_id"],
            "issued_at": now,
            "expires_at": now + timedelta(hours=self.claim_code_hours),
        }
        await self.store.add_claim_code(doc)
        _log.info(
            "claim code issued",
            extra={"claim_code_id": doc["claim_code_id"], "provider_id": provider["_id"]},
        )
        return IssuedCode(doc["claim_code_id"], code, doc["expires_at"])

    async def redeem(self, account: Document, typed: str) -> Document:
        """Bind the account to the learner of the code's national ID; the binding."""
        canonical = canonical_code(typed)
        unknown = ClaimRefused(
            404, "Unknown claim code", "No claim code is like this one; check what you typed."
        )
        if canonical is None:
            raise unknown
        code_hash = claim_code_hash(self.identity_key, canonical)
        code = await self.store.claim_code(code_hash)
        if code is None:
            raise unknown
        now = datetime.now(UTC)
        if await self.store.claim_use(code_hash) is not None:
            raise ClaimRefused(409, "Claim code used", "This claim code was used already.")
        if code["expires_at"] <= now:
            raise ClaimRefused(
                410,
                "Claim code expired",
                "This claim code has expired; ask the training centre for a new one.",
            )
        bound = account.get("bound_learner_id")
        if bound is not None and bound != code["learner_id"]:
            raise ClaimRefused(
                409,
                "Bound to someone else",
                "This account acts for another learner already; ask the department if that "
                "is wrong.",
            )
        if not await self.store.use_claim_code(code_hash, account["_id"], now):
            raise ClaimRefused(409, "Claim code used", "This claim code was used already.")
        return await self._bind(account, code["learner_id"], "claim_code", code["provider_id"])

    # OpenID Connect

    async def sign_in_oidc(
        self, identity: LearnerIdentity, issuer: str, account: Document | None
    ) -> tuple[Document, Document]:
        """The provider proved ``identity``: the account (the one that asked to add this
        proof, else the one bound by this provider before, else a new one) bound to its
        learner, and the binding. An account bound by a claim code is not taken over by a
        sign-in it did not ask for: that code may have gone to the wrong person."""
        id_hash = national_id_hash(self.identity_key, identity.national_id)
        learner = await self.store.learner_by_hash(id_hash)
        if learner is None:
            learner, _ = await self.store.add_learner(new_learner_doc(id_hash, identity))
        await self.store.outbox.append_one(self.log, "learners", learner)
        learner_id = learner_key(id_hash)
        if account is None:
            earlier = [
                b
                for b in await self.store.find_bindings(learner_id, None, 100)
                if b["method"] == "oidc" and b["proven_by"] == issuer and b["undone_at"] is None
            ]
            for binding in earlier:
                found = await self.store.account(binding["account_id"])
                if found is not None and found.get("binding_id") == binding["_id"]:
                    return found, binding
            account, _ = await self.open(
                identity.full_name, identity.birth_date, Contact(email=None)
            )
        bound = account.get("bound_learner_id")
        if bound is not None and bound != learner_id:
            raise ClaimRefused(
                409,
                "Bound to someone else",
                "This account acts for another learner already; ask the department if that "
                "is wrong.",
            )
        binding = await self._bind(account, learner_id, "oidc", issuer)
        return await self.store.account(account["_id"]) or account, binding

    async def _bind(
        self, account: Document, learner_id: str, method: BindingMethod, proven_by: str
    ) -> Document:
        now = datetime.now(UTC)
        binding: Document = {
            "_id": str(uuid.uuid4()),
            "account_id": account["_id"],
            "learner_id": learner_id,
            "method": method,
            "proven_by": proven_by,
            "bound_at": now,
            "undone_at": None,
        }
        binding["pending"] = pending_event(
            events.IDENTITY_BOUND,
            account["_id"],
            IdentityBound(
                binding_id=binding["_id"],
                account_id=account["_id"],
                learner_id=learner_id,
                method=method,
                proven_by=proven_by,
                bound_at=now,
            ),
        )
        await self.store.add_binding(binding)
        changed = await self.store.set_account_binding(
            account["_id"], account.get("binding_id"), binding
        )
        if changed is None:
            # another binding or undoing of this account came first: this one stands undone
            await self._mark_undone(binding, "another change of the account came first", now)
            raise ClaimRefused(409, "Changed meanwhile", "The account changed meanwhile; retry.")
        await self.store.outbox.append_one(self.log, "bindings", binding)
        _log.info(
            "account bound",
            extra={"binding_id": binding["_id"], "account_id": account["_id"], "method": method},
        )
        return binding

    # the department

    async def bindings(
        self, learner_id: str | None, account_id: str | None, limit: int = 100
    ) -> list[Document]:
        return await self.store.find_bindings(learner_id, account_id, limit)

    async def undo(self, binding_id: str, reason: str) -> Document:
        """Undo a binding: the account stops acting for the learner and is signed out
        everywhere. Undoing an undone binding again changes nothing."""
        binding = await self.store.binding(binding_id)
        if binding is None:
            raise BindingNotFound(binding_id)
        if binding.get("undone_at") is not None:
            await self.store.outbox.append_one(self.log, "bindings", binding)
            return binding
        now = datetime.now(UTC)
        account = await self.store.account(binding["account_id"])
        if account is not None and account.get("binding_id") == binding_id:
            others = [
                b
                for b in await self.store.find_bindings(None, account["_id"], 100)
                if b["_id"] != binding_id
                and b.get("undone_at") is None
                and b["learner_id"] == binding["learner_id"]
            ]
            await self.store.set_account_binding(
                account["_id"], binding_id, others[0] if others else None
            )
        undone = await self._mark_undone(binding, reason, now)
        await self.sessions.sign_out_everywhere(binding["account_id"], "binding undone")
        await self.store.outbox.append_one(self.log, "bindings", undone)
        return undone

    async def _mark_undone(self, binding: Document, reason: str, now: datetime) -> Document:
        changes: Document = {
            "undone_at": now,
            "undone_reason": reason,
            "pending": pending_event(
                events.IDENTITY_UNBOUND,
                binding["account_id"],
                IdentityUnbound(
                    binding_id=binding["_id"],
                    account_id=binding["account_id"],
                    learner_id=binding["learner_id"],
                    reason=reason,
                    unbound_at=now,
                ),
            ),
        }
        changed = await self.store.change_binding(binding["_id"], changes, {"undone_at": None})
        if changed is None:
            found = await self.store.binding(binding["_id"])
            assert found is not None
            return found
        return changed
