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
from contracts.dates import day_in_vietnam
from contracts.vocabulary import Pathway
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
from services.credential.frameworks import framework_document
from services.credential.importing import ImportRefused, PriorLearningImporter
from services.credential.issuing import CredentialSchemaError, Issuer, IssuingError
from services.credential.store import CredentialStore
from services.credential.summary_page import PAGES, render_trail
from services.credential.trail import Trail, build_trail
from services.credential.vc.keys import trust_list_from_did_document
from services.credential.vc.multibase import is_ed25519_public_multikey
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
    await issuing.note_verified(doc, report)
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
async def verify_pasted(request: Request, trails: Store, issuing: IssuerDep) -> Response:
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
    await _note_if_ours(trails, issuing, document, report)
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
    return words.day(day_in_vietnam(issued))


@router.post(
    "/v1/verify",
    tags=["verification"],
    summary="Verify a credential (anyone): schema, every proof, dates, status, issuer.",
)
async def verify(
    trails: Store,
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
    await _note_if_ours(trails, issuing, credential, report)
    return report.to_dict()


async def _note_if_ours(
    trails: CredentialStore, issuing: Issuer, document: dict[str, Any], report: VerificationReport
) -> None:
    """A check of a credential this service issued is counted (once a day); another's is not."""
    identifier = document.get("id")
    if isinstance(identifier, str) and identifier:
        issued = await trails.credential(identifier)
        if issued is not None:
            await issuing.note_verified(issued, report)


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
    "/v1/frameworks/{framework}",
    tags=["verification"],
    summary="A qualification framework credentials align levels to: vqf, aqrf, general (anyone).",
    responses={404: {"description": "Unknown framework."}},
)
async def get_framework(framework: str, issuing: IssuerDep) -> dict[str, Any]:
    """The `targetUrl` of a credential's level alignment: the framework's names, the source
    of its levels and of the VQF→AQRF mapping, and each level (`#level-<code>`)."""
    found = issuing.frameworks.by_key(framework)
    if found is None:
        raise Problem(
            404,
            "Unknown framework",
            f"No framework {framework!r}: the frameworks are 'vqf' (Vietnamese Qualifications "
            "Framework), 'aqrf' (ASEAN Qualifications Reference Framework) and 'general' "
            "(general-education levels).",
        )
    return framework_document(issuing.frameworks, found)


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


# other issuers' CLRs: the department's trust list, and importing prior learning


async def importer(request: Request) -> PriorLearningImporter:
    found: PriorLearningImporter = request.app.state.importer
    return found


class TrustedIssuer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=300, description="The issuer's name, for people.")
    did_document: dict[str, Any] = Field(
        description="The issuer's DID document as the department obtained it from the issuer "
        "(its `id` is the issuer's DID; its `assertionMethod` Multikeys are the keys trusted)."
    )


@router.put(
    "/v1/admin/trusted-issuers",
    tags=["administration"],
    summary="Add another issuer (a school, another department) to the trust list, or replace "
    "its keys (department only).",
)
async def put_trusted_issuer(
    _: Annotated[Claims, Depends(require_admin)],
    body: TrustedIssuer,
    trails: Store,
    issuing: IssuerDep,
) -> dict[str, Any]:
    """The keys are pinned as given: this service never fetches a DID document. Their CLRs
    then verify here (`POST /v1/verify`) and can be imported (`POST /v1/recognitions:import`)."""
    did = body.did_document.get("id")
    if not isinstance(did, str) or not did.startswith("did:"):
        raise Problem(422, "Not a DID document", "The DID document needs an 'id' that is a DID.")
    if did == issuing.did:
        raise Problem(409, "This issuer", "This department's own keys are always trusted.")
    keys = trust_list_from_did_document(body.did_document)[did]
    broken = [k for k in keys if not is_ed25519_public_multikey(k)]
    if broken:
        raise Problem(
            422,
            "Not Ed25519 keys",
            f"These assertion keys are not Ed25519 Multikeys (z6Mk…), the only kind "
            f"eddsa-rdfc-2022 proofs use: {', '.join(k[:60] for k in broken[:5])}",
        )
    if not keys:
        raise Problem(
            422,
            "No keys",
            "The DID document lists no Multikey verification method under assertionMethod: "
            "nothing it signs could be verified.",
        )
    await trails.put_trusted_issuer(
        {
            "_id": did,
            "name": body.name,
            "did_document": body.did_document,
            "added_at": datetime.now(UTC),
        }
    )
    return {"issuer": did, "name": body.name, "keys": list(keys)}


