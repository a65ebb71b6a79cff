"""``insights.v1`` (keyed by report id): what the insights service produced for the department."""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, Field

from contracts.envelope import EventData

TOPIC = "insights.v1"
REPORT_PUBLISHED = "vn.learningtrail.insights.report.published.v1"


class ReportPublished(EventData):
    """The department's periodic report for a period was produced and stored.

    Emitted by the insights service on its schedule: on the 5th of each month for the month
    before, and of January, April, July and October also for the quarter before, and of
    January also for the year before — once per period (the same period is never announced
    as two reports; a repeated announcement carries the same event id). The report holds
    the department's figures as they stood when it was produced; it carries no personal data.
    """

    report_id: str = Field(description="The report's id: its period, e.g. 2026-Q3.")
    period: str = Field(description="A month (2026-07), quarter (2026-Q3) or year (2026).")
    period_from: date
    period_to: date
    path: str = Field(description="Where the department reads it: /v1/reports/{report_id}.")
    produced_at: AwareDatetime
