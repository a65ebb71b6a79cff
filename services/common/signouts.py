"""Sessions that ended early, as the services that do not own them learn of it.

The credential and notify services check a learner's access token by its signature and expiry
alone: they never call the learner service. So that signing out (one session, or everywhere), a
reused refresh token or the department's undoing of a binding also ends access there before
the token expires, the learner service announces every early end on ``accounts.v1``
(``sessions.signed_out``) and each of these services keeps the ended sessions' ids in its own
``signed_out_sessions`` collection (read by ``_id``: one indexed read per request that carries
a session's token). Kept a day, well beyond any access token's life (at most an hour).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel
from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from contracts.accounts import SessionsSignedOut
from contracts.envelope import Envelope
from services.common.mongo import Document
from services.common.tokens import Claims

BatchHandler = Callable[[list[Envelope[BaseModel]]], Awaitable[None]]
KEPT = timedelta(days=1)
ACCOUNT_EVENTS = "vn.learningtrail.accounts."
SIGNED_OUT = "its session was signed out; sign in again"


class SignedOutSessions:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.sessions = db["signed_out_sessions"]

    async def is_signed_out(self, session_id: str) -> bool:
        return await self.sessions.find_one({"_id": session_id}, {"_id": 1}) is not None

    async def refusal(self, claims: Claims) -> str | None:
        """Why a genuine token no longer gives access, if it does not: its session ended."""
        if claims.session is not None and await self.is_signed_out(claims.session):
            return SIGNED_OUT
        return None

    async def note(self, events: list[SessionsSignedOut]) -> None:
        """Remember the sessions these events ended (idempotent: upserts by session id)."""
        writes = [
            UpdateOne(
                {"_id": sid},
                {"$setOnInsert": {"account_id": e.account_id, "at": e.signed_out_at}},
                upsert=True,
            )
            for e in events
            for sid in e.session_ids
        ]
        if writes:
            await self.sessions.bulk_write(writes, ordered=False)

    async def forget_old(self, now: datetime | None = None) -> None:
        """Drop what no live access token can name any more."""
        now = now or datetime.now(UTC)
        await self.sessions.delete_many({"at": {"$lt": now - KEPT}})

    def around(self, handler: BatchHandler) -> BatchHandler:
        """The consumer's handler, with sign-outs noted first; no event of ``accounts.v1``
        is passed on (bindings are the learner service's business)."""

        async def handle(events: list[Envelope[BaseModel]]) -> None:
            ended = [e.data for e in events if isinstance(e.data, SessionsSignedOut)]
            if ended:
                await self.note(ended)
                await self.forget_old()
            rest = [e for e in events if not e.type.startswith(ACCOUNT_EVENTS)]
            if rest:
                await handler(rest)

        return handle
