"""The learner portal's pages served by the learner service: sign-in, the account and its
proofs, the profile, redeeming a claim code, signing out; and the refresh of a browser's
session (the cookies: services/common/portal.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from contracts import words
from services.common.pages import FOR_PEOPLE, Pages
from services.common.portal import (
    Portal,
    Visitor,
    clear_session,
    form_of,
    page,
    portal_language,
    require_visitor,
    see_other,
    set_access,
    set_session,
    visitor,
)
from services.common.problems import Problem
from services.learner.accounts import ClaimRefused
from services.learner.api.deps import ServicesDep, client_address, throttle
from services.learner.profiles import LearnerNotFound, ProfileChange
from services.learner.sessions import SessionRefused, Tokens

router = APIRouter(prefix="/portal", tags=["learner portal (pages)"])
PAGES = Pages(Path(__file__).resolve().parents[1] / "templates")
Who = Annotated[Visitor, Depends(require_visitor)]
HTML: dict[int | str, dict[str, Any]] = {200: {"content": {"text/html": {}}}}


def start_browser_session(request: Request, response: Response, tokens: Tokens) -> None:
    """Put a session's tokens in the browser's cookies (never in the page or the URL)."""
    settings = request.app.state.settings
    set_session(
        response,
        Portal.of(settings),
        tokens.access_token,
        settings.access_token_seconds,
        tokens.refresh_token,
        settings.session_days,
    )


@router.get(
    "",
    response_class=HTMLResponse,
    summary="The portal's home: sign in, or your account and profile (a browser).",
    responses=HTML,
    openapi_extra=FOR_PEOPLE,
)
async def home(request: Request, svc: ServicesDep) -> Response:
    who = await visitor(request)
    if who is None:
        return page(
            request,
            PAGES,
            "portal_sign_in.html",
            None,
            oidc=request.app.state.oidc is not None,
        )
    session = await svc.sessions.live_session(who.session_id)
    account = await svc.accounts.store.account(session["account_id"])
    learner = await svc.profiles.get(who.learner_id)
    bindings = await svc.accounts.bindings(None, session["account_id"])
    return page(
        request,
        PAGES,
        "portal_home.html",
        who,
        current="home",
        learner=learner,
        bound=bool(account and account.get("bound_learner_id")),
        bindings=[b for b in bindings if b.get("undone_at") is None],
        notice=_notice(request),
        oidc=request.app.state.oidc is not None,
    )


def _notice(request: Request) -> str | None:
    done = request.query_params.get("done")
    if done in ("profile", "claimed"):
        return words.word(portal_language(request), f"page.portal.done_{done}")
    return None


@router.get(
    "/session",
    summary="Renew the browser's session from its refresh cookie and go back (a browser).",
    status_code=303,
    responses={303: {"description": "Back to the page, or to sign in."}},
    openapi_extra=FOR_PEOPLE,
)
async def renew(
    request: Request,
    svc: ServicesDep,
    next: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response:
    """The refresh token is spent for the next pair. Two tabs renewing at once both get it;
    a copy presented again later ends the session (services/learner/sessions.py)."""
    portal = Portal.of(request.app.state.settings)
    refresh = request.cookies.get(portal.refresh_cookie)
    if not refresh:
        return see_other(portal.home())
    throttle(svc, f"ip:{client_address(request)}")
    try:
        tokens = await svc.sessions.refresh(refresh)
    except SessionRefused:
        gone = see_other(portal.home())
        clear_session(gone, portal)
        return gone
    back = see_other(portal.safe_next(next))
    start_browser_session(request, back, tokens)
    return back


@router.post(
    "/sign-out",
    summary="Sign this browser out (a form of the portal).",
    status_code=303,
    openapi_extra=FOR_PEOPLE,
)
async def sign_out(request: Request, who: Who, svc: ServicesDep) -> Response:
    await form_of(request, who)
    await svc.sessions.sign_out(who.session_id)
    return _signed_out(request)


@router.post(
    "/sign-out-everywhere",
    summary="Sign out every session of the account (a form of the portal).",
    status_code=303,
    openapi_extra=FOR_PEOPLE,
)
async def sign_out_everywhere(request: Request, who: Who, svc: ServicesDep) -> Response:
    await form_of(request, who)
    session = await svc.sessions.live_session(who.session_id)
    await svc.sessions.sign_out_everywhere(session["account_id"], "signed out everywhere")
    return _signed_out(request)


def _signed_out(request: Request) -> Response:
    portal = Portal.of(request.app.state.settings)
    gone = see_other(portal.home())
    clear_session(gone, portal)
    return gone


@router.post(
    "/profile",
    summary="Change your contact details and language (a form of the portal).",
    status_code=303,
    openapi_extra=FOR_PEOPLE,
)
async def change_profile(request: Request, who: Who, svc: ServicesDep) -> Response:
    fields = await form_of(request, who)

    def one(name: str) -> str | None:
        value = (fields.get(name) or [""])[0].strip()
        return value or None

    try:
        change = ProfileChange(
            email=one("email"),
            phone=one("phone"),
            preferred_language=one("preferred_language"),
        )
    except ValidationError as exc:
        names = ", ".join(str(e["loc"][0]) for e in exc.errors())
        raise Problem(422, "Invalid profile", f"Check these fields: {names}.") from exc
    try:
        await svc.profiles.change(who.learner_id, change, False, None)
    except LearnerNotFound as exc:
        raise Problem(404, "Unknown learner", "Your profile is gone.") from exc
    return see_other(f"{Portal.of(request.app.state.settings).home()}?done=profile")


@router.post(
    "/claims",
    summary="Redeem a claim code from a training centre (a form of the portal).",
    status_code=303,
    openapi_extra=FOR_PEOPLE,
)
async def redeem(request: Request, who: Who, svc: ServicesDep) -> Response:
    fields = await form_of(request, who)
    session = await svc.sessions.live_session(who.session_id)
    account = await svc.accounts.store.account(session["account_id"])
    assert account is not None
    throttle(svc, f"account:{account['_id']}", svc.claim_account_limiter)
    throttle(svc, f"ip:{client_address(request)}", svc.claim_address_limiter)
    code = (fields.get("code") or [""])[0][:64]
    try:
        await svc.accounts.redeem(account, code)
    except ClaimRefused as exc:
        raise Problem(exc.status, exc.title, str(exc), page="claim") from exc
    # the access token names the learner the session acted for: the next one names the bound
    account = await svc.accounts.store.account(account["_id"]) or account
    learner_id = await svc.sessions.acting_learner(account)
    portal = Portal.of(request.app.state.settings)
    back = see_other(f"{portal.home()}?done=claimed")
    access = svc.sessions.access_token(learner_id, who.session_id)
    set_access(back, portal, access, svc.sessions.access_seconds)
    return back
