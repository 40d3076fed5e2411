"""socket_manager.py: the client manager hands a message to every receiver in turn, skipping
those it is told to, over real python-socketio clients on loopback; and the start-up check
names each kind of change in the python-socketio it reaches into."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import engineio
import pytest
import socketio
from aiohttp import web
from aiohttp.test_utils import TestServer
from engineio import packet as eio_packet
from engineio.exceptions import QueueEmpty

from server.media.aiortc_internals.compat import Internal, internal_problem
from server.rooms import socket_manager
from server.rooms.socket_manager import (
    INTERNALS,
    PINS,
    DirectManager,
    QuickSocket,
    QuickSocketServer,
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
    sio = QuickSocketServer(async_mode="aiohttp", client_manager=DirectManager())

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


async def test_every_connection_writes_through_a_quick_socket_in_order(
    served: tuple[Any, list[Receiver]],
) -> None:
    sio, receivers = served
    assert {type(connection) for connection in sio.eio.sockets.values()} == {QuickSocket}
    for n in range(200):  # queued faster than the writer sends: it takes them in batches
        await sio.emit("news", n, to=await receivers[1].client.call("join", "burst"))
    async with asyncio.timeout(5):
        while len(receivers[1].got) < 200:
            await asyncio.sleep(0.01)
    assert receivers[1].got == [(n,) for n in range(200)]


async def test_a_long_polling_client_is_served_by_a_quick_socket_too(
    aiohttp_server: ServerFactory,
) -> None:
    sio = QuickSocketServer(async_mode="aiohttp", client_manager=DirectManager())
    app = web.Application()
    sio.attach(app)
    server = await aiohttp_server(app)
    receiver = Receiver("polling")
    await receiver.client.connect(str(server.make_url("/")), transports=["polling"])
    try:
        assert {type(connection) for connection in sio.eio.sockets.values()} == {QuickSocket}
        await sio.emit("news", "by a long poll")
        async with asyncio.timeout(5):
            while not receiver.got:
                await asyncio.sleep(0.01)
        assert receiver.got == [("by a long poll",)]
    finally:
        # Each side would wait out the other's long poll (25 to 30 s): both end at once.
        for sid in list(sio.eio.sockets):
            await sio.eio.disconnect(sid)
        await receiver.client.eio.disconnect(abort=True)


def quick_socket(wait: float = 60.0) -> QuickSocket:
    """A connection of a real engine.io server that gives up waiting after ``wait`` seconds."""
    server = engineio.AsyncServer(async_mode="aiohttp", ping_interval=wait / 2)
    server.ping_timeout = wait / 2
    return QuickSocket(server, "sid")


async def test_a_poll_takes_everything_queued_in_order() -> None:
    connection = quick_socket()
    sent = [eio_packet.Packet(eio_packet.MESSAGE, str(n)) for n in range(3)]
    for queued in sent:
        await connection.queue.put(queued)
    assert await connection.poll() == sent
    assert connection.queue.empty()


async def test_a_poll_stops_at_the_close_and_the_next_one_ends_the_writer() -> None:
    connection = quick_socket()
    first = eio_packet.Packet(eio_packet.MESSAGE, "last words")
    await connection.queue.put(first)
    await connection.queue.put(None)
    assert await connection.poll() == [first]
    assert await connection.poll() == []


async def test_a_poll_waits_for_the_next_packet() -> None:
    connection = quick_socket()
    polled = asyncio.ensure_future(connection.poll())
    await asyncio.sleep(0)
    assert not polled.done()
    later = eio_packet.Packet(eio_packet.MESSAGE, "later")
    await connection.queue.put(later)
    assert await asyncio.wait_for(polled, 5) == [later]


async def test_a_poll_gives_up_after_the_ping_interval_and_timeout() -> None:
    connection = quick_socket(wait=0.05)
    with pytest.raises(QueueEmpty):
        await asyncio.wait_for(connection.poll(), 5)


async def test_a_cancelled_poll_ends_the_writer_as_engineio_s_does() -> None:
    connection = quick_socket()
    polled = asyncio.ensure_future(connection.poll())
    await asyncio.sleep(0)
    polled.cancel()
    with pytest.raises(QueueEmpty):
        await polled
