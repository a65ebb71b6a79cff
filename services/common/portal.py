"""The learner portal's browser session, the same in the three services.

Each service renders the portal pages of its own data — the learner service the sign-in, the
account and the profile; the credential service the trail, credentials and share links; notify
the inbox and preferences — so no service calls another: they all read the one session the
browser carries.

- **Cookies.** The sign-in's access token (the one token codec, 10 minutes, naming its session)
  is the ``lt_access`` cookie, ``Path=/``: every service checks it as it checks the
  ``Authorization`` header, and refuses it once the session ended (the learner service from its
  sessions, the others from ``accounts.v1``: :mod:`services.common.signouts`). The refresh token
  is the ``lt_refresh`` cookie, ``Path=/portal/session``: only the learner service's refresh
  page receives it. Both are ``HttpOnly; SameSite=Lax``. Cookies are per host, not per port, so
  on one host (``127.0.0.1`` in the local stack) the three services share them.
- **Secure.** When the portal is served over ``https`` (``LT_PORTAL_LEARNER_URL``), the
  cookies are ``Secure`` and named ``__Host-lt_access`` and ``__Secure-lt_refresh`` (a browser
  refuses those names from plain http or from another host). The local stack serves plain
  ``http://127.0.0.1``, where a browser would drop ``Secure`` cookies, so there they are
  neither ``Secure`` nor prefixed: a development machine only.
- **An expired access token** sends the browser to the learner service's
  ``/portal/session?next=…``, which spends the refresh cookie for the next pair and sends it
  back; ``next`` must be a portal page of one of the three services (no open redirect).
- **Forms.** Every state-changing form is a ``POST`` carrying a synchronizer token bound to the
  session (HMAC of the session id under the token secret, so any service can check it without
  storing it) and is refused unless its ``Origin`` is one of the three services'. Cookies are
  never taken on the JSON API: there a token comes only in the ``Authorization`` header.
- Tokens are never put in a URL, a page or a log line.
- **Officers** of the insights service sign in on its pages with the same pieces — the cookie
  (:func:`set_cookie`), the form token (:func:`form_token`) and the form checks
  (:func:`checked_form`) — under a cookie of their own (:mod:`services.insights.officers`).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse

from contracts.words import Lang
from services.common.pages import Pages, page_language
from services.common.problems import Problem
from services.common.settings import Settings
from services.common.tokens import TokenError, b64url, verify_token

REFRESH_PATH = "/portal/session"
LANG_COOKIE = "lt_lang"
MAX_FORM_BYTES = 64 * 1024


class SessionBook(Protocol):
    async def is_signed_out(self, session_id: str) -> bool: ...


@dataclass(frozen=True)
class Portal:
    """Where each part of the portal is served (the services' public addresses)."""

    learner: str
    credential: str
    notify: str

    @classmethod
    def of(cls, settings: Settings) -> Portal:
        return cls(
            settings.portal_learner_url.rstrip("/"),
            settings.portal_credential_url.rstrip("/"),
            settings.portal_notify_url.rstrip("/"),
        )

    @property
    def secure(self) -> bool:
        return self.learner.startswith("https://")

    @property
    def access_cookie(self) -> str:
        return "__Host-lt_access" if self.secure else "lt_access"

    @property
    def refresh_cookie(self) -> str:
        return "__Secure-lt_refresh" if self.secure else "lt_refresh"

    def origins(self) -> set[str]:
        return {_origin(u) for u in (self.learner, self.credential, self.notify)}

    def home(self) -> str:
        return f"{self.learner}/portal"

    def links(self) -> dict[str, str]:
        """The portal's pages, for its navigation."""
        return {
            "home": f"{self.learner}/portal",
            "trail": f"{self.credential}/portal/trail",
            "inbox": f"{self.notify}/portal/inbox",
            "preferences": f"{self.notify}/portal/preferences",
        }

    def safe_next(self, target: str | None) -> str:
        """``target`` if it is a portal page of one of the services, else the portal's home."""
        if not target:
            return self.home()
        parts = urlsplit(target)
        if _origin(target) in self.origins() and parts.path.startswith("/portal"):
            return target
        return self.home()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def set_cookie(
    response: Response, name: str, value: str, *, seconds: int, path: str, secure: bool
) -> None:
    """A session cookie as every portal sets it: ``HttpOnly; SameSite=Lax`` (``Secure`` when
    served over https)."""
    response.set_cookie(
        name, value, max_age=seconds, path=path, httponly=True, samesite="lax", secure=secure
    )


def drop_cookie(response: Response, name: str, *, path: str, secure: bool) -> None:
    response.delete_cookie(name, path=path, httponly=True, samesite="lax", secure=secure)


def set_access(response: Response, portal: Portal, access: str, access_seconds: int) -> None:
    set_cookie(
        response,
        portal.access_cookie,
        access,
        seconds=access_seconds,
        path="/",
        secure=portal.secure,
    )


def set_session(
    response: Response, portal: Portal, access: str, access_seconds: int, refresh: str, days: int
) -> None:
    set_access(response, portal, access, access_seconds)
    set_cookie(
        response,
        portal.refresh_cookie,
        refresh,
        seconds=days * 86400,
        path=REFRESH_PATH,
        secure=portal.secure,
    )


def clear_session(response: Response, portal: Portal) -> None:
    drop_cookie(response, portal.access_cookie, path="/", secure=portal.secure)
    drop_cookie(response, portal.refresh_cookie, path=REFRESH_PATH, secure=portal.secure)


def csrf_token(settings: Settings, session_id: str) -> str:
    """The forms' token for a session: any service can compute and check it, none stores it."""
    return form_token(settings.token_secret.get_secret_value(), session_id)


def form_token(token_secret: str, session_id: str) -> str:
    key = token_secret.encode()
    return b64url(hmac.new(key, b"csrf\x00" + session_id.encode(), hashlib.sha256).digest())


@dataclass(frozen=True)
class Visitor:
    """A signed-in person in a browser: the learner their session acts for."""

    learner_id: str
    session_id: str
    csrf: str


class SignInNeeded(Exception):
    """No live browser session: the person is sent to refresh it, or to sign in."""

    def __init__(self, back_to: str) -> None:
        super().__init__(back_to)
        self.back_to = back_to


async def visitor(request: Request) -> Visitor | None:
    """The browser's live session, if it carries one."""
    settings: Settings = request.app.state.settings
    portal = Portal.of(settings)
    token = request.cookies.get(portal.access_cookie)
    if not token:
        return None
    try:
        claims = verify_token(settings.token_secret.get_secret_value(), token, int(time.time()))
    except TokenError:
        return None
    if claims.role != "learner" or claims.session is None:
        return None
    book: SessionBook | None = getattr(request.app.state, "portal_sessions", None)
    if book is None:
        book = getattr(request.app.state, "signouts", None)
    if book is not None and await book.is_signed_out(claims.session):
        return None
    return Visitor(claims.subject, claims.session, csrf_token(settings, claims.session))


async def require_visitor(request: Request) -> Visitor:
    """A portal page's dependency: the visitor, or off to refresh the session / sign in."""
    found = await visitor(request)
    if found is None and request.method == "GET":
        raise SignInNeeded(str(request.url))
    if found is None:
        raise Problem(
            401,
            "Signed out",
            "This browser's session has ended or was never started: sign in again, then resend.",
        )
    return found


async def form_of(request: Request, who: Visitor) -> dict[str, list[str]]:
    """A portal form's fields, once it passed the checks against cross-site requests: sent
    from one of the portal's own pages (``Origin``) with the session's form token."""
    portal = Portal.of(request.app.state.settings)
    return await checked_form(request, portal.origins(), who.csrf)


async def checked_form(
    request: Request, origins: set[str], csrf: str | None
) -> dict[str, list[str]]:
    """A form's fields if it was sent from one of ``origins`` and carries the session's form
    token ``csrf`` (``None`` only for a sign-in form, sent before there is a session)."""
    origin = request.headers.get("origin")
    if origin is None or origin.lower() not in origins:
        raise Problem(
            403,
            "Forbidden",
            "This form must be sent from the service's own pages (the request's Origin is "
            f"{origin or 'missing'}).",
            page="form",
        )
    body = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if body and kind != "application/x-www-form-urlencoded":
        raise Problem(
            415, "Unsupported form", "Send the form as application/x-www-form-urlencoded."
        )
    if len(body) > MAX_FORM_BYTES:
        raise Problem(413, "Form too large", f"A form holds at most {MAX_FORM_BYTES} bytes.")
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise Problem(400, "Unreadable form", "The form is not UTF-8.") from exc
    if csrf is None:
        return fields
    given = (fields.get("csrf") or [""])[0]
    if not hmac.compare_digest(given.encode(), csrf.encode()):
        raise Problem(
            403,
            "Forbidden",
            "The form's token does not match this session (an old page, or another site's "
            "form): open the page again and resend.",
            page="form",
        )
    return fields


def portal_language(request: Request) -> Lang:
    """``?lang=``, else the language last chosen in the portal, else the browser's, else
    Vietnamese."""
    return page_language(request, request.cookies.get(LANG_COOKIE))


def page(
    request: Request,
    pages: Pages,
    template: str,
    who: Visitor | None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """A portal page in the shared layout, with the portal's navigation and the visitor's
    form token; the language chosen with ``?lang=`` is remembered for the next pages."""
    lang = portal_language(request)
    portal = Portal.of(request.app.state.settings)
    other = "en" if lang == "vi" else "vi"
    switch = context.pop("switch_url", None) or f"{request.url.path}?lang={other}"
    response = pages.response(
        template,
        lang,
        status_code=status_code,
        switch_url=switch,
        portal=portal.links(),
        who=who,
        csrf=who.csrf if who else "",
        **context,
    )
    if "lang" in request.query_params:
        response.set_cookie(
            LANG_COOKIE, lang, max_age=365 * 86400, path="/", samesite="lax", secure=portal.secure
        )
    return response


def see_other(url: str) -> Response:
    """After a form: the page to show next (``303``, so a reload does not send it again)."""
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def install_portal(app: FastAPI) -> None:
    """A portal page without a live session sends the browser to refresh it (or sign in)."""

    async def sign_in_needed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInNeeded)
        portal = Portal.of(request.app.state.settings)
        target = f"{portal.learner}{REFRESH_PATH}"
        if exc.back_to:
            target += f"?next={quote(exc.back_to, safe='')}"
        return see_other(target)

    app.add_exception_handler(SignInNeeded, sign_in_needed)
