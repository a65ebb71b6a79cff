"""Composition root of the notify service."""

from __future__ import annotations

from fastapi import FastAPI

from contracts import learners, programmes
from services.common.http import create_app
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.notify.api import router
from services.notify.inbox import InboxProjection
from services.notify.store import NotifyStore

TOPICS = (learners.TOPIC, programmes.TOPIC)


def build(settings: Settings) -> FastAPI:
    runtime = Runtime(settings)
    store = NotifyStore(runtime.db)
    runtime.consume(TOPICS, InboxProjection(store).handle)
    app = create_app(
        settings=settings,
        title="Learning Trail — notify service",
        description="Tells learners about programmes that fit them.",
        lifespan=runtime.lifespan(store.ensure_indexes),
        readiness=runtime.readiness,
    )
    app.state.store = store
    app.include_router(router)
    return app
