"""The agenda as iCalendar, parsed back with ``icalendar``: against a RoomService on a real
SQLite store and a manual clock, overrides included."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar, Event

from scheduler.clock import ManualClock, wall_now
from scheduler.timetable import Override, OverrideAction
from server.rooms.agenda_calendar import AgendaCalendar, Revision, UnknownItem, revisions
from server.rooms.service import RoomService
from server.store import Actor, Store
from tests.helpers import bundled_config

TECH = Actor("u_tech", "Tess Technician")
CONFIG = bundled_config()
TIMETABLE = CONFIG.timetable
WELCOME = TIMETABLE.item("welcome")
WRITTEN = datetime(2021, 5, 1, 9, 30, tzinfo=UTC)
PUBLIC = "https://conference.example.org"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store.in_data_dir(tmp_path)
    await store.prepare()
    yield store
    await store.close()


async def service(store: Store, clock: ManualClock) -> RoomService:
    rooms = RoomService(TIMETABLE, clock, store.rooms, "event", wall_now)
    await rooms.load()
    return rooms


def events(body: bytes) -> dict[str, Event]:
    """The VEVENTs by the item id their UID begins with."""
    parsed = Calendar.from_ical(body)
    found = {}
    for event in parsed.walk("VEVENT"):
        found[str(event["uid"]).split(".", 1)[0]] = event
    return found


# -- revisions: pure ------------------------------------------------------------------------


def test_an_untouched_agenda_has_no_revisions() -> None:
    assert revisions(TIMETABLE, []) == {}


def test_each_change_that_moves_an_item_counts_once() -> None:
    during = WELCOME.starts_at + timedelta(minutes=10)
    extend = Override("welcome", OverrideAction.EXTEND, during, 10)
    delay = Override("keynote", OverrideAction.DELAY, during + timedelta(minutes=1), 5)
    found = revisions(TIMETABLE, [extend, delay])
    assert found["welcome"] == Revision(1, during)
    assert found["keynote"] == Revision(2, delay.at)  # pushed back, then delayed
    assert found["break-mon"].sequence == 2 and found["panel-1"].sequence == 2
    assert "statement-day-2" not in found  # another day


def test_an_end_and_its_undo_are_two_changes() -> None:
    during = WELCOME.starts_at + timedelta(minutes=10)
    end = Override("welcome", OverrideAction.END, during)
    reopen = Override("welcome", OverrideAction.REOPEN, during + timedelta(minutes=1))
    found = revisions(TIMETABLE, [end, reopen])
    assert found["welcome"] == Revision(2, reopen.at)
    assert "keynote" not in found  # restored as it was: nothing after it moved


def test_an_override_that_no_longer_fits_is_passed_over() -> None:
    gone = Override("no-such-room", OverrideAction.EXTEND, WELCOME.starts_at, 5)
    late = Override("welcome", OverrideAction.EXTEND, WELCOME.ends_at + timedelta(hours=1), 5)
    assert revisions(TIMETABLE, [gone, late]) == {}


# -- the calendar -----------------------------------------------------------------------------


async def test_every_item_at_its_times_in_the_events_zone(store: Store) -> None:
    rooms = await service(store, ManualClock(WELCOME.starts_at - timedelta(days=1)))
    body = AgendaCalendar(CONFIG, rooms, PUBLIC, WRITTEN).whole().body
    parsed = Calendar.from_ical(body)
    assert [str(zone["tzid"]) for zone in parsed.walk("VTIMEZONE")] == ["Europe/Vienna"]
    found = events(body)
    assert list(found) == [item.id for item in TIMETABLE.items]
    for item in TIMETABLE.items:
        event = found[item.id]
        assert event.decoded("dtstart") == item.starts_at
        assert event.decoded("dtend") == item.ends_at
        assert str(event["dtstart"].dt.tzinfo) == "Europe/Vienna"
        assert str(event["summary"]) == item.title
        assert str(event["location"]) == CONFIG.event.venue
        assert event["sequence"] == 0
        assert event.decoded("dtstamp") == WRITTEN
        assert "last-modified" not in event
    assert str(found["panel-1"]["url"]) == f"{PUBLIC}/watch/panel-1"
    assert str(found["break-mon"]["url"]) == f"{PUBLIC}/"
    assert str(found["panel-1"]["description"]).startswith("The obligation for States")
    assert "Sound only." in str(found["statement-day-2"]["description"])
    assert "method" not in parsed


async def test_uids_are_stable_and_differ_between_events(store: Store) -> None:
    rooms = await service(store, ManualClock(WELCOME.starts_at))
    first = AgendaCalendar(CONFIG, rooms, PUBLIC, WRITTEN)
    again = AgendaCalendar(CONFIG, rooms, "http://127.0.0.1:8080", WRITTEN)
    other = AgendaCalendar(replace(CONFIG, issuer="elsewhere"), rooms, PUBLIC, WRITTEN)
    uids = [str(event["uid"]) for event in events(first.whole().body).values()]
    assert len(set(uids)) == len(TIMETABLE.items)
    assert uids == [str(event["uid"]) for event in events(again.whole().body).values()]
    assert first.uid("welcome") != other.uid("welcome")


async def test_an_extend_moves_the_items_and_raises_their_sequence(store: Store) -> None:
    during = WELCOME.starts_at + timedelta(minutes=30)
    rooms = await service(store, ManualClock(during))
    await rooms.reconcile()
    await rooms.override("welcome", OverrideAction.EXTEND, 15, TECH)
    calendar = AgendaCalendar(CONFIG, rooms, PUBLIC, WRITTEN)
    file = calendar.whole()
    found = events(file.body)
    for item in rooms.timetable.items:
        assert found[item.id].decoded("dtstart") == item.starts_at
        assert found[item.id].decoded("dtend") == item.ends_at
    assert found["welcome"].decoded("dtend") == WELCOME.ends_at + timedelta(minutes=15)
    assert found["keynote"].decoded("dtstart") == WELCOME.ends_at + timedelta(minutes=15)
    assert found["welcome"]["sequence"] == 1 and found["keynote"]["sequence"] == 1
    assert found["panel-2"]["sequence"] == 0
    assert found["welcome"].decoded("last-modified") == during
    assert found["welcome"].decoded("dtstamp") == during  # later than WRITTEN
    assert found["panel-2"].decoded("dtstamp") == WRITTEN
    assert file.modified_at == during
    restarted = await service(store, ManualClock(during + timedelta(minutes=1)))
    assert AgendaCalendar(CONFIG, restarted, PUBLIC, WRITTEN).whole().body == file.body


async def test_one_item_alone_with_its_zone(store: Store) -> None:
    rooms = await service(store, ManualClock(WELCOME.starts_at))
    calendar = AgendaCalendar(CONFIG, rooms, PUBLIC, WRITTEN)
    for item_id in ("panel-1", "break-tue"):
        file = calendar.of_item(item_id)
        assert file.filename == f"{item_id}.ics"
        parsed = Calendar.from_ical(file.body)
        assert len(parsed.walk("VTIMEZONE")) == 1
        (event,) = parsed.walk("VEVENT")
        assert str(event["uid"]) == calendar.uid(item_id)
        assert event.decoded("dtstart") == TIMETABLE.item(item_id).starts_at


async def test_a_mailed_copy_says_publish(store: Store) -> None:
    rooms = await service(store, ManualClock(WELCOME.starts_at))
    body = AgendaCalendar(CONFIG, rooms, PUBLIC, WRITTEN).whole(method="PUBLISH").body
    assert str(Calendar.from_ical(body)["method"]) == "PUBLISH"


@pytest.mark.parametrize("item_id", ["nothing", "WELCOME", "wélcome", "../config", "x" * 5000, ""])
async def test_an_unknown_item_is_named_briefly(store: Store, item_id: str) -> None:
    rooms = await service(store, ManualClock(WELCOME.starts_at))
    with pytest.raises(UnknownItem) as refused:
        AgendaCalendar(CONFIG, rooms, PUBLIC, WRITTEN).of_item(item_id)
    assert refused.value.code == "unknown_item"
    assert len(refused.value.message) < 100
