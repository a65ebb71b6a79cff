"""When a message may go out — quiet hours, digests, retries — without I/O (the pace per
channel is :class:`services.common.tokenbucket.TokenBucket`).

Times are aware datetimes; a learner's quiet hours and digest time are wall-clock times in
their own zone (``zoneinfo``), so "21:00–07:00" means their evening, wherever the server is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class QuietHours:
    """A daily window (local wall-clock) in which nothing is pushed; ``start == end`` is none.

    A window may wrap midnight (``21:00``–``07:00``).
    """

    start: time
    end: time

    def __post_init__(self) -> None:
        # an aware time cannot be compared with a local wall-clock time (TypeError later)
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("quiet hours are local wall-clock times, without an offset")

    def contains(self, moment: time) -> bool:
        """Whether the local time ``moment`` falls in the window (start inclusive, end not)."""
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


@dataclass(frozen=True)
class Schedule:
    """How a learner wants to be reached in time."""

    zone: ZoneInfo
    quiet: QuietHours | None
    digest: bool
    digest_time: time


def _at(day_local: datetime, moment: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day_local.date(), moment, tzinfo=zone)


def after_quiet_hours(now: datetime, zone: ZoneInfo, quiet: QuietHours | None) -> datetime:
    """``now`` if it is outside the quiet window, else the end of the window (in UTC)."""
    local = now.astimezone(zone)
    if quiet is None or not quiet.contains(local.time().replace(tzinfo=None)):
        return now.astimezone(UTC)
    end = _at(local, quiet.end, zone)
    if end <= local:  # a window wrapping midnight that began this evening ends tomorrow
        end = _at(local + timedelta(days=1), quiet.end, zone)
    return end.astimezone(UTC)


def next_digest(now: datetime, zone: ZoneInfo, digest_time: time) -> datetime:
    """The next time (today or tomorrow, local) the learner's digest goes out, in UTC."""
    local = now.astimezone(zone)
    due = _at(local, digest_time, zone)
    if due < local:
        due = _at(local + timedelta(days=1), digest_time, zone)
    return due.astimezone(UTC)


def due_at(now: datetime, schedule: Schedule, channel: str, grouped: bool) -> datetime:
    """When a new message may first be sent.

    The inbox is not a push channel: it is filled at once. Pushed messages wait for the end of
    the quiet hours; ``grouped`` messages (programmes) of a learner who chose a digest wait for
    the digest time (then for the quiet hours, if the digest time falls in them).
    """
    if channel == "inbox":
        return now.astimezone(UTC)
    start = next_digest(now, schedule.zone, schedule.digest_time) if grouped else now
    return after_quiet_hours(start, schedule.zone, schedule.quiet)


def retry_delay(attempts: int, base: float, cap: float, jitter: float) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: exponential, capped, jittered.

    ``base · 2^(attempts-1)`` capped at ``cap``, then scaled into its upper half by ``jitter``
    (0 ≤ jitter ≤ 1) so that many failures do not retry in lock-step.
    """
    if attempts < 1:
        raise ValueError("attempts counts from 1")
    ceiling: float = min(cap, base * 2.0 ** min(attempts - 1, 60))
    return ceiling * (0.5 + 0.5 * min(max(jitter, 0.0), 1.0))


def idle_pause(pause: float, woken: bool, poll: float, longest: float) -> float:
    """How long an idle delivery worker waits before it looks again: ``poll`` seconds after
    new work woke it, else twice its last pause, up to ``longest`` (never under ``poll``)."""
    return poll if woken else min(pause * 2, max(poll, longest))
