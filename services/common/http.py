"""The HTTP app factory: problem+json errors, health and readiness, tracing, trace id header."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.trace import Span
from pymongo.asynchronous.collection import AsyncCollection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.idempotency import IdempotencyMiddleware
from services.common.logs import redact_query
from services.common.metrics import HttpMetricsMiddleware, Metrics, may_read_metrics
from services.common.pages import ASSETS_URL, STATIC
from services.common.problems import Problem, install_problem_handlers, problem_response
from services.common.settings import Settings


@dataclass(frozen=True)
class Check:
    """One readiness check: whether it passes, and what an operator needs to see why."""

    ok: bool
    detail: dict[str, Any] = field(default_factory=dict)


# Where Idempotency-Key answers are kept, and which requests (method, path) honour it.
Idempotent = tuple[Callable[[], AsyncCollection[dict[str, Any]]], Callable[[str, str], bool]]

# Each check by name: a plain bool, or a Check with its detail.
ReadinessCheck = Callable[[], Awaitable[Mapping[str, bool | Check]]]


# request bodies: size, encoding and nesting are checked before any handler parses them

_BODY_TOO_LARGE = "https://learningtrail.vn/problems/body-too-large"
_MALFORMED_BODY = "https://learningtrail.vn/problems/malformed-body"
# Of an oversized body, this much more is read and discarded before the 413 goes out, so a
# client that is still sending sees the answer instead of a reset connection (nginx's
# "lingering close"); beyond it the connection is simply closed.
_DRAIN_BYTES = 16 * 1024 * 1024
# A JSON string literal, escapes included: brackets inside strings are not structure.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def body_limit(path: str, settings: Settings) -> int:
    """The largest request body accepted on ``path``: batch endpoints (``…:batch``, and the
    xAPI statements resource, which takes up to 1,000 statements) take more."""
    batch = path.endswith(":batch") or path == "/xapi/statements"
    return settings.max_batch_body_bytes if batch else settings.max_body_bytes


def json_body_problem(body: bytes, max_depth: int) -> str | None:
    """Why a JSON body must be refused before it is parsed — it is not UTF-8, or its arrays and
    objects nest deeper than ``max_depth`` — or None.

    Deep nesting is found without recursion, at C speed: string literals are dropped, the
    brackets kept, and innermost ``[]`` pairs peeled off round by round; what survives
    ``max_depth`` rounds is nested deeper than that.
    """
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (
            f"The body is not valid UTF-8 (byte 0x{body[exc.start]:02x} at offset {exc.start}); "
            "send JSON encoded as UTF-8 (RFC 8259)."
        )
    structure = _JSON_STRING.sub(b"", body).translate(_BRACKETS, _NOT_BRACKETS)
    # more openers in a row than allowed is too deep whatever follows; checked each round,
    # it ends the usual attack (one long chain) at once
    chain = b"[" * (max_depth + 1)
    for _ in range(max_depth):
        if chain in structure:
            return _too_deep(max_depth)
        peeled = structure.replace(b"[]", b"")
        if len(peeled) == len(structure):
            return None  # nothing more closes: balanced (empty) or malformed, for the parser
        structure = peeled
    # a pair that still closes after max_depth rounds sits deeper than that
    return _too_deep(max_depth) if b"[]" in structure or chain in structure else None


def _too_deep(max_depth: int) -> str:
    return (
        f"The JSON body nests arrays and objects more than {max_depth} levels deep; no "
        "endpoint takes anything that deep."
    )


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            found: bytes = value
            return found
    return None


def _is_json(scope: Scope) -> bool:
    """Whether FastAPI will parse the body as JSON: no content type, or application/json or
    application/*+json."""
    content_type = _header(scope, b"content-type")
    if content_type is None:
        return True
    media = content_type.split(b";")[0].strip().lower()
    return media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json")
    )


class TraceIdHeader:
    """ASGI middleware that tells the caller the trace of its request (``X-Trace-Id``), to
    quote when reporting a problem. Plain ASGI: Starlette's ``@app.middleware`` would run
    every request in a task of its own and copy its body through a stream."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_trace_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                ctx = trace.get_current_span().get_span_context()
                if ctx.is_valid:
                    headers = [
                        (k, v) for k, v in message.get("headers", []) if k.lower() != b"x-trace-id"
                    ]
                    headers.append((b"x-trace-id", f"{ctx.trace_id:032x}".encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_trace_id)


class BodyLimits:
    """ASGI middleware that reads the request body before the app does. Over the limit
    (``LT_MAX_BODY_BYTES``; ``LT_MAX_BATCH_BODY_BYTES`` for batch endpoints) it answers 413,
    judged by Content-Length or, for a chunked body, by counting bytes as they arrive; a JSON
    body that is not UTF-8 or nests deeper than ``LT_MAX_JSON_DEPTH`` is answered 400."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"], self.settings)
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            # a client waiting for "100 Continue" has sent nothing yet and never will
            if (_header(scope, b"expect") or b"").lower() != b"100-continue":
                await _drain(receive)
            await _refuse(scope, receive, send, _too_large(limit, int(declared)))
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                if message.get("more_body", False):
                    await _drain(receive)
                await _refuse(scope, receive, send, _too_large(limit, None))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body and _is_json(scope):
            problem = json_body_problem(body, self.settings.max_json_depth)
            if problem is not None:
                refusal = Problem(400, "Malformed body", problem, type_=_MALFORMED_BODY)
                await _refuse(scope, receive, send, refusal)
                return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()  # after the body: disconnect notices
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _too_large(limit: int, declared: int | None) -> Problem:
    size = f"{declared:,} bytes" if declared is not None else f"more than {limit:,} bytes"
    return Problem(
        413,
        "Request body too large",
        f"The body is {size}; this endpoint accepts at most {limit:,} bytes "
        f"({limit / 1024 / 1024:g} MiB). Send the data in smaller requests.",
        type_=_BODY_TOO_LARGE,
        headers={"Connection": "close"},  # the rest of the body was not read
        limit_bytes=limit,
    )


async def _drain(receive: Receive) -> None:
    left = _DRAIN_BYTES
    while left > 0:
        message = await receive()
        if message["type"] != "http.request":
            return
        left -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _refuse(scope: Scope, receive: Receive, send: Send, problem: Problem) -> None:
    await problem_response(problem, scope["path"])(scope, receive, send)


def redact_span_query(span: Span, scope: dict[str, Any]) -> None:
    """FastAPIInstrumentor's server request hook: the span's URL attributes keep the names of
    secret query parameters (``access_token``, ``token``) but not their values."""
    raw = scope.get("query_string") or b""
    if not raw or not span.is_recording():
        return
    query = raw.decode("latin-1")
    safe = redact_query(query)
    if safe == query:
        return
    attributes = getattr(span, "attributes", None) or {}
    for key in ("http.url", "url.full", "http.target"):
        value = attributes.get(key)
        if isinstance(value, str) and "?" in value:
            span.set_attribute(key, f"{value.partition('?')[0]}?{safe}")
    if "url.query" in attributes:
        span.set_attribute("url.query", safe)


def create_app(
    *,
    settings: Settings,
    title: str,
    description: str,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]],
    readiness: ReadinessCheck,
    openapi_tags: list[dict[str, Any]] | None = None,
    metrics: Metrics | None = None,
    idempotent: Idempotent | None = None,
) -> FastAPI:
    """A FastAPI app with the chassis' conventions; services add their routers to it.
    With ``metrics``, requests are timed and ``/metrics`` serves the process's registry; with
    ``idempotent`` (where answers are kept, which requests), those honour Idempotency-Key."""
    # /docs (Swagger UI) with its scripts and styles served from this service (shipped by the
    # fastapi-offline package): it works on a network without the internet. No /redoc: ReDoc's
    # bundle always loads its maker's logo from the internet.
    app = FastAPIOffline(
        redoc_url=None,
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        openapi_tags=openapi_tags,
        static_url=f"{ASSETS_URL}/docs",
    )
    # the shared stylesheet of the pages for people
    app.mount(f"{ASSETS_URL}/site", StaticFiles(directory=STATIC), name="site-assets")
    app.state.settings = settings
    install_problem_handlers(app)
    # innermost of the middleware, so a refused body still gets X-Trace-Id and is timed
    app.add_middleware(BodyLimits, settings=settings)
    if idempotent is not None:
        collection, applies = idempotent
        app.add_middleware(
            IdempotencyMiddleware,
            collection=collection,
            applies=applies,
            max_body_bytes=max(settings.max_body_bytes, settings.max_batch_body_bytes),
        )

    app.add_middleware(TraceIdHeader)

    @app.get("/healthz", tags=["operations"], summary="Liveness: the process answers (anyone).")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Readiness: MongoDB and Kafka answer, and a consuming service's consumer has "
        "partitions or has consumed (anyone).",
    )
    async def readyz() -> JSONResponse:
        found = {
            name: c if isinstance(c, Check) else Check(c) for name, c in (await readiness()).items()
        }
        ready = all(c.ok for c in found.values())
        body: dict[str, Any] = {
            "status": "ready" if ready else "not ready",
            "checks": {name: c.ok for name, c in found.items()},
        }
        detail = {name: c.detail for name, c in found.items() if c.detail}
        if detail:
            body["detail"] = detail
        return JSONResponse(body, status_code=200 if ready else 503)

    if metrics is not None:
        app.add_middleware(HttpMetricsMiddleware, histogram=metrics.http_request_duration)

        @app.get(
            "/metrics",
            tags=["operations"],
            summary="Prometheus metrics (from this host, or with the metrics or admin token).",
            response_class=Response,
            responses={200: {"content": {"text/plain": {}}}},
        )
        async def prometheus_metrics(request: Request) -> Response:
            client = request.client.host if request.client else None
            if not may_read_metrics(client, request.headers.get("authorization"), settings):
                raise Problem(
                    401,
                    "Unauthorised",
                    "Metrics are for the operator: call from this host, or send "
                    "'Authorization: Bearer <LT_METRICS_TOKEN or the admin token>'.",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            body, content_type = await metrics.exposition(request.headers.get("accept"))
            return Response(body, media_type=content_type)

    FastAPIInstrumentor.instrument_app(
        app,
        excluded_urls="healthz,readyz,metrics",
        server_request_hook=redact_span_query,
        # a span for each ASGI message (three a request) says nothing the request's span does
        # not, and cost as much to make and export as the request's database calls
        exclude_spans=["receive", "send"],
    )
    return app
