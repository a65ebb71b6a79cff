"""The province's calendar: dates are Vietnam's, whatever the servers' clocks say."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from contracts.dates import day_in_vietnam, today_in_vietnam


def test_from_17_00_utc_vietnam_is_already_on_the_next_day() -> None:
    assert day_in_vietnam(datetime(2026, 12, 2, 16, 59, 59, tzinfo=UTC)) == date(2026, 12, 2)
    assert day_in_vietnam(datetime(2026, 12, 2, 17, 0, tzinfo=UTC)) == date(2026, 12, 3)
    assert day_in_vietnam(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == date(2027, 1, 1)


def test_a_moment_in_any_zone_names_the_same_day() -> None:
    paris = timezone(timedelta(hours=1))
    assert day_in_vietnam(datetime(2026, 12, 2, 18, 30, tzinfo=paris)) == date(2026, 12, 3)


def test_a_moment_without_a_zone_is_utc_as_the_databases_keep_it() -> None:
    assert day_in_vietnam(datetime(2026, 12, 2, 18, 0)) == date(2026, 12, 3)
    assert day_in_vietnam(datetime(2026, 12, 2, 16, 0)) == date(2026, 12, 2)


def test_today_is_the_date_on_a_clock_in_hanoi() -> None:
    before = datetime.now(UTC) + timedelta(hours=7)
    today = today_in_vietnam()
    after = datetime.now(UTC) + timedelta(hours=7)
    assert today in {before.date(), after.date()}
