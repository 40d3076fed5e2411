"""socket_manager.py: the client manager hands a message to every receiver in turn, skipping
those it is told to, over real python-socketio clients on loopback; and the start-up check
names each kind of change in the python-socketio it reaches into."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import socketio
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.media.aiortc_internals.compat import Internal, internal_problem
from server.rooms import socket_manager
from server.rooms.socket_manager import (
    INTERNALS,
    PINS,
    DirectManager,
    SocketioChanged,
    check_compatible,
)
from tests.pins import assert_pinned_exactly

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


@pytest.mark.parametrize("internal", INTERNALS, ids=[internal.name for internal in INTERNALS])
def test_every_internal_in_the_table_is_as_the_manager_uses_it(internal: Internal) -> None:
    assert internal_problem(internal) is None


def test_the_installed_versions_are_the_pinned_ones_of_pyproject_and_the_lock() -> None:
    check_compatible()
    assert_pinned_exactly(PINS)


def test_another_version_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    info = tmp_path / "python_engineio-4.16.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: python-engineio\nVersion: 4.16.0\n"
    )
    monkeypatch.syspath_prepend(tmp_path)
    with pytest.raises(SocketioChanged, match=re.escape("python-engineio is 4.16.0, not 4.15.1")):
        check_compatible()


def test_a_changed_emit_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    async def emit(self: object, event: str, data: object, namespace: str) -> None: ...

    monkeypatch.setattr(socketio.async_manager.AsyncManager, "emit", emit)
    with pytest.raises(SocketioChanged) as raised:
        check_compatible()
    message = str(raised.value)
    assert "socketio.async_manager.AsyncManager.emit takes (event, data, namespace)" in message
    assert "requirements.lock" in message


def test_a_missing_internal_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(socket_manager.eio_packet, "MESSAGE")
    with pytest.raises(SocketioChanged, match=re.escape("engineio.packet.MESSAGE is gone")):
        check_compatible()


class Receiver:
    def __init__(self, name: str) -> None:
        self.name = name
        self.client = socketio.AsyncClient(reconnection=False)
        self.got: list[tuple[Any, ...]] = []
        self.client.on("news", lambda *arguments: self.got.append(arguments))


@pytest.fixture
async def served(aiohttp_server: ServerFactory) -> AsyncIterator[tuple[Any, list[Receiver]]]:
    sio = socketio.AsyncServer(async_mode="aiohttp", client_manager=DirectManager())

    @sio.on("join")  # type: ignore[untyped-decorator]
    async def join(sid: str, room: str) -> str:
        await sio.enter_room(sid, room)
        return sid

    app = web.Application()
    sio.attach(app)
    server = await aiohttp_server(app)
    receivers = [Receiver(name) for name in ("ana", "bo", "cy", "dan")]
    for receiver in receivers:
        await receiver.client.connect(str(server.make_url("/")), transports=["websocket"])
    yield sio, receivers
    for receiver in receivers:
        await receiver.client.disconnect()


async def test_a_room_gets_each_message_once_the_skipped_none(
    served: tuple[Any, list[Receiver]],
) -> None:
    sio, receivers = served
    sids = {}
    for receiver in receivers[:3]:
        sids[receiver.name] = await receiver.client.call("join", "panel")
    await sio.emit("news", {"n": 1}, to="panel", skip_sid=[sids["bo"]])
    await sio.emit("news", ("two", "arguments"), to="panel")
    await sio.emit("news", {"n": 3})  # everyone
    # The last message reaches everyone, and each connection receives in order: once every
    # one has it, nothing else is on its way.
    async with asyncio.timeout(5):
        while not all(receiver.got and receiver.got[-1] == ({"n": 3},) for receiver in receivers):
            await asyncio.sleep(0.01)
    got = {receiver.name: receiver.got for receiver in receivers}
    assert got["ana"] == got["cy"] == [({"n": 1},), ("two", "arguments"), ({"n": 3},)]
    assert got["bo"] == [("two", "arguments"), ({"n": 3},)]
    assert got["dan"] == [({"n": 3},)]


async def test_a_message_with_a_callback_still_gets_its_answer(
    served: tuple[Any, list[Receiver]],
) -> None:
    sio, receivers = served
    sid = await receivers[0].client.call("join", "solo")
    receivers[0].client.on("ask", lambda: "yes")
    answered: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    await sio.emit("ask", to=sid, callback=lambda *answer: answered.set_result(answer))
    assert await asyncio.wait_for(answered, 5) == ("yes",)
