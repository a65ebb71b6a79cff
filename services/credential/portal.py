"""The learner portal's pages served by the credential service: the trail with its recognitions
explained, issuing and downloading the CLR, share links (make, list, revoke) and the page a
share link opens for anyone holding it. The session is the browser's cookie
(services/common/portal.py); nothing here calls another service."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from contracts import words
from services.common.pages import FOR_PEOPLE
from services.common.portal import (
    Visitor,
    form_of,
    page,
    portal_language,
    require_visitor,
    see_other,
)
from services.common.problems import Problem
from services.common.tokens import secret_hash
from services.credential.api import IssuerDep, Store, trail_of
from services.credential.issuing import CredentialSchemaError, IssuingError
from services.credential.shares import ShareRefused, choose, new_share, shown, state
from services.credential.store import ShareStore
from services.credential.summary_page import PAGES, trail_context
from services.credential.trail import build_trail
from services.credential.trail_pdf import trail_pdf

router = APIRouter(tags=["learner portal (pages)"])
Who = Annotated[Visitor, Depends(require_visitor)]
HTML: dict[int | str, dict[str, Any]] = {200: {"content": {"text/html": {}}}}
EXPIRY_CHOICES = (7, 30, 90, 365)


async def shares(request: Request) -> ShareStore:
    found: ShareStore = request.app.state.shares
    return found


Shares = Annotated[ShareStore, Depends(shares)]


@router.get(
    "/portal/trail",
    response_class=HTMLResponse,
    summary="Your trail, credentials and share links (a browser signed in to the portal).",
    responses=HTML,
    openapi_extra=FOR_PEOPLE,
)
async def my_trail(
    request: Request, who: Who, trails: Store, issuing: IssuerDep, links: Shares
) -> Response:
    trail = await trail_of(trails, who.learner_id, empty_ok=True)
    latest = await trails.latest_credential(who.learner_id)
    verify_url = issuing.verification_url(latest["_id"]) if latest else None
    lang = portal_language(request)
    now = datetime.now(UTC)
    made = await links.of_learner(who.learner_id)
    titles = {e.record_id: e.title for g in trail.pathways for e in g.entries}
    done = request.query_params.get("done")
    return page(
        request,
        PAGES,
        "portal_trail.html",
        who,
        current="trail",
        generated=words.moment(now, lang),
        latest=latest,
        issued_at=words.moment(latest["issued_at"], lang) if latest else None,
        shares=[
            {
                "share_id": s["share_id"],
                "label": s.get("label") or "",
                "state": state(s, now),
                "what": [titles.get(r, r) for r in s["record_ids"]]
                if s.get("record_ids") is not None
                else None,
                "created": words.moment(s["created_at"], lang),
                "expires": words.moment(s["expires_at"], lang),
                "first_opened": words.moment(s["first_opened_at"], lang)
                if s.get("first_opened_at")
                else None,
                "last_opened": words.moment(s["last_opened_at"], lang)
                if s.get("last_opened_at")
                else None,
                "opens": s.get("opens", 0),
            }
            for s in made
        ],
        expiry_choices=EXPIRY_CHOICES,
        notice=words.word(lang, f"page.portal.done_{done}")
        if done in ("issued", "revoked")
        else None,
        **trail_context(trail, lang, verify_url),
    )


@router.get(
    "/portal/trail.pdf",
    summary="Your trail as a PDF of the printable page, with the QR code of your latest "
    "credential's verification address (a browser signed in to the portal).",
    responses={200: {"content": {"application/pdf": {}}}},
    openapi_extra=FOR_PEOPLE,
)
async def my_trail_pdf(request: Request, who: Who, trails: Store, issuing: IssuerDep) -> Response:
    """Vietnamese by default (the portal's language, or ``?lang=en``); times in
    Asia/Ho_Chi_Minh. Only the signed-in learner's own trail: the route names no learner."""
    trail = await trail_of(trails, who.learner_id, empty_ok=True)
    latest = await trails.latest_credential(who.learner_id)
    verify_url = issuing.verification_url(latest["_id"]) if latest else None
    lang = portal_language(request)
    now = datetime.now(UTC)
    pdf = await asyncio.to_thread(trail_pdf, trail, lang, verify_url, now)
    day = words.moment(now, lang)[:10].replace("/", "-")
    name = f"learning-trail-{day}.pdf" if lang == "en" else f"ho-so-hoc-tap-{day}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@router.post(
    "/portal/credentials",
    summary="Issue a signed CLR of your whole trail (a form of the portal).",
    status_code=303,
    openapi_extra=FOR_PEOPLE,
)
async def issue(request: Request, who: Who, issuing: IssuerDep) -> Response:
    await form_of(request, who)
    try:
        await issuing.issue(who.learner_id, None)
    except IssuingError as exc:
        raise Problem(409, "Nothing to issue", str(exc), page="nothing_to_issue") from exc
    except CredentialSchemaError as exc:
        raise Problem(500, "Credential failed its schema check", str(exc)) from exc
    return see_other("/portal/trail?done=issued")


