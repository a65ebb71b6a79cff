"""The learner portal's pages served by notify: the inbox and the notification preferences.
The session is the browser's cookie (services/common/portal.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from contracts import words
from contracts.envelope import utc_now
from services.common.pages import FOR_PEOPLE, Pages
from services.common.portal import (
    Visitor,
    form_of,
    page,
    portal_language,
    require_visitor,
    see_other,
)
from services.common.problems import Problem
from services.notify.api import matchmaker, preferences_view, save_preferences, store
from services.notify.matchmaker import Matchmaker
from services.notify.preferences import CHANNELS, PreferencesInput
from services.notify.store import NotifyStore

router = APIRouter(prefix="/portal", tags=["learner portal (pages)"])
PAGES = Pages(Path(__file__).resolve().parent / "templates")
Who = Annotated[Visitor, Depends(require_visitor)]
Notes = Annotated[NotifyStore, Depends(store)]
MM = Annotated[Matchmaker, Depends(matchmaker)]
HTML: dict[int | str, dict[str, Any]] = {200: {"content": {"text/html": {}}}}
# the channels a person sets on the page (a partner app's webhook is set through the API)
PAGE_CHANNELS = ("inbox", "email", "sms")


@router.get(
    "/inbox",
    response_class=HTMLResponse,
    summary="Your inbox (a browser signed in to the portal).",
    responses=HTML,
    openapi_extra=FOR_PEOPLE,
)
async def inbox(request: Request, who: Who, notes: Notes) -> Response:
    lang = portal_language(request)
    docs = await notes.inbox(who.learner_id, 50, unread_only=False)
    return page(
        request,
        PAGES,
        "portal_inbox.html",
        who,
        current="inbox",
        unread=await notes.unread_count(who.learner_id),
        messages=[
            {
                "id": d["_id"],
                "title": d["title"],
                "body": d["body"],
                "when": words.moment(d["created_at"], lang),
                "read": d.get("read_at") is not None,
                "retracted": d.get("retracted"),
            }
            for d in docs
        ],
    )


@router.post(
    "/inbox/read",
    summary="Mark a message of your inbox read or unread (a form of the portal).",
    status_code=303,
    openapi_extra=FOR_PEOPLE,
)
async def mark(request: Request, who: Who, notes: Notes) -> Response:
    fields = await form_of(request, who)
    nid = (fields.get("id") or [""])[0][:300]
    read = (fields.get("read") or ["1"])[0] == "1"
    if await notes.mark_read(who.learner_id, nid, utc_now() if read else None) is None:
        raise Problem(404, "Not found", "No such message in your inbox.")
    return see_other("/portal/inbox")


@router.get(
    "/preferences",
    response_class=HTMLResponse,
    summary="How and when you are told (a browser signed in to the portal).",
    responses=HTML,
    openapi_extra=FOR_PEOPLE,
)
async def preferences(request: Request, who: Who, notes: Notes, mm: MM) -> Response:
    doc = await notes.subscription(who.learner_id) or {"_id": who.learner_id}
    done = request.query_params.get("done") == "saved"
    return page(
        request,
        PAGES,
        "portal_preferences.html",
        who,
        current="preferences",
        view=preferences_view(doc, mm),
        channels=PAGE_CHANNELS,
        notice=words.word(portal_language(request), "page.portal.done_saved") if done else None,
    )


@router.post(
    "/preferences",
    summary="Change how and when you are told (a form of the portal).",
    status_code=303,
    openapi_extra=FOR_PEOPLE,
)
async def change_preferences(request: Request, who: Who, notes: Notes, mm: MM) -> Response:
    fields = await form_of(request, who)
    doc = await notes.subscription(who.learner_id) or {"_id": who.learner_id}
    now = preferences_view(doc, mm)

    def one(name: str) -> str:
        return (fields.get(name) or [""])[0].strip()

    chosen = [c for c in fields.get("channel") or [] if c in PAGE_CHANNELS]
    kept = [c for c in now.channels if c not in PAGE_CHANNELS]  # a webhook set by the API
    quiet = None
    if one("quiet_start") and one("quiet_end"):
        quiet = {"start": one("quiet_start"), "end": one("quiet_end")}
    try:
        given = PreferencesInput.model_validate(
            {
                "channels": [c for c in CHANNELS if c in chosen or c in kept],
                "language": one("language") or now.language,
                "interests": now.interests.model_dump(),
                "places": now.places,
                "quiet_hours": quiet or (now.quiet_hours.model_dump() if now.quiet_hours else None),
                "time_zone": now.time_zone,
                "delivery": one("delivery") or now.delivery,
                "digest_time": one("digest_time") or now.digest_time,
                "webhook": {"url": now.webhook.url, "secret": now.webhook.secret}
                if now.webhook
                else None,
            }
        )
    except ValidationError as exc:
        names = ", ".join(str(e["loc"][0]) for e in exc.errors())
        raise Problem(422, "Invalid preferences", f"Check these fields: {names}.") from exc
    await save_preferences(who.learner_id, given, notes, mm)
    return see_other("/portal/preferences?done=saved")
