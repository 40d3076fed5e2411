"""python-socketio's server as plenary runs it, on the aiohttp app: packets decoded strictly,
its logs one quiet line each, a request engine.io cannot parse refused without a traceback,
pages of other origins refused (``web/origins.py``), and every client told to come back when
the server stops (``goodbye``).

The live channel (``live.py``) adds the events; this module is the transport under them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import WSCloseCode, web

from server.errors import InvalidInput, ServerStopping
from server.rooms.socket_input import CheckedPacket
from server.rooms.socket_log import SocketLog
from server.rooms.socket_manager import DirectManager, QuickSocketServer, check_compatible

PATH = "/socket.io/"
MAX_PAYLOAD_BYTES = 64 * 1024
WEBSOCKET = web.RequestKey("websocket", web.WebSocketResponse)
GOODBYE_SECONDS = 1.0
RESTARTING = b"the server is restarting"

# Whether a page of this origin may connect, given the request (its WSGI-like environ).
OriginCheck = Callable[[str | None, Mapping[str, Any]], bool]


class SocketServer:
    def __init__(self, log: SocketLog, allows_origin: OriginCheck) -> None:
        check_compatible()  # the client manager builds packets as python-socketio does
        self._log = log
        self.sio = QuickSocketServer(
            async_mode="aiohttp",
            max_http_buffer_size=MAX_PAYLOAD_BYTES,
            # A handshake from a page of another origin is refused (400) before it connects.
            cors_allowed_origins=allows_origin,
            serializer=CheckedPacket,
            client_manager=DirectManager(),
            logger=log,
            engineio_logger=log,
        )
        # The Socket.IO requests being served (a request cannot be hashed: by id).
        self._serving: dict[int, web.Request] = {}
        self._said_goodbye = False

    @property
    def requests_in_progress(self) -> int:
        """Socket.IO requests being answered: a websocket each, and long polls."""
        return len(self._serving)

    def attach(self, app: web.Application) -> None:
        """Serve Socket.IO at ``PATH`` (in place of python-socketio's own ``attach``)."""
        for method in ("GET", "POST", "OPTIONS"):
            app.router.add_route(method, PATH, self._serve)
        app.on_response_prepare.append(self._note_websocket)

    async def goodbye(self) -> None:
        """Hang up on every client at once, so that each comes back. A Socket.IO disconnect
        would tell clients not to reconnect; a closed transport tells them to. A websocket gets
        a close frame (1001, going away), and then its connection is closed without waiting
        for the reply, which aiohttp no longer reads once it is stopping; a long poll is cut
        (and its handler cancelled, or it would wait for its own timeout). Safe twice."""
        if self._said_goodbye:
            return
        self._said_goodbye = True
        requests = list(self._serving.values())
        closing = [
            asyncio.ensure_future(websocket.close(code=WSCloseCode.GOING_AWAY, message=RESTARTING))
            for request in requests
            if (websocket := request.get(WEBSOCKET)) is not None
        ]
        await asyncio.sleep(0)  # every close frame written
        for request in requests:
            if request.transport is not None:
                request.transport.close()
            if request.get(WEBSOCKET) is None:
                request.task.cancel()  # a long poll: engine.io ends it, as when it times out
        if closing:
            _, late = await asyncio.wait(closing, timeout=GOODBYE_SECONDS)
            for task in late:
                task.cancel()
        await self.sio.shutdown()

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        if self._said_goodbye:  # a request read before the server stopped, served only now
            raise ServerStopping("the server is restarting; connect again shortly")
        self._serving[id(request)] = request
        try:
            response: web.StreamResponse = await self.sio.handle_request(request)
            return response
        except Exception as error:  # engine.io's parsers raise on what a client sent
            self._log.warning("refused a request engine.io could not parse", exc_info=error)
            return await self._refuse(request)
        finally:
            self._serving.pop(id(request), None)

    async def _refuse(self, request: web.Request) -> web.StreamResponse:
        websocket: web.WebSocketResponse | None = request.get(WEBSOCKET)
        if websocket is None:
            raise InvalidInput("that is not a Socket.IO request this server can read")
        await websocket.close(code=WSCloseCode.PROTOCOL_ERROR)
        return websocket

    async def _note_websocket(self, request: web.Request, response: Any) -> None:
        if isinstance(response, web.WebSocketResponse) and request.path == PATH:
            request[WEBSOCKET] = response
