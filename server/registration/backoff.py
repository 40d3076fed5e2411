"""When a letter that failed is tried again: exponential backoff with jitter, and an end.

Pure: no I/O, no clock. After its first try fails a letter waits 30 s, then 1, 2, 4, 8 and
16 minutes, then 30 minutes between tries, and after the twelfth try it is given up, about
three hours after the first. Each wait is shortened by up to a fifth at random, so letters
that failed together (the mail server was down) do not all come back in the same instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

# Past this many doublings every wait is at its longest anyway; it keeps the numbers small.
MAX_DOUBLINGS = 32


@dataclass(frozen=True)
class Backoff:
    first: timedelta = timedelta(seconds=30)
    longest: timedelta = timedelta(minutes=30)
    tries: int = 12
    jitter: float = 0.2  # the most a wait is shortened by, as a fraction of it

    def __post_init__(self) -> None:
        if not timedelta(0) < self.first <= self.longest:
            raise ValueError("the first wait must be positive and no longer than the longest")
        if self.tries < 1:
            raise ValueError("a letter is tried at least once")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter is a fraction from 0 up to 1")

    def wait_after(self, tries: int, spread: float) -> timedelta | None:
        """How long to wait after try number ``tries`` failed, or None if it was the last.
        ``spread``, from 0 up to 1, says where in its jitter this wait falls."""
        if tries >= self.tries:
            return None
        return self._full_wait(tries) * (1 - self.jitter * spread)

    def schedule(self) -> list[timedelta]:
        """Every wait, before jitter: the backoff as a person reads it."""
        return [self._full_wait(tries) for tries in range(1, self.tries)]

    def _full_wait(self, tries: int) -> timedelta:
        doublings = min(max(tries - 1, 0), MAX_DOUBLINGS)
        return min(self.first * (1 << doublings), self.longest)
