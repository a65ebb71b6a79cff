"""The credential service's HTTP API: trails, credentials, verification, issuer keys."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field

from contracts import words
from services.common.access import (
    app_settings,
    bearer,
    claims_for,
    learner_or_admin,
    must_be_learner_or_admin,
    not_signed_out,
    require_admin,
)
from services.common.pages import FOR_PEOPLE, page_language, wants_page
from services.common.problems import Problem
from services.common.settings import Settings
from services.common.tokens import Claims
from services.credential.issuing import CredentialSchemaError, Issuer, IssuingError
from services.credential.store import CredentialStore
from services.credential.summary_page import PAGES, render_trail
from services.credential.trail import Trail, build_trail
from services.credential.vc.verify import VerificationReport

router = APIRouter(tags=["trail"])
CREDENTIAL_JSON = "application/vc+ld+json"


async def store(request: Request) -> CredentialStore:
    found: CredentialStore = request.app.state.store
    return found


async def issuer(request: Request) -> Issuer:
    found: Issuer = request.app.state.issuer
    return found


Store = Annotated[CredentialStore, Depends(store)]
IssuerDep = Annotated[Issuer, Depends(issuer)]


async def trail_of(trails: CredentialStore, learner_id: str, empty_ok: bool = False) -> Trail:
    """The learner's trail; with ``empty_ok`` an empty one (rather than 404) for a learner
    nothing has been recorded for yet — what the page shows before the first record."""
    # three independent reads at once: a trail read waits for the slowest, not for the sum
    learner, entries_of, recognitions_of = await asyncio.gather(
        trails.learner(learner_id),
        trails.entries_of([learner_id]),
        trails.recognitions_of([learner_id]),
    )
    if learner is not None and learner.get("merged_into"):
        raise Problem(
            404,
            "Learner merged",
            "This learner record was merged into another by the department; the trail now "
            "lives under the surviving learner.",
            page="merged",
        )
    entries = entries_of[learner_id]
    if learner is None and not entries and not empty_ok:
        raise Problem(
            404,
            "Unknown learner",
            f"No learning has been recorded for learner {learner_id} yet. Records appear here "
            "a moment after a training centre's submission is accepted.",
        )
    recognitions = recognitions_of[learner_id]
    name = learner.get("full_name") if learner else None
    return build_trail(learner_id, name, entries, recognitions)


async def reader(
    learner_id: str,
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    settings: Annotated[Settings, Depends(app_settings)],
) -> Claims:
    """The learner or the department, by the ``Authorization`` header only: a token in a URL
    ends up in browser history, proxies' logs and ``Referer`` headers, so one there is refused
    rather than ignored (the client learns at once)."""
    if "access_token" in request.query_params:
        raise Problem(
            400,
            "Token in the URL",
            "Tokens are never taken from a URL (it would be kept in histories and logs): send "
            "'Authorization: Bearer <token>' instead.",
        )
    if credentials is None:
        raise Problem(
            401,
            "Unauthorised",
            "Send 'Authorization: Bearer <token>' (a learner's access token or the admin token).",
            headers={"WWW-Authenticate": "Bearer"},
        )
    claims = await not_signed_out(request, claims_for(credentials.credentials, settings))
    return must_be_learner_or_admin(learner_id, claims)


@router.get(
    "/v1/learners/{learner_id}/trail",
    response_model=Trail,
    summary="A learner's trail: JSON, or a printable page (the learner, or the department).",
    responses={
        200: {"content": {"text/html": {}}, "description": "JSON, or HTML with ?format=html."},
        401: {"description": "No or invalid token."},
        403: {"description": "A learner token for someone else."},
        404: {
            "description": "Nothing is known about this learner yet (JSON only: the page "
            "shows an empty trail)."
        },
    },
    openapi_extra=FOR_PEOPLE,
)
async def get_trail(
    learner_id: str,
    request: Request,
    _: Annotated[Claims, Depends(reader)],
    trails: Store,
    issuing: IssuerDep,
    format: Annotated[Literal["json", "html"] | None, Query()] = None,
    lang: Annotated[Literal["vi", "en"] | None, Query()] = None,
) -> Any:
    """Every piece of learning recorded for the learner, grouped by pathway, with totals and
    the recognitions it earned. `?format=html` (or `Accept: text/html`) gives the printable
    page, in Vietnamese or with `lang=en` in English, with a QR code to verify the learner's
    latest credential. Errors come as a page too when the page was asked for."""
    page = format == "html" or (format is None and wants_page(request))
    trail = await trail_of(trails, learner_id, empty_ok=page)
    if not page:
        return trail
    latest = await trails.latest_credential(learner_id)
    verify_url = issuing.verification_url(latest["_id"]) if latest else None
    shown = page_language(request, lang)
    switch = {"format": "html", "lang": "en" if shown == "vi" else "vi"}
    return render_trail(trail, shown, verify_url, datetime.now(UTC), f"?{urlencode(switch)}")


class CredentialRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_ids: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="The records to include; all live records of the trail when left out.",
    )


@router.post(
    "/v1/learners/{learner_id}/credentials",
    status_code=201,
    tags=["credentials"],
    summary="Issue a signed CLR 2.0 credential of the trail (the learner, or the department).",
    responses={201: {"content": {CREDENTIAL_JSON: {}}}, 409: {"description": "Nothing to issue."}},
)
async def issue_credential(
    learner_id: str,
    _: Annotated[Claims, Depends(learner_or_admin)],
    issuing: IssuerDep,
    request: Annotated[CredentialRequest | None, Body()] = None,
) -> JSONResponse:
    """A 1EdTech CLR 2.0 `ClrCredential` embedding one Open Badges 3.0 achievement credential
    per record, each signed on its own (eddsa-rdfc-2022, issuer `did:web`), each with a
    revocation entry in the status list. Anyone can verify it with `POST /v1/verify`."""
    try:
        doc = await issuing.issue(learner_id, request.record_ids if request else None)
    except IssuingError as exc:
        raise Problem(409, "Nothing to issue", str(exc)) from exc
    except CredentialSchemaError as exc:
        raise Problem(
            500,
            "Credential failed its schema check",
            "The credential built for this trail does not validate against the OB 3.0 / CLR "
            "2.0 JSON Schemas, so it was not issued (the error is logged for the department): "
            f"{exc}",
        ) from exc
    return JSONResponse(
        doc["document"],
        status_code=201,
        media_type=CREDENTIAL_JSON,
        headers={"Location": f"/v1/credentials/{doc['_id']}"},
    )


@router.get(
    "/v1/credentials/{credential_id}",
    tags=["credentials"],
    summary="An issued credential, by its id (anyone holding the id).",
    responses={200: {"content": {CREDENTIAL_JSON: {}}}, 404: {"description": "Unknown id."}},
)
async def get_credential(credential_id: str, trails: Store) -> JSONResponse:
    """The id is an unguessable `urn:uuid`, shared by the learner with whom they choose."""
    doc = await trails.credential(credential_id)
    if doc is None:
        raise Problem(404, "Unknown credential", f"No credential {credential_id}.")
    return JSONResponse(doc["document"], media_type=CREDENTIAL_JSON)


@router.get(
    "/v1/credentials/{credential_id}/verification",
    tags=["verification"],
    summary="Verify an issued credential by its id (anyone): JSON, or a page for a browser "
    "(the link behind the trail page's QR code).",
    responses={200: {"content": {"text/html": {}}}, 404: {"description": "Unknown id."}},
    openapi_extra=FOR_PEOPLE,
)
async def verify_by_id(
    credential_id: str,
    request: Request,
    trails: Store,
    issuing: IssuerDep,
    format: Annotated[Literal["json", "html"] | None, Query()] = None,
    lang: Annotated[Literal["vi", "en"] | None, Query()] = None,
) -> Any:
    """The same report and `verdict` as `POST /v1/verify` (the issuer must be this service);
    a browser (`Accept: text/html`, as when the QR code is scanned) or `?format=html` gets the
    page saying the verdict in words."""
    doc = await trails.credential(credential_id)
    if doc is None:
        raise Problem(
            404, "Unknown credential", f"No credential {credential_id}.", page="credential"
        )
    report = await issuing.verify(doc["document"], trusted_only=True)
    if format == "json" or (format is None and not wants_page(request)):
        return {"credential_id": credential_id, **report.to_dict()}
    return verification_page(request, credential_id, doc["document"], report, lang)


_WORST = ("failed", "unknown", "passed", "skipped")


def verification_page(
    request: Request,
    credential_id: str,
    document: dict[str, Any],
    report: VerificationReport,
    lang: str | None,
    switch_url: str | None = None,
) -> Response:
    """What a person who scanned the QR code reads: the verdict (the same three as
    ``trail verify``'s exit codes), whose, when, each check (the worst result of that check
    over the credential and those it embeds), and what failed or could not be checked."""
    shown = page_language(request, lang)
    found = report.to_dict()
    checks: dict[str, str] = {}
    for check in found["checks"]:
        seen = checks.get(check["check"], "skipped")
        checks[check["check"]] = min(seen, check["result"], key=_WORST.index)
    subject = document.get("credentialSubject") or {}
    embedded = subject.get("verifiableCredential") or []
    issued = document.get("validFrom") or document.get("issuanceDate")
    switch = {"lang": "en" if shown == "vi" else "vi"}
    issuer = document.get("issuer")
    return PAGES.response(
        "verification.html",
        shown,
        switch_url=switch_url if switch_url is not None else f"?{urlencode(switch)}",
        issuer=issuer.get("name") if isinstance(issuer, dict) else issuer,
        achievements=_achievements(embedded),
        status=report.status,
        exit_code=report.exit_code,
        credential_id=credential_id,
        learner=subject.get("name") or (subject.get("identity") or [{}])[0].get("name"),
        issued=_issued_day(issued),
        records=len(embedded) if isinstance(embedded, list) else 0,
        checks=list(checks.items()),
        problems=[
            (c["path"], c["check"], c["result"], c.get("detail", ""))
            for c in found["checks"]
            if c["result"] in ("failed", "unknown")
        ],
    )


def _achievements(embedded: object) -> list[str]:
    """What the credential says: the name of each achievement it holds."""
    names = []
    for credential in embedded if isinstance(embedded, list) else []:
        subject = credential.get("credentialSubject") if isinstance(credential, dict) else None
        achievement = subject.get("achievement") if isinstance(subject, dict) else None
        name = achievement.get("name") if isinstance(achievement, dict) else None
        if isinstance(name, str):
            names.append(name)
    return names[:200]


@router.get(
    "/verify",
    tags=["verification"],
    response_class=HTMLResponse,
    summary="The verification page: paste a credential to check it (anyone, a browser).",
    responses={200: {"content": {"text/html": {}}}},
    openapi_extra=FOR_PEOPLE,
)
async def verify_form(request: Request) -> Response:
    shown = page_language(request)
    other = "en" if shown == "vi" else "vi"
    return PAGES.response("verify_form.html", shown, switch_url=f"?lang={other}")


@router.post(
    "/verify",
    tags=["verification"],
    response_class=HTMLResponse,
    summary="Check a pasted credential and say the verdict in words (anyone, a browser's "
    "form; programs use POST /v1/verify).",
    responses={200: {"content": {"text/html": {}}}, 422: {"description": "Not a credential."}},
    openapi_extra=FOR_PEOPLE,
)
async def verify_pasted(request: Request, issuing: IssuerDep) -> Response:
    """The same checks and verdict as `POST /v1/verify` with `trusted_only`: only this
    service's own keys and status lists are used, nothing the credential names is fetched."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    pasted = ""
    if kind == "application/x-www-form-urlencoded":
        pasted = (parse_qs(body.decode("utf-8", "replace")).get("credential") or [""])[0]
    try:
        document = json.loads(pasted)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise Problem(
            422,
            "Not a credential",
            "Paste the whole credential: a JSON object as its holder received it.",
            page="pasted",
        )
    report = await issuing.verify(document, trusted_only=True)
    shown = page_language(request)
    switch = "/verify?lang=" + ("en" if shown == "vi" else "vi")
    identifier = document.get("id")
    return verification_page(
        request,
        identifier if isinstance(identifier, str) else "—",
        document,
        report,
        None,
        switch_url=switch,
    )


