"""The notify service's HTTP API: a learner's inbox and preferences, one-click unsubscribe, and
the department's view of deliveries."""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from contracts import words
from contracts.envelope import utc_now
from contracts.notifications import About, Channel
from contracts.vocabulary import ClockTime, Language
from services.common.access import app_settings, learner_or_admin, require_admin
from services.common.mongo import Document
from services.common.pages import FOR_PEOPLE, Pages, page_language
from services.common.problems import Problem
from services.common.settings import Settings
from services.common.tokens import Claims
from services.notify.isolation import DATA_ERRORS
from services.notify.matchmaker import Matchmaker
from services.notify.outbox import STATES
from services.notify.preferences import (
    CHANNELS,
    Delivery,
    Interests,
    PreferencesInput,
    QuietWindow,
    stored_preferences,
    webhook_refusal,
)
from services.notify.signing import SignatureError, read_unsubscribe_token
from services.notify.store import NotifyStore

router = APIRouter(prefix="/v1")

_LEARNER: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or invalid token."},
    403: {"description": "Not yours."},
}


async def store(request: Request) -> NotifyStore:
    found: NotifyStore = request.app.state.store
    return found


async def matchmaker(request: Request) -> Matchmaker:
    found: Matchmaker = request.app.state.matchmaker
    return found


# the inbox


class Notification(BaseModel):
    id: str = Field(description="learner:subject:channel")
    about: About
    subject_id: str = Field(description="The programme, recognition or credential id.")
    programme_id: str | None = Field(description="The programme's id, when it is about one.")
    channel: Channel
    state: str
    title: str
    body: str
    data: dict[str, Any] = Field(description="The subject's details (e.g. the programme).")
    created_at: datetime
    delivered_at: datetime | None
    read: bool
    retracted: str | None = Field(
        default=None, description="Why it no longer stands (programme withdrawn, revoked)."
    )
    unsubscribe_url: str | None = None


class Inbox(BaseModel):
    learner_id: str
    unread: int = Field(description="Unread messages in the inbox.")
    notifications: list[Notification]


def _notification(d: Document) -> Notification:
    return Notification(
        id=d["_id"],
        about=d.get("about", "programme"),
        subject_id=d["subject_id"],
        programme_id=d["subject_id"] if d.get("about") == "programme" else None,
        channel=d["channel"],
        state=d["state"],
        title=d["title"],
        body=d["body"],
        data=d.get("data") or {},
        created_at=d["created_at"],
        delivered_at=d.get("sent_at"),
        read=d.get("read_at") is not None,
        retracted=d.get("retracted"),
        unsubscribe_url=d.get("unsubscribe_url"),
    )


