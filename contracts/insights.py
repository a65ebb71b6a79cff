"""``insights.v1`` (keyed by report id, or by subscription id): what the insights service
produced for the department, and which officers asked to be told of it."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, EmailStr, Field

from contracts.envelope import EventData

TOPIC = "insights.v1"
REPORT_PUBLISHED = "vn.learningtrail.insights.report.published.v1"
SUBSCRIPTION_CHANGED = "vn.learningtrail.insights.subscription.changed.v1"
PeriodKind = Literal["month", "quarter", "year"]


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


class ReportSubscriptionChanged(EventData):
    """An officer asked to be told (or no longer) when a periodic report is produced.

    Emitted by the insights service when a signed-in officer saves the subscription form on
    the dashboard; the whole subscription every time (the latest event per subscription wins).
    Consumed by notify, which owns the messages: when a report of one of the ``period_kinds``
    is announced (:class:`ReportPublished`), it emails ``email`` a link to the unit's figures.
    """

    subscription_id: str = Field(description="Stable per officer's unit, unit and address.")
    officer_unit: str = Field(description="The unit of the officer credential that asked.")
    unit_code: str = Field(description="The unit whose figures the officer wants to be sent.")
    email: EmailStr = Field(description="Where to tell the officer (their work address).")
    period_kinds: list[PeriodKind] = Field(
        description="Which reports: month, quarter, year; empty when the officer stopped it."
    )
    language: Literal["vi", "en"] = "vi"
    changed_at: AwareDatetime
