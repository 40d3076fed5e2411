"""The per-address token bucket, on an injected clock."""

from __future__ import annotations

import pytest

from server.errors import TooManyRequests
from server.web.rate_limit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_up_to_the_limit_then_429_with_retry_after() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=60, clock=clock)
    for _ in range(60):
        limiter.check("10.0.0.1")
    with pytest.raises(TooManyRequests) as caught:
        limiter.check("10.0.0.1")
    assert caught.value.retry_after == 1
    limiter.check("10.0.0.2")  # another address is not affected


def test_tokens_come_back_with_time() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=6, clock=clock)
    for _ in range(6):
        limiter.check("a")
    with pytest.raises(TooManyRequests) as caught:
        limiter.check("a")
    assert caught.value.retry_after == 10
    clock.now += 10
    limiter.check("a")
    with pytest.raises(TooManyRequests):
        limiter.check("a")
    clock.now += 3600
    for _ in range(6):  # refilled to the burst size, never beyond
        limiter.check("a")
    with pytest.raises(TooManyRequests):
        limiter.check("a")


def test_memory_is_bounded() -> None:
    from server.web import rate_limit as ratelimit

    limiter = RateLimiter(per_minute=1, clock=Clock())
    for n in range(ratelimit.MAX_TRACKED + 10):
        limiter.check(f"addr-{n}")
    assert len(limiter._buckets) == ratelimit.MAX_TRACKED


def test_the_quietest_address_is_forgotten_not_one_seen_again() -> None:
    from server.web import rate_limit as ratelimit

    limiter = RateLimiter(per_minute=1, clock=Clock())
    limiter.check("flooder")  # its one token spent
    for n in range(ratelimit.MAX_TRACKED - 1):
        limiter.check(f"addr-{n}")
    with pytest.raises(TooManyRequests):
        limiter.check("flooder")  # seen again: now the most recent
    limiter.check("newcomer")  # one too many: addr-0, the quietest, is forgotten
    with pytest.raises(TooManyRequests):
        limiter.check("flooder")
    limiter.check("addr-0")  # a fresh bucket


def test_a_small_burst_then_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=120, clock=clock, burst=5)
    for _ in range(5):
        limiter.check("technician")
    with pytest.raises(TooManyRequests):
        limiter.check("technician")
    clock.now += 0.5  # two a second
    limiter.check("technician")
    with pytest.raises(TooManyRequests):
        limiter.check("technician")
    clock.now += 60
    for _ in range(5):
        limiter.check("technician")  # never more than the burst, however long it waited
    with pytest.raises(TooManyRequests):
        limiter.check("technician")