@router.get(
    "/learners/{learner_id}/notifications",
    response_model=Inbox,
    tags=["inbox"],
    summary="A learner's inbox, newest first (the learner, or the department).",
    responses=_LEARNER,
)
async def get_inbox(
    learner_id: str,
    _: Annotated[Claims, Depends(learner_or_admin)],
    notes: Annotated[NotifyStore, Depends(store)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    unread: Annotated[bool, Query(description="Only the unread ones.")] = False,
) -> Inbox:
    docs = await notes.inbox(learner_id, limit, unread_only=unread)
    return Inbox(
        learner_id=learner_id,
        unread=await notes.unread_count(learner_id),
        notifications=[_notification(d) for d in docs],
    )


async def _mark(notes: NotifyStore, learner_id: str, nid: str, read: bool) -> Notification:
    found = await notes.mark_read(learner_id, nid, utc_now() if read else None)
    if found is None:
        raise Problem(
            404,
            "Not found",
            f"No message {nid!r} in the inbox of learner {learner_id!r}; "
            "list the inbox for the ids.",
        )
    return _notification(found)


@router.post(
    "/learners/{learner_id}/notifications/{notification_id}/read",
    response_model=Notification,
    tags=["inbox"],
    summary="Mark an inbox message read (idempotent).",
    responses={**_LEARNER, 404: {"description": "No such message in this inbox."}},
)
async def mark_read(
    learner_id: str,
    notification_id: str,
    _: Annotated[Claims, Depends(learner_or_admin)],
    notes: Annotated[NotifyStore, Depends(store)],
) -> Notification:
    return await _mark(notes, learner_id, notification_id, read=True)


@router.post(
    "/learners/{learner_id}/notifications/{notification_id}/unread",
    response_model=Notification,
    tags=["inbox"],
    summary="Mark an inbox message unread again.",
    responses={**_LEARNER, 404: {"description": "No such message in this inbox."}},
)
async def mark_unread(
    learner_id: str,
    notification_id: str,
    _: Annotated[Claims, Depends(learner_or_admin)],
    notes: Annotated[NotifyStore, Depends(store)],
) -> Notification:
    return await _mark(notes, learner_id, notification_id, read=False)


# preferences


class WebhookView(BaseModel):
    url: str
    secret: str = Field(description="Give it to the partner app: it verifies X-LT-Signature.")


class PreferencesView(BaseModel):
    """A learner's preferences with every default filled in."""

    learner_id: str
    channels: list[Channel] = Field(description="The channels the learner asked for.")
    active_channels: list[Channel] = Field(
        description="Those that will be used: asked for, reachable and not unsubscribed."
    )
    unsubscribed: list[Channel]
    language: Language
    interests: Interests
    home_commune: str | None
    places: list[str] = Field(description="Places heard about besides the home commune.")
    quiet_hours: QuietWindow | None
    time_zone: str
    delivery: Delivery
    digest_time: ClockTime
    webhook: WebhookView | None
    email: str | None
    phone: str | None


def preferences_view(doc: Document, mm: Matchmaker) -> PreferencesView:
    learner = mm.subscriber(doc)
    stored = doc.get("preferences") or {}
    return PreferencesView(
        learner_id=learner.learner_id,
        channels=list(learner.requested),
        active_channels=list(learner.channels),
        unsubscribed=[c for c in CHANNELS if c in (doc.get("unsubscribed") or ())],
        language=learner.language,
        interests=Interests(
            pathways=sorted(learner.pathways),
            topics=sorted(
                (stored.get("interests") or {}).get("topics")
                or (doc.get("profile") or {}).get("topics")
                or []
            ),
            levels=sorted(learner.levels),
        ),
        home_commune=learner.home,
        places=list(stored.get("places") or []),
        quiet_hours=learner.quiet,
        time_zone=learner.time_zone,
        delivery=learner.delivery,
        digest_time=learner.schedule.digest_time,
        webhook=(
            WebhookView(url=learner.webhook_url, secret=learner.webhook_secret)
            if learner.webhook_url and learner.webhook_secret
            else None
        ),
        email=learner.email,
        phone=learner.phone,
    )


@router.get(
    "/learners/{learner_id}/preferences",
    response_model=PreferencesView,
    tags=["preferences"],
    summary="How and about what a learner is told (the learner, or the department); the "
    "defaults for a learner no training centre has posted yet, as the inbox is empty for them.",
    responses=_LEARNER,
)
async def get_preferences(
    learner_id: str,
    _: Annotated[Claims, Depends(learner_or_admin)],
    notes: Annotated[NotifyStore, Depends(store)],
    mm: Annotated[Matchmaker, Depends(matchmaker)],
) -> PreferencesView:
    doc = await notes.subscription(learner_id) or {"_id": learner_id}
    return preferences_view(doc, mm)


def _refusals(given: PreferencesInput, doc: Document, mm: Matchmaker) -> list[dict[str, str]]:
    profile = doc.get("profile") or {}
    errors = []
    channels = given.channels or []
    if "email" in channels and not profile.get("email"):
        errors.append(
            {"field": "channels", "message": "no email address is known for you; remove 'email'"}
        )
    if "sms" in channels and not (profile.get("phone") and mm.settings.sms_available):
        errors.append(
            {
                "field": "channels",
                "message": "SMS needs a phone number on your profile and is not offered here "
                "without one; remove 'sms'",
            }
        )
    if "webhook" in channels and given.webhook is None:
        errors.append(
            {"field": "webhook", "message": "channel 'webhook' needs webhook.url (your app's)"}
        )
    if given.webhook is not None:
        refusal = webhook_refusal(str(given.webhook.url), mm.settings.webhook_destinations)
        if refusal:
            errors.append({"field": "webhook.url", "message": refusal})
    return errors


@router.put(
    "/learners/{learner_id}/preferences",
    response_model=PreferencesView,
    tags=["preferences"],
    summary="Set how and about what a learner is told; fields left out take their defaults.",
    responses={**_LEARNER, 422: {"description": "A channel cannot reach the learner."}},
)
async def put_preferences(
    learner_id: str,
    given: PreferencesInput,
    _: Annotated[Claims, Depends(learner_or_admin)],
    notes: Annotated[NotifyStore, Depends(store)],
    mm: Annotated[Matchmaker, Depends(matchmaker)],
) -> PreferencesView:
    return await save_preferences(learner_id, given, notes, mm)


async def save_preferences(
    learner_id: str, given: PreferencesInput, notes: NotifyStore, mm: Matchmaker
) -> PreferencesView:
    """Check and keep a learner's preferences (the API's PUT and the portal's form)."""
    current = await notes.subscription(learner_id) or {"_id": learner_id}
    errors = _refusals(given, current, mm)
    if errors:
        raise Problem(
            422,
            "Invalid preferences",
            "; ".join(f"{e['field']}: {e['message']}" for e in errors),
            type_="https://learningtrail.vn/problems/validation",
            errors=errors,
        )
    preferences = stored_preferences(
        given, current.get("preferences") or {}, new_secret=secrets.token_urlsafe(32)
    )
    # validate first: what would be saved must make a learner that matching can read, or
    # nothing is saved (a 500 after the save would leave the change in place)
    try:
        mm.subscriber({**current, "preferences": {**preferences}})
    except DATA_ERRORS as exc:
        raise Problem(
            422,
            "Invalid preferences",
            f"These preferences cannot be used ({type(exc).__name__}); check the time zone, "
            "quiet hours and digest time, then send them again.",
            type_="https://learningtrail.vn/problems/validation",
        ) from exc
    saved = await notes.save_preferences(learner_id, preferences)
    await mm.learners_changed([learner_id], utc_now())
    return preferences_view(saved, mm)


# unsubscribe


PAGES = Pages(Path(__file__).resolve().parent / "templates")


def _read_link(token: str, secret: str) -> tuple[str, str]:
    try:
        learner_id, channel = read_unsubscribe_token(secret, token)
    except SignatureError as exc:
        raise Problem(
            400,
            "Invalid unsubscribe link",
            f"{exc}; use the link as it was sent.",
            page="unsubscribe_link",
        ) from exc
    if channel not in CHANNELS:
        raise Problem(
            400,
            "Invalid unsubscribe link",
            "The link names no known channel.",
            page="unsubscribe_link",
        )
    return learner_id, channel


async def _language(learner_id: str, notes: NotifyStore, mm: Matchmaker) -> Language:
    doc = await notes.subscription(learner_id) or {"_id": learner_id}
    try:
        return mm.subscriber(doc).language
    except DATA_ERRORS:
        return Language.VI  # the page still shows; the learner's data is not ours to fix here


async def _unsubscribe_page(
    request: Request,
    learner_id: str,
    channel: str,
    notes: NotifyStore,
    mm: Matchmaker,
    **context: Any,
) -> HTMLResponse:
    lang = page_language(request, await _language(learner_id, notes, mm))
    step = "done" if context.get("done") else "confirm"
    return PAGES.response(
        "unsubscribe.html",
        lang,
        heading=words.word(lang, f"page.unsubscribe.{step}.title"),
        text=words.word(
            lang, f"page.unsubscribe.{step}.text", channel=words.label(lang, "channel", channel)
        ),
        **context,
    )


_TOKEN = Annotated[str, Query(min_length=10, max_length=1000)]


@router.get(
    "/unsubscribe",
    response_class=HTMLResponse,
    tags=["preferences"],
    summary="The page behind an unsubscribe link: asks to confirm, changes nothing (mail "
    "scanners open links).",
    responses={400: {"description": "The link is not genuine."}},
    openapi_extra=FOR_PEOPLE,
)
async def unsubscribe_page(
    request: Request,
    token: _TOKEN,
    settings: Annotated[Settings, Depends(app_settings)],
    notes: Annotated[NotifyStore, Depends(store)],
    mm: Annotated[Matchmaker, Depends(matchmaker)],
) -> HTMLResponse:
    learner_id, channel = _read_link(token, settings.token_secret.get_secret_value())
    action = f"unsubscribe?{urlencode({'token': token})}"
    return await _unsubscribe_page(request, learner_id, channel, notes, mm, action=action)


@router.post(
    "/unsubscribe",
    response_class=HTMLResponse,
    tags=["preferences"],
    summary="One-click unsubscribe (RFC 8058 List-Unsubscribe-Post, or the confirmation "
    "page's button): no login, a signed token; twice changes nothing.",
    responses={400: {"description": "The link is not genuine."}},
    openapi_extra=FOR_PEOPLE,
)
async def unsubscribe(
    request: Request,
    token: _TOKEN,
    settings: Annotated[Settings, Depends(app_settings)],
    notes: Annotated[NotifyStore, Depends(store)],
    mm: Annotated[Matchmaker, Depends(matchmaker)],
) -> HTMLResponse:
    learner_id, channel = _read_link(token, settings.token_secret.get_secret_value())
    await notes.unsubscribe(learner_id, channel)
    await mm.learners_changed([learner_id], utc_now())
    return await _unsubscribe_page(request, learner_id, channel, notes, mm, done=True)


# the department's view


class DeliveryStatus(BaseModel):
    id: str
    learner_id: str
    channel: Channel
    about: About
    subject_id: str
    state: str
    title: str
    attempts: int
    due_at: datetime | None
    digest: bool
    last_error: str | None
    cancel_reason: str | None
    created_at: datetime
    sent_at: datetime | None
    failed_at: datetime | None


@router.get(
    "/admin/notifications",
    response_model=list[DeliveryStatus],
    tags=["admin"],
    summary="Delivery status of notifications, newest first (the department only).",
    responses={401: {"description": "No or invalid token."}, 403: {"description": "Not admin."}},
)
async def delivery_status(
    _: Annotated[Claims, Depends(require_admin)],
    notes: Annotated[NotifyStore, Depends(store)],
    learner_id: str | None = None,
    subject_id: str | None = None,
    channel: Channel | None = None,
    state: Annotated[str | None, Query(description=", ".join(STATES))] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryStatus]:
    query: Document = {}
    for name, value in (
        ("learner_id", learner_id),
        ("subject_id", subject_id),
        ("channel", channel),
        ("state", state),
    ):
        if value is not None:
            query[name] = value
    return [
        DeliveryStatus(
            id=d["_id"],
            learner_id=d["learner_id"],
            channel=d["channel"],
            about=d["about"],
            subject_id=d["subject_id"],
            state=d["state"],
            title=d["title"],
            attempts=d.get("attempts", 0),
            due_at=d.get("due_at"),
            digest=bool(d.get("digest")),
            last_error=d.get("last_error"),
            cancel_reason=d.get("cancel_reason"),
            created_at=d["created_at"],
            sent_at=d.get("sent_at"),
            failed_at=d.get("failed_at"),
        )
        for d in await notes.delivery_status(query, limit)
    ]
