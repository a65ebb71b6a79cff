"""The one token bucket of the project, without I/O: the caller passes the (monotonic) clock,
so a bucket is exact in tests. Two ways to spend from it:

- ``take`` refuses what the bucket cannot pay now (rate limits on callers: the answer is
  ``429`` with the wait);
- ``reserve`` always takes and says how long to wait before using the token (pacing one's
  own work, e.g. deliveries per channel).
"""

from __future__ import annotations


class TokenBucket:
    """``capacity`` tokens at most, refilled at ``per_second``; full at ``now``."""

    def __init__(self, capacity: float, per_second: float, now: float) -> None:
        if per_second <= 0 or capacity < 1:
            raise ValueError("per_second must be positive and capacity at least 1")
        self.capacity = capacity
        self.per_second = per_second
        self.tokens = capacity
        self.updated = now

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now

    def take(self, now: float, cost: float = 1.0) -> float | None:
        """Spend ``cost`` tokens; None if allowed, else the seconds to wait before retrying
        (nothing is spent then)."""
        self._refill(now)
        if self.tokens >= cost:
            self.tokens -= cost
            return None
        return (cost - self.tokens) / self.per_second

    def reserve(self, now: float) -> float:
        """Take a token; the seconds to wait until it may be used (0 if at once)."""
        self._refill(now)
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.per_second
