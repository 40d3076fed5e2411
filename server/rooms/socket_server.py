"""python-socketio's server as plenary runs it, on the aiohttp app: packets decoded strictly,
its logs one quiet line each, a request engine.io cannot parse refused without a traceback, and
pages of other origins refused (``web/origins.py``).

The live channel (``live.py``) adds the events; this module is the transport under them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import socketio
from aiohttp import WSCloseCode, web

from server.errors import InvalidInput
from server.rooms.socket_input import CheckedPacket
from server.rooms.socket_log import SocketLog

PATH = "/socket.io/"
MAX_PAYLOAD_BYTES = 64 * 1024
WEBSOCKET = web.RequestKey("websocket", web.WebSocketResponse)

# Whether a page of this origin may connect, given the request (its WSGI-like environ).
OriginCheck = Callable[[str | None, Mapping[str, Any]], bool]


class SocketServer:
    def __init__(self, log: SocketLog, allows_origin: OriginCheck) -> None:
        self._log = log
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp",
            max_http_buffer_size=MAX_PAYLOAD_BYTES,
            # A handshake from a page of another origin is refused (400) before it connects.
            cors_allowed_origins=allows_origin,
            serializer=CheckedPacket,
            logger=log,
            engineio_logger=log,
        )
        # The websockets of the Socket.IO requests being served.
        self._websockets: set[web.WebSocketResponse] = set()

    def attach(self, app: web.Application) -> None:
        """Serve Socket.IO at ``PATH`` (in place of python-socketio's own ``attach``)."""
        for method in ("GET", "POST", "OPTIONS"):
            app.router.add_route(method, PATH, self._serve)
        app.on_response_prepare.append(self._note_websocket)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await self.sio.handle_request(request)
            return response
        except Exception as error:  # engine.io's parsers raise on what a client sent
            self._log.warning("refused a request engine.io could not parse", exc_info=error)
            return await self._refuse(request)
        finally:
            self._websockets.discard(request.get(WEBSOCKET))

    async def _refuse(self, request: web.Request) -> web.StreamResponse:
        websocket: web.WebSocketResponse | None = request.get(WEBSOCKET)
        if websocket is None:
            refusal = InvalidInput("that is not a Socket.IO request this server can read")
            return web.json_response(refusal.as_dict(), status=refusal.http_status)
        await websocket.close(code=WSCloseCode.PROTOCOL_ERROR)
        return websocket

    async def _note_websocket(self, request: web.Request, response: Any) -> None:
        if isinstance(response, web.WebSocketResponse) and request.path == PATH:
            request[WEBSOCKET] = response
            self._websockets.add(response)
