"""Notices when the wall clock steps: an NTP step, or a virtual machine resumed after a pause.

A timer set before a step is wrong by as much as the step. asyncio's timers (and so
APScheduler's) count on the monotonic clock, which never steps, while every transition is
placed at a wall instant. Comparing how far each clock moved between two looks tells a step
from the passing of time: the two move together unless the wall clock was set.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from scheduler.clock import wall_now

# How often to look: a step is noticed, and the rooms put right, within this.
INTERVAL_SECONDS = 0.25
# Smaller differences are NTP slewing the clock or the cost of the look, not a step.
TOLERANCE = timedelta(milliseconds=250)


class ClockWatch:
    def __init__(
        self,
        wall: Callable[[], datetime] = wall_now,
        monotonic: Callable[[], float] = time.monotonic,
        interval: float = INTERVAL_SECONDS,
        tolerance: timedelta = TOLERANCE,
    ) -> None:
        self.interval = interval
        self._wall = wall
        self._monotonic = monotonic
        self._tolerance = tolerance
        self._last = (wall(), monotonic())

    def reset(self) -> None:
        """Start comparing from now: what happened before is not a step."""
        self._last = (self._wall(), self._monotonic())

    def step(self) -> timedelta | None:
        """How far the wall clock jumped since the last look (forward is positive), or
        ``None`` when it merely ran."""
        last_wall, last_monotonic = self._last
        self.reset()
        wall, monotonic = self._last
        jump = (wall - last_wall) - timedelta(seconds=monotonic - last_monotonic)
        return jump if abs(jump) > self._tolerance else None
