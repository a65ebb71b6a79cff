"""The province's calendar: every date the system judges or shows — a record's completion, a
birth date, a report's period, the day on a document — is a date in Vietnam.

The servers' clocks run in UTC; from 17:00 to 24:00 UTC, Vietnam is already on the next day.
A date taken from the UTC clock is therefore a day behind for seven hours of every day, and a
record a centre completes after midnight in Vietnam would look like one from the future.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

# Vietnam keeps one offset all year (UTC+7, no daylight saving time).
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def day_in_vietnam(moment: datetime) -> date:
    """The date in Vietnam at ``moment`` (a naive one is UTC, as the databases keep time)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(VIETNAM).date()


def today_in_vietnam() -> date:
    """Today's date in Vietnam."""
    return day_in_vietnam(datetime.now(UTC))
