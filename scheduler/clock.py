"""Clocks: what time it is on the agenda, and when that is on the wall.

The scheduler and the room logic take a ``Clock``, never ``datetime.now()``: the real event runs
on ``SystemClock``, a rehearsal replays the published agenda on ``RehearsalClock`` (shifted to
start soon, optionally faster), and tests drive either without sleeping through real minutes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

MIN_SPEED = 0.01
MAX_SPEED = 10_000.0


def wall_now() -> datetime:
    return datetime.now(UTC)


class Clock(Protocol):
    @property
    def speed(self) -> float: ...

    @property
    def rehearsal(self) -> bool: ...

    def now(self) -> datetime:
        """The present instant in agenda time (aware, UTC)."""
        ...

    def to_wall(self, agenda_instant: datetime) -> datetime:
        """When, on the wall clock, the agenda reaches ``agenda_instant``."""
        ...


class SystemClock:
    """Agenda time is wall time: the real event."""

    speed = 1.0
    rehearsal = False

    def __init__(self, wall: Callable[[], datetime] = wall_now) -> None:
        self._wall = wall

    def now(self) -> datetime:
        return self._wall()

    def to_wall(self, agenda_instant: datetime) -> datetime:
        return agenda_instant


class RehearsalClock:
    """The agenda replayed: agenda instant ``agenda_origin`` happens at wall instant
    ``wall_origin``, and agenda time runs ``speed`` times faster than the wall clock."""

    rehearsal = True

    def __init__(
        self,
        agenda_origin: datetime,
        wall_origin: datetime,
        speed: float = 1.0,
        wall: Callable[[], datetime] = wall_now,
    ) -> None:
        if not MIN_SPEED <= speed <= MAX_SPEED:
            raise ValueError(f"speed must be between {MIN_SPEED} and {MAX_SPEED:g}")
        self.agenda_origin = agenda_origin
        self.wall_origin = wall_origin
        self._speed = speed
        self._wall = wall

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        return self.agenda_origin + (self._wall() - self.wall_origin) * self._speed

    def to_wall(self, agenda_instant: datetime) -> datetime:
        return self.wall_origin + (agenda_instant - self.agenda_origin) / self._speed

    @property
    def run_id(self) -> str:
        """Names this rehearsal, so its overrides never leak into the real event or another
        rehearsal, yet a restarted rehearsal with the same start finds its own."""
        return f"rehearsal:{self.wall_origin.isoformat()}:x{self._speed:g}"


class ManualClock:
    """A clock that moves only when told to: for tests and for the agenda command."""

    speed = 1.0
    rehearsal = False

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def to_wall(self, agenda_instant: datetime) -> datetime:
        return agenda_instant

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, instant: datetime) -> None:
        self._now = instant
