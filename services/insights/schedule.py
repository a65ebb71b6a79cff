"""When the periodic reports are due — no I/O.

A period's report is due on the ``day``-th (the 5th) of the month after it ends: the month
before every month, the quarter before in January, April, July and October, the year before
in January. On any day the latest due month, quarter and year are known, so a service that was
down on the 5th produces them when it comes back; one started for the first time produces
only the latest of each (nothing further back).
"""

from __future__ import annotations

from datetime import date

DUE_DAY = 5


def _month_before(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def latest_due(today: date, day: int = DUE_DAY) -> list[str]:
    """The latest month, quarter and year whose report is due by ``today``."""
    year, month = today.year, today.month
    if today.day < day:  # this month's due day has not come: the last one was a month ago
        year, month = _month_before(year, month)
    # (year, month) is the month whose due day has passed most recently; the period before it
    last_year, last_month = _month_before(year, month)
    quarter_end_month = last_month - (last_month % 3)  # the last month of a finished quarter
    quarter = (last_year, quarter_end_month // 3) if quarter_end_month else (last_year - 1, 4)
    return [f"{last_year}-{last_month:02d}", f"{quarter[0]}-Q{quarter[1]}", str(year - 1)]
