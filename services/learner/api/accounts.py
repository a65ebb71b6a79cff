"""Accounts and sessions: claim codes from centres, binding by proof, refresh and sign-out,
and the department's view of bindings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services.common.access import require_admin
from services.common.mongo import Document
from services.common.problems import Problem
from services.common.tokens import Claims
from services.learner.accounts import (
    BindingNotFound,
    ClaimCodeRedemption,
    ClaimCodeRequest,
    ClaimRefused,
    IdentityMismatch,
    Undo,
)
from services.learner.api.deps import (
    ProviderCaller,
    ServicesDep,
    SignedIn,
    client_address,
    conflict,
    records_writer,
    signed_in,
    throttle,
)
from services.learner.sessions import SessionRefused, Tokens

router = APIRouter(prefix="/v1", tags=["accounts and sessions"])
Me = Annotated[SignedIn, Depends(signed_in)]


class SessionTokens(BaseModel):
    """A session's tokens. Keep the refresh token secret (it is good once, for the next
    pair); send the access token as `Authorization: Bearer …`, never in a URL."""

    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the scheme's name, no secret
    access_token: str
    expires_in: int = Field(description="Seconds the access token is valid.")
    refresh_token: str
    learner_id: str = Field(description="The learner the access token reads and changes.")


def session_tokens(tokens: Tokens) -> SessionTokens:
    return SessionTokens(
        access_token=tokens.access_token,
        expires_in=tokens.expires_in,
        refresh_token=tokens.refresh_token,
        learner_id=tokens.learner_id,
    )


class IssuedClaimCode(BaseModel):
    claim_code_id: str
    code: str = Field(description="Shown once: print it or read it to the person.")
    expires_at: datetime


class Binding(BaseModel):
    binding_id: str
    account_id: str
    learner_id: str
    method: str
    proven_by: str
    bound_at: datetime
    undone_at: datetime | None = None
    undone_reason: str | None = None


def binding_view(doc: Document) -> Binding:
    return Binding(
        binding_id=doc["_id"],
        account_id=doc["account_id"],
        learner_id=doc["learner_id"],
        method=doc["method"],
        proven_by=doc["proven_by"],
        bound_at=doc["bound_at"],
        undone_at=doc.get("undone_at"),
        undone_reason=doc.get("undone_reason"),
    )


class Account(BaseModel):
    account_id: str
    learner_id: str = Field(description="The learner this account acts for now.")
    own_learner_id: str = Field(description="The learner the account opened with.")
    bound: bool = Field(description="Whether a proof binds it to a learner by national ID.")
    bindings: list[Binding]


class Claimed(BaseModel):
    binding: Binding
    access_token: str = Field(description="A new access token, for the bound learner.")
    expires_in: int
    learner_id: str


class Refresh(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(max_length=512)


@router.post(
    "/claim-codes",
    status_code=201,
    response_model=IssuedClaimCode,
    summary="Issue a one-time claim code for a person whose card the centre checked.",
    responses={409: {"description": "Name or birth date differ from the national ID's."}},
)
async def issue_claim_code(
    request: ClaimCodeRequest,
    centre: Annotated[ProviderCaller, Depends(records_writer)],
    svc: ServicesDep,
) -> IssuedClaimCode:
    """Only after checking the person's citizen identity card in person: the code lets whoever
    holds it bind their account to this national ID. It is shown once here (stored only as a
    keyed hash), works once, and expires (`LT_CLAIM_CODE_HOURS`, 72 h)."""
    try:
        issued = await svc.accounts.issue_code(centre.provider, request)
    except IdentityMismatch as exc:
        raise conflict(
            "The name or birth date differ from those recorded for this national ID; check "
            "the card, or ask the department to review the learner's details."
        ) from exc
    return IssuedClaimCode(
        claim_code_id=issued.claim_code_id, code=issued.code, expires_at=issued.expires_at
    )


@router.post(
    "/account/claims",
    status_code=201,
    response_model=Claimed,
    summary="Redeem a claim code: bind your account to your national ID (your session).",
    responses={
        404: {"description": "No such code."},
        409: {"description": "Used already, or the account is bound to someone else."},
        410: {"description": "Expired."},
        429: {"description": "Too many attempts (per account and per address)."},
    },
)
async def redeem_claim_code(
    redemption: ClaimCodeRedemption, me: Me, svc: ServicesDep, request: Request
) -> Claimed:
    """Attempts are limited per account (`LT_CLAIM_ATTEMPTS_PER_MINUTE`, 5) and per address
    (`LT_CLAIM_ATTEMPTS_PER_ADDRESS_PER_MINUTE`, 30), whatever their outcome."""
    throttle(svc, f"account:{me.account['_id']}", svc.claim_account_limiter)
    throttle(svc, f"ip:{client_address(request)}", svc.claim_address_limiter)
    try:
        binding = await svc.accounts.redeem(me.account, redemption.code)
    except ClaimRefused as exc:
        raise Problem(exc.status, exc.title, str(exc)) from exc
    account = await svc.accounts.store.account(me.account["_id"]) or me.account
    learner_id = await svc.sessions.acting_learner(account)
    return Claimed(
        binding=binding_view(binding),
        access_token=svc.sessions.access_token(learner_id, me.session["_id"]),
        expires_in=svc.sessions.access_seconds,
        learner_id=learner_id,
    )


@router.get("/account", response_model=Account, summary="Your account (your session).")
async def my_account(me: Me, svc: ServicesDep) -> Account:
    bindings = await svc.accounts.bindings(None, me.account["_id"])
    return Account(
        account_id=me.account["_id"],
        learner_id=await svc.sessions.acting_learner(me.account),
        own_learner_id=me.account["own_learner_id"],
        bound=me.account.get("bound_learner_id") is not None,
        bindings=[binding_view(b) for b in bindings],
    )


@router.post(
    "/sessions:refresh",
    response_model=SessionTokens,
    summary="A new access token for a refresh token (anyone holding one; good once).",
    responses={401: {"description": "Unknown, reused (the session ends) or signed out."}},
)
async def refresh(body: Refresh, svc: ServicesDep, request: Request) -> SessionTokens:
    """The refresh token is spent: keep the new one. The same token presented again within
    ``LT_REFRESH_REUSE_SECONDS`` (two requests renewing at once) gets the same answer; later,
    it signs the session out (someone else may hold a copy)."""
    throttle(svc, f"ip:{client_address(request)}")
    try:
        return session_tokens(await svc.sessions.refresh(body.refresh_token))
    except SessionRefused as exc:
        raise Problem(
            401,
            "Unauthorised",
            f"The refresh token was refused: {exc}.",
            headers={"WWW-Authenticate": "Bearer"},
        ) from exc


@router.post("/sessions:sign-out", status_code=204, summary="Sign this session out.")
async def sign_out(me: Me, svc: ServicesDep) -> Response:
    await svc.sessions.sign_out(me.session["_id"])
    return Response(status_code=204)


@router.post(
    "/sessions:sign-out-everywhere",
    status_code=204,
    summary="Sign out every session of your account.",
)
async def sign_out_everywhere(me: Me, svc: ServicesDep) -> Response:
    """Every refresh token of the account stops working at once, and this service refuses
    their access tokens; the trail and inbox services accept an access token until it expires
    (`LT_ACCESS_TOKEN_SECONDS`, 10 minutes)."""
    await svc.sessions.sign_out_everywhere(me.account["_id"], "signed out everywhere")
    return Response(status_code=204)


@router.get(
    "/admin/bindings",
    response_model=list[Binding],
    summary="Bindings of accounts to learners, newest first (the department).",
)
async def list_bindings(
    _: Annotated[Claims, Depends(require_admin)],
    svc: ServicesDep,
    learner_id: Annotated[str | None, Query(max_length=64)] = None,
    account_id: Annotated[str | None, Query(max_length=64)] = None,
) -> list[Binding]:
    return [binding_view(b) for b in await svc.accounts.bindings(learner_id, account_id)]


@router.post(
    "/admin/bindings/{binding_id}/undo",
    status_code=202,
    response_model=Binding,
    summary="Undo a wrong binding (the department): the account is signed out everywhere.",
)
async def undo_binding(
    binding_id: str,
    undo: Undo,
    _: Annotated[Claims, Depends(require_admin)],
    svc: ServicesDep,
) -> Binding:
    try:
        return binding_view(await svc.accounts.undo(binding_id, undo.reason))
    except BindingNotFound as exc:
        raise Problem(404, "Unknown binding", f"No binding {binding_id}.") from exc
