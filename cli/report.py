"""``trail report``: the department's periodic report, from the insights service's figures,
as a workbook, CSV, a printable page or a PDF laid out as a Vietnamese administrative report.

The figures are fetched once (``GET /v1/figures``) and every format is built from that one
answer, so the workbook, the CSV and the page carry the API's numbers and its suppressed cells.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from cli.calls import CallFailed, call, problem_text
from cli.config import Endpoints, secret
from services.insights.figures_page import render, report_heading
from services.insights.pdf import pdf_bytes
from services.insights.workbook import csv_bytes, workbook_bytes

FORMATS = ("xlsx", "csv", "html", "pdf")


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


def write(found: dict[str, Any], fmt: str, out: Path, number: str, body: str, on: date) -> Path:
    """Write the report in ``fmt`` to ``out``."""
    if fmt == "xlsx":
        out.write_bytes(workbook_bytes(found))
    elif fmt == "csv":
        out.write_bytes(csv_bytes(found))
    elif fmt == "html":
        out.write_text(
            render(found, "vi", report_heading(found, number, body, on)), encoding="utf-8"
        )
    elif fmt == "pdf":
        out.write_bytes(pdf_bytes(found, report_heading(found, number, body, on)))
    else:
        raise ReportFailed(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    return out
