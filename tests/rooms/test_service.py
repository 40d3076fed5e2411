"""RoomService against a real SQLite store and a manual clock: reconcile, overrides, restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from scheduler.clock import ManualClock, wall_now
from scheduler.timetable import OverrideAction, RoomState
from server.errors import Conflict, UnknownRoom
from server.rooms.service import Reason, RoomService, RoomUpdate
from server.store import Actor, AuditEntry, Store
from tests.helpers import bundled_config

TECH = Actor("u_tech", "Tess Technician")
CONFIG = bundled_config()
WELCOME = CONFIG.timetable.item("welcome")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store.in_data_dir(tmp_path)
    await store.prepare()
    yield store
    await store.close()


async def service(store: Store, clock: ManualClock, run: str = "event") -> RoomService:
    rooms = RoomService(CONFIG.timetable, clock, store.rooms, run, wall_now)
    await rooms.load()
    return rooms


async def test_reconcile_announces_each_change_once(store: Store) -> None:
    clock = ManualClock(WELCOME.starts_at - timedelta(minutes=20))
    rooms = await service(store, clock)
    updates: list[RoomUpdate] = []

    async def listen(update: RoomUpdate) -> None:
        updates.append(update)

    rooms.subscribe(listen)
    assert len(await rooms.reconcile()) == 9  # first sight of every room
    assert await rooms.reconcile() == ()  # idempotent: nothing new, nothing said
    clock.set(WELCOME.starts_at - timedelta(minutes=15))
    assert await rooms.reconcile() == ("welcome",)
    assert rooms.state("welcome") is RoomState.LOBBY
    clock.set(WELCOME.starts_at)
    assert await rooms.reconcile() == ("welcome",)
    assert await rooms.reconcile() == ()
    assert rooms.state("welcome") is RoomState.LIVE
    assert [update.rooms for update in updates][1:] == [("welcome",), ("welcome",)]
    assert all(update.reason is Reason.SCHEDULE for update in updates)


async def test_transitions_are_in_the_audit_log(store: Store) -> None:
    clock = ManualClock(WELCOME.starts_at)
    rooms = await service(store, clock)
    await rooms.reconcile()
    clock.set(WELCOME.ends_at)
    await rooms.reconcile()
    log = [e for e in await rooms.audit_log() if e.room == "welcome"]
    assert [(e.action, e.detail["to"]) for e in log] == [
        ("transition", "live"),
        ("transition", "ended"),
    ]
    assert log[-1].detail["from"] == "live"
    assert log[-1].agenda_at == WELCOME.ends_at
    assert log[-1].actor.name == "schedule"


async def test_a_days_audit_log_is_that_day_in_the_events_zone(store: Store) -> None:
    # Vienna's midnight is 22:00 UTC in June: an entry at 23:30 UTC is already the next day's.
    zone = CONFIG.timetable.zone
    late_monday = datetime(2021, 6, 14, 23, 59, 59, tzinfo=zone)
    clock = ManualClock(late_monday)
    rooms = await service(store, clock)
    await rooms.audit(None, "notice", TECH, {"id": "n1", "text": "Monday"})
    clock.set(late_monday + timedelta(seconds=1))
    await rooms.audit(None, "notice", TECH, {"id": "n2", "text": "Tuesday"})
    clock.set(datetime(2021, 6, 16, 0, 0, tzinfo=zone))
    await rooms.audit(None, "notice", TECH, {"id": "n3", "text": "Wednesday"})

    def texts(entries: list[AuditEntry]) -> list[str]:
        return [e.detail["text"] for e in entries if e.action == "notice"]

    assert texts(await rooms.audit_log(day=date(2021, 6, 14))) == ["Monday"]
    assert texts(await rooms.audit_log(day=date(2021, 6, 15))) == ["Tuesday"]
    assert texts(await rooms.audit_log()) == ["Monday", "Tuesday", "Wednesday"]
    assert await rooms.audit_log(day=date(2021, 6, 13)) == []


async def test_override_start_extend_end_with_who_and_when(store: Store) -> None:
    clock = ManualClock(WELCOME.starts_at - timedelta(minutes=10))
    rooms = await service(store, clock)
    await rooms.reconcile()
    updates: list[RoomUpdate] = []

    async def listen(update: RoomUpdate) -> None:
        updates.append(update)

    rooms.subscribe(listen)
    await rooms.override("welcome", OverrideAction.START, 0, TECH)
    assert rooms.state("welcome") is RoomState.LIVE
    assert updates[-1].reason is Reason.OVERRIDE and updates[-1].actor == TECH
    assert updates[-1].running_order_changed
    clock.advance(timedelta(minutes=55))  # starting early does not move the published end
    await rooms.reconcile()
    assert rooms.state("welcome") is RoomState.ENDED
    with pytest.raises(Conflict):
        await rooms.override("welcome", OverrideAction.EXTEND, 5, TECH)
    clock.set(CONFIG.timetable.item("keynote").starts_at + timedelta(minutes=40))
    await rooms.reconcile()
    item = await rooms.override("keynote", OverrideAction.EXTEND, 10, TECH)
    assert item.ends_at == CONFIG.timetable.item("keynote").ends_at + timedelta(minutes=10)
    assert set(updates[-1].rooms) >= {"keynote", "panel-1"}  # the panel was pushed back
    assert rooms.timetable.item("panel-1").starts_at - CONFIG.timetable.item(
        "panel-1"
    ).starts_at == timedelta(minutes=10)
    await rooms.override("keynote", OverrideAction.END, 0, TECH)
    assert rooms.state("keynote") is RoomState.ENDED
    overrides = [e for e in await rooms.audit_log() if e.action == "override"]
    assert [(e.room, e.detail["action"], e.actor) for e in overrides] == [
        ("welcome", "start", TECH),
        ("keynote", "extend", TECH),
        ("keynote", "end", TECH),
    ]


async def test_overrides_survive_a_restart_of_the_service(store: Store) -> None:
    clock = ManualClock(WELCOME.starts_at + timedelta(minutes=30))
    rooms = await service(store, clock)
    await rooms.reconcile()
    await rooms.override("welcome", OverrideAction.EXTEND, 15, TECH)
    again = await service(store, clock)
    assert again.timetable.item("welcome").ends_at == WELCOME.ends_at + timedelta(minutes=15)
    assert again.state("welcome") is RoomState.LIVE
    assert await again.reconcile() == ()  # nothing to announce: it was live and still is
    other_run = await service(store, clock, run="rehearsal:x")
    assert other_run.timetable.item("welcome").ends_at == WELCOME.ends_at


async def test_refusals_change_nothing(store: Store) -> None:
    clock = ManualClock(WELCOME.starts_at + timedelta(minutes=1))
    rooms = await service(store, clock)
    await rooms.reconcile()
    with pytest.raises(Conflict, match="already live"):
        await rooms.override("welcome", OverrideAction.START, 0, TECH)
    with pytest.raises(UnknownRoom):
        await rooms.override("break-mon", OverrideAction.START, 0, TECH)
    with pytest.raises(UnknownRoom):
        await rooms.override("nope", OverrideAction.END, 0, TECH)
    assert rooms.override_count == 0
    assert await store.rooms.overrides("event") == []
