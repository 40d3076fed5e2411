"""The technicians' running order over Socket.IO, with real python-socketio clients against the
real app on loopback: start now, undoing an end, the day's delay, and what is refused.

The agenda runs in real time from ten minutes into the welcoming remarks (14:10 in Vienna on
Monday); a test that needs minutes to pass moves the server's wall clock instead of waiting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from scheduler.clock import RehearsalClock, wall_now
from server.auth.permissions import Role
from server.web import appkeys
from server.web.app import create_app
from tests.helpers import bundled_config, settings
from tests.rooms.test_live import Harness

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]
MONDAY = "2021-06-14T"
VIENNA = "+02:00"


def monday(hhmm: str) -> str:
    return f"{MONDAY}{hhmm}:00{VIENNA}"


@dataclass
class SteppingWall:
    """The server's wall clock: the real one, moved on by ``offset`` when a test says so."""

    offset: timedelta = field(default=timedelta(0))

    def __call__(self) -> datetime:
        return wall_now() + self.offset


@pytest.fixture
def wall() -> SteppingWall:
    return SteppingWall()


@pytest.fixture
async def harness(
    tmp_path: Path, aiohttp_server: ServerFactory, wall: SteppingWall
) -> AsyncIterator[Harness]:
    first = bundled_config().timetable.items[0].starts_at
    clock = RehearsalClock(first, wall() - timedelta(minutes=10), 1.0, wall=wall)
    app = create_app(replace(settings(tmp_path, clock), wall=wall))
    harness = Harness(await aiohttp_server(app), app)
    yield harness
    for listener in harness.listeners:
        await listener.close()


def state_of(room: str, **expected: str) -> Callable[[str, Any], bool]:
    def matches(event: str, data: Any) -> bool:
        return (
            event == "room_state"
            and data["room"] == room
            and all(data[key] == value for key, value in expected.items())
        )

    return matches


async def overrides_audited(harness: Harness) -> list[dict[str, Any]]:
    """What the audit log says of each override, oldest first."""
    entries = await harness.app[appkeys.ROOMS].audit_log()
    return [entry.detail for entry in entries if entry.action == "override"]


# -- start now -------------------------------------------------------------------------------


async def test_start_now_keeps_the_items_length(harness: Harness) -> None:
    technician = await harness.listen(Role.TECHNICIAN)
    attendee = await harness.listen(Role.ATTENDEE)
    answer = await technician.call("control", {"room": "keynote", "action": "start"})
    assert answer["ok"] is True, answer
    room = answer["room"]
    length = datetime.fromisoformat(room["ends_at"]) - datetime.fromisoformat(room["starts_at"])
    assert length == timedelta(minutes=45)
    assert room["starts_at"] < monday("14:45")
    state = await attendee.wait_for(state_of("keynote", state="live"))
    assert state["ends_at"] == room["ends_at"]


async def test_start_now_of_another_days_room_is_refused_and_changes_nothing(
    harness: Harness,
) -> None:
    technician = await harness.listen(Role.TECHNICIAN)
    anonymous = await harness.listen()
    answer = await technician.call("control", {"room": "panel-2", "action": "start"})
    assert answer["ok"] is False
    assert answer["error"] == "not_today"
    assert "Tuesday 15 June" in answer["message"]
    assert harness.app[appkeys.ROOMS].override_count == 0
    # The next change anyone hears of is the next command's, not the refused one's.
    assert (await technician.call("control", {"room": "keynote", "action": "start"}))["ok"]
    first = await anonymous.wait_for(lambda event, _: event == "room_state")
    assert first["room"] == "keynote"
    assert [state["room"] for state in anonymous.received("room_state")] == ["keynote"]


# -- undoing an end --------------------------------------------------------------------------


