"""Per-caller rate limits without I/O: a token bucket per API key (or client address)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """``capacity`` requests at once, refilled at ``per_second``."""

    capacity: float
    per_second: float
    tokens: float = field(default=-1.0)
    updated: float = 0.0

    def take(self, now: float, cost: float = 1.0) -> float | None:
        """Spend ``cost`` tokens; None if allowed, else the seconds to wait before retrying."""
        if self.tokens < 0:
            self.tokens, self.updated = self.capacity, now
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        if self.tokens >= cost:
            self.tokens -= cost
            return None
        return (cost - self.tokens) / self.per_second


class RateLimiter:
    """One bucket per caller; each allows ``per_minute`` requests with bursts up to it."""

    def __init__(self, per_minute: int, max_callers: int = 100_000) -> None:
        self.per_minute = per_minute
        self.max_callers = max_callers
        self._buckets: dict[str, TokenBucket] = {}

    def check(self, caller: str, now: float, cost: float = 1.0) -> int | None:
        """None if the caller may go on, else whole seconds for a ``Retry-After`` header."""
        bucket = self._buckets.get(caller)
        if bucket is None:
            if len(self._buckets) >= self.max_callers:
                self._buckets.clear()  # bounded memory; forgetting only ever grants more
            bucket = self._buckets[caller] = TokenBucket(self.per_minute, self.per_minute / 60)
        wait = bucket.take(now, min(cost, self.per_minute))
        return None if wait is None else max(1, math.ceil(wait))