def _issued_day(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        issued = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return words.day(issued.astimezone(words.PEOPLE_TIME_ZONE).date())


@router.post(
    "/v1/verify",
    tags=["verification"],
    summary="Verify a credential (anyone): schema, every proof, dates, status, issuer.",
)
async def verify(
    issuing: IssuerDep,
    credential: Annotated[dict[str, Any], Body(description="An OB 3.0 or CLR 2.0 credential.")],
    trusted_only: Annotated[bool, Query(description="Fail when the issuer is not pinned.")] = False,
) -> dict[str, Any]:
    """Each check is named with its result (`passed`, `failed`, `unknown`, `skipped`) and the
    credential it concerns (`path`). The `verdict` says it in words and codes, as
    `trail verify` does: `valid` (exit code 0) every check passed; `invalid` (1) a check
    failed; `indeterminate` (2) nothing failed but something could not be checked. Only this
    service's own DID and status lists are known here (nothing a credential names is
    fetched), so another issuer's credential is `indeterminate`, or `invalid` with
    `trusted_only`."""
    report = await issuing.verify(credential, trusted_only)
    return report.to_dict()


@router.get(
    "/v1/status-lists/{list_id}",
    tags=["verification"],
    summary="A revocation status list of the series, a signed Bitstring Status List (anyone).",
)
async def status_list(list_id: str, issuing: IssuerDep) -> JSONResponse:
    """List `list_id` (1, 2, …) of the series, signed afresh and valid for 15 minutes: a
    verifier may cache it by URL until its `validUntil`."""
    found = await issuing.status_list(list_id)
    if found is None:
        raise Problem(
            404,
            "Unknown status list",
            f"No status list {list_id!r}: the lists are numbered 1, 2, … and a new one begins "
            "only when the last is full.",
        )
    return JSONResponse(
        found, media_type=CREDENTIAL_JSON, headers={"Cache-Control": "public, max-age=300"}
    )


@router.get(
    "/.well-known/did.json",
    tags=["verification"],
    summary="The issuer's DID document: every key that signs or signed credentials (anyone).",
)
async def did_document(issuing: IssuerDep) -> JSONResponse:
    return JSONResponse(await issuing.did_document(), media_type="application/did+json")


@router.post(
    "/v1/admin/issuer-keys:rotate",
    tags=["administration"],
    summary="Start signing with a new key; old credentials stay verifiable (department only).",
)
async def rotate_keys(
    _: Annotated[Claims, Depends(require_admin)], issuing: IssuerDep
) -> dict[str, Any]:
    ring = await issuing.rotate()
    return {"verification_method": ring.verification_method(), "keys": len(ring.keys)}