async def test_an_end_undone_reopens_the_room_live_for_everyone(harness: Harness) -> None:
    technician = await harness.listen(Role.TECHNICIAN)
    attendee = await harness.listen(Role.ATTENDEE)
    ended = await technician.call("control", {"room": "welcome", "action": "end"})
    assert ended["room"]["state"] == "ended"
    deadline = datetime.fromisoformat(ended["room"]["reopen_until"])
    left = deadline - datetime.fromisoformat(ended["room"]["now"])
    assert timedelta(minutes=4, seconds=59) < left <= timedelta(minutes=5)
    await attendee.wait_for(state_of("welcome", state="ended"))

    reopened = await technician.call("control", {"room": "welcome", "action": "reopen"})

    assert reopened["ok"] is True, reopened
    assert reopened["room"]["state"] == "live"
    assert reopened["room"]["ends_at"] == monday("14:45")
    assert reopened["room"]["reopen_until"] is None
    state = await attendee.wait_for(state_of("welcome", state="live"))
    assert (state["reason"], state["by"]) == ("override", "A technician")
    actions = [detail["action"] for detail in await overrides_audited(harness)]
    assert actions == ["end", "reopen"]


async def test_an_end_cannot_be_undone_after_the_window(
    harness: Harness, wall: SteppingWall
) -> None:
    technician = await harness.listen(Role.TECHNICIAN)
    assert (await technician.call("control", {"room": "welcome", "action": "end"}))["ok"]
    wall.offset = timedelta(minutes=5, seconds=1)

    answer = await technician.call("control", {"room": "welcome", "action": "reopen"})

    assert answer["ok"] is False
    assert answer["error"] == "undo_expired"
    assert "more than 5 minutes ago" in answer["message"]
    rooms = harness.app[appkeys.ROOMS]
    assert rooms.override_count == 1
    assert rooms.reopen_until("welcome") is None
    assert rooms.state("welcome").value == "ended"


async def test_the_undo_window_comes_from_the_config(
    tmp_path: Path, aiohttp_server: ServerFactory
) -> None:
    config = bundled_config()
    config = replace(config, rooms=replace(config.rooms, undo_end_minutes=0))
    first = config.timetable.items[0].starts_at
    clock = RehearsalClock(first, wall_now() - timedelta(minutes=10), 1.0)
    app = create_app(settings(tmp_path, clock, config))
    harness = Harness(await aiohttp_server(app), app)
    technician = await harness.listen(Role.TECHNICIAN)
    try:
        ended = await technician.call("control", {"room": "welcome", "action": "end"})
        assert ended["room"]["reopen_until"] is None
        answer = await technician.call("control", {"room": "welcome", "action": "reopen"})
        assert answer["error"] == "undo_expired"
    finally:
        await technician.close()


@pytest.mark.parametrize("room", ["welcome", "keynote"])
async def test_only_an_end_now_can_be_undone(harness: Harness, room: str) -> None:
    technician = await harness.listen(Role.TECHNICIAN)
    answer = await technician.call("control", {"room": room, "action": "reopen"})
    assert answer["error"] == "conflict"
    assert "no end to undo" in answer["message"]
    assert harness.app[appkeys.ROOMS].override_count == 0


# -- the day's delay -------------------------------------------------------------------------


async def test_delay_moves_the_rest_of_the_day_for_everyone(harness: Harness) -> None:
    technician = await harness.listen(Role.TECHNICIAN)
    anonymous = await harness.listen()
    answer = await technician.call("control", {"room": "welcome", "action": "delay", "minutes": 10})
    assert answer["ok"] is True, answer
    assert (answer["room"]["starts_at"], answer["room"]["ends_at"]) == (
        monday("14:00"),
        monday("14:55"),
    )
    panel = await anonymous.wait_for(state_of("panel-1"))
    assert (panel["starts_at"], panel["ends_at"]) == (monday("16:10"), monday("17:40"))
    assert panel["reason"] == "override"
    agenda = await anonymous.wait_for(
        lambda event, data: event == "agenda" and data["items"][1]["starts_at"] != monday("14:45")
    )
    by_id = {item["id"]: item for item in agenda["items"]}
    assert by_id["keynote"]["starts_at"] == monday("14:55")
    assert by_id["break-mon"]["starts_at"] == monday("15:40")
    assert by_id["panel-2"]["starts_at"] == "2021-06-15T14:05:00+02:00"  # Tuesday stays
    (detail,) = await overrides_audited(harness)
    assert (detail["action"], detail["minutes"]) == ("delay", 10)
    assert detail["moved"] == ["welcome", "keynote", "panel-1"]  # the rooms, breaks have none


