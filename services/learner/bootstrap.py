"""Composition root of the learner service: wires the runtime, store, use cases and routes."""

from __future__ import annotations

from fastapi import FastAPI

from services.common.http import create_app
from services.common.idempotency import routes
from services.common.portal import install_portal
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.learner.accounts import Accounts
from services.learner.api import ROUTERS
from services.learner.api.deps import Services, install_handlers
from services.learner.oidc import OidcProvider
from services.learner.profiles import Profiles
from services.learner.programmes import Programmes
from services.learner.providers import Providers
from services.learner.ratelimit import RateLimiter
from services.learner.sessions import Sessions
from services.learner.store import LearnerStore
from services.learner.submissions import Records

DESCRIPTION = """Where learning enters Learning Trail.

* **Training centres** (API key in `X-API-Key`) submit completions — one, a batch of up to
  1,000, or a CSV file with `trail import` — correct and revoke them, and announce programmes.
* **Learners** open an account (a session: access and refresh tokens; the access token as
  `Authorization: Bearer …`), bind it to their national ID with a centre's claim code, and
  keep their profile.
* **Training centres** also issue claim codes to people whose card they checked.
* **The department** (admin token) registers training centres, issues and revokes keys,
  decides held records, merges learners, and sees and undoes bindings.

Every error is `application/problem+json` (RFC 9457) and says what to fix.
"""


def build(settings: Settings) -> FastAPI:
    runtime = Runtime(settings)
    store = LearnerStore(runtime.db, settings.fault_pause_before_append_seconds)
    identity_key = settings.identity_hmac_key.get_secret_value().encode()
    relay = runtime.relay(store.outbox)

    async def on_start() -> None:
        await store.ensure_indexes()
        await relay.start()

    app = create_app(
        settings=settings,
        title="Learning Trail — learner service",
        description=DESCRIPTION,
        lifespan=runtime.lifespan(on_start, relay.stop),
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
    )
    app.state.services = Services(
        records=Records(store, runtime.log, identity_key),
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
    install_handlers(app)
    app.state.portal_sessions = sessions
    install_portal(app)
    for router in ROUTERS:
        app.include_router(router)
    return app
