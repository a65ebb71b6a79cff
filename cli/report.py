"""``trail report``: the department's periodic report, from the insights service's figures,
as a workbook, CSV or a printable page laid out as a Vietnamese administrative report.

The figures are fetched once (``GET /v1/figures``) and every format is built from that one
answer, so the workbook, the CSV and the page carry the API's numbers and its suppressed cells.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from cli.calls import CallFailed, call, problem_text
from cli.config import Endpoints, secret
from services.insights.figures_page import Heading, render
from services.insights.units import catalogue
from services.insights.workbook import csv_bytes, workbook_bytes

FORMATS = ("xlsx", "csv", "html")


class ReportFailed(Exception):
    """The report could not be made; the message says why and what to do."""


def fetch(period: str, unit: str | None, token: str | None = None) -> dict[str, Any]:
    """The published figures of a period and unit, as the department (or ``token``) reads them."""
    params = f"period={period}" + (f"&unit={unit}" if unit else "")
    try:
        response = call(
            "GET",
            f"{Endpoints.from_env().insights}/v1/figures?{params}",
            headers={"Authorization": f"Bearer {token or secret('LT_ADMIN_TOKEN')}"},
            timeout=300,
        )
    except CallFailed as exc:
        raise ReportFailed(str(exc)) from exc
    if response.status_code != 200:
        raise ReportFailed(problem_text(response))
    found: dict[str, Any] = response.json()
    return found


def heading(found: dict[str, Any], number: str, body: str, on: date) -> Heading:
    """The report's heading: the province's People's Committee over the department."""
    units = catalogue()
    unit = found["unit"]
    province = units.units.get(unit and (unit["code"] if unit["level"] == "province" else ""))
    if unit and province is None:
        resolved = units.resolve(unit["code"])
        province = units.units.get(resolved.province_code) if resolved else None
    name = province.name if province else "Tỉnh"
    place = name.removeprefix("Tỉnh ").removeprefix("Thành phố ")
    return Heading(f"ỦY BAN NHÂN DÂN {name.upper()}", body, number, place, on)


def write(found: dict[str, Any], fmt: str, out: Path, number: str, body: str, on: date) -> Path:
    """Write the report in ``fmt`` to ``out``."""
    if fmt == "xlsx":
        out.write_bytes(workbook_bytes(found))
    elif fmt == "csv":
        out.write_bytes(csv_bytes(found))
    elif fmt == "html":
        out.write_text(render(found, "vi", heading(found, number, body, on)), encoding="utf-8")
    else:
        raise ReportFailed(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    return out
