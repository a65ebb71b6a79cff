"""The credential service's HTTP API: trails, credentials, verification, issuer keys."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field

from services.common.access import (
    app_settings,
    bearer,
    claims_for,
    learner_or_admin,
    must_be_learner_or_admin,
    require_admin,
)
from services.common.problems import Problem
from services.common.settings import Settings
from services.common.tokens import Claims
from services.credential.issuing import Issuer, IssuingError
from services.credential.store import CredentialStore
from services.credential.summary_page import render_trail
from services.credential.trail import Trail, build_trail

router = APIRouter(tags=["trail"])
CREDENTIAL_JSON = "application/vc+ld+json"


def store(request: Request) -> CredentialStore:
    found: CredentialStore = request.app.state.store
    return found


def issuer(request: Request) -> Issuer:
    found: Issuer = request.app.state.issuer
    return found


Store = Annotated[CredentialStore, Depends(store)]
IssuerDep = Annotated[Issuer, Depends(issuer)]


async def trail_of(trails: CredentialStore, learner_id: str) -> Trail:
    learner = await trails.learner(learner_id)
    if learner is not None and learner.get("merged_into"):
        raise Problem(
            404,
            "Learner merged",
            "This learner record was merged into another by the department; the trail now "
            "lives under the surviving learner.",
        )
    entries = (await trails.entries_of([learner_id]))[learner_id]
    if learner is None and not entries:
        raise Problem(
            404,
            "Unknown learner",
            f"No learning has been recorded for learner {learner_id} yet. Records appear here "
            "a moment after a training centre's submission is accepted.",
        )
    recognitions = (await trails.recognitions_of([learner_id]))[learner_id]
    name = learner.get("full_name") if learner else None
    return build_trail(learner_id, name, entries, recognitions)


def reader(
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
    return must_be_learner_or_admin(learner_id, claims_for(credentials.credentials, settings))


@router.get(
    "/v1/learners/{learner_id}/trail",
    response_model=Trail,
    summary="A learner's trail: JSON, or a printable page (the learner, or the department).",
    responses={
        200: {"content": {"text/html": {}}, "description": "JSON, or HTML with ?format=html."},
        401: {"description": "No or invalid token."},
        403: {"description": "A learner token for someone else."},
        404: {"description": "Nothing is known about this learner yet."},
    },
)
async def get_trail(
    learner_id: str,
    request: Request,
    _: Annotated[Claims, Depends(reader)],
    trails: Store,
    issuing: IssuerDep,
    format: Annotated[Literal["json", "html"] | None, Query()] = None,
    lang: Annotated[Literal["vi", "en"], Query()] = "vi",
) -> Any:
    """Every piece of learning recorded for the learner, grouped by pathway, with totals and
    the recognitions it earned. `?format=html` (or `Accept: text/html`) gives the printable
    page, in Vietnamese or with `lang=en` in English, with a QR code to verify the learner's
    latest credential."""
    trail = await trail_of(trails, learner_id)
    wants_html = format == "html" or (
        format is None and "text/html" in request.headers.get("accept", "")
    )
    if not wants_html:
        return trail
    latest = await trails.latest_credential(learner_id)
    verify_url = issuing.verification_url(latest["_id"]) if latest else None
    page = render_trail(trail, lang, verify_url, datetime.now(UTC))
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


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
    summary="Verify an issued credential by its id (anyone).",
)
async def verify_by_id(credential_id: str, trails: Store, issuing: IssuerDep) -> dict[str, Any]:
    doc = await trails.credential(credential_id)
    if doc is None:
        raise Problem(404, "Unknown credential", f"No credential {credential_id}.")
    report = await issuing.verify(doc["document"], trusted_only=True)
    return {"credential_id": credential_id, **report.to_dict()}


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
    credential it concerns (`path`); `status` is `valid`, `invalid` or `indeterminate`. An
    issuer outside the trust list is reported, and fails only with `trusted_only`."""
    report = await issuing.verify(credential, trusted_only)
    return report.to_dict()


@router.get(
    "/v1/status-lists/{list_id}",
    tags=["verification"],
    summary="The revocation status list, a signed Bitstring Status List credential (anyone).",
)
async def status_list(list_id: str, issuing: IssuerDep) -> JSONResponse:
    if f"/v1/status-lists/{list_id}" not in issuing.status_list_url:
        raise Problem(404, "Unknown status list", f"No status list {list_id}.")
    return JSONResponse(await issuing.status_list(), media_type=CREDENTIAL_JSON)


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
