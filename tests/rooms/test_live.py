"""Socket.IO with the real python-socketio client against the real app on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp import WSCloseCode, web
from aiohttp.test_utils import TestServer

from scheduler.clock import RehearsalClock, wall_now
from server.auth.permissions import Role
from server.web import appkeys
from server.web.app import create_app
from tests.helpers import Listener, bundled_config, fast_rehearsal, settings
from tests.serverproc import free_port

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


async def test_a_notice_for_every_room_goes_to_everyone(harness: Harness) -> None:
    technician = await harness.listen(Role.TECHNICIAN)
    anonymous = await harness.listen()
    assert (await anonymous.call("notice", {"text": "hi"}))["error"] == "forbidden"
    assert (await technician.call("notice", {"text": "x", "level": "loud"}))["error"] == (
        "invalid_input"
    )
    answer = await technician.call("notice", {"text": "We resume in 5 minutes", "level": "info"})
    assert answer["ok"] is True
    notice = await anonymous.wait_for(lambda event, _: event == "notice")
    assert notice == answer["notice"]
    assert notice == {
        "id": notice["id"],
        "text": "We resume in 5 minutes",
        "level": "info",
        "room": None,
        "active": True,
    }


@pytest.mark.parametrize("text", ["a\x00b", "\u202eevil", "\u200d", "\u3164", "\u2800", "x" * 501])
async def test_notices_with_what_a_name_may_not_hold_are_refused(
    harness: Harness, text: str
) -> None:
    technician = await harness.listen(Role.TECHNICIAN)
    anonymous = await harness.listen()
    answer = await technician.call("notice", {"text": text})
    assert answer["error"] == "invalid_input", answer
    assert (await technician.call("notice", {"text": "after"}))["ok"]
    notice = await anonymous.wait_for(lambda event, _: event == "notice")
    assert (notice["text"], notice["level"]) == ("after", "info")


async def test_a_flood_of_notices_from_one_sender_is_cut_to_a_few(harness: Harness) -> None:
    flooder = await harness.listen(Role.TECHNICIAN)
    anonymous = await harness.listen()
    began = time.monotonic()
    answers = await asyncio.gather(
        *(flooder.call("notice", {"text": f"flood {n}"}) for n in range(2000))
    )
    elapsed = time.monotonic() - began
    accepted = [n for n, answer in enumerate(answers) if answer["ok"]]
    assert 5 <= len(accepted) <= 5 + 2 * elapsed + 1, (accepted, elapsed)
    refused = [answer for answer in answers if not answer["ok"]]
    assert {answer["error"] for answer in refused} == {"too_many_requests"}
    assert "try again in 1 s" in refused[0]["message"]

    # Another technician is not held back by the first.
    other = await harness.listen(Role.TECHNICIAN)
    assert (await other.call("notice", {"text": "the room is open"}))["ok"]
    # Everything broadcast before that notice has arrived before it.
    await anonymous.wait_for(
        lambda event, data: event == "notice" and data["text"] == "the room is open"
    )
    *flood, last = [notice["text"] for notice in anonymous.received("notice")]
    assert sorted(flood) == sorted(f"flood {n}" for n in accepted)
    assert last == "the room is open"


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


async def connect_from(url: str, origin: str, transport: str) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    try:
        await client.connect(
            url, headers={"Origin": origin}, transports=[transport], wait_timeout=5
        )
    except socketio.exceptions.ConnectionError:
        await client.disconnect()  # closes the HTTP session the failed attempt left open
        raise
    return client


@pytest.fixture
async def proxied(tmp_path: Path, aiohttp_server: ServerFactory) -> Harness:
    """A server whose public URL is not the address it is reached on, with one more origin."""
    config = replace(bundled_config(), allowed_origins=("https://www.example.org",))
    app = create_app(
        replace(
            settings(tmp_path, clock_in_welcome(10), config),
            public_url="https://conference.example.org/plenary",
        )
    )
    return Harness(await aiohttp_server(app), app)


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://localhost:1", "null", "https://conference.example.org:444"],
)
async def test_pages_of_other_origins_are_refused(
    proxied: Harness, caplog: pytest.LogCaptureFixture, origin: str
) -> None:
    with caplog.at_level(logging.INFO), pytest.raises(socketio.exceptions.ConnectionError):
        await connect_from(proxied.url, origin, "websocket")
    async with aiohttp.ClientSession() as session:
        handshake = f"{proxied.url}/socket.io/?EIO=4&transport=polling"
        async with session.get(handshake, headers={"Origin": origin}) as refused:
            assert refused.status == 400
    assert proxied.app[appkeys.LIVE].connected == 0
    assert_quiet(caplog, most_warnings=1)


async def test_the_servers_own_origins_and_the_configured_ones_connect(proxied: Harness) -> None:
    origins = [proxied.url, "https://conference.example.org", "https://www.example.org"]
    async with aiohttp.ClientSession() as session:
        for origin in origins:
            client = await connect_from(proxied.url, origin, "websocket")
            assert client.connected, origin
            await client.disconnect()
            handshake = f"{proxied.url}/socket.io/?EIO=4&transport=polling"
            async with session.get(handshake, headers={"Origin": origin}) as opened:
                assert opened.status == 200 and (await opened.text()).startswith("0{")
    client = socketio.AsyncClient(reconnection=False)  # not a browser: no Origin at all
    await client.connect(proxied.url, transports=["websocket"], wait_timeout=5)
    await client.disconnect()


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


def assert_quiet(caplog: pytest.LogCaptureFixture, most_warnings: int = 2) -> None:
    """No traceback and nothing above a warning; warnings few, each one line."""
    assert "Traceback" not in caplog.text
    assert [r.getMessage() for r in caplog.records if r.levelno > logging.WARNING] == []
    assert [r.getMessage() for r in caplog.records if r.exc_info or r.exc_text] == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) <= most_warnings, warnings
    assert all("\n" not in warning for warning in warnings)


@pytest.mark.parametrize("event", ["control", "notice"])
async def test_the_wrong_number_of_arguments_gets_an_error_ack(
    harness: Harness, caplog: pytest.LogCaptureFixture, event: str
) -> None:
    with caplog.at_level(logging.INFO):
        for role in (None, Role.TECHNICIAN):
            client = await harness.listen(role)
            for args in [(), ("a", "b"), (1, 2, 3, 4, 5), ({"text": "hi"}, {"text": "hi"})]:
                answer = await client.client.call(event, args, timeout=5)
                assert answer["ok"] is False, args
                assert answer["error"] == "invalid_input"
                assert f"not {len(args)}" in answer["message"]
    assert_quiet(caplog, most_warnings=0)
    assert harness.app[appkeys.ROOMS].override_count == 0


async def test_unknown_events_get_an_error_ack(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    client = await harness.listen()
    with caplog.at_level(logging.INFO):
        for event in ["nope", "room_state", "message", "x" * 500]:
            answer = await client.call(event, {"room": "welcome"})
            assert answer["ok"] is False and answer["error"] == "unknown_event", answer
            assert len(answer["message"]) < 100
        await client.client.emit("nope", {"no": "ack asked"})
        await client.client.emit("control", ["not", "an", "object"])
        await client.client.emit("notice", ("two", "arguments"))
        assert (await client.call("notice", {"text": "hi"}))["error"] == "forbidden"
    assert_quiet(caplog, most_warnings=0)


def nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


WRONG_PAYLOADS: list[Any] = [
    {"text": 5},
    {"text": ["We", "resume"]},
    {"text": {"nested": "object"}},
    {"text": "ok", "level": ["info"]},
    {"text": "ok", "level": "x" * 5000},
    {"text": "x" * 60_000},
    {"x" * 5000: 1, "text": "ok"},
    {"text": "ok", "level": 10**4000},
    {"text": "ok", "level": 1e308},
    {"text": nested(60)},
    nested(100),
]


async def test_wrong_types_deep_nesting_and_big_fields_get_an_error_ack(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    technician = await harness.listen(Role.TECHNICIAN)
    anonymous = await harness.listen()
    with caplog.at_level(logging.INFO):
        for payload in WRONG_PAYLOADS:
            answer = await technician.call("notice", payload)
            assert answer["ok"] is False, answer
            assert answer["error"] == "invalid_input", answer
            assert len(answer["message"]) < 200
    assert_quiet(caplog)
    assert anonymous.received("notice") == []
    assert (await technician.call("notice", {"text": "still here"}))["ok"]


class RawSocket:
    """Engine.IO over a websocket by hand, to send what no Socket.IO client library would."""

    def __init__(self, websocket: aiohttp.ClientWebSocketResponse) -> None:
        self.websocket = websocket

    @classmethod
    async def connect(cls, session: aiohttp.ClientSession, url: str) -> RawSocket:
        websocket = await session.ws_connect(f"{url}/socket.io/?EIO=4&transport=websocket")
        raw = cls(websocket)
        assert (await raw.receive()).startswith("0{")  # engine.io open
        await websocket.send_str("40")
        # Socket.IO's connect, and the agenda and notices the server sends while connecting.
        welcome = [await raw.receive() for _ in range(3)]
        assert sorted(message[:3] for message in welcome) == ["40{", "42[", "42["], welcome
        return raw

    async def receive(self) -> str:
        message = await asyncio.wait_for(self.websocket.receive(), 5)
        assert message.type is aiohttp.WSMsgType.TEXT, message
        return str(message.data)

    async def answer_to(self, ack_id: int) -> Any:
        """The ack with ``ack_id``; the next message must be it."""
        message = await self.receive()
        assert message.startswith(f"43{ack_id}["), message
        return json.loads(message[len(f"43{ack_id}") :])[0]


RAW_WITH_ACK = [
    "21",
    "21[]",
    "21{}",
    '21"notice"',
    "21[1]",
    "21[null]",
    '21[["notice"]]',
    '21["notice",',
    '21["notice",' + "[" * 5000 + "]" * 5000 + "]",  # past the interpreter's recursion limit
    '21["notice",' + "[" * 500 + "]" * 500 + "]",
    '21["connect",{"token":"x"}]',
    '21["disconnect","a","b","c"]',
    '21["\\u0000malformed","' + "x" * 5000 + '"]',
]
RAW_WITHOUT_ACK = [
    "2",
    "2[1]",
    '51-["notice",{"_placeholder":true,"num":0}]',
    "9",
    "3",
    "31[1]",
    '2/elsewhere,1["notice"]',
    '2["connect"]',
    "{{{",
]


async def test_malformed_packets_get_an_error_ack_when_they_ask_for_one(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    async with aiohttp.ClientSession() as session:
        raw = await RawSocket.connect(session, harness.url)
        with caplog.at_level(logging.INFO):
            for packet in RAW_WITH_ACK:
                await raw.websocket.send_str("4" + packet)
                answer = await raw.answer_to(1)
                assert answer["ok"] is False and answer["error"] == "invalid_input", packet
                assert len(answer["message"]) <= 120
            for number, packet in enumerate(RAW_WITHOUT_ACK, start=10):
                await raw.websocket.send_str("4" + packet)
                await raw.websocket.send_str(f'42{number}["nope"]')  # answered next, alone
                assert (await raw.answer_to(number))["error"] == "unknown_event", packet
            await raw.websocket.send_bytes(b"\x00\x01 binary")
            await raw.websocket.send_str("b!!")  # binary, base64-encoded, and empty
            await raw.websocket.send_str("7")  # no such engine.io packet
            await raw.websocket.send_str('4299["notice",{"text":"hi"}]')
            assert (await raw.answer_to(99))["error"] == "forbidden"  # still connected
    assert_quiet(caplog)


@pytest.mark.parametrize("frame", ["x", "", "4" + "[" * 5000, "4" + "x" * 70_000])
async def test_frames_engine_io_cannot_parse_close_that_socket_quietly(
    harness: Harness, caplog: pytest.LogCaptureFixture, frame: str
) -> None:
    async with aiohttp.ClientSession() as session:
        raw = await RawSocket.connect(session, harness.url)
        with caplog.at_level(logging.INFO):
            await raw.websocket.send_str(frame)
            closed = await asyncio.wait_for(raw.websocket.receive(), 5)
            assert closed.type is aiohttp.WSMsgType.CLOSE, closed
            assert closed.data in (WSCloseCode.PROTOCOL_ERROR, WSCloseCode.MESSAGE_TOO_BIG)
    assert_quiet(caplog)
    other = await harness.listen()
    assert await other.wait_for(lambda event, _: event == "agenda")


@pytest.mark.parametrize("body", ["4" + "[" * 5000, "\x1e\x1e", "zz", '40\x1e42["notice",'])
async def test_polling_bodies_engine_io_cannot_parse_are_refused_quietly(
    harness: Harness, caplog: pytest.LogCaptureFixture, body: str
) -> None:
    endpoint = f"{harness.url}/socket.io/?EIO=4&transport=polling"
    async with aiohttp.ClientSession() as session:
        async with session.get(endpoint) as opened:
            sid = json.loads((await opened.text())[1:])["sid"]
        with caplog.at_level(logging.INFO):
            async with session.post(f"{endpoint}&sid={sid}", data=body) as posted:
                assert posted.status < 500
    assert_quiet(caplog)


async def test_a_flood_of_malformed_packets_logs_one_line(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    async with aiohttp.ClientSession() as session:
        raw = await RawSocket.connect(session, harness.url)
        with caplog.at_level(logging.INFO):
            for _ in range(1000):
                await raw.websocket.send_str("421[]")
            for _ in range(1000):
                assert (await raw.answer_to(1))["error"] == "invalid_input"
    assert_quiet(caplog, most_warnings=1)


async def test_after_the_goodbye_a_handshake_is_told_the_server_is_stopping(
    harness: Harness,
) -> None:
    await harness.app[appkeys.LIVE].close()
    async with aiohttp.ClientSession() as session:
        handshake = f"{harness.url}/socket.io/?EIO=4&transport=polling"
        async with session.get(handshake) as refused:
            assert refused.status == 503
            assert (await refused.json())["error"] == "server_stopping"


async def test_a_long_poll_does_not_hold_a_stopping_server(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, clock_in_welcome(10)))
    runner = web.AppRunner(app, shutdown_timeout=10)  # what a long poll would keep it waiting
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    endpoint = f"http://127.0.0.1:{port}/socket.io/?EIO=4&transport=polling"
    server = app[appkeys.LIVE].server
    async with aiohttp.ClientSession() as session:
        async with session.get(endpoint) as opened:
            endpoint += "&sid=" + json.loads((await opened.text())[1:])["sid"]
        async with session.post(endpoint, data="40") as joined:
            assert joined.status == 200
        async with session.get(endpoint) as welcome:  # the connect and the agenda
            assert '"agenda"' in await welcome.text()
        poll = asyncio.ensure_future(session.get(endpoint))  # nothing more to say: it waits
        async with asyncio.timeout(5):
            while server.requests_in_progress == 0:
                await asyncio.sleep(0.01)
        began = time.monotonic()
        await runner.cleanup()
        assert time.monotonic() - began < 2
        with contextlib.suppress(aiohttp.ClientError):
            (await poll).release()
