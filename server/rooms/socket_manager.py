"""The client manager plenary gives python-socketio: its own ``AsyncManager``, except that a
message to many clients is handed to each one's engine.io queue in turn, instead of through a
task per client.

python-socketio makes a task for every receiver of an emit and then waits for them all: a
question's vote count to 1,000 attendees is 1,000 tasks, twice a second for each question
being voted on, and a room's state to every agenda page the same. Handing a packet over is a
put on an unbounded queue that never waits, so here it is done in a loop; each connection's
own writer still sends it. Only emits without a callback take this way (python-socketio does
not support callbacks to many receivers anyway).

The packet is built as python-socketio's own ``AsyncManager.emit`` builds it (the server's
``packet_class``, engine.io's ``Packet``), and sent with engine.io's public ``send_packet``.
The same goes for each connection's writer (``QuickSocket``): engine.io's waits for the next
packet to send with ``asyncio.wait_for``, which on Python 3.11 makes a task for every wait,
so one for every message a connection is sent (each vote's ack, each count it hears of).
``asyncio.timeout`` waits as long without one.

That is reaching into python-socketio, so it is pinned like the relay's internals: ``PINS``
and ``INTERNALS`` are checked at start-up (``check_compatible``), and a difference stops the
server with a message that names it.
"""

from __future__ import annotations

import asyncio
from importlib import metadata
from typing import Any

import socketio
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from engineio.async_socket import AsyncSocket
from socketio import packet

from server.media.aiortc_internals.compat import (
    Internal,
    InternalsChanged,
    Kind,
    internal_problem,
)

# As pyproject.toml and requirements.lock pin them.
PINS = {"python-socketio": "5.18.1", "python-engineio": "4.15.1"}


def _takes(where: str, *parameters: str) -> Internal:
    return Internal(where, Kind.PARAMETERS, parameters)


def _set_in_init(where: str) -> Internal:
    return Internal(where, Kind.SET_BY, "__init__")


EMIT = ("event", "data", "namespace", "room", "skip_sid", "callback", "to", "kwargs")
INTERNALS = (
    _takes("socketio.async_manager:AsyncManager.emit", *EMIT),
    _takes("socketio.base_manager:BaseManager.get_participants", "namespace", "room"),
    _set_in_init("socketio.base_manager:BaseManager.rooms"),
    _set_in_init("socketio.base_server:BaseServer.packet_class"),
    _set_in_init("socketio.base_server:BaseServer.eio"),
    _takes("engineio.async_server:AsyncServer.send_packet", "sid", "pkt"),
    _takes("engineio.packet:Packet", "packet_type", "data", "encoded_packet"),
    Internal("engineio.packet:MESSAGE"),
    Internal("socketio.packet:EVENT"),
    # QuickSocket, and where it takes the place of engine.io's connection
    _takes("engineio.async_socket:AsyncSocket.poll"),
    _set_in_init("engineio.base_socket:BaseSocket.queue"),
    _set_in_init("engineio.base_socket:BaseSocket.server"),
    _set_in_init("engineio.base_server:BaseServer.sockets"),
    _set_in_init("engineio.base_server:BaseServer.ping_interval"),
    _set_in_init("engineio.base_server:BaseServer.ping_timeout"),
    Internal("engineio.exceptions:QueueEmpty"),
    _takes("socketio.async_server:AsyncServer._handle_eio_connect", "eio_sid", "environ"),
)


class SocketioChanged(InternalsChanged):
    """The python-socketio or python-engineio installed is not the one plenary was written
    against."""


def check_compatible() -> None:
    """Raise ``SocketioChanged``, naming everything that differs, unless the installed versions
    are the pinned ones and every internal in ``INTERNALS`` is as ``DirectManager`` and
    ``QuickSocket`` use it."""
    problems = []
    for distribution, pinned in PINS.items():
        try:
            installed = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != pinned:
            problems.append(f"{distribution} is {installed or 'not installed'}, not {pinned}")
    problems += [problem for internal in INTERNALS if (problem := internal_problem(internal))]
    if problems:
        raise SocketioChanged(
            "the live channel cannot run on the python-socketio installed here: "
            + "; ".join(problems)
            + ". Its client manager and connection writer (server/rooms/socket_manager.py) "
            "work as python-socketio's own do, so they run only on the exact versions "
            "requirements.lock pins: reinstall from it (`make install`). To upgrade them, "
            "change the pins, the table and the module together."
        )


class DirectManager(socketio.AsyncManager):  # type: ignore[misc]  # untyped
    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        if callback is not None:
            await super().emit(event, data, namespace, room, skip_sid, callback, to, **kwargs)
            return
        room = to or room
        if namespace not in self.rooms:
            return
        # A tuple is several arguments, anything else one.
        arguments = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        skipped = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        encoded = self.server.packet_class(
            packet.EVENT, namespace=namespace, data=[event, *arguments]
        ).encode()
        sent = [
            eio_packet.Packet(eio_packet.MESSAGE, part)
            for part in (encoded if isinstance(encoded, list) else [encoded])
        ]
        send = self.server.eio.send_packet
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid not in skipped:
                for part in sent:
                    await send(eio_sid, part)


class QuickSocket(AsyncSocket):  # type: ignore[misc]  # untyped
    """engine.io's connection, whose writer waits for the next packet without a task of its own.

    ``poll`` is engine.io's, but for the wait: what it returns, and when it gives up (no packet
    in a ping interval and timeout: the writer ends), are the same."""

    async def poll(self) -> list[eio_packet.Packet]:
        try:
            async with asyncio.timeout(self.server.ping_interval + self.server.ping_timeout):
                first = await self.queue.get()
            self.queue.task_done()
        except (TimeoutError, asyncio.CancelledError):
            raise eio_exceptions.QueueEmpty() from None
        if first is None:  # the connection is closing
            return []
        packets = [first]
        while not self.queue.empty():
            queued = self.queue.get_nowait()
            self.queue.task_done()
            if queued is None:
                self.queue.put_nowait(None)  # for the next poll: it ends the writer
                break
            packets.append(queued)
        return packets


class QuickSocketServer(socketio.AsyncServer):  # type: ignore[misc]  # untyped
    """python-socketio's server, whose engine.io connections are ``QuickSocket``s: each becomes
    one as it connects, before its writer first waits."""

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        connection = self.eio.sockets.get(eio_sid)
        if type(connection) is AsyncSocket:
            connection.__class__ = QuickSocket
        return await super()._handle_eio_connect(eio_sid, environ)
