"""Who may call an endpoint: FastAPI dependencies over the tokens module.

Dependencies are ``async def`` although they do no I/O: FastAPI runs a plain ``def``
dependency in a worker thread, a thread hop per dependency per request."""

from __future__ import annotations

import hmac
import time
from typing import Annotated, Protocol

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.common.problems import Problem
from services.common.settings import Settings
from services.common.tokens import Claims, TokenError, verify_token

bearer = HTTPBearer(auto_error=False, description="A learner token or the admin token.")

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def _unauthorised(detail: str) -> Problem:
    return Problem(401, "Unauthorised", detail, headers=_CHALLENGE)


async def app_settings(request: Request) -> Settings:
    """The settings the serving app was built with."""
    settings: Settings = request.app.state.settings
    return settings


async def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    settings: Annotated[Settings, Depends(app_settings)],
) -> Claims:
    """The authenticated caller: the department (admin token) or a learner (signed token)."""
    if credentials is None:
        raise _unauthorised(
            "Send 'Authorization: Bearer <token>' (a learner token or the admin token)."
        )
    return await not_signed_out(request, claims_for(credentials.credentials, settings))


class EndedAccess(Protocol):
    """What a service knows of access that ended before its token expired
    (``app.state.signouts``): learners' sessions signed out, as ``accounts.v1`` tells the
    credential and notify services (:mod:`services.common.signouts`); officers' sessions and
    the officer credentials the department revoked, in insights
    (:mod:`services.insights.officers`)."""

    async def refusal(self, claims: Claims) -> str | None:
        """Why this genuine, unexpired token gives no access any more (``None``: it does)."""
        ...


async def not_signed_out(request: Request, claims: Claims) -> Claims:
    """Refuse (401) a genuine token whose access ended early — a session signed out, an
    officer credential revoked — in a service that keeps such ends (``app.state.signouts``;
    the learner service checks its own sessions instead)."""
    signouts: EndedAccess | None = getattr(request.app.state, "signouts", None)
    reason = None if signouts is None else await signouts.refusal(claims)
    if reason is not None:
        raise _unauthorised(f"The bearer token was refused: {reason}.")
    return claims


def claims_for(token: str, settings: Settings) -> Claims:
    """Who a bearer token speaks for; 401 if nobody."""
    if hmac.compare_digest(token.encode(), settings.admin_token.get_secret_value().encode()):
        return Claims(subject="department", role="admin", expires_at=2**62)
    try:
        return verify_token(settings.token_secret.get_secret_value(), token, int(time.time()))
    except TokenError as exc:
        raise _unauthorised(f"The bearer token was refused: {exc}.") from exc


async def require_admin(who: Annotated[Claims, Depends(caller)]) -> Claims:
    """Only the department."""
    if who.role != "admin":
        raise Problem(403, "Forbidden", "Only the department's admin credential may call this.")
    return who


async def learner_or_admin(learner_id: str, who: Annotated[Claims, Depends(caller)]) -> Claims:
    """The learner named in the path, or the department."""
    return must_be_learner_or_admin(learner_id, who)


def must_be_learner_or_admin(learner_id: str, who: Claims) -> Claims:
    """Refuse (403) anyone but that learner and the department."""
    if who.role == "admin" or (who.role == "learner" and who.subject == learner_id):
        return who
    raise Problem(403, "Forbidden", "A learner token gives access to that learner's data only.")
