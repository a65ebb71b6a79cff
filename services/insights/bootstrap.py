"""Composition root of the insights service."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from contracts import credentials, learners, notifications, programmes, records
from services.common.http import create_app
from services.common.idempotency import routes
from services.common.runtime import Runtime
from services.insights.api import router
from services.insights.dashboard import router as pages
from services.insights.officer_credentials import OfficerCredentials
from services.insights.officers import OfficerSessions
from services.insights.projection import FiguresProjection
from services.insights.reports import Reporter
from services.insights.settings import InsightsSettings
from services.insights.snapshot import Snapshot
from services.insights.store import InsightsStore
from services.insights.units import catalogue

TOPICS = (learners.TOPIC, records.TOPIC, programmes.TOPIC, credentials.TOPIC, notifications.TOPIC)

DESCRIPTION = """The department's figures, counted from the event log by administrative unit.

* **The department** (admin token) reads every unit's indicators (`GET /v1/figures`), issues
  officer credentials scoped to one unit, lists and revokes them, and enters the adult
  population of communes.
* **An officer** reads the figures of their own unit only; in a browser they sign in with
  their credential at `/figures/sign-in` and get the dashboard at `/figures` (a session held
  in an HttpOnly cookie; the API under `/v1` takes the credential in the header only).
* Cells counting fewer than five people are shown as `<5` below province level.
* The periodic report of the last month, quarter and year is produced on the 5th, stored, and
  announced on `insights.v1`; the department reads them under `/v1/reports`.
"""


def build(settings: InsightsSettings) -> FastAPI:
    runtime = Runtime(settings)
    store = InsightsStore(runtime.db)
    projection = FiguresProjection(store)
    runtime.consume(TOPICS, projection.handle)

    snapshot = Snapshot(store)
    reporter = Reporter(store, snapshot, runtime.log, settings.report_check_seconds)
    relay = runtime.relay(store.outbox)
    tasks: list[asyncio.Task[None]] = []

    async def on_start() -> None:
        catalogue()  # read the unit catalogue before the first request needs it
        await relay.start()
        tasks.append(asyncio.create_task(reporter.forever(), name="insights-reports"))

    async def on_stop() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await relay.stop()

    app = create_app(
        settings=settings,
        title="Learning Trail — insights service",
        description=DESCRIPTION,
        lifespan=runtime.lifespan(on_start, on_stop),
        readiness=runtime.readiness,
        metrics=runtime.metrics,
        # a retried issuance (the answer was lost) gets the same credential, not a second one
        # nobody has seen, live until it expires
        idempotent=(lambda: runtime.db["idempotency"], routes(("POST", "/v1/admin/officers"))),
    )
    app.state.store = store
    app.state.snapshot = snapshot
    app.state.log = runtime.log  # a subscription's event is appended at once (the outbox)
    # the officer credentials the department issued and revokes, and officers' browser
    # sessions; as ``signouts`` a signed-out session's token and a revoked credential are
    # refused on the API (services/common/access.py)
    officers = OfficerCredentials(store, settings.token_secret.get_secret_value())
    app.state.officer_credentials = officers
    app.state.signouts = OfficerSessions(store, settings, officers)
    app.include_router(router)
    app.include_router(pages)
    return app
