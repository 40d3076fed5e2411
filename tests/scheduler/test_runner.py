"""The scheduler under a fast rehearsal clock: every transition announced on time, in order."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from scheduler.clock import RehearsalClock, wall_now
from scheduler.clock_watch import ClockWatch
from scheduler.runner import TransitionRunner
from scheduler.timetable import OverrideAction, RoomState
from server.rooms.service import RoomService, RoomUpdate
from server.store import Actor, Store
from tests.helpers import bundled_config, fast_rehearsal
from tests.small_disk import SmallDisk

CONFIG = bundled_config()
ON_TIME = timedelta(milliseconds=500)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store.in_data_dir(tmp_path)
    await store.prepare()
    yield store
    await store.close()


class Recorder:
    def __init__(self, rooms: RoomService) -> None:
        self.rooms = rooms
        self.seen: list[tuple[str, RoomState, datetime]] = []
        rooms.subscribe(self.record)

    async def record(self, update: RoomUpdate) -> None:
        for room in update.rooms:
            self.seen.append((room, self.rooms.state(room), wall_now()))

    async def until(self, room: str, state: RoomState, within: float = 10.0) -> datetime:
        async with asyncio.timeout(within):
            while True:
                for seen_room, seen_state, at in self.seen:
                    if (seen_room, seen_state) == (room, state):
                        return at
                await asyncio.sleep(0.01)


class SteppedWall:
    """The machine's wall clock, which can be set, as an NTP step sets it: the monotonic
    clock (and so asyncio's timers, and APScheduler's) does not move with it."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return wall_now() + self.offset


async def start(
    store: Store, clock: RehearsalClock, wall: SteppedWall | None = None
) -> tuple[RoomService, TransitionRunner, Recorder]:
    rooms = RoomService(CONFIG.timetable, clock, store.rooms, "test", wall or wall_now)
    recorder = Recorder(rooms)
    await rooms.load()
    runner = TransitionRunner(clock, rooms.reconcile, ClockWatch(wall or wall_now))
    await runner.start(rooms.timetable)
    return rooms, runner, recorder


async def test_first_day_runs_on_time_at_1200x(store: Store) -> None:
    """Monday's agenda (14:00 to 17:30, with lobbies from 13:45) in about 11 wall seconds."""
    clock = fast_rehearsal(CONFIG, lead=0.5, speed=1200)
    rooms, runner, recorder = await start(store, clock)
    try:
        assert rooms.state("welcome") is RoomState.LOBBY  # already inside its lobby window
        for item_id in ("welcome", "keynote", "panel-1"):
            item = CONFIG.timetable.item(item_id)
            for state, agenda_at in (
                (RoomState.LIVE, item.starts_at),
                (RoomState.ENDED, item.ends_at),
            ):
                announced = await recorder.until(item_id, state, within=30)
                late = announced - clock.to_wall(agenda_at)
                assert timedelta(0) <= late < ON_TIME, (item_id, state, late)
        assert rooms.state("statement-day-2") is RoomState.SCHEDULED
        order = [(room, state) for room, state, _ in recorder.seen if room == "keynote"]
        assert order == [
            ("keynote", RoomState.SCHEDULED),
            ("keynote", RoomState.LOBBY),
            ("keynote", RoomState.LIVE),
            ("keynote", RoomState.ENDED),
        ]
    finally:
        await runner.stop()


async def test_override_reschedules_the_transitions(store: Store) -> None:
    clock = fast_rehearsal(CONFIG, lead=-1.0, speed=600)  # 10 agenda minutes into the welcome
    rooms, runner, recorder = await start(store, clock)
    try:
        assert rooms.state("welcome") is RoomState.LIVE
        await rooms.override("welcome", OverrideAction.EXTEND, 20, Actor("u_t", "Tech"))
        runner.schedule(rooms.timetable)
        new_end = rooms.timetable.item("welcome").ends_at
        ended = await recorder.until("welcome", RoomState.ENDED, within=15)
        assert timedelta(0) <= ended - clock.to_wall(new_end) < ON_TIME
        keynote_live = await recorder.until("keynote", RoomState.LIVE, within=15)
        assert abs(keynote_live - ended) < ON_TIME  # pushed back to follow on directly
    finally:
        await runner.stop()


async def test_a_wall_clock_step_either_way_is_reconciled_within_a_second(store: Store) -> None:
    wall = SteppedWall()
    first = CONFIG.timetable.items[0].starts_at
    clock = RehearsalClock(first, wall_now() - timedelta(seconds=10), 1.0, wall=wall)
    rooms, runner, recorder = await start(store, clock, wall)
    try:
        assert rooms.state("welcome") is RoomState.LIVE  # 45 minutes still to go
        pending = runner.pending()
        for step, welcome, keynote in (
            (timedelta(minutes=50), RoomState.ENDED, RoomState.LIVE),
            (-timedelta(minutes=50), RoomState.LIVE, RoomState.SCHEDULED),
        ):
            recorder.seen.clear()
            wall.offset += step
            stepped = time.monotonic()
            # Noticed within a quarter of a second; the rest is one write to the store.
            await recorder.until("welcome", welcome, within=1.5)
            assert time.monotonic() - stepped < 1.5
            assert rooms.state("keynote") is keynote
        # Stepped back, the transitions already run (the welcome's end) are placed again.
        assert runner.pending() == pending
    finally:
        await runner.stop()


async def test_a_transition_the_store_could_not_record_comes_once_it_can(
    small_disk: SmallDisk,
) -> None:
    store = Store.in_data_dir(small_disk.path)
    await store.prepare()
    wall = SteppedWall()
    first = CONFIG.timetable.items[0].starts_at
    clock = RehearsalClock(first, wall_now() - timedelta(seconds=10), 1.0, wall=wall)
    rooms, runner, recorder = await start(store, clock, wall)
    try:
        small_disk.fill()
        wall.offset += timedelta(minutes=50)  # past the welcome's end, at once
        async with asyncio.timeout(2):
            while store.health.failure is None or runner.problem() is None:
                await asyncio.sleep(0.01)
        assert rooms.state("welcome") is RoomState.LIVE  # not announced, as it is not recorded
        assert runner.problem() == (
            "the rooms could not be brought in line with the clock; trying again every 1 s"
        )
        small_disk.free()
        freed = time.monotonic()
        await recorder.until("welcome", RoomState.ENDED, within=3.0)
        late = time.monotonic() - freed
        assert late < 2.0  # tried again every second
        print(f"\nthe transition came {late * 1000:.0f} ms after the disk was freed")
        assert [entry.detail["to"] for entry in await rooms.audit_log()][-2:] == ["ended", "live"]
        assert runner.problem() is None
    finally:
        await runner.stop()
        await store.close()


async def test_stop_is_safe_twice_and_before_start(store: Store) -> None:
    clock = fast_rehearsal(CONFIG)
    runner = TransitionRunner(clock, lambda: asyncio.sleep(0))
    await runner.stop()
    assert runner.problem() == "stopped"
    await runner.start(CONFIG.timetable)
    now = clock.now()
    instants = {t.at for t in CONFIG.timetable.transitions() if t.at > now}
    # 27 transitions, less 3 that coincide (an end meeting the next start), less one past.
    assert runner.running and runner.pending() == len(instants) == 23
    assert runner.problem() is None
    await runner.stop()
    await runner.stop()
    assert not runner.running and runner.problem() == "stopped"
