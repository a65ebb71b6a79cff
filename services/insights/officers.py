"""Officers signed in on the insights pages: a browser session in an ``HttpOnly`` cookie.

**What proves an officer** is the scoped officer credential the department issued them
(``POST /v1/admin/officers``: signed, naming one unit and its own id, at most 90 days, revocable:
:mod:`services.insights.officer_credentials`). The person pastes it
once into the sign-in form; the service checks it and starts a session, and from then on the
browser carries only the session's cookie, never the credential. The local OpenID Connect
provider was not used: it stands in for the national e-ID, which asserts who a citizen is, not
that they serve a commune — the unit an officer may read would still have to come from a
department's list, which is what the officer credential already is. The department itself
signs in with an officer credential it issues for its province (the admin credential is
refused here: it reaches every service and does not belong in a browser).

**The session** is a document (``officer_sessions``, by id, with the id of the credential it
was started with), so signing out — or the department revoking that credential — ends it at
once. Its cookie holds an access token of the one token codec (role ``officer``, subject the unit,
``sid`` the session), valid for :data:`SESSION_HOURS` or until the credential expires if
sooner; the cookie is set as the learner portal's are (:mod:`services.common.portal`):
``HttpOnly; SameSite=Lax``, and ``Secure`` with the ``__Host-`` name when the pages are served
over https (``LT_PORTAL_INSIGHTS_URL``). Sign-out is a ``POST`` from the service's own page
carrying the session's form token (the portal's synchronizer token, HMAC of the session id).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request

from services.common.access import claims_for
from services.common.mongo import Document
from services.common.portal import form_token
from services.common.problems import Problem
from services.common.settings import Settings
from services.common.signouts import SIGNED_OUT
from services.common.tokens import Claims, TokenError, issue_token, verify_token
from services.insights.officer_credentials import WITHDRAWN, OfficerCredentials
from services.insights.store import CREDENTIAL_REVOKED, InsightsStore
from services.insights.units import catalogue

SESSION_HOURS = 8


def secure(settings: Settings) -> bool:
    return settings.portal_insights_url.startswith("https://")


def cookie_name(settings: Settings) -> str:
    return "__Host-lt_officer" if secure(settings) else "lt_officer"


def origins(settings: Settings) -> set[str]:
    """The one origin the officer pages' forms may come from."""
    url = settings.portal_insights_url.rstrip("/")
    scheme, _, rest = url.partition("://")
    return {f"{scheme}://{rest.split('/')[0]}".lower()}


def ended(session: Document) -> str | None:
    """Why an officer session has ended, if it has: signed out, its credential revoked, or
    started with a credential issued before credentials had ids (which cannot be revoked)."""
    if session.get("credential") is None:
        return (
            "its session was started with an officer credential issued before credentials "
            "had an id, which is no longer accepted; ask the department for a new one"
        )
    if session.get("signed_out_at") is None:
        return None
    if session.get("ended_by") == CREDENTIAL_REVOKED:
        return "the officer credential its session was started with was revoked"
    return SIGNED_OUT


@dataclass(frozen=True)
class Officer:
    """An officer signed in in a browser: their unit's claims, session and form token."""

    claims: Claims
    session_id: str
    csrf: str


class OfficerSessions:
    """The officers' sign-in sessions and their credentials: ``app.state.signouts`` too, so
    that on the API a session's token is refused once signed out, as a learner's is, and an
    officer credential once revoked (:meth:`refusal`)."""

    def __init__(
        self, store: InsightsStore, settings: Settings, credentials: OfficerCredentials
    ) -> None:
        self.store = store
        self.settings = settings
        self.credentials = credentials

    async def refusal(self, claims: Claims) -> str | None:
        """Why a genuine token no longer gives access, if it does not: an officer session
        ended (signed out, or its credential revoked); an officer credential revoked, unknown
        or without an id. One read by ``_id`` either way."""
        if claims.session is not None:
            found = await self.store.officer_session(claims.session)
            # another service's session (a learner's) is not for this check to refuse
            return None if found is None else ended(found)
        if claims.role == "officer":
            return await self.credentials.refusal(claims)
        return None

    async def start(self, credential: str) -> tuple[str, int]:
        """A session for the officer whose credential this is: its cookie's token and how
        many seconds it lives. 401 for a credential that is not genuine or has expired, 403
        for one that is no officer's."""
        claims = claims_for(credential, self.settings)
        if claims.role == "admin":
            raise Problem(
                403,
                "Not an officer credential",
                "The department's admin credential does not sign in on the pages: issue an "
                "officer credential for the province (POST /v1/admin/officers) and sign in "
                "with that.",
            )
        if claims.role != "officer" or claims.session is not None:
            raise Problem(
                403,
                "Not an officer credential",
                "Sign in with the officer credential the department issued you.",
            )
        await self._still_good(claims)
        unit = catalogue().resolve(claims.subject)
        if unit is None:
            raise Problem(403, "Forbidden", "This officer credential names no known unit.")
        now = int(time.time())
        expires_at = min(now + SESSION_HOURS * 3600, claims.expires_at)
        session_id = str(uuid.uuid4())
        await self.store.add_officer_session(
            {
                "_id": session_id,
                "unit": unit.code,
                "credential": claims.credential,
                "started_at": datetime.fromtimestamp(now, UTC),
                "expires_at": datetime.fromtimestamp(expires_at, UTC),
                "signed_out_at": None,
            }
        )
        # revoked in the meantime? Its revocation may have looked for sessions before this
        # one was stored: end it here (the one or the other sees it)
        try:
            await self._still_good(claims)
        except Problem:
            await self.sign_out(session_id)
            raise
        secret = self.settings.token_secret.get_secret_value()
        token = issue_token(secret, unit.code, "officer", expires_at, session_id)
        return token, expires_at - now

    async def _still_good(self, claims: Claims) -> None:
        """401 for an officer credential the department revoked (or cannot revoke)."""
        reason = await self.credentials.refusal(claims)
        if reason is not None:
            detail = f"The officer credential was refused: {reason}."
            raise Problem(401, WITHDRAWN, detail, headers={"WWW-Authenticate": "Bearer"})

    async def is_signed_out(self, session_id: str) -> bool:
        """Whether this is an officer session that has ended (a session this service never
        started is another service's: not for this check to refuse)."""
        found = await self.store.officer_session(session_id)
        return found is not None and ended(found) is not None

    async def is_live(self, session_id: str) -> bool:
        found = await self.store.officer_session(session_id)
        return found is not None and ended(found) is None

    async def sign_out(self, session_id: str) -> None:
        await self.store.end_officer_session(session_id, datetime.now(UTC))


async def signed_in(request: Request) -> Officer | None:
    """The officer whose live session this browser carries, if any."""
    settings: Settings = request.app.state.settings
    token = request.cookies.get(cookie_name(settings))
    if not token:
        return None
    try:
        claims = verify_token(settings.token_secret.get_secret_value(), token, int(time.time()))
    except TokenError:
        return None
    if claims.role != "officer" or claims.session is None:
        return None
    sessions: OfficerSessions = request.app.state.signouts
    if not await sessions.is_live(claims.session):
        return None
    secret = settings.token_secret.get_secret_value()
    return Officer(claims, claims.session, form_token(secret, claims.session))
