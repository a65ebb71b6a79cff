"""Sign-in with the national e-ID (OpenID Connect): start, add to an account, come back."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Cookie, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError

from services.common.mongo import Document
from services.common.pages import FOR_PEOPLE, prefers_html
from services.common.portal import Portal, see_other
from services.common.problems import Problem
from services.learner.accounts import ClaimRefused
from services.learner.api.accounts import Binding, SessionTokens, binding_view, session_tokens
from services.learner.api.deps import ServicesDep, SignedIn, client_address, signed_in, throttle
from services.learner.api.portal import start_browser_session
from services.learner.identity import is_national_id
from services.learner.intake import LearnerIdentity
from services.learner.oidc import (
    FLOW_SECONDS,
    OidcProvider,
    OidcRefused,
    ProviderUnavailable,
    browser_hash,
    key_id,
    new_flow,
    verify_id_token,
)

router = APIRouter(prefix="/v1", tags=["sign-in with the national e-ID"])
COOKIE = "lt_oidc_flow"
COOKIE_PATH = "/v1/sign-in/oidc"


class AuthorizationUrl(BaseModel):
    authorization_url: str


class SignedInWithOidc(BaseModel):
    account_id: str
    binding: Binding
    session: SessionTokens


def _provider(request: Request) -> OidcProvider:
    provider: OidcProvider | None = request.app.state.oidc
    if provider is None:
        raise Problem(
            404,
            "Not configured",
            "Sign-in with the national e-ID is not configured on this service (LT_OIDC_ISSUER).",
        )
    return provider


Provider = Annotated[OidcProvider, Depends(_provider)]


# where a browser whose sign-in failed starts again (this service's portal)
SIGN_IN_PAGE = "/portal"


def _again(title: str, detail: str) -> Problem:
    """A sign-in that cannot be completed (unknown, used, expired, another browser's): a
    person is told to start again; nothing was signed in."""
    return Problem(400, title, detail, page="sign_in_again", retry=SIGN_IN_PAGE)


def _refused(title: str, detail: str) -> Problem:
    """The provider's answer or ID token cannot be trusted: a person is told the sign-in
    failed and nothing was saved."""
    return Problem(401, title, detail, page="sign_in_refused", retry=SIGN_IN_PAGE)


def _unavailable(exc: ProviderUnavailable) -> Problem:
    return Problem(
        503, "Provider unavailable", f"Try again in a moment: {exc}.", headers={"Retry-After": "5"}
    )


async def _start(
    provider: OidcProvider, svc: ServicesDep, response: Response, account_id: str | None
) -> str:
    flow = new_flow()
    now = datetime.now(UTC)
    try:
        url = await provider.authorization_url(flow)
    except ProviderUnavailable as exc:
        raise _unavailable(exc) from exc
    doc: Document = {
        "_id": flow.state,
        "nonce": flow.nonce,
        "code_verifier": flow.code_verifier,
        "browser_hash": browser_hash(flow.browser_secret),
        "account_id": account_id,
        "created_at": now,
        "expires_at": now + timedelta(seconds=FLOW_SECONDS),
    }
    await svc.accounts.store.add_oidc_flow(doc)
    response.set_cookie(
        COOKIE,
        flow.browser_secret,
        max_age=FLOW_SECONDS,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=provider.redirect_uri.startswith("https://"),
    )
    return url


@router.get(
    "/sign-in/oidc",
    status_code=302,
    summary="Sign in with the national e-ID: to the provider (anyone).",
    response_class=RedirectResponse,
)
async def start_sign_in(provider: Provider, svc: ServicesDep, request: Request) -> Response:
    """Sends the browser to the provider; it comes back to the callback below."""
    throttle(svc, f"ip:{client_address(request)}")
    redirect = RedirectResponse("/", status_code=302)
    redirect.headers["Location"] = await _start(provider, svc, redirect, None)
    redirect.headers["Cache-Control"] = "no-store"
    return redirect


@router.post(
    "/account/oidc",
    response_model=AuthorizationUrl,
    summary="Add the national e-ID to your account: where to send the browser (your session).",
)
async def add_oidc(
    me: Annotated[SignedIn, Depends(signed_in)],
    provider: Provider,
    svc: ServicesDep,
    response: Response,
) -> AuthorizationUrl:
    url = await _start(provider, svc, response, me.account["_id"])
    return AuthorizationUrl(authorization_url=url)


@router.get(
    "/sign-in/oidc/callback",
    response_model=SignedInWithOidc,
    summary="Where the provider sends the browser back (the browser that started).",
    responses={
        400: {"description": "Unknown, used or expired sign-in, or another browser's."},
        401: {"description": "The provider's answer or ID token was refused."},
        409: {"description": "The account acts for another learner."},
        303: {"description": "A browser: to the portal, signed in (session cookies)."},
    },
    openapi_extra=FOR_PEOPLE,
)
async def callback(
    provider: Provider,
    svc: ServicesDep,
    request: Request,
    state: Annotated[str, Query(max_length=128)],
    code: Annotated[str | None, Query(max_length=2048)] = None,
    iss: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=128)] = None,
    flow_cookie: Annotated[str | None, Cookie(alias=COOKIE)] = None,
) -> SignedInWithOidc | Response:
    """Checks the answer and the ID token, binds the national ID it asserts and starts a
    session. A browser (`Accept: text/html`) is sent on to the portal with the session in
    `HttpOnly` cookies; a program gets the tokens as JSON. Errors are pages for a browser."""
    throttle(svc, f"ip:{client_address(request)}")
    store = svc.accounts.store
    flow = await store.oidc_flow(state)
    now = datetime.now(UTC)
    if flow is None:
        raise _again("Unknown sign-in", "No sign-in was started with this state.")
    if flow_cookie is None or not hmac.compare_digest(
        browser_hash(flow_cookie), flow["browser_hash"]
    ):
        raise _again(
            "Another browser's sign-in",
            "This sign-in was started in another browser (or its cookie is gone); start again.",
        )
    if not await store.use_oidc_flow(state, now):
        raise _again("Sign-in used", "This sign-in was completed already; start again.")
    if flow["expires_at"] <= now:
        raise _again("Sign-in expired", "This sign-in took too long; start again.")
    if error is not None:
        raise _refused("Refused by the provider", f"The provider answered '{error}'.")
    if iss is not None and iss.rstrip("/") != provider.issuer:
        raise _refused("Another provider", "The answer names another issuer (RFC 9207).")
    if code is None:
        raise _again("No code", "The provider's answer holds no authorization code.")
    try:
        id_token = await provider.id_token_for(code, flow["code_verifier"])
        claims = verify_id_token(
            id_token,
            await provider.keys(key_id(id_token)),
            issuer=provider.issuer,
            client_id=provider.client_id,
            nonce=flow["nonce"],
        )
    except ProviderUnavailable as exc:
        raise _unavailable(exc) from exc
    except OidcRefused as exc:
        raise _refused("Sign-in refused", f"{exc}.") from exc
    national_id = str(claims.get(provider.national_id_claim, ""))
    if not is_national_id(national_id):
        raise _refused("No national ID", "The provider asserted no national ID.")
    try:
        identity = LearnerIdentity.model_validate(
            {
                "national_id": national_id,
                "full_name": claims.get("name"),
                "birth_date": claims.get("birthdate"),
            }
        )
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][0]) for e in exc.errors())
        raise _refused(
            "Unusable identity", f"The provider's name or birth date are unusable: {fields}."
        ) from exc
    account = None
    if flow.get("account_id"):
        account = await store.account(flow["account_id"])
    try:
        account, binding = await svc.accounts.sign_in_oidc(identity, provider.issuer, account)
    except ClaimRefused as exc:
        raise Problem(exc.status, exc.title, str(exc)) from exc
    tokens = await svc.sessions.start(account)
    if prefers_html(request):
        portal = Portal.of(request.app.state.settings)
        signed_in_page = see_other(portal.home())
        start_browser_session(request, signed_in_page, tokens)
        signed_in_page.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax")
        return signed_in_page
    return SignedInWithOidc(
        account_id=account["_id"], binding=binding_view(binding), session=session_tokens(tokens)
    )
