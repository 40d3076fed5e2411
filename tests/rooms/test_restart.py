"""A real server killed with SIGKILL in the middle of a panel comes back in the right state."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
import socketio

from server.auth.permissions import Role
from tests.helpers import Listener
from tests.serverproc import ServerProcess, utc_in

pytestmark = pytest.mark.slow

STOPPED_WITHIN = 2.0  # seconds from SIGTERM to the process's exit


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def room(agenda: dict[str, Any], room_id: str) -> dict[str, Any]:
    return next(item for item in agenda["items"] if item["id"] == room_id)


async def test_sigkill_mid_panel_restarts_live_with_its_overrides(
    start_server: Callable[..., ServerProcess],
) -> None:
    # The agenda's first item began 20 wall minutes ago: the welcoming remarks are live.
    rehearse = utc_in(-20 * 60)
    server = start_server(rehearse=rehearse)
    assert room(get_json(f"{server.url}/api/agenda"), "welcome")["room"]["state"] == "live"
    technician = await Listener(server.url, server.token(Role.TECHNICIAN, "Tess")).connect()
    answer = await technician.call(
        "control", {"room": "welcome", "action": "extend", "minutes": 10}
    )
    assert answer["ok"], answer
    await technician.close()

    server.kill(signal.SIGKILL)
    restarted = start_server(rehearse=rehearse, port=server.port)
    agenda = get_json(f"{restarted.url}/api/agenda")
    welcome, keynote = room(agenda, "welcome"), room(agenda, "keynote")
    assert welcome["room"]["state"] == "live"
    assert welcome["ends_at"] == "2021-06-14T14:55:00+02:00"  # the extension survived
    assert keynote["starts_at"] == "2021-06-14T14:55:00+02:00"  # and so did the push-back
    assert keynote["room"]["state"] == "scheduled"  # its lobby now opens at 14:40
    health = get_json(f"{restarted.url}/healthz")
    assert health["status"] == "ok" and health["scheduler"]["status"] == "ok"


def test_restart_after_a_transition_was_missed_catches_up(
    start_server: Callable[..., ServerProcess],
) -> None:
    # The welcome is in its lobby when the server dies, and its start passes while it is down.
    rehearse = utc_in(12)  # room for a slow start on a busy machine
    server = start_server(rehearse=rehearse)
    assert room(get_json(f"{server.url}/api/agenda"), "welcome")["room"]["state"] == "lobby"
    server.kill(signal.SIGKILL)
    time.sleep(max(0.0, (rehearse - datetime.now(UTC)).total_seconds()) + 0.5)
    restarted = start_server(rehearse=rehearse, port=server.port)
    agenda = get_json(f"{restarted.url}/api/agenda")
    assert room(agenda, "welcome")["room"]["state"] == "live"
    log = restarted.log()
    assert "room welcome is now live" in log


async def test_sigterm_with_clients_connected_exits_promptly(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server()
    listeners = [await Listener(server.url).connect() for _ in range(5)]
    started = time.monotonic()
    await asyncio.to_thread(server.stop)
    assert time.monotonic() - started < 10
    assert server.process is not None and server.process.returncode == 0
    for listener in listeners:
        await listener.close()


async def silent_client(
    session: aiohttp.ClientSession, url: str
) -> aiohttp.ClientWebSocketResponse:
    """A Socket.IO client that connects, then never reads or answers again (a frozen tab)."""
    websocket = await session.ws_connect(f"{url}/socket.io/?EIO=4&transport=websocket")
    await websocket.receive_str()
    await websocket.send_str("40")
    for _ in range(2):  # the connect and the agenda
        await websocket.receive_str()
    return websocket


async def test_sigterm_hangs_up_on_every_client_at_once_and_they_come_back(
    start_server: Callable[..., ServerProcess],
) -> None:
    rehearse = utc_in(10 * 60)
    server = start_server(rehearse=rehearse)
    comeback = socketio.AsyncClient(reconnection_delay=0.5, reconnection_delay_max=2)
    clients = [Listener(server.url, client=comeback)] + [Listener(server.url) for _ in range(50)]
    for client in clients:
        await client.connect()
    async with aiohttp.ClientSession() as session:
        silent = [await silent_client(session, server.url) for _ in range(20)]

        began = time.monotonic()
        await asyncio.to_thread(server.stop)
        stopped_in = time.monotonic() - began
        assert server.process is not None and server.process.returncode == 0
        assert stopped_in < STOPPED_WITHIN, f"{stopped_in:.2f} s"
        # Hung up on, with a close frame saying the server goes away, not a Socket.IO goodbye.
        for websocket in silent[:3]:
            frames = [await websocket.receive(timeout=5) for _ in range(3)]
            assert all(frame.data != "41" for frame in frames), frames
            closing = [frame for frame in frames if frame.type is aiohttp.WSMsgType.CLOSE]
            assert closing and closing[0].data == aiohttp.WSCloseCode.GOING_AWAY, frames

        start_server(rehearse=rehearse, port=server.port)
        back = await clients[0].wait_for(
            lambda event, _: event == "agenda" and len(clients[0].received("agenda")) == 2,
            within=20,
        )
        assert back["event"]["timezone"] == "Europe/Vienna"
    for client in clients:
        await client.close()
