"""Composition root of the credential service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from contracts import accounts, learners, prior_learning, records
from services.common.http import create_app
from services.common.idempotency import routes
from services.common.portal import install_portal
from services.common.runtime import Runtime
from services.common.signouts import SignedOutSessions
from services.credential.api import router
from services.credential.importing import PriorLearningImporter
from services.credential.issuing import Issuer
from services.credential.portal import router as portal_router
from services.credential.projection import TrailProjection
from services.credential.recognition import load_rules
from services.credential.settings import CredentialSettings
from services.credential.store import CredentialStore, ShareStore
from services.credential.vc.contexts import ensure_assets, runtime_loader
from services.credential.vc.credentials import Address
from services.credential.vc.schemas import runtime_schemas

# accounts.v1 only for the sessions that ended early (services/common/signouts.py)
TOPICS = (learners.TOPIC, records.TOPIC, prior_learning.TOPIC, accounts.TOPIC)

DESCRIPTION = """Each learner's connected trail, and credentials anyone can verify.

* **Learners** (their token) and **the department** (admin token) read a trail as JSON or as a
  printable page (`?format=html&lang=vi|en`), and issue a signed CLR 2.0 credential.
* **Anyone** verifies a credential (`POST /v1/verify`), reads the issuer's DID document
  (`/.well-known/did.json`) and the revocation status list.
"""


def build(settings: CredentialSettings) -> FastAPI:
    if settings.key_encryption_key is None:
        raise SystemExit(
            "LT_KEY_ENCRYPTION_KEY is not set: the credential service needs it to keep the "
            "issuer's signing keys encrypted at rest."
        )
    cache = ensure_assets(Path(settings.jsonld_cache_dir) if settings.jsonld_cache_dir else None)
    runtime = Runtime(settings)
    store = CredentialStore(runtime.db, settings.fault_pause_before_append_seconds)
    issuer = Issuer(
        store,
        runtime.log,
        runtime_loader(cache),
        runtime_schemas(cache),
        settings.public_base_url,
        settings.issuer_name,
        settings.key_encryption_key.get_secret_value(),
        official=settings.issuer_official,
        address=Address(region=settings.issuer_region, street=settings.issuer_street_address),
        parent_org=settings.issuer_parent_org,
    )
    projection = TrailProjection(store, runtime.log, load_rules(), issuer)
    signouts = SignedOutSessions(runtime.db)
    runtime.consume(TOPICS, signouts.around(projection.handle))
    relay = runtime.relay(store.outbox)

    shares = ShareStore(runtime.db)

    async def on_start() -> None:
        await store.ensure_indexes()
        await shares.ensure_indexes()
        await relay.start()

    app = create_app(
        settings=settings,
        title="Learning Trail — credential service",
        description=DESCRIPTION,
        lifespan=runtime.lifespan(on_start, relay.stop),
        readiness=runtime.readiness,
        metrics=runtime.metrics,
        idempotent=(
            lambda: runtime.db["idempotency"],
            routes(
                ("POST", "/v1/learners/{learner_id}/credentials"),
                ("POST", "/v1/admin/issuer-keys:rotate"),
                ("POST", "/v1/recognitions:import"),
            ),
        ),
    )
    app.state.store = store
    app.state.issuer = issuer
    app.state.importer = PriorLearningImporter(store, runtime.log, issuer)
    app.state.signouts = signouts
    app.state.shares = shares
    install_portal(app)
    app.include_router(router)
    app.include_router(portal_router)
    return app
