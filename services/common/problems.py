"""RFC 9457 problem details: the one error type for HTTP, and the handlers that render it."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pymongo.errors import ConnectionFailure, OperationFailure
from starlette.exceptions import HTTPException as StarletteHTTPException

from contracts import words
from services.common.mongo import is_busy
from services.common.pages import SHARED, page_language, wants_page

PROBLEM_JSON = "application/problem+json"
_log = logging.getLogger("learningtrail.http")


class Problem(Exception):
    """An HTTP error the caller can act on: ``detail`` says what is wrong and how to fix it."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        type_: str = "about:blank",
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        page: str | None = None,
        retry: str | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        self.errors = errors
        self.headers = headers or {}
        # what a person is told in a browser: ``page.error.<page>.title/text`` in the words
        # catalogue (by status when None)
        self.page = page
        # where a person starts again (a link on the page, ``page.error.<page>.retry``)
        self.retry = retry
        self.extensions = extensions

    def body(self, instance: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
        }
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extensions)
        return body


def problem_response(problem: Problem, instance: str) -> JSONResponse:
    return JSONResponse(
        problem.body(instance),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def problem_page(request: Request, problem: Problem) -> Response:
    """The error as a page in the person's language: what happened and what to do, never the
    program's English detail."""
    lang = page_language(request)
    found = problem.page or str(problem.status)
    if not words.known(lang, f"page.error.{found}.title"):
        found = "other"
    return SHARED.response(
        "problem.html",
        lang,
        status_code=problem.status,
        headers=problem.headers,
        heading=words.word(lang, f"page.error.{found}.title"),
        text=words.word(lang, f"page.error.{found}.text"),
        status=problem.status,
        retry=problem.retry if words.known(lang, f"page.error.{found}.retry") else None,
        retry_label=words.word(lang, f"page.error.{found}.retry"),
    )


def answer(request: Request, problem: Problem) -> Response:
    """problem+json for a program; a page for a person's browser on a route they reach from a
    link (marked ``openapi_extra=FOR_PEOPLE``, services/common/pages.py)."""
    if wants_page(request):
        return problem_page(request, problem)
    return problem_response(problem, request.url.path)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        errors.append(
            {
                "field": ".".join(loc) or "(body)",
                "message": err.get("msg", "invalid"),
                "type": err.get("type", "value_error"),
            }
        )
    return errors


def install_problem_handlers(app: FastAPI) -> None:
    """Render every error — ours, validation, routing, unexpected — as problem+json."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        return answer(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = _field_errors(exc)
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        problem = Problem(
            422,
            "Invalid request",
            f"The request does not match the schema; fix these fields: {summary}",
            type_="https://learningtrail.vn/problems/validation",
            errors=errors,
        )
        return answer(request, problem)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else "HTTP error"
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No resource at {request.url.path}; see /docs for the endpoints."
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}; see /docs."
        problem = Problem(exc.status_code, _title(exc.status_code), detail)
        problem.headers = dict(exc.headers or {})
        return answer(request, problem)

    @app.exception_handler(ConnectionFailure)
    async def _database_down(request: Request, exc: ConnectionFailure) -> Response:
        _log.warning("database unavailable", extra={"path": request.url.path, "error": repr(exc)})
        problem = Problem(
            503,
            "Service unavailable",
            "The service's database is unreachable right now, so the request did not "
            "complete. Retry the same request after Retry-After seconds: it is safe to repeat.",
            headers={"Retry-After": "5"},
        )
        return answer(request, problem)

    @app.exception_handler(OperationFailure)
    async def _database_busy(request: Request, exc: OperationFailure) -> Response:
        if not is_busy(exc):
            return await _unexpected(request, exc)
        _log.warning("database busy", extra={"path": request.url.path, "error": repr(exc)})
        problem = Problem(
            503,
            "Service unavailable",
            "The service's database is busy right now, so the request did not complete. "
            "Retry the same request after Retry-After seconds: it is safe to repeat.",
            headers={"Retry-After": "2"},
        )
        return answer(request, problem)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        _log.exception("unhandled error", extra={"path": request.url.path})
        problem = Problem(
            500,
            "Internal error",
            "The service failed to handle the request; it was logged with its trace id. "
            "Retry later or report the trace id.",
        )
        return answer(request, problem)


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
