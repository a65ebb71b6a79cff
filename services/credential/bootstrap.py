"""Composition root of the credential service."""

from __future__ import annotations

from fastapi import FastAPI

from contracts import learners, records
from services.common.http import create_app
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.credential.api import router
from services.credential.projection import TrailProjection
from services.credential.recognition import load_rules
from services.credential.store import CredentialStore

TOPICS = (learners.TOPIC, records.TOPIC)


def build(settings: Settings) -> FastAPI:
    runtime = Runtime(settings)
    store = CredentialStore(runtime.db)
    projection = TrailProjection(store, runtime.broker, load_rules())
    runtime.consume(TOPICS, projection.handle)
    app = create_app(
        settings=settings,
        title="Learning Trail — credential service",
        description="Each learner's connected trail of learning, built from the event log.",
        lifespan=runtime.lifespan(store.ensure_indexes),
        readiness=runtime.readiness,
    )
    app.state.store = store
    app.include_router(router)
    return app
