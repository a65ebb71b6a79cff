"""Sign-in sessions of learners' accounts: short-lived access tokens, rotating refresh tokens.

A session is a document on the server (``sessions``), so it can be ended: signing out ends
one, "sign out everywhere" ends all of an account's, and the department's undoing of a binding
ends them too. What a client holds:

- an **access token** (the one token codec, :mod:`services.common.tokens`) for the learner the
  account acts for, naming its session (``sid``), valid ``LT_ACCESS_TOKEN_SECONDS`` (600). This
  service refuses a signed-out session's access token at once; the credential and notify
  services (which never call this one) learn of every early end from a
  ``sessions.signed_out`` event on ``accounts.v1`` — stored with the outbox like every other
  change, so it is never lost — and refuse the token from then on
  (:mod:`services.common.signouts`);
- a **refresh token**, a 256-bit secret stored only as its SHA-256, good once: each refresh
  spends it (a unique insert, atomic on every server, FerretDB too) and hands out the next. A
  spent refresh token presented again means two holders — the rightful client and a thief —
  so the whole session is revoked (reuse detection, as OAuth 2.0 Security BCP §4.14
  describes).

  Except within ``LT_REFRESH_REUSE_SECONDS`` (5) of its spending: two tabs of one browser, or
  two requests of one app, renewing at the same moment present the same token, and the
  loser of the race is no thief (Auth0's "reuse interval", Okta's "grace period"). The next
  refresh token is derived from the spent one with a key of the service
  (:func:`~services.common.tokens.successor_secret_token`), so the loser gets the very pair
  the winner got — or, if that was spent too meanwhile, its current successor — and the
  browser's cookie holds one live token whoever wins. No conditional update decides the race
  (they are not atomic on FerretDB): the unique insert does, and the successor's record is
  inserted idempotently by whoever answers. Later than that, a second use still ends the
  session.

A browser keeps the same two tokens in ``HttpOnly`` cookies (:mod:`services.common.portal`).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from contracts import accounts as events
from contracts.accounts import SessionsSignedOut
from services.common.broker import EventLog
from services.common.mongo import Document
from services.common.outbox import pending_event
from services.common.tokens import (
    issue_token,
    new_secret_token,
    secret_hash,
    successor_secret_token,
)
from services.learner.store import LearnerStore

REFRESH_PREFIX = "ltr_"
# how many rotations within the reuse interval a late twin may skip to the current token
MAX_SUCCESSOR_HOPS = 8


class SessionRefused(Exception):
    """The refresh token or session cannot be used; the message says why (for a 401)."""


@dataclass(frozen=True)
class Tokens:
    """What a client is given when a session starts or is refreshed."""

    access_token: str
    refresh_token: str
    expires_in: int
    learner_id: str
    session_id: str


class Sessions:
    def __init__(
        self,
        store: LearnerStore,
        log: EventLog,
        token_secret: str,
        access_seconds: int,
        session_days: int,
        reuse_seconds: int = 0,
    ) -> None:
        self.store = store
        self.log = log
        self.token_secret = token_secret
        self.access_seconds = access_seconds
        self.session_days = session_days
        self.reuse_interval = timedelta(seconds=reuse_seconds)

    async def acting_learner(self, account: Document) -> str:
        """The learner an account acts for: the one bound to it by proof (after any merge by
        the department), else the learner it opened with."""
        learner_id: str = account.get("bound_learner_id") or account["own_learner_id"]
        seen: set[str] = set()
        while learner_id not in seen:
            seen.add(learner_id)
            doc = await self.store.learner(learner_id)
            if doc is None or not doc.get("merged_into"):
                break
            learner_id = doc["merged_into"]
        return learner_id

    def access_token(self, learner_id: str, session_id: str) -> str:
        expires = int(time.time()) + self.access_seconds
        return issue_token(self.token_secret, learner_id, "learner", expires, session_id)

    async def start(self, account: Document) -> Tokens:
        """A new session for the account."""
        now = datetime.now(UTC)
        session: Document = {
            "_id": str(uuid.uuid4()),
            "account_id": account["_id"],
            "created_at": now,
            "expires_at": now + timedelta(days=self.session_days),
            "revoked_at": None,
        }
        refresh = new_secret_token(REFRESH_PREFIX)
        await self.store.add_session(session, self._refresh_doc(refresh, session["_id"], now))
        return await self._tokens(account, session["_id"], refresh)

    async def refresh(self, refresh_token: str) -> Tokens:
        """Spend a refresh token for a new access token and the next refresh token."""
        token_hash = secret_hash(refresh_token)
        found = await self.store.refresh_token(token_hash)
        if found is None:
            raise SessionRefused("the refresh token is unknown")
        now = datetime.now(UTC)
        if await self.store.use_refresh_token(token_hash, now):
            return await self._answer(found["session_id"], self._successor(refresh_token), now)
        twin = await self._current_successor(refresh_token, now)
        if twin is None:
            await self._end({"_id": found["session_id"]}, "refresh token reused")
            raise SessionRefused(
                "the refresh token was used already, so it may have been copied: the session "
                "is signed out; sign in again"
            )
        return await self._answer(found["session_id"], twin, now)

    def _successor(self, refresh_token: str) -> str:
        return successor_secret_token(self.token_secret, refresh_token, REFRESH_PREFIX)

    async def _current_successor(self, spent: str, now: datetime) -> str | None:
        """For a token spent within the reuse interval, the session's refresh token now: its
        successor, or that one's if it was spent too, and so on. None past the interval."""
        use = await self.store.refresh_use(secret_hash(spent))
        if use is None or now - use["at"] > self.reuse_interval:
            return None
        successor = self._successor(spent)
        for _ in range(MAX_SUCCESSOR_HOPS):
            if await self.store.refresh_use(secret_hash(successor)) is None:
                return successor
            successor = self._successor(successor)
        return None

    async def _answer(self, session_id: str, refresh: str, now: datetime) -> Tokens:
        """The tokens of a live session with ``refresh`` as its next refresh token (recorded
        once, by whichever request gets here first)."""
        session = await self.live_session(session_id, now)
        account = await self.store.account(session["account_id"])
        if account is None:  # pragma: no cover - sessions are made for existing accounts
            raise SessionRefused("the session's account is gone")
        await self.store.keep_refresh_token(self._refresh_doc(refresh, session_id, now))
        return await self._tokens(account, session_id, refresh)

    async def live_session(self, session_id: str, now: datetime | None = None) -> Document:
        """The session, if it is neither signed out nor expired."""
        session = await self.store.session(session_id)
        now = now or datetime.now(UTC)
        if session is None:
            raise SessionRefused("the session is unknown")
        if session.get("revoked_at") is not None:
            raise SessionRefused(f"the session was signed out ({session['revoked_reason']})")
        if session["expires_at"] <= now:
            raise SessionRefused("the session has expired; sign in again")
        return session

    async def is_signed_out(self, session_id: str) -> bool:
        """Whether the session can no longer be used (for the portal's cookie)."""
        try:
            await self.live_session(session_id)
        except SessionRefused:
            return True
        return False

    async def sign_out(self, session_id: str) -> None:
        await self._end({"_id": session_id}, "signed out")

    async def sign_out_everywhere(self, account_id: str, reason: str) -> int:
        return await self._end({"account_id": account_id}, reason)

    async def _end(self, query: Document, reason: str) -> int:
        """End the live sessions ``query`` selects and tell the other services (the event is
        stored with the outbox first, so a failed append is relayed later, never lost)."""
        now = datetime.now(UTC)
        ended = await self.store.revoke_sessions(query, now, reason)
        if not ended:
            return 0
        account_id = (await self.store.session(ended[0]) or {}).get("account_id", "")
        sign_out: Document = {"_id": str(uuid.uuid4()), "account_id": account_id, "at": now}
        sign_out["pending"] = pending_event(
            events.SESSIONS_SIGNED_OUT,
            account_id,
            SessionsSignedOut(
                account_id=account_id, session_ids=ended, reason=reason, signed_out_at=now
            ),
        )
        await self.store.add_many("sign_outs", [sign_out])
        await self.store.outbox.append_one(self.log, "sign_outs", sign_out)
        return len(ended)

    async def _tokens(self, account: Document, session_id: str, refresh: str) -> Tokens:
        learner_id = await self.acting_learner(account)
        return Tokens(
            access_token=self.access_token(learner_id, session_id),
            refresh_token=refresh,
            expires_in=self.access_seconds,
            learner_id=learner_id,
            session_id=session_id,
        )

    def _refresh_doc(self, refresh: str, session_id: str, now: datetime) -> Document:
        return {"_id": secret_hash(refresh), "session_id": session_id, "issued_at": now}
