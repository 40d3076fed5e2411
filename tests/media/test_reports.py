"""The schedule of the relay's RTCP sender reports (server/media/reports.py), on a clock the
tests move; the reports themselves, on real connections, are in test_media.py."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from typing import Any

import pytest

from server.media.reports import FIRST_WITHIN_SECONDS, INTERVAL_SECONDS, ReportSchedule

TICK = 0.02  # a packet every 20 ms, as Opus sends


def all_due(schedule: ReportSchedule[Any], now: float) -> list[Any]:
    """Everyone due by ``now``, taken one by one as the forwarder takes them."""
    taken = []
    while (viewer := schedule.take_due(now)) is not None:
        taken.append(viewer)
    return taken


def run(schedule: ReportSchedule[str], start: float, seconds: float) -> list[tuple[float, str]]:
    """Ask the schedule after every packet for ``seconds``: (when, viewer) of each report."""
    sent = []
    for step in range(round(seconds / TICK)):
        now = start + step * TICK
        sent += [(now, viewer) for viewer in all_due(schedule, now)]
    return sent


def test_a_new_viewer_is_reported_to_soon_then_at_libwebrtcs_pace() -> None:
    for kind, interval in INTERVAL_SECONDS.items():
        schedule: ReportSchedule[str] = ReportSchedule(interval, random.Random(kind).random)
        schedule.add("a", now=100.0)
        times = [when for when, _ in run(schedule, 100.0, 60 * interval)]
        assert times[0] - 100.0 <= FIRST_WITHIN_SECONDS + TICK
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert min(gaps) >= 0.5 * interval - TICK and max(gaps) <= 1.5 * interval + TICK
        assert abs(sum(gaps) / len(gaps) - interval) < 0.15 * interval, kind
    assert INTERVAL_SECONDS == {"audio": 5.0, "video": 1.0}


def test_viewers_joining_together_are_reported_to_apart() -> None:
    schedule: ReportSchedule[int] = ReportSchedule(1.0, random.Random(1).random)
    for viewer in range(200):
        schedule.add(viewer, now=0.0)
    first = {}
    for step in range(100):
        for viewer in all_due(schedule, step * 0.01):
            first.setdefault(viewer, step * 0.01)
    assert len(first) == 200
    assert max(first.values()) > 0.4 and min(first.values()) < 0.1  # spread over half a second
    per_tenth = Counter(int(when * 10) for when in first.values())
    assert max(per_tenth.values()) < 80  # not all in one moment


def test_reports_are_taken_one_at_a_time_in_order_of_due() -> None:
    schedule: ReportSchedule[int] = ReportSchedule(1.0, lambda: 0.0)
    for viewer in range(3):
        schedule.add(viewer, now=float(viewer))  # due at 0, 1 and 2
    assert schedule.take_due(1.5) == 0
    assert schedule.take_due(1.5) == 1
    assert schedule.take_due(1.5) is None  # 2 is not due yet; 0 and 1 are again at 2.0
    assert all_due(schedule, 2.0) == [2, 0, 1]  # the earliest first; on a tie, who came first
    assert schedule.take_due(2.49) is None  # each again after half the interval at the earliest
    assert len(all_due(schedule, 2.5)) == 3


def test_a_viewer_that_left_gets_no_more_and_one_that_came_back_no_double() -> None:
    schedule: ReportSchedule[str] = ReportSchedule(1.0, random.Random(2).random)
    schedule.add("stays", now=0.0)
    schedule.add("leaves", now=0.0)
    schedule.add("returns", now=0.0)
    schedule.remove("leaves")
    schedule.remove("returns")
    schedule.add("returns", now=0.0)
    schedule.remove("never there")  # nothing happens
    assert len(schedule) == 2 and "leaves" not in schedule and "returns" in schedule
    counts = Counter(viewer for _, viewer in run(schedule, 0.0, 30.0))
    assert "leaves" not in counts
    assert 20 <= counts["returns"] <= 40 and 20 <= counts["stays"] <= 40
    assert abs(counts["returns"] - counts["stays"]) <= 6


def test_comings_and_goings_leave_no_heap_behind() -> None:
    schedule: ReportSchedule[int] = ReportSchedule(5.0, random.Random(3).random)
    for round_ in range(2000):
        schedule.add(round_ % 10, now=round_ * 0.01)
        schedule.remove((round_ + 5) % 10)
        all_due(schedule, round_ * 0.01)
    assert len(schedule._heap) <= 2 * len(schedule) + 64 + 1


@pytest.mark.parametrize("interval", [0.0, -1.0])
def test_an_interval_must_be_positive(interval: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        ReportSchedule(interval)


def test_next_at_says_when_to_ask_again() -> None:
    schedule: ReportSchedule[str] = ReportSchedule(1.0, lambda: 0.5)
    assert schedule.next_at() == float("inf")
    schedule.add("a", now=10.0)
    assert schedule.next_at() == 10.25  # half of FIRST_WITHIN_SECONDS, as random gave 0.5
    assert schedule.take_due(10.2) is None and schedule.take_due(10.25) == "a"
    assert schedule.next_at() == 11.25
