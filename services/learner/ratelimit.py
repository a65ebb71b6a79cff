"""Per-caller rate limits without I/O: a token bucket per caller.

A caller is what the deployment can vouch for: a training centre (by its id, so rotating its
API key does not hand it a fresh bucket), or a client address as the socket peer gives it
(``X-Forwarded-For`` counts only from the proxies the deployment names, see
``Settings.trusted_proxies``). The table of buckets is bounded: when it is full, the caller
idle the longest is forgotten, never the whole table.
"""

from __future__ import annotations

import math
from collections import OrderedDict

from services.common.tokenbucket import TokenBucket


class RateLimiter:
    """One bucket per caller; each allows ``per_minute`` requests with bursts up to it."""

    def __init__(self, per_minute: int, max_callers: int = 100_000) -> None:
        self.per_minute = per_minute
        self.max_callers = max_callers
        # least recently used first: the one to forget when the table is full
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def check(self, caller: str, now: float, cost: float = 1.0) -> int | None:
        """None if the caller may go on, else whole seconds for a ``Retry-After`` header."""
        bucket = self._buckets.get(caller)
        if bucket is None:
            while len(self._buckets) >= self.max_callers:
                self._buckets.popitem(last=False)  # the longest idle; the busy keep theirs
            bucket = self._buckets[caller] = TokenBucket(self.per_minute, self.per_minute / 60, now)
        else:
            self._buckets.move_to_end(caller)
        wait = bucket.take(now, min(cost, self.per_minute))
        return None if wait is None else max(1, math.ceil(wait))

    def __len__(self) -> int:
        return len(self._buckets)
