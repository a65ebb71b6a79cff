"""Composition root of the learner service: wires the runtime, store, use cases and routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import FastAPI

from services.common.http import create_app
from services.common.idempotency import routes
from services.common.portal import install_portal
from services.common.runtime import Runtime
from services.learner.accounts import Accounts
from services.learner.api import ROUTERS
from services.learner.api.deps import Services, install_handlers
from services.learner.oidc import OidcProvider
from services.learner.profiles import Profiles
from services.learner.programmes import Programmes
from services.learner.providers import Providers
from services.learner.ratelimit import RateLimiter
from services.learner.sessions import Sessions
from services.learner.settings import LearnerSettings
from services.learner.store import LearnerStore
from services.learner.submissions import Records
from services.learner.xapi.documents import Documents
from services.learner.xapi.links import Links
from services.learner.xapi.routes import Lrs, XapiVersionHeader
from services.learner.xapi.routes import router as xapi_router
from services.learner.xapi.routes import setup as xapi_setup_router
from services.learner.xapi.statements import Statements
from services.learner.xapi.store import XapiStore

DESCRIPTION = """Where learning enters Learning Trail.

* **Training centres** (API key in `X-API-Key`) submit completions — one, a batch of up to
  1,000, or a CSV file with `trail import` — correct and revoke them, and announce programmes.
* **Learners** open an account (a session: access and refresh tokens; the access token as
  `Authorization: Bearer …`), bind it to their national ID with a centre's claim code, and
  keep their profile.
* **Training centres** also issue claim codes to people whose card they checked.
* **Training centres' e-learning tools** (Moodle, Open edX, …) send xAPI 2.0 statements to
  the Learning Record Store under `/xapi` (HTTP Basic: the centre's id and API key).
* **The department** (admin token) registers training centres, issues and revokes keys,
  decides held records, merges learners, and sees and undoes bindings.

Every error is `application/problem+json` (RFC 9457) and says what to fix.
"""


_log = logging.getLogger("learningtrail.learner")


def _report(task: asyncio.Task[int]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.error("writing the query keys of older xAPI statements failed: %r", task.exception())


def build(settings: LearnerSettings) -> FastAPI:
    runtime = Runtime(settings)
    store = LearnerStore(runtime.db, settings.fault_pause_before_append_seconds)
    xapi_store = XapiStore(runtime.db, store)
    identity_key = settings.identity_hmac_key.get_secret_value().encode()
    relay = runtime.relay(store.outbox)

    background: list[asyncio.Task[int]] = []

    async def on_start() -> None:
        await store.ensure_indexes()
        await xapi_store.ensure_indexes()
        await relay.start()
        # statements stored before the xAPI query keys existed get theirs, once, while the
        # service already serves (about 40 s per 100,000 statements when they have them)
        background.append(asyncio.create_task(xapi_store.key_old_statements()))
        background[-1].add_done_callback(_report)

    async def on_stop() -> None:
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await relay.stop()

    app = create_app(
        settings=settings,
        title="Learning Trail — learner service",
        description=DESCRIPTION,
        lifespan=runtime.lifespan(on_start, on_stop),
        readiness=runtime.readiness,
        metrics=runtime.metrics,
        idempotent=(
            lambda: runtime.db["idempotency"],
            routes(
                ("POST", "/v1/learners"),
                ("POST", "/v1/claim-codes"),
                ("POST", "/v1/programmes"),
                ("POST", "/v1/admin/providers"),
                ("POST", "/v1/admin/providers/{provider_id}/keys"),
                ("POST", "/v1/keys:rotate"),
            ),
        ),
    )
    sessions = Sessions(
        store,
        runtime.log,
        settings.token_secret.get_secret_value(),
        settings.access_token_seconds,
        settings.session_days,
        settings.refresh_reuse_seconds,
    )
    records = Records(store, runtime.log, identity_key)
    app.state.services = Services(
        records=records,
        programmes=Programmes(store, runtime.log),
        providers=Providers(store),
        profiles=Profiles(store, runtime.log, identity_key),
        accounts=Accounts(store, runtime.log, identity_key, sessions, settings.claim_code_hours),
        sessions=sessions,
        limiter=RateLimiter(settings.rate_limit_per_minute),
        claim_account_limiter=RateLimiter(settings.claim_attempts_per_minute),
        claim_address_limiter=RateLimiter(settings.claim_attempts_per_address_per_minute),
    )
    app.state.oidc = (
        OidcProvider(
            settings.oidc_issuer,
            settings.oidc_client_id,
            settings.oidc_client_secret.get_secret_value(),
            settings.oidc_redirect_uri,
            settings.oidc_scopes,
            settings.oidc_national_id_claim,
        )
        if settings.oidc_issuer
        and settings.oidc_client_id
        and settings.oidc_client_secret
        and settings.oidc_redirect_uri
        else None
    )
    app.state.lrs = Lrs(
        Statements(xapi_store, runtime.log, records),
        Documents(xapi_store),
        Links(xapi_store, identity_key),
    )
    app.add_middleware(XapiVersionHeader)
    install_handlers(app)
    app.state.portal_sessions = sessions
    install_portal(app)
    for router in (*ROUTERS, xapi_setup_router, xapi_router):
        app.include_router(router)
    return app
