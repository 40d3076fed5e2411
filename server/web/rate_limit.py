"""A token bucket per key (a client's address, a sender's token subject): bursts are fine,
floods get 429 (``too_many_requests``) with Retry-After.

The clock is injected (monotonic seconds) so tests run without sleeping.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from server.errors import TooManyRequests

MAX_TRACKED = 50_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(
        self,
        per_minute: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        burst: int | None = None,
    ) -> None:
        """``per_minute`` tokens come back a minute; a bucket holds ``burst`` (default: as many
        as a minute brings). Less than one a minute is allowed: a mailbox's link requests."""
        self._capacity = float(per_minute if burst is None else burst)
        self._rate = per_minute / 60.0
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self.refused = 0  # requests turned away since start

    def check(self, address: str, what: str | None = None) -> None:
        """Spend one token of ``address``; raise TooManyRequests when it has none left,
        saying "too many ``what`` at once" when given (a sender's notices, say)."""
        now = self._clock()
        bucket = self._buckets.get(address)
        if bucket is None:
            bucket = self._buckets[address] = _Bucket(self._capacity, now)
            if len(self._buckets) > MAX_TRACKED:
                self._buckets.popitem(last=False)  # forget the quietest address, not memory
        else:
            self._buckets.move_to_end(address)  # most recently seen last
        bucket.tokens = min(self._capacity, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        if bucket.tokens < 1.0:
            self.refused += 1
            wait = math.ceil((1.0 - bucket.tokens) / self._rate)
            message = (
                "too many requests from your address; try again shortly"
                if what is None
                else f"too many {what} at once; try again in {wait} s"
            )
            raise TooManyRequests(message, retry_after=wait)
        bucket.tokens -= 1.0
