"""The insights service's HTTP API: the department's figures, its officers' credentials and the
population figures it enters."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from contracts.dates import today_in_vietnam
from services.common.access import caller, require_admin
from services.common.pages import FOR_PEOPLE, page_language, wants_page
from services.common.problems import Problem
from services.common.tokens import Claims
from services.insights.figures import Period, Scope
from services.insights.figures_page import render, report_heading
from services.insights.officer_credentials import (
    DAYS_MAX,
    LABEL_MAX,
    OfficerCredentials,
    label_problem,
    view,
)
from services.insights.pdf import pdf_bytes
from services.insights.snapshot import Snapshot
from services.insights.store import InsightsStore
from services.insights.units import Catalogue, Level, Unit, catalogue
from services.insights.workbook import csv_bytes, workbook_bytes

router = APIRouter(tags=["figures"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def store(request: Request) -> InsightsStore:
    found: InsightsStore = request.app.state.store
    return found


Store = Annotated[InsightsStore, Depends(store)]


async def officer_credentials(request: Request) -> OfficerCredentials:
    found: OfficerCredentials = request.app.state.officer_credentials
    return found


Officers = Annotated[OfficerCredentials, Depends(officer_credentials)]


async def figures_reader(who: Annotated[Claims, Depends(caller)]) -> Claims:
    """The department, or an officer (of a unit)."""
    if who.role not in ("admin", "officer"):
        raise Problem(
            403,
            "Forbidden",
            "Figures are for the department and the officers it issued a credential to; a "
            "learner token does not reach them.",
        )
    return who


def within(own: Unit, asked: Unit, units: Catalogue) -> bool:
    """Whether an officer of ``own`` may read ``asked``: the unit itself, or a unit inside
    it (a commune of a province or of an old district)."""
    if asked.code == own.code:
        return True
    if own.level is Level.PROVINCE:
        return asked.province_code == own.code
    if own.level is Level.OLD_DISTRICT:
        return asked.level is Level.COMMUNE and units.old_district_of(asked.code) == own.code
    return False


def scope_for(who: Claims, unit: str | None) -> Scope:
    """The scope a caller asked for, if they may read it: 404 for a code no unit has, 403 for
    an officer asking outside their unit."""
    units = catalogue()
    asked = None
    if unit is not None:
        asked = units.resolve(unit)
        if asked is None:
            raise Problem(
                404,
                "Unknown administrative unit",
                f"No province, former district or commune has the code {unit!r}: give a "
                "2-digit province, 3-digit former district or 5-digit commune code.",
            )
    if who.role == "admin":
        return Scope(asked)
    own = units.resolve(who.subject)
    if own is None:
        raise Problem(403, "Forbidden", "This officer credential names no known unit.")
    if asked is None:
        return Scope(own)
    if not within(own, asked, units):
        raise Problem(
            403,
            "Forbidden",
            f"This officer credential reaches {own.name} ({own.code}) only, not "
            f"{asked.name} ({asked.code}).",
        )
    return Scope(asked)


def period_of(text: str) -> Period:
    try:
        return Period.parse(text)
    except ValueError as exc:
        raise Problem(
            422,
            "Invalid period",
            str(exc),
            errors=[{"field": "period", "detail": str(exc)}],
        ) from exc


async def computed(request: Request, period: Period, scope: Scope) -> dict[str, Any]:
    """The figures of the facts stored now (:mod:`services.insights.snapshot`)."""
    snapshot: Snapshot = request.app.state.snapshot
    records: InsightsStore = request.app.state.store
    return await snapshot.figures(period, scope, await records.populations())


PeriodQuery = Annotated[
    str, Query(description="A year (2026), a quarter (2026-Q3) or a month (2026-07).")
]
UnitQuery = Annotated[
    str | None,
    Query(
        description="A province (2 digits), former district (3) or commune (5) code; "
        "pre-2025 codes count under their successor. An officer's own unit by default."
    ),
]


@router.get(
    "/v1/figures",
    summary="The indicators of a period and unit (department, or an officer of the unit)",
    description="JSON for a program; the dashboard page for a browser (`Accept: text/html`, "
    "or `?format=html&lang=vi|en`); the workbook with `?format=xlsx`, CSV with `?format=csv`, "
    "the printable report as a PDF with `?format=pdf`. "
    "The credential goes in the `Authorization` header only.",
    openapi_extra=FOR_PEOPLE,
)
async def get_figures(
    request: Request,
    records: Store,
    who: Annotated[Claims, Depends(figures_reader)],
    period: PeriodQuery,
    unit: UnitQuery = None,
    format: Annotated[Literal["json", "html", "xlsx", "csv", "pdf"] | None, Query()] = None,
) -> Response:
    chosen = period_of(period)
    scope = scope_for(who, unit)
    found = await computed(request, chosen, scope)
    return figures_answer(request, found, format)


def figures_answer(
    request: Request,
    found: dict[str, Any],
    format: str | None,
    base_url: str = "/v1/figures",
    session: Mapping[str, Any] | None = None,
) -> Response:
    """Figures in the format asked for: a download (workbook, CSV, PDF), the dashboard page
    (``base_url`` is where its form and links lead; ``session`` its sign-out form), or JSON."""
    unit = found["unit"]
    name = f"so-lieu-{found['period']}{'-' + unit['code'] if unit else ''}"
    if format == "xlsx":
        return Response(
            workbook_bytes(found),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    if format == "csv":
        return Response(
            csv_bytes(found),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if format == "pdf":
        return _pdf(found, name)
    if format == "html" or (format is None and wants_page(request)) or session is not None:
        lang = page_language(request)
        return HTMLResponse(
            render(found, lang, base_url=base_url, session=session),
            headers={"Cache-Control": "no-store", "Content-Language": lang},
        )
    return JSONResponse(found, headers={"Cache-Control": "no-store"})


class OfficerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit_code: str = Field(pattern=r"^[0-9]{2,6}$", description="The unit the officer serves.")
    days: int = Field(default=30, ge=1, le=DAYS_MAX, description="How long it is good.")
    label: str | None = Field(
        default=None,
        min_length=1,
        max_length=LABEL_MAX,
        description="Whom it is for, as the department knows them: a job title or office "
        "(e.g. `Cán bộ thống kê xã Phước Hậu`), never a national ID.",
        examples=["Cán bộ thống kê xã Phước Hậu"],
    )


@router.post(
    "/v1/admin/officers",
    status_code=201,
    summary="Issue an officer credential scoped to one unit (the department)",
    description="The answer holds the credential (`token`) — shown this once, not stored with "
    "it — and its `id`, by which the department lists and revokes it. With `Idempotency-Key`, "
    "a retry gets the same answer (kept 24 h), not a second credential.",
)
async def issue_officer(
    body: OfficerRequest,
    _: Annotated[Claims, Depends(require_admin)],
    officers: Officers,
) -> dict[str, Any]:
    unit = catalogue().resolve(body.unit_code)
    if unit is None:
        raise Problem(
            422,
            "Unknown administrative unit",
            f"No unit has the code {body.unit_code!r}.",
            errors=[{"field": "unit_code", "detail": "not a known unit code"}],
        )
    label = body.label.strip() if body.label is not None else None
    wrong = label_problem(label)
    if wrong is not None:
        raise Problem(
            422,
            "Invalid label",
            wrong,
            errors=[{"field": "label", "detail": "holds 9 digits or more in a row"}],
        )
    token, doc = await officers.issue(unit, body.days, label or None)
    return {"token": token, **view(doc, unit, datetime.now(UTC))}


@router.get(
    "/v1/admin/officers",
    summary="The officer credentials issued, newest first, live or not (the department)",
    description="Each credential's id, unit, label, when it was issued and expires, and "
    "whether and why it was revoked; never the credential itself.",
)
async def list_officers(
    officers: Officers, _: Annotated[Claims, Depends(require_admin)]
) -> list[dict[str, Any]]:
    units, now = catalogue(), datetime.now(UTC)
    return [view(doc, units.resolve(doc["unit"]), now) for doc in await officers.listed()]


class Revocation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=1,
        max_length=300,
        description="Why (the officer moved on, the credential leaked…); kept with it.",
        examples=["Cán bộ chuyển công tác"],
    )


@router.post(
    "/v1/admin/officers/{credential_id}/revocation",
    summary="Revoke an officer credential (the department)",
    description="From then on the credential is refused (401) on the API and on the "
    "officers' sign-in page, and every browser session started with it has ended. Revoking "
    "again changes nothing (the first revocation's time and reason are kept).",
)
async def revoke_officer(
    credential_id: str,
    body: Revocation,
    officers: Officers,
    _: Annotated[Claims, Depends(require_admin)],
) -> dict[str, Any]:
    reason = body.reason.strip()
    if not reason:
        raise Problem(
            422,
            "No reason",
            "Say why the credential is revoked (the officer moved on, it leaked…).",
            errors=[{"field": "reason", "detail": "blank"}],
        )
    doc = await officers.revoke(credential_id, reason)
    return view(doc, catalogue().resolve(doc["unit"]), datetime.now(UTC))


class PopulationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    adults: int = Field(ge=1, le=50_000_000, description="People aged 15 or more.")


@router.put(
    "/v1/admin/populations/{unit_code}/{year}",
    summary="Enter a commune's adult population for a year (the department)",
)
async def put_population(
    unit_code: str,
    year: int,
    body: PopulationRequest,
    records: Store,
    _: Annotated[Claims, Depends(require_admin)],
) -> dict[str, Any]:
    commune = catalogue().commune(unit_code) if unit_code.isdigit() else None
    if commune is None or not 2000 <= year <= 2100:
        raise Problem(
            422,
            "Invalid population figure",
            "Give a commune code (5 digits; a pre-2025 code counts under its successor) and a "
            "year between 2000 and 2100.",
        )
    return await records.set_population(commune, year, body.adults)


@router.get(
    "/v1/admin/populations",
    summary="The population figures entered (the department)",
)
async def list_populations(
    records: Store, _: Annotated[Claims, Depends(require_admin)]
) -> list[dict[str, Any]]:
    return await records.population_list()


@router.get("/v1/reports", summary="The stored periodic reports (the department)")
async def list_reports(
    records: Store, _: Annotated[Claims, Depends(require_admin)]
) -> list[dict[str, Any]]:
    return await records.reports()


@router.get(
    "/v1/reports/{period}",
    summary="A stored periodic report: its figures as they stood when produced (the department)",
)
async def get_report(
    period: str,
    records: Store,
    _: Annotated[Claims, Depends(require_admin)],
    format: Annotated[Literal["json", "html", "xlsx", "csv", "pdf"], Query()] = "json",
) -> Response:
    doc = await records.report(period)
    if doc is None:
        raise Problem(
            404,
            "No such report",
            f"No periodic report is stored for {period!r}: reports are produced on the 5th "
            "for the month, quarter and year before (GET /v1/reports lists them); for any "
            "period use GET /v1/figures.",
        )
    found: dict[str, Any] = doc["figures"]
    if format == "xlsx":
        return Response(
            workbook_bytes(found),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="bao-cao-{period}.xlsx"'},
        )
    if format == "csv":
        return Response(csv_bytes(found), media_type="text/csv; charset=utf-8")
    if format == "pdf":
        return _pdf(found, f"bao-cao-{period}")
    if format == "html":
        return HTMLResponse(render(found, "vi"), headers={"Cache-Control": "no-store"})
    return JSONResponse(
        {
            "period": period,
            "produced_at": doc["produced_at"],
            # the insights.v1 event announcing it (appended through the outbox)
            "event_id": (doc.get("pending") or {}).get("event_id"),
            "figures": found,
        },
        headers={"Cache-Control": "no-store"},
    )


def _pdf(found: dict[str, Any], name: str) -> Response:
    """The printable report as a PDF, dated today (Vietnam), with a blank number to fill in."""
    today = today_in_vietnam()
    heading = report_heading(found, "     /BC-SGDĐT", "SỞ GIÁO DỤC VÀ ĐÀO TẠO", today)
    return Response(
        pdf_bytes(found, heading),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
    )
