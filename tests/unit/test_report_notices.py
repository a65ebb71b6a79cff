"""Which officers a periodic report is owed to: those whose subscription holds its kind of
period, once each (the notice's id names the report and the subscription)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from contracts.insights import ReportPublished
from services.notify.report_notices import notices_for, period_kind


def _report(period: str, start: date, end: date) -> ReportPublished:
    return ReportPublished(
        report_id=period,
        period=period,
        period_from=start,
        period_to=end,
        path=f"/v1/reports/{period}",
        produced_at=datetime(2026, 10, 5, tzinfo=UTC),
    )


def test_the_kind_of_a_period() -> None:
    assert [period_kind(p) for p in ("2026-07", "2026-Q3", "2026")] == ["month", "quarter", "year"]


def test_a_report_is_owed_to_the_subscriptions_holding_its_kind_once_each() -> None:
    subscriptions = [
        {"_id": "a", "email": "a@xa.vn", "unit": "22738", "kinds": ["month", "quarter"]},
        {"_id": "b", "email": "b@xa.vn", "unit": "56", "kinds": ["year"]},
        {"_id": "c", "email": "c@xa.vn", "unit": "22738", "kinds": []},  # stopped
    ]
    quarter = notices_for(_report("2026-Q3", date(2026, 7, 1), date(2026, 9, 30)), subscriptions)
    assert [(n["_id"], n["email"], n["state"]) for n in quarter] == [
        ("2026-Q3|a", "a@xa.vn", "pending")
    ]
    year = notices_for(_report("2025", date(2025, 1, 1), date(2025, 12, 31)), subscriptions)
    assert [n["_id"] for n in year] == ["2025|b"]