BAD_DELAYS: list[tuple[Any, str]] = [
    ({"room": "welcome", "action": "delay"}, "invalid_input"),  # how long?
    ({"room": "welcome", "action": "delay", "minutes": None}, "invalid_input"),
    ({"room": "welcome", "action": "delay", "minutes": 0}, "invalid_input"),
    ({"room": "welcome", "action": "delay", "minutes": -5}, "invalid_input"),
    ({"room": "welcome", "action": "delay", "minutes": 241}, "invalid_input"),
    ({"room": "welcome", "action": "delay", "minutes": 10**30}, "invalid_input"),
    ({"room": "welcome", "action": "delay", "minutes": "10"}, "invalid_input"),
    ({"room": "welcome", "action": "delay", "minutes": 10.5}, "invalid_input"),
    ({"room": "welcome", "action": "delay", "minutes": float("nan")}, "invalid_input"),
    ({"room": "welcome", "action": "delay", "minutes": True}, "invalid_input"),
    ({"room": "welcome", "action": "delay", "minutes": [10]}, "invalid_input"),
    ({"room": "welcome", "action": "delay", "minutes": {"n": 10}}, "invalid_input"),
    ({"room": "welcome", "action": "delay", "minutes": 10, "source": "x"}, "invalid_input"),
    ({"room": ["welcome"], "action": "delay", "minutes": 10}, "invalid_input"),
    ({"action": "delay", "minutes": 10}, "invalid_input"),
    ({"room": "welcome", "action": "reopen", "minutes": 5}, "invalid_input"),
    ({"room": "welcome", "action": "DELAY", "minutes": 10}, "invalid_input"),
    ({"room": "nowhere", "action": "delay", "minutes": 10}, "unknown_room"),
    ({"room": "break-mon", "action": "delay", "minutes": 10}, "unknown_room"),
    ({"room": "panel-2", "action": "delay", "minutes": 10}, "not_today"),
    ({"room": "closing", "action": "delay", "minutes": 1}, "not_today"),
]


async def test_bad_delays_get_an_error_ack_and_change_nothing(harness: Harness) -> None:
    technician = await harness.listen(Role.TECHNICIAN)
    for payload, code in BAD_DELAYS:
        answer = await technician.call("control", payload)
        assert answer["ok"] is False, payload
        assert answer["error"] == code, (payload, answer)
        assert answer["message"]
    assert harness.app[appkeys.ROOMS].override_count == 0
    assert (await technician.call("control", {"room": "welcome", "action": "delay", "minutes": 1}))[
        "ok"
    ]


@pytest.mark.parametrize("role", [None, Role.ATTENDEE, Role.SPEAKER, Role.MODERATOR])
@pytest.mark.parametrize("action", ["delay", "reopen", "start"])
async def test_only_technicians_and_organizers_delay_reopen_or_start(
    harness: Harness, role: Role | None, action: str
) -> None:
    client = await harness.listen(role)
    command: dict[str, Any] = {"room": "welcome", "action": action}
    if action == "delay":
        command["minutes"] = 5
    answer = await client.call("control", command)
    assert answer["error"] == "forbidden", answer
    assert harness.app[appkeys.ROOMS].override_count == 0


async def test_a_room_limited_token_delays_only_from_its_rooms(harness: Harness) -> None:
    technician = await harness.listen(Role.TECHNICIAN, rooms=("keynote",))
    command = {"room": "welcome", "action": "delay", "minutes": 5}
    assert (await technician.call("control", command))["error"] == "forbidden"
    assert (await technician.call("control", {**command, "room": "keynote"}))["ok"]
