"""What the routes share: the wired use cases, who the caller is, rate limits, problems."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request, Response
from fastapi.security import APIKeyHeader

from services.common.access import caller, must_be_learner_or_admin
from services.common.mongo import Document
from services.common.outbox import AppendFailed
from services.common.problems import Problem, problem_response
from services.common.tokens import Claims
from services.learner.accounts import Accounts
from services.learner.intake import FieldError
from services.learner.profiles import Profiles
from services.learner.programmes import Programmes
from services.learner.providers import Providers, Scope
from services.learner.ratelimit import RateLimiter
from services.learner.sessions import SessionRefused, Sessions
from services.learner.store import RevisionMoved
from services.learner.submissions import Records

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="A training centre's API key."
)


@dataclass(frozen=True)
class Services:
    """The use cases the routes call, wired by the composition root."""

    records: Records
    programmes: Programmes
    providers: Providers
    profiles: Profiles
    accounts: Accounts
    sessions: Sessions
    limiter: RateLimiter
    # claim-code redemptions: a few a minute per account, more per address
    claim_account_limiter: RateLimiter
    claim_address_limiter: RateLimiter


async def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


@dataclass(frozen=True)
class ProviderCaller:
    """An authenticated training centre and the key it used."""

    provider: Document
    key: Document


def throttle(svc: Services, caller: str, limiter: RateLimiter | None = None) -> None:
    """Refuse with 429 and Retry-After when the caller is over its rate limit."""
    limiter = svc.limiter if limiter is None else limiter  # an empty limiter is falsy
    wait = limiter.check(caller, time.monotonic())
    if wait is not None:
        raise Problem(
            429,
            "Too many requests",
            f"This caller is limited to {limiter.per_minute} requests a minute; "
            f"retry after {wait} s.",
            headers={"Retry-After": str(wait)},
        )


def client_address(request: Request) -> str:
    """The caller's address as the deployment vouches for it (see ``LT_TRUSTED_PROXIES``)."""
    return request.client.host if request.client else "unknown"


@dataclass(frozen=True)
class SignedIn:
    """A learner's live sign-in session, and the account it belongs to."""

    claims: Claims
    session: Document
    account: Document


async def signed_in(who: Annotated[Claims, Depends(caller)], svc: ServicesDep) -> SignedIn:
    """The caller's own sign-in session: an access token whose session is still live."""
    if who.role != "learner" or who.session is None:
        raise Problem(
            403,
            "Forbidden",
            "Only a learner's own sign-in session may do this: send the access token that "
            "registration or a refresh gave (not the admin token, nor a token from "
            "'trail token').",
        )
    try:
        session = await svc.sessions.live_session(who.session)
    except SessionRefused as exc:
        raise Problem(
            401,
            "Unauthorised",
            f"The access token's session cannot be used: {exc}.",
            headers={"WWW-Authenticate": "Bearer"},
        ) from exc
    account = await svc.accounts.store.account(session["account_id"])
    if account is None:  # pragma: no cover - sessions are made for existing accounts
        raise Problem(401, "Unauthorised", "The session's account is gone.")
    return SignedIn(who, session, account)


async def _provider(key: str | None, svc: Services, scope: Scope | None) -> ProviderCaller:
    if not key:
        raise Problem(
            401,
            "Unauthorised",
            "Send the training centre's API key in the X-API-Key header.",
            headers={"WWW-Authenticate": "ApiKey"},
        )
    found = await svc.providers.authenticate(key)
    if found is None:
        raise Problem(
            401,
            "Unauthorised",
            "The API key is unknown, revoked, or its training centre is inactive; ask the "
            "department for a new key.",
            headers={"WWW-Authenticate": "ApiKey"},
        )
    provider, key_doc = found
    throttle(svc, f"provider:{provider['_id']}")  # not the key: rotating it keeps the bucket
    if scope is not None and scope not in key_doc["scopes"]:
        raise Problem(403, "Forbidden", f"This API key lacks the '{scope}' scope.")
    return ProviderCaller(provider, key_doc)


async def records_writer(
    key: Annotated[str | None, Depends(api_key_header)], svc: ServicesDep
) -> ProviderCaller:
    return await _provider(key, svc, "records:write")


async def programmes_writer(
    key: Annotated[str | None, Depends(api_key_header)], svc: ServicesDep
) -> ProviderCaller:
    return await _provider(key, svc, "programmes:write")


async def any_provider(
    key: Annotated[str | None, Depends(api_key_header)], svc: ServicesDep
) -> ProviderCaller:
    return await _provider(key, svc, None)


def rejected(errors: list[FieldError], what: str) -> Problem:
    summary = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return Problem(
        422,
        f"{what} rejected",
        f"Fix these fields and resubmit: {summary}",
        type_="https://learningtrail.vn/problems/validation",
        errors=[{"field": e.field, "message": e.message} for e in errors],
    )


def unavailable(exc: AppendFailed) -> Problem:
    return Problem(
        503,
        "Service unavailable",
        "The event log did not confirm the write in time. Anything already stored is kept and "
        "reaches the log through the outbox relay once it is back, without a retry; retrying "
        "the same request is safe and returns the same record.",
        headers={"Retry-After": "5"},
    )


def expected_revision(if_match: str | None) -> int | None:
    """The revision an ``If-Match`` header names (``"3"``, ``3`` or ``W/"3"``), if any."""
    if if_match is None or if_match.strip() == "*":
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise Problem(
            400,
            "Bad If-Match",
            f'If-Match must name a revision as the ETag gave it, e.g. "3"; got {if_match!r}.',
        )
    return int(text)


def moved(exc: RevisionMoved) -> Problem:
    """409 with the current revision: read again, apply your change to it, send it again."""
    return Problem(
        409,
        "Changed meanwhile",
        f"It changed since you read it (now revision {exc.current}); read it again and send "
        "your change with If-Match set to the new ETag.",
        headers={"ETag": f'"{exc.current}"'},
        current_revision=exc.current,
    )


def install_handlers(app: FastAPI) -> None:
    """The learner service's domain errors as problems, once for every route: Kafka did not
    confirm (503, nothing said that is untrue), the document changed meanwhile (409)."""

    async def append_failed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AppendFailed)
        return problem_response(unavailable(exc), request.url.path)

    async def revision_moved(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RevisionMoved)
        return problem_response(moved(exc), request.url.path)

    app.add_exception_handler(AppendFailed, append_failed)
    app.add_exception_handler(RevisionMoved, revision_moved)


def not_found(what: str, ident: str) -> Problem:
    return Problem(404, f"Unknown {what}", f"No {what} {ident} belongs to this caller.")


def conflict(detail: str) -> Problem:
    return Problem(409, "Conflict", detail)


async def profile_reader(
    learner_id: str, who: Annotated[Claims, Depends(caller)], svc: ServicesDep
) -> Claims:
    """The learner named in the path, or the department; an access token of a session that
    was signed out is refused here at once (the other services wait for it to expire)."""
    must_be_learner_or_admin(learner_id, who)
    if who.session is not None:
        try:
            await svc.sessions.live_session(who.session)
        except SessionRefused as exc:
            raise Problem(
                401,
                "Unauthorised",
                f"The access token's session cannot be used: {exc}.",
                headers={"WWW-Authenticate": "Bearer"},
            ) from exc
    return who
