"""Socket.IO with the real python-socketio client against the real app on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import socketio
from aiohttp import web
from aiohttp.test_utils import TestServer

from scheduler.clock import RehearsalClock, wall_now
from server.auth.permissions import Role
from server.web import appkeys
from server.web.app import create_app
from tests.helpers import Listener, bundled_config, fast_rehearsal, settings

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


def clock_in_welcome(minutes: float) -> RehearsalClock:
    """A real-time rehearsal whose agenda stands ``minutes`` into the welcoming remarks."""
    first = bundled_config().timetable.items[0].starts_at
    return RehearsalClock(first, wall_now() - timedelta(minutes=minutes), 1.0)


class Harness:
    def __init__(self, server: TestServer, app: web.Application) -> None:
        self.server = server
        self.app = app
        self.url = str(server.make_url("")).rstrip("/")
        self.listeners: list[Listener] = []

    def token(self, role: Role, rooms: tuple[str, ...] = ("*",)) -> str:
        return self.app[appkeys.TOKENS].issue(role=role, name=f"A {role.value}", rooms=rooms)

    async def listen(self, role: Role | None = None, **kwargs: Any) -> Listener:
        listener = Listener(self.url, self.token(role, **kwargs) if role else None)
        self.listeners.append(await listener.connect())
        return listener


@pytest.fixture
async def harness(tmp_path: Path, aiohttp_server: ServerFactory) -> AsyncIterator[Harness]:
    app = create_app(settings(tmp_path, clock_in_welcome(10)))
    harness = Harness(await aiohttp_server(app), app)
    yield harness
    for listener in harness.listeners:
        await listener.close()


async def test_agenda_arrives_on_connect_without_a_token(harness: Harness) -> None:
    anonymous = await harness.listen()
    agenda = await anonymous.wait_for(lambda event, _: event == "agenda")
    assert agenda["event"]["timezone"] == "Europe/Vienna"
    assert len(agenda["items"]) == 12
    welcome = agenda["items"][0]
    assert welcome["room"]["state"] == "live"
    assert welcome["starts_at"] == "2021-06-14T14:00:00+02:00"
    assert agenda["clock"]["rehearsal"] is True


async def test_technician_start_reaches_every_client(harness: Harness) -> None:
    technician = await harness.listen(Role.TECHNICIAN)
    attendee = await harness.listen(Role.ATTENDEE)
    anonymous = await harness.listen()
    answer = await technician.call("control", {"room": "keynote", "action": "start"})
    assert answer["ok"] is True, answer
    assert answer["room"]["state"] == "live"
    assert answer["room"]["by"] == "A technician"
    for client in (technician, attendee, anonymous):
        state = await client.wait_for(
            lambda event, data: event == "room_state" and data["room"] == "keynote"
        )
        assert state["state"] == "live"
        assert state["reason"] == "override"
        assert set(state) >= {"room", "state", "starts_at", "ends_at", "publishers", "viewers"}


async def test_extend_pushes_the_running_order_to_everyone(harness: Harness) -> None:
    technician = await harness.listen(Role.TECHNICIAN)
    anonymous = await harness.listen()
    answer = await technician.call(
        "control", {"room": "welcome", "action": "extend", "minutes": 10}
    )
    assert answer["ok"] is True
    assert answer["room"]["ends_at"] == "2021-06-14T14:55:00+02:00"
    keynote = await anonymous.wait_for(
        lambda event, data: event == "room_state" and data["room"] == "keynote"
    )
    assert (keynote["starts_at"], keynote["ends_at"]) == (
        "2021-06-14T14:55:00+02:00",
        "2021-06-14T15:40:00+02:00",
    )
    agendas = anonymous.received("agenda")
    await anonymous.wait_for(
        lambda event, _: event == "agenda" and len(anonymous.received("agenda")) >= 2
    )
    coffee = next(i for i in anonymous.received("agenda")[-1]["items"] if i["id"] == "break-mon")
    assert coffee["starts_at"] == "2021-06-14T15:40:00+02:00"
    assert coffee["scheduled_starts_at"] == "2021-06-14T15:30:00+02:00"
    assert len(agendas) >= 1


@pytest.mark.parametrize("role", [None, Role.ATTENDEE, Role.SPEAKER, Role.MODERATOR])
async def test_only_technicians_and_organizers_control(harness: Harness, role: Role | None) -> None:
    client = await harness.listen(role)
    answer = await client.call("control", {"room": "welcome", "action": "end"})
    assert answer == {"ok": False, "error": "forbidden", "message": answer["message"]}
    organizer = await harness.listen(Role.ORGANIZER)
    assert (await organizer.call("control", {"room": "welcome", "action": "end"}))["ok"]


async def test_room_limited_token_controls_only_its_rooms(harness: Harness) -> None:
    technician = await harness.listen(Role.TECHNICIAN, rooms=("panel-1",))
    answer = await technician.call("control", {"room": "welcome", "action": "end"})
    assert answer["error"] == "forbidden"
    assert (await technician.call("control", {"room": "panel-1", "action": "start"}))["ok"]


BAD_CONTROLS: list[tuple[Any, str]] = [
    (None, "invalid_input"),
    ("start welcome", "invalid_input"),
    ([1, 2], "invalid_input"),
    ({}, "invalid_input"),
    ({"room": "welcome"}, "invalid_input"),
    ({"room": "welcome", "action": "explode"}, "invalid_input"),
    ({"room": 7, "action": "end"}, "invalid_input"),
    ({"room": "welcome", "action": "extend", "minutes": "ten"}, "invalid_input"),
    ({"room": "welcome", "action": "extend", "minutes": True}, "invalid_input"),
    ({"room": "welcome", "action": "extend", "minutes": 2.5}, "invalid_input"),
    ({"room": "welcome", "action": "extend", "minutes": 0}, "invalid_input"),
    ({"room": "welcome", "action": "extend", "minutes": 10_000}, "invalid_input"),
    ({"room": "welcome", "action": "end", "minutes": 5}, "invalid_input"),
    ({"room": "welcome", "action": "end", "extra": 1}, "invalid_input"),
    ({"room": "x" * 5000, "action": "end"}, "invalid_input"),
    ({"room": "nowhere", "action": "start"}, "unknown_room"),
    ({"room": "break-mon", "action": "start"}, "unknown_room"),
    ({"room": "welcome", "action": "start"}, "conflict"),  # already live
]


async def test_malformed_control_gets_an_error_ack_and_changes_nothing(harness: Harness) -> None:
    technician = await harness.listen(Role.TECHNICIAN)
    for payload, code in BAD_CONTROLS:
        answer = await technician.call("control", payload)
        assert answer["ok"] is False, payload
        assert answer["error"] == code, (payload, answer)
        assert answer["message"]
    assert harness.app[appkeys.ROOMS].override_count == 0
    good = await technician.call("control", {"room": "welcome", "action": "extend", "minutes": 1})
    assert good["ok"] is True  # still serving after all that


async def test_notice_goes_to_everyone(harness: Harness) -> None:
    technician = await harness.listen(Role.TECHNICIAN)
    anonymous = await harness.listen()
    assert (await anonymous.call("notice", {"text": "hi"}))["error"] == "forbidden"
    assert (await technician.call("notice", {"text": "x", "level": "loud"}))["error"] == (
        "invalid_input"
    )
    answer = await technician.call("notice", {"text": "We resume in 5 minutes", "level": "info"})
    assert answer == {"ok": True}
    notice = await anonymous.wait_for(lambda event, _: event == "notice")
    assert notice == {"text": "We resume in 5 minutes", "level": "info"}


@pytest.mark.parametrize(
    "auth",
    [
        {"token": "not-a-jwt"},
        {"token": ""},
        {"token": 42},
        {"token": None},
        {"token": "a.b.c", "extra": 1},
        {"tok": "x"},
    ],
)
async def test_bad_token_is_refused_with_invalid_token(harness: Harness, auth: Any) -> None:
    client = socketio.AsyncClient(reconnection=False)
    errors: list[Any] = []
    client.on("connect_error", errors.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(harness.url, auth=auth, transports=["websocket"], wait_timeout=5)
    assert errors and errors[0]["data"]["error"] == "invalid_token"
    await client.disconnect()
    still_fine = await harness.listen()
    assert await still_fine.wait_for(lambda event, _: event == "agenda")


async def test_token_signed_elsewhere_is_refused(harness: Harness, tmp_path: Path) -> None:
    from server.auth.keys import KeyRing
    from server.auth.tokens import TokenService

    stranger = TokenService(KeyRing.open(tmp_path / "other"), "plenary", wall_now)
    token = stranger.issue(role=Role.ORGANIZER, name="Mallory")
    client = socketio.AsyncClient(reconnection=False)
    errors: list[Any] = []
    client.on("connect_error", errors.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            harness.url, auth={"token": token}, transports=["websocket"], wait_timeout=5
        )
    assert errors[0]["data"]["error"] == "invalid_token"
    await client.disconnect()


async def test_scheduled_transition_reaches_every_client_within_500_ms(
    tmp_path: Path, aiohttp_server: ServerFactory
) -> None:
    clock = fast_rehearsal(bundled_config(), lead=1.5, speed=600)
    app = create_app(settings(tmp_path, clock))
    harness = Harness(await aiohttp_server(app), app)
    clients = [await harness.listen(role) for role in (None, Role.ATTENDEE, Role.TECHNICIAN)]
    try:
        welcome = bundled_config().timetable.item("welcome")
        for state, agenda_at in (("live", welcome.starts_at), ("ended", welcome.ends_at)):
            due = clock.to_wall(agenda_at)
            for client in clients:
                await client.wait_for(
                    lambda event, data, s=state: (
                        event == "room_state" and data["room"] == "welcome" and data["state"] == s
                    ),
                    within=10,
                )
                arrived = next(
                    at
                    for event, data, at in client.events
                    if event == "room_state"
                    and data["room"] == "welcome"
                    and data["state"] == state
                )
                assert timedelta(0) <= arrived - due < timedelta(milliseconds=500), state
    finally:
        for client in clients:
            await client.close()
