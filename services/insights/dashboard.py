"""The officers' pages, opened from a link in a person's browser: sign in with the officer
credential the department issued, the dashboard of the officer's unit (and the downloads),
sign out. The session is a cookie (:mod:`services.insights.officers`); the JSON API under
``/v1`` never takes it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.common.pages import FOR_PEOPLE, page_language, wants_page
from services.common.portal import checked_form, drop_cookie, see_other, set_cookie
from services.common.problems import Problem
from services.common.settings import Settings
from services.insights.api import (
    Store,
    UnitQuery,
    computed,
    figures_answer,
    period_of,
    scope_for,
)
from services.insights.figures import VIETNAM
from services.insights.figures_page import PAGES
from services.insights.officers import OfficerSessions, cookie_name, origins, secure, signed_in
from services.insights.units import catalogue

router = APIRouter(tags=["officer pages"])
HOME = "/figures"
SIGN_IN = "/figures/sign-in"
SIGN_OUT = "/figures/sign-out"


def _sign_in_page(request: Request, status_code: int = 200, failed: str | None = None) -> Response:
    lang = page_language(request)
    return PAGES.response(
        "officer_sign_in.html",
        lang,
        status_code=status_code,
        action=SIGN_IN,
        failed=failed,
        switch_url=f"{SIGN_IN}?lang={'en' if lang == 'vi' else 'vi'}",
    )


@router.get(
    SIGN_IN,
    summary="The officers' sign-in page (a browser)",
    openapi_extra=FOR_PEOPLE,
    response_class=Response,
)
async def sign_in_page(request: Request) -> Response:
    if await signed_in(request) is not None:
        return see_other(HOME)
    return _sign_in_page(request)


@router.post(
    SIGN_IN,
    summary="Sign in with an officer credential: starts a session held in an HttpOnly cookie",
    description="A form (`application/x-www-form-urlencoded`, field `credential`) sent from the "
    "sign-in page itself (`Origin`); answered `303` to the dashboard with the session cookie.",
    openapi_extra=FOR_PEOPLE,
    response_class=Response,
)
async def sign_in(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    fields = await checked_form(request, origins(settings), None)
    credential = (fields.get("credential") or [""])[0].strip()
    sessions: OfficerSessions = request.app.state.signouts
    try:
        if not credential:
            raise Problem(
                422,
                "No credential",
                "Send the officer credential in the form's `credential` field.",
                errors=[{"field": "credential", "detail": "missing"}],
            )
        token, seconds = await sessions.start(credential)
    except Problem as exc:
        if not wants_page(request):
            raise
        failed = {401: "refused", 422: "missing"}.get(exc.status, "not_officer")
        return _sign_in_page(request, exc.status, failed)
    response = see_other(HOME)
    set_cookie(
        response, cookie_name(settings), token, seconds=seconds, path="/", secure=secure(settings)
    )
    return response


@router.get(
    HOME,
    summary="The dashboard of a signed-in officer's unit, and its downloads (a browser)",
    description="The period (a year by default: this one) and a unit within the officer's; "
    "`format=xlsx|csv|pdf` downloads what the page shows. Without a session: to the sign-in "
    "page.",
    openapi_extra=FOR_PEOPLE,
    response_class=Response,
)
async def dashboard(
    request: Request,
    records: Store,
    period: Annotated[str | None, Query(description="2026, 2026-Q3 or 2026-07.")] = None,
    unit: UnitQuery = None,
    format: Annotated[Literal["html", "xlsx", "csv", "pdf"] | None, Query()] = None,
) -> Response:
    who = await signed_in(request)
    if who is None:
        return see_other(SIGN_IN)
    chosen = period_of(period or str(datetime.now(UTC).astimezone(VIETNAM).year))
    scope = scope_for(who.claims, unit or None)
    found = await computed(records, chosen, scope)
    own = catalogue().resolve(who.claims.subject)
    session = {
        "unit": f"{own.name} ({own.code})" if own else who.claims.subject,
        "csrf": who.csrf,
        "sign_out_url": SIGN_OUT,
    }
    return figures_answer(request, found, format, base_url=HOME, session=session)


@router.post(
    SIGN_OUT,
    summary="Sign out: ends the officer's session and drops its cookie",
    description="A form from the dashboard itself (`Origin`) with the session's form token "
    "(`csrf`); answered `303` to the sign-in page.",
    openapi_extra=FOR_PEOPLE,
    response_class=Response,
)
async def sign_out(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    who = await signed_in(request)
    if who is None:
        raise Problem(
            401,
            "Signed out",
            "This browser's officer session has ended or was never started: sign in again.",
        )
    await checked_form(request, origins(settings), who.csrf)
    sessions: OfficerSessions = request.app.state.signouts
    await sessions.sign_out(who.session_id)
    response = see_other(SIGN_IN)
    drop_cookie(response, cookie_name(settings), path="/", secure=secure(settings))
    return response
