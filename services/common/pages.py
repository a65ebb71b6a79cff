"""Pages for people, JSON for programs: the one page layout and stylesheet of the project, and
how a request is told apart as a person's browser.

Every route a person reaches from a link (an email, an SMS, a QR code, a printed page) is
marked with ``openapi_extra=FOR_PEOPLE``; a browser (``Accept: text/html`` without JSON) on
such a route gets a page in the person's language — its success and every error — and a
program keeps getting JSON and problem+json.
Words come from the one catalogue (:mod:`contracts.words`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from contracts import words
from contracts.words import Lang

COMMON_TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
# Where every service serves the shared stylesheet (and, under docs/, the API docs' assets).
ASSETS_URL = "/assets"
STYLESHEET_URL = f"{ASSETS_URL}/site/site.css"

# The mark of a route a person reaches from a link, in its OpenAPI operation
# (``openapi_extra=FOR_PEOPLE``): its errors become pages for a browser, and the browser tests
# find every such route in the services' OpenAPI documents.
FOR_PEOPLE_KEY = "x-for-people"
FOR_PEOPLE: dict[str, Any] = {FOR_PEOPLE_KEY: True}


def is_for_people(request: Request) -> bool:
    extra = getattr(request.scope.get("route"), "openapi_extra", None) or {}
    return bool(extra.get(FOR_PEOPLE_KEY))


def prefers_html(request: Request) -> bool:
    """A browser: ``text/html`` accepted and JSON not asked for. (A program that asks for a
    page with ``?format=html`` but accepts anything still gets its errors as problem+json.)"""
    accept = request.headers.get("accept", "").lower()
    return "text/html" in accept and "json" not in accept


def wants_page(request: Request) -> bool:
    """Whether this request should be answered with a page rather than JSON."""
    return is_for_people(request) and prefers_html(request)


def page_language(request: Request, known: object | None = None) -> Lang:
    """The person's language: ``?lang=``, else what we know of them, else the browser's first
    ``Accept-Language``, else Vietnamese."""
    asked = request.query_params.get("lang")
    if asked:
        return words.language(asked)
    if known is not None:
        return words.language(known)
    first = request.headers.get("accept-language", "").split(",")[0]
    return words.language(first) if first else words.DEFAULT_LANGUAGE


class Pages:
    """Renders templates (a service's own, then the shared ones) inside the shared layout."""

    def __init__(self, *template_dirs: Path) -> None:
        self.env = Environment(
            loader=FileSystemLoader([*template_dirs, COMMON_TEMPLATES]),
            autoescape=select_autoescape(["html"]),
        )

    def render(self, template: str, lang: Lang, **context: Any) -> str:
        return self.env.get_template(template).render(
            lang=lang,
            other_lang="en" if lang == "vi" else "vi",
            t=lambda key, **values: words.word(lang, key, **values),
            label=lambda what, code: words.label(lang, what, code),
            day=words.day,
            moment=lambda value: words.moment(value, lang),
            number=lambda value: words.number(lang, value),
            stylesheet=STYLESHEET_URL,
            **context,
        )

    def response(
        self,
        template: str,
        lang: Lang,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        return HTMLResponse(
            self.render(template, lang, **context),
            status_code=status_code,
            headers={"Cache-Control": "no-store", "Content-Language": lang, **(headers or {})},
        )


SHARED = Pages()
