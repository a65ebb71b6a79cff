"""The HTTP app factory: problem+json errors, health and readiness, tracing, trace id header."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from services.common.problems import install_problem_handlers
from services.common.settings import Settings

ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]


def create_app(
    *,
    settings: Settings,
    title: str,
    description: str,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]],
    readiness: ReadinessCheck,
    openapi_tags: list[dict[str, Any]] | None = None,
) -> FastAPI:
    """A FastAPI app with the chassis' conventions; services add their routers to it."""
    app = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        openapi_tags=openapi_tags,
    )
    app.state.settings = settings
    install_problem_handlers(app)

    @app.middleware("http")
    async def trace_id_header(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            response.headers["X-Trace-Id"] = f"{ctx.trace_id:032x}"
        return response

    @app.get("/healthz", tags=["operations"], summary="Liveness: the process answers (anyone).")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz", tags=["operations"], summary="Readiness: Kafka and MongoDB reachable (anyone)."
    )
    async def readyz() -> JSONResponse:
        checks = await readiness()
        ready = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz")
    return app
