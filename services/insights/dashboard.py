"""The officers' pages, opened from a link in a person's browser: sign in with the officer
credential the department issued, the dashboard of the officer's unit (and the downloads),
sign out. The session is a cookie (:mod:`services.insights.officers`); the JSON API under
``/v1`` never takes it."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from contracts import insights
from contracts.dates import today_in_vietnam
from contracts.insights import ReportSubscriptionChanged
from services.common.outbox import pending_event
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
from services.insights.figures_page import PAGES
from services.insights.officer_credentials import WITHDRAWN
from services.insights.officers import (
    Officer,
    OfficerSessions,
    cookie_name,
    origins,
    secure,
    signed_in,
)
from services.insights.store import InsightsStore
from services.insights.units import catalogue

_log = logging.getLogger(__name__)

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
        if exc.title == WITHDRAWN:
            failed = "withdrawn"
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
    chosen = period_of(period or str(today_in_vietnam().year))
    scope = scope_for(who.claims, unit or None)
    found = await computed(request, chosen, scope)
    own = catalogue().resolve(who.claims.subject)
    session = {
        "unit": f"{own.name} ({own.code})" if own else who.claims.subject,
        "csrf": who.csrf,
        "sign_out_url": SIGN_OUT,
        "subscribe_url": SUBSCRIBE,
        "subscriptions": [
            {"unit": s["unit"], "email": s["email"], "kinds": s["kinds"]}
            for s in await records.subscriptions_of(who.claims.subject)
        ],
    }
    return figures_answer(request, found, format, base_url=HOME, session=session)


async def form_sender(request: Request) -> Officer:
    """The signed-in officer sending one of the dashboard's forms; 401 when the browser's
    session has ended."""
    who = await signed_in(request)
    if who is None:
        raise Problem(
            401,
            "Signed out",
            "This browser's officer session has ended or was never started: sign in again.",
        )
    return who


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
    who = await form_sender(request)
    await checked_form(request, origins(settings), who.csrf)
    sessions: OfficerSessions = request.app.state.signouts
    await sessions.sign_out(who.session_id)
    response = see_other(SIGN_IN)
    drop_cookie(response, cookie_name(settings), path="/", secure=secure(settings))
    return response


SUBSCRIBE = "/figures/subscriptions"
KINDS = ("month", "quarter", "year")


def subscription_id(officer_unit: str, unit: str, email: str) -> str:
    """One subscription per officer's unit, unit and address: saving again replaces it."""
    raw = f"{officer_unit}|{unit}|{email.strip().lower()}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


@router.post(
    SUBSCRIBE,
    summary="Ask to be told by email when a periodic report is produced (a signed-in officer)",
    description="A form from the dashboard (`Origin`, form token `csrf`): `email`, `unit` (the "
    "officer's own or one inside it) and any of `kinds` = month, quarter, year (none: stop). "
    "Announced on `insights.v1` (`subscription.changed`); notify sends the emails. Answered "
    "`303` to the dashboard.",
    openapi_extra=FOR_PEOPLE,
    response_class=Response,
)
async def subscribe(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    who = await form_sender(request)
    fields = await checked_form(request, origins(settings), who.csrf)
    email = (fields.get("email") or [""])[0].strip()
    unit = (fields.get("unit") or [""])[0].strip() or who.claims.subject
    kinds = sorted({k for k in fields.get("kinds", []) if k in KINDS}, key=KINDS.index)
    scope = scope_for(who.claims, unit)
    assert scope.unit is not None  # an officer's scope is always a unit
    now = datetime.now(UTC)
    try:
        event = ReportSubscriptionChanged(
            subscription_id=subscription_id(who.claims.subject, scope.unit.code, email),
            officer_unit=who.claims.subject,
            unit_code=scope.unit.code,
            email=email,
            period_kinds=kinds,
            language=page_language(request),
            changed_at=now,
        )
    except ValidationError as exc:
        raise Problem(
            422,
            "Invalid subscription",
            "Give a valid email address to be told at.",
            errors=[{"field": "email", "detail": "not an email address"}],
        ) from exc
    store: InsightsStore = request.app.state.store
    doc = {
        "_id": event.subscription_id,
        "officer_unit": event.officer_unit,
        "unit": event.unit_code,
        "email": str(event.email),
        "kinds": kinds,
        "changed_at": now,
        "pending": pending_event(insights.SUBSCRIPTION_CHANGED, event.subscription_id, event),
    }
    await store.set_subscription(doc)
    try:
        await store.outbox.append_one(request.app.state.log, "subscriptions", doc)
    except Exception:  # stored: the outbox relay announces it
        _log.warning("subscription.changed not appended yet; the relay will")
    return see_other(f"{HOME}?{urlencode({'unit': scope.unit.code, 'subscribed': '1'})}")
