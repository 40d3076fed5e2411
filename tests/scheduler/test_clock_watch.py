"""Telling a step of the wall clock from the passing of time, on clocks the test moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduler.clock_watch import ClockWatch


class Clocks:
    """A wall clock and a monotonic clock that move only when told: together, as time
    passes, or the wall clock alone, as when it is set."""

    def __init__(self) -> None:
        self.wall_at = datetime(2021, 6, 14, 12, 0, tzinfo=UTC)
        self.monotonic_at = 1_000.0

    def wall(self) -> datetime:
        return self.wall_at

    def monotonic(self) -> float:
        return self.monotonic_at

    def run(self, seconds: float) -> None:
        self.wall_at += timedelta(seconds=seconds)
        self.monotonic_at += seconds

    def set_wall(self, by: timedelta) -> None:
        self.wall_at += by


def watch(clocks: Clocks) -> ClockWatch:
    return ClockWatch(clocks.wall, clocks.monotonic)


def test_time_passing_is_no_step() -> None:
    clocks = Clocks()
    watching = watch(clocks)
    for seconds in (0.5, 0.5, 30.0, 3_600.0):  # however long between two looks
        clocks.run(seconds)
        assert watching.step() is None


def test_a_step_forward_and_one_back_are_measured() -> None:
    clocks = Clocks()
    watching = watch(clocks)
    clocks.run(0.5)
    clocks.set_wall(timedelta(minutes=50))
    assert watching.step() == timedelta(minutes=50)
    clocks.run(0.5)
    assert watching.step() is None  # told once
    clocks.set_wall(-timedelta(minutes=50))
    clocks.run(0.5)
    assert watching.step() == -timedelta(minutes=50)


def test_slewing_is_no_step_but_a_second_is() -> None:
    clocks = Clocks()
    watching = watch(clocks)
    clocks.set_wall(timedelta(milliseconds=100))  # NTP slews by at most 0.5 ms a second
    assert watching.step() is None
    clocks.set_wall(-timedelta(seconds=1))
    assert watching.step() == -timedelta(seconds=1)


def test_reset_forgets_what_came_before() -> None:
    clocks = Clocks()
    watching = watch(clocks)
    clocks.set_wall(timedelta(hours=1))  # before the watch started watching
    watching.reset()
    clocks.run(0.5)
    assert watching.step() is None