@router.get(
    "/v1/admin/trusted-issuers",
    tags=["administration"],
    summary="The other issuers on the trust list (department only).",
)
async def list_trusted_issuers(
    _: Annotated[Claims, Depends(require_admin)], trails: Store
) -> dict[str, Any]:
    return {
        "issuers": [
            {
                "issuer": d["_id"],
                "name": d["name"],
                "keys": list(trust_list_from_did_document(d["did_document"])[d["_id"]]),
                "added_at": d["added_at"].isoformat(),
            }
            for d in await trails.trusted_issuers()
        ]
    }


@router.delete(
    "/v1/admin/trusted-issuers/{issuer_id}",
    tags=["administration"],
    status_code=204,
    summary="Take an issuer off the trust list (department only).",
    responses={404: {"description": "Not on the trust list."}},
)
async def delete_trusted_issuer(
    issuer_id: str, _: Annotated[Claims, Depends(require_admin)], trails: Store
) -> Response:
    """Its CLRs no longer verify as trusted; what was imported before stays on the trails."""
    if not await trails.remove_trusted_issuer(issuer_id):
        raise Problem(404, "Not trusted", f"{issuer_id} is not on the trust list.")
    return Response(status_code=204)


class ImportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    learner_id: str = Field(
        min_length=1, max_length=100, description="The learner in this system the CLR is for."
    )
    pathway: Pathway = Field(
        description="The pathway the learning was done in, as the department judges it (the "
        "recognition rules take their source pathways from it)."
    )
    credential: dict[str, Any] = Field(description="The CLR 2.0 ClrCredential, as issued.")
    status_lists: list[dict[str, Any]] = Field(
        default_factory=list,
        max_length=20,
        description="The signed status list credentials the CLR names (this service fetches "
        "nothing): each checked like the CLR, by its issuer's keys and its validUntil.",
    )


@router.post(
    "/v1/recognitions:import",
    status_code=202,
    tags=["credentials"],
    summary="Import a CLR issued elsewhere as a learner's prior learning (department only).",
    responses={
        202: {"description": "Verified and on the log; on the trail a moment later."},
        404: {"description": "Unknown learner."},
        409: {"description": "The CLR was issued here, or the learner was merged."},
        422: {"description": "Not verified (the failed checks are listed), or not the learner's."},
        503: {"description": "The event log is unavailable; retry after Retry-After."},
    },
)
async def import_recognition(
    who: Annotated[Claims, Depends(require_admin)],
    body: ImportRequest,
    importing: Annotated[PriorLearningImporter, Depends(importer)],
) -> dict[str, Any]:
    """The CLR is verified as `POST /v1/verify` does, with the issuer required to be on the
    trust list and every check passed; its learner identity must match the learner's
    registered name. Its achievements' structured data (course code, credits, hours, grade,
    level) become trail entries and go through the recognition rules (liên thông): the
    `recognition.granted` events name the imported record ids."""
    try:
        event = await importing.import_clr(
            body.learner_id, body.pathway, body.credential, body.status_lists, who.subject
        )
    except ImportRefused as refused:
        extensions: dict[str, Any] = {}
        if refused.checks is not None:
            extensions = {"checks": refused.checks, "verdict": refused.verdict}
        raise Problem(
            refused.status,
            refused.title,
            refused.detail,
            headers=refused.headers,
            **extensions,
        ) from refused
    return {
        "import_id": event.import_id,
        "learner_id": event.learner_id,
        "credential_id": event.credential_id,
        "issuer": event.issuer_id,
        "records": [
            a.model_dump(mode="json", exclude_none=True, exclude={"pathway"})
            for a in event.achievements
        ],
    }
