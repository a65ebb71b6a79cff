"""Composition root of the notify service."""

from __future__ import annotations

import functools

from fastapi import FastAPI
from pydantic import BaseModel

from contracts import accounts, credentials, insights, learners, programmes, records
from contracts.envelope import Envelope
from services.common.http import create_app
from services.common.portal import install_portal
from services.common.runtime import Runtime
from services.common.signouts import SignedOutSessions
from services.notify.api import router
from services.notify.isolation import Isolation
from services.notify.matchmaker import Matchmaker
from services.notify.outbox import PENDING, SENDING
from services.notify.portal import router as portal_router
from services.notify.preferences import CHANNELS
from services.notify.projection import NotifyProjection
from services.notify.report_notices import ReportNotices
from services.notify.settings import NotifySettings
from services.notify.store import NotifyStore
from services.notify.worker import DeliveryWorkers

# accounts.v1 only for the sessions that ended early (services/common/signouts.py); insights.v1
# for the officers who asked to be told of periodic reports (services/notify/report_notices.py)
TOPICS = (
    learners.TOPIC,
    programmes.TOPIC,
    credentials.TOPIC,
    records.TOPIC,
    accounts.TOPIC,
    insights.TOPIC,
)


INSIGHTS_EVENTS = "vn.learningtrail.insights."


def build(settings: NotifySettings) -> FastAPI:
    notify = settings.delivery
    runtime = Runtime(settings)
    store = NotifyStore(runtime.db, settings.fault_pause_before_append_seconds)
    relay = runtime.relay(store.outbox)
    isolation = Isolation(
        runtime.metrics.counter(
            "learningtrail_notify_isolated_failures",
            "Decisions about one learner (matching, scheduling, delivery) that failed on that "
            "learner's own data and were left out alone, by stage.",
            ("stage",),
        )
    )
    workers = DeliveryWorkers(
        store,
        runtime.log,
        notify,
        owner=notify.owner(settings.http_port),
        isolation=isolation,
    )
    matchmaker = Matchmaker(
        store,
        notify,
        settings.token_secret.get_secret_value(),
        wake=workers.wake,
        isolation=isolation,
    )
    signouts = SignedOutSessions(runtime.db)
    notices = ReportNotices(store, notify, settings.portal_insights_url)
    projection = NotifyProjection(store, matchmaker)

    async def handle(events: list[Envelope[BaseModel]]) -> None:
        told = [e for e in events if e.type.startswith(INSIGHTS_EVENTS)]
        if told:
            await notices.handle(told)
        rest = [e for e in events if not e.type.startswith(INSIGHTS_EVENTS)]
        if rest:
            await projection.handle(rest)

    runtime.consume(TOPICS, signouts.around(handle))
    runtime.metrics.gauge_from(
        "learningtrail_outbox_notifications",
        "The outbox backlog: notifications waiting (pending) or being sent, by channel and state.",
        ("channel", "state"),
        functools.partial(store.count_by_channel_and_state, CHANNELS, (PENDING, SENDING)),
    )

    async def on_start() -> None:
        await store.ensure_indexes()
        await relay.start()
        await workers.start()
        await notices.start()

    async def on_stop() -> None:
        await notices.stop()
        await workers.stop()
        await relay.stop()

    app = create_app(
        settings=settings,
        title="Learning Trail — notify service",
        description="Tells learners, once and on the channel they chose, about the programmes "
        "that fit them and about their recognitions and credentials.",
        lifespan=runtime.lifespan(on_start, on_stop),
        readiness=runtime.readiness,
        metrics=runtime.metrics,
        openapi_tags=[
            {"name": "inbox", "description": "A learner's in-app messages."},
            {"name": "preferences", "description": "Channels, interests, quiet hours, digest."},
            {"name": "admin", "description": "The department's view of deliveries."},
        ],
    )
    app.state.store = store
    app.state.signouts = signouts
    app.state.matchmaker = matchmaker
    app.state.workers = workers
    install_portal(app)
    app.include_router(router)
    app.include_router(portal_router)
    return app