@router.get(
    "/portal/credentials/{credential_id}/download",
    summary="Download one of your credentials as a JSON file (a browser signed in).",
    responses={200: {"content": {"application/vc+ld+json": {}}}},
    openapi_extra=FOR_PEOPLE,
)
async def download(credential_id: str, who: Who, trails: Store) -> Response:
    doc = await trails.credential(credential_id)
    if doc is None or doc.get("learner_id") != who.learner_id:
        raise Problem(404, "Unknown credential", "You have no such credential.", page="credential")
    name = "learning-trail-clr-" + credential_id.rsplit(":", 1)[-1][:8] + ".json"
    return Response(
        json.dumps(doc["document"], ensure_ascii=False, indent=2),
        media_type="application/vc+ld+json",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@router.post(
    "/portal/shares",
    response_class=HTMLResponse,
    summary="Make a share link of your trail or chosen entries (a form of the portal): the "
    "link is shown once, on the page this answers.",
    responses=HTML,
    openapi_extra=FOR_PEOPLE,
)
async def make_share(request: Request, who: Who, trails: Store, links: Shares) -> Response:
    fields = await form_of(request, who)
    entries = (await trails.entries_of([who.learner_id]))[who.learner_id]
    settings = request.app.state.settings
    try:
        days = int((fields.get("days") or ["0"])[0])
    except ValueError:
        days = 0
    try:
        choice = choose(
            whole=(fields.get("what") or [""])[0] == "whole",
            record_ids=fields.get("record") or [],
            days=days,
            label=(fields.get("label") or [""])[0],
            live_records={e["_id"] for e in entries},
            max_days=settings.share_link_max_days,
        )
    except ShareRefused as exc:
        raise Problem(422, "Share link refused", f"{exc}.", page="share_choice") from exc
    token, doc = new_share(who.learner_id, choice, datetime.now(UTC))
    await links.add(doc)
    lang = portal_language(request)
    return page(
        request,
        PAGES,
        "share_made.html",
        who,
        status_code=201,
        current="trail",
        link=f"{settings.public_base_url.rstrip('/')}/shared?token={token}",
        expires=words.moment(doc["expires_at"], lang),
    )


@router.post(
    "/portal/shares/{share_id}/revoke",
    summary="Revoke one of your share links (a form of the portal).",
    status_code=303,
    openapi_extra=FOR_PEOPLE,
)
async def revoke_share(share_id: str, request: Request, who: Who, links: Shares) -> Response:
    await form_of(request, who)
    if not await links.revoke(who.learner_id, share_id[:64], datetime.now(UTC)):
        raise Problem(404, "Unknown share link", "You have no such live link.", page="share")
    return see_other("/portal/trail?done=revoked")


@router.get(
    "/shared",
    response_class=HTMLResponse,
    summary="What a learner shared: their trail or the entries they chose (anyone holding "
    "the link, until it expires or is revoked).",
    responses={**HTML, 404: {"description": "Unknown, expired or revoked link."}},
    openapi_extra=FOR_PEOPLE,
)
async def open_share(
    request: Request, trails: Store, issuing: IssuerDep, links: Shares, token: str = ""
) -> Response:
    share = await links.by_token_hash(secret_hash(token[:128])) if token else None
    now = datetime.now(UTC)
    if share is None or state(share, now) != "live":
        raise Problem(
            404,
            "Unknown share link",
            "This share link does not exist, has expired or was revoked by the learner.",
            page="share",
        )
    await links.opened(share["_id"], now)
    learner_id = share["learner_id"]
    learner = await trails.learner(learner_id)
    entries = (await trails.entries_of([learner_id]))[learner_id]
    recognitions = (await trails.recognitions_of([learner_id]))[learner_id]
    kept, recognised = shown(share, entries, recognitions)
    name = learner.get("full_name") if learner else None
    trail = build_trail(learner_id, name, kept, recognised)
    # a credential's verification link shows all it holds: only with the whole trail
    latest = await trails.latest_credential(learner_id) if share["record_ids"] is None else None
    verify_url = issuing.verification_url(latest["_id"]) if latest else None
    lang = portal_language(request)
    answer = page(
        request,
        PAGES,
        "shared.html",
        None,
        switch_url=f"?{urlencode({'token': token, 'lang': 'en' if lang == 'vi' else 'vi'})}",
        generated=words.moment(now, lang),
        expires=words.moment(share["expires_at"], lang),
        whole=share["record_ids"] is None,
        hide_verify=share["record_ids"] is not None,
        **trail_context(trail, lang, verify_url),
    )
    answer.headers["Referrer-Policy"] = "no-referrer"
    answer.headers["X-Robots-Tag"] = "noindex"
    return answer
