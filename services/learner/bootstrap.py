"""Composition root of the learner service: wires the runtime, store, use cases and routes."""

from __future__ import annotations

from fastapi import FastAPI

from services.common.http import create_app
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.learner.api import Services, admin_router, programmes_router, records_router
from services.learner.programmes import Programmes
from services.learner.store import LearnerStore
from services.learner.submissions import Intake


def build(settings: Settings) -> FastAPI:
    runtime = Runtime(settings)
    store = LearnerStore(runtime.db)
    app = create_app(
        settings=settings,
        title="Learning Trail — learner service",
        description=(
            "Where learning enters the system: training centres submit completions and announce "
            "programmes with their API key; the department registers training centres."
        ),
        lifespan=runtime.lifespan(store.ensure_indexes),
        readiness=runtime.readiness,
    )
    app.state.services = Services(
        store=store,
        intake=Intake(
            store, runtime.broker, settings.identity_hmac_key.get_secret_value().encode()
        ),
        programmes=Programmes(store, runtime.broker),
    )
    for router in (records_router, programmes_router, admin_router):
        app.include_router(router)
    return app
