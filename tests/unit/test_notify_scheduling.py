"""Quiet hours, digests, back-off and rate limits (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from services.common.tokenbucket import TokenBucket
from services.notify.scheduling import (
    QuietHours,
    Schedule,
    after_quiet_hours,
    due_at,
    idle_pause,
    next_digest,
    retry_delay,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")  # UTC+7, no daylight saving
NIGHT = QuietHours(time(21, 0), time(7, 0))


def hcm(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=HCM)


def test_a_window_that_wraps_midnight() -> None:
    assert (
        NIGHT.contains(time(21, 0)) and NIGHT.contains(time(23, 59)) and NIGHT.contains(time(6, 59))
    )
    assert not NIGHT.contains(time(7, 0)) and not NIGHT.contains(time(12, 0))
    lunch = QuietHours(time(11, 30), time(13, 30))
    assert lunch.contains(time(12, 0)) and not lunch.contains(time(13, 30))
    assert not QuietHours(time(8, 0), time(8, 0)).contains(time(8, 0))


def test_quiet_hours_defer_to_the_end_of_the_window_in_the_learners_zone() -> None:
    # 22:30 in Hồ Chí Minh City (15:30 UTC) waits for 07:00 next morning (00:00 UTC).
    assert after_quiet_hours(hcm(27, 22, 30), HCM, NIGHT) == datetime(
        2026, 11, 28, 0, 0, tzinfo=UTC
    )
    # 05:00 waits until 07:00 the same morning.
    assert after_quiet_hours(hcm(27, 5), HCM, NIGHT) == hcm(27, 7).astimezone(UTC)
    # Outside the window, or without one, it goes at once.
    assert after_quiet_hours(hcm(27, 12), HCM, NIGHT) == hcm(27, 12)
    assert after_quiet_hours(hcm(27, 23), HCM, None) == hcm(27, 23)


def test_the_same_instant_is_quiet_in_one_zone_and_not_in_another() -> None:
    instant = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # 22:00 in HCM, 16:00 in Paris
    assert after_quiet_hours(instant, HCM, NIGHT) > instant
    assert after_quiet_hours(instant, ZoneInfo("Europe/Paris"), NIGHT) == instant


def test_the_next_digest_is_today_or_tomorrow() -> None:
    six_pm = time(18, 0)
    assert next_digest(hcm(27, 9), HCM, six_pm) == hcm(27, 18).astimezone(UTC)
    assert next_digest(hcm(27, 18), HCM, six_pm) == hcm(27, 18).astimezone(UTC)
    assert next_digest(hcm(27, 18, 1), HCM, six_pm) == hcm(28, 18).astimezone(UTC)


def test_due_times_per_channel() -> None:
    digest = Schedule(HCM, NIGHT, digest=True, digest_time=time(22, 0))
    now = hcm(27, 10)
    assert due_at(now, digest, "inbox", grouped=True) == now  # the inbox is never held back
    # A digest at 22:00 falls in the quiet hours: it waits for 07:00.
    assert due_at(now, digest, "email", grouped=True) == hcm(28, 7).astimezone(UTC)
    assert due_at(now, digest, "email", grouped=False) == now
    assert due_at(hcm(27, 23), digest, "webhook", grouped=False) == hcm(28, 7).astimezone(UTC)


def test_back_off_doubles_up_to_a_cap_with_jitter_in_the_upper_half() -> None:
    assert [retry_delay(n, 2, 60, jitter=1.0) for n in range(1, 7)] == [2, 4, 8, 16, 32, 60]
    assert retry_delay(3, 2, 60, jitter=0.0) == 4
    assert retry_delay(100, 2, 60, jitter=0.5) == 45
    with pytest.raises(ValueError):
        retry_delay(0, 2, 60, jitter=0.5)


def test_a_token_bucket_lets_a_burst_through_then_paces() -> None:
    bucket = TokenBucket(capacity=2, per_second=2, now=0.0)
    assert [bucket.reserve(0.0) for _ in range(2)] == [0.0, 0.0]
    assert bucket.reserve(0.0) == 0.5  # the third waits for the next token
    assert bucket.reserve(0.0) == 1.0  # and the fourth for the one after
    assert bucket.reserve(10.0) == 0.0  # refilled (to the burst, not beyond)
    assert bucket.reserve(10.0) == 0.0
    assert bucket.reserve(10.0) == 0.5


def test_an_idle_worker_looks_half_as_often_each_time_until_work_wakes_it() -> None:
    pauses = [0.5]
    for _ in range(6):
        pauses.append(idle_pause(pauses[-1], False, 0.5, 4.0))
    assert pauses == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]
    assert idle_pause(4.0, True, 0.5, 4.0) == 0.5  # new work planned here: look at once
    assert idle_pause(0.5, False, 0.5, 0.1) == 0.5  # a ceiling under the poll is the poll
