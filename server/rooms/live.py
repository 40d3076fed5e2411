"""The Socket.IO adapter: who is connected, what they may do, and live status pushed to them.

Handlers here parse, authorise and call the room service; the rules live elsewhere. Each
client-to-server event is answered through its ack with ``{"ok": true, ...}`` or
``{"ok": false, "error": CODE, "message": TEXT}``; ``answer`` is the one place that mapping
happens, so a malformed payload can never take the server down. Events with the wrong number
of arguments, unknown events and packets python-socketio could not act on
(``socket_input.py``) are answered the same way, and logged as one line at most
(``socket_log.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from typing import Any, Protocol

import socketio

from server.auth.permissions import Permission
from server.auth.tokens import Claims, TokenService, require
from server.config import Config
from server.errors import (
    Forbidden,
    InvalidInput,
    InvalidToken,
    NotFound,
    PlenaryError,
    UnknownEvent,
)
from server.media.stage import Source
from server.rooms.commands import ControlRequest, StageRequest
from server.rooms.messages import agenda_payload, room_state_message
from server.rooms.service import Reason, RoomService, RoomUpdate
from server.rooms.socket_input import MALFORMED
from server.rooms.socket_log import SocketLog
from server.rooms.socket_server import OriginCheck, SocketServer
from server.store import Actor

log = logging.getLogger(__name__)

STAFF_ROOM = "staff:health"
# ``stage`` messages: the whole list for those who may see backstage, the stage for the rest.
BACKSTAGE_VIEW = "stage:backstage"
AUDIENCE_VIEW = "stage:audience"
# Occupancy changes are gathered for this long, so a crowd arriving is one message, not many.
OCCUPANCY_SECONDS = 0.5
MAX_EVENT_NAME = 40  # of an unknown event's name, quoted back
MAX_PROBLEM = 120

Handler = Callable[[Claims | None, Any], Awaitable[dict[str, Any]]]
Answer = dict[str, Any]
# Told of each client that connects with a token, once it has its agenda: a feature's rooms.
ConnectHook = Callable[[str, Claims], Awaitable[None]]
# Told of every client that connects, with a token (its claims) or without (None).
AnyConnectHook = Callable[[str, Claims | None], Awaitable[None]]


class StageDesk(Protocol):
    """The stages of the rooms, as the relay keeps them."""

    def stage_payload(self, room: str, backstage: bool) -> list[dict[str, Any]]: ...

    def rooms_with_sources(self) -> list[str]: ...

    async def move(self, room: str, source_id: object, on_stage: bool) -> Source: ...


class LiveChannel:
    def __init__(
        self, config: Config, rooms: RoomService, tokens: TokenService, allows_origin: OriginCheck
    ) -> None:
        self._log = SocketLog()
        self.server = SocketServer(self._log, allows_origin)
        self.sio = self.server.sio
        self._config = config
        self._rooms = rooms
        self._tokens = tokens
        self._clients: dict[str, Claims | None] = {}
        self._occupancy_changed: set[str] = set()
        self._occupancy_flush: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.stage: StageDesk | None = None  # wired in by the app
        self._connect_hooks: list[ConnectHook] = []
        self._any_connect_hooks: list[AnyConnectHook] = []
        self.sio.on("connect", self._connect)
        self.sio.on("disconnect", self._disconnect)
        self.sio.on("control", self._event(self._control))
        self.sio.on(MALFORMED, self._malformed)
        self.sio.on("*", self._unknown_event)
        rooms.subscribe(self.on_room_update)

    @property
    def connected(self) -> int:
        return len(self._clients)

    def claims(self, sid: str) -> Claims | None:
        """The claims a connected client signed in with; None without a token."""
        return self._clients.get(sid)

    def on_connect(self, hook: ConnectHook) -> None:
        self._connect_hooks.append(hook)

    def on_any_connect(self, hook: AnyConnectHook) -> None:
        self._any_connect_hooks.append(hook)

    def on_event(self, name: str, handler: Handler) -> None:
        """A client-to-server event of another feature, answered through its ack as these."""
        self.sio.on(name, self._event(handler))

    async def on_room_update(self, update: RoomUpdate) -> None:
        by = None if update.reason is Reason.SCHEDULE else update.actor.name
        for room in update.rooms:
            await self.sio.emit(
                "room_state", room_state_message(self._rooms, room, update.reason, by)
            )
        if update.running_order_changed:
            await self.sio.emit("agenda", agenda_payload(self._config, self._rooms))

    async def occupancy_changed(self, room: str) -> None:
        self._occupancy_changed.add(room)
        if self._occupancy_flush is None:
            loop = asyncio.get_running_loop()
            self._occupancy_flush = loop.call_later(OCCUPANCY_SECONDS, self._flush_soon)

    def _flush_soon(self) -> None:
        self._occupancy_flush = None
        rooms, self._occupancy_changed = self._occupancy_changed, set()
        task = asyncio.ensure_future(self._announce_occupancy(rooms))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _announce_occupancy(self, rooms: set[str]) -> None:
        for room in rooms:
            if room in self._rooms.timetable:
                message = room_state_message(self._rooms, room, Reason.OCCUPANCY, None)
                await self.sio.emit("room_state", message)

    async def stage_changed(self, room: str) -> None:
        """Tell everyone the room's stage as they may see it."""
        if self.stage is None or room not in self._rooms.timetable:
            return
        for view, backstage in ((BACKSTAGE_VIEW, True), (AUDIENCE_VIEW, False)):
            sources = self.stage.stage_payload(room, backstage)
            await self.sio.emit("stage", {"room": room, "sources": sources}, to=view)

    async def end_lapsed(self, now: datetime, is_revoked: Callable[[str], bool]) -> int:
        """Disconnect every client whose token has expired or been revoked."""
        lapsed = [
            sid
            for sid, claims in self._clients.items()
            if claims is not None and (claims.expires_at <= now or is_revoked(claims.jti))
        ]
        for sid in lapsed:
            self._clients.pop(sid, None)
            await self.sio.disconnect(sid)
        return len(lapsed)

    async def close(self) -> None:
        """The server is stopping: every client is told to come back, none that it is over."""
        if self._occupancy_flush is not None:
            self._occupancy_flush.cancel()
        for task in list(self._tasks):
            task.cancel()
        await self.server.goodbye()

    async def _connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> None:
        try:
            claims = self._authenticate(auth)
        except InvalidToken as error:
            raise socketio.exceptions.ConnectionRefusedError(
                error.code, {"error": error.code, "message": error.message}
            ) from None
        self._clients[sid] = claims
        if claims is not None and claims.can(Permission.SEE_HEALTH):
            await self.sio.enter_room(sid, STAFF_ROOM)
        backstage = claims is not None and claims.can(Permission.SEE_BACKSTAGE)
        await self.sio.enter_room(sid, BACKSTAGE_VIEW if backstage else AUDIENCE_VIEW)
        await self.sio.emit("agenda", agenda_payload(self._config, self._rooms), to=sid)
        if self.stage is not None:
            for room in self.stage.rooms_with_sources():
                sources = self.stage.stage_payload(room, backstage)
                await self.sio.emit("stage", {"room": room, "sources": sources}, to=sid)
        hooks = [partial(hook, sid, claims) for hook in self._any_connect_hooks]
        if claims is not None:
            hooks += [partial(hook, sid, claims) for hook in self._connect_hooks]
        for hook in hooks:
            try:
                await hook()
            except Exception:
                # The client is connected: it misses what that feature would have sent.
                log.exception("connect hook failed")

    async def _disconnect(self, sid: str, reason: object = None) -> None:
        self._clients.pop(sid, None)

    def _authenticate(self, auth: object) -> Claims | None:
        if auth is None or auth == {}:
            return None
        if not isinstance(auth, dict) or set(auth) != {"token"}:
            raise InvalidToken('auth must be {"token": TOKEN}')
        return self._tokens.verify(auth["token"])

    def _event(self, handler: Handler) -> Callable[..., Awaitable[Answer]]:
        async def answer(sid: str, *args: Any) -> Answer:
            try:
                if len(args) != 1:
                    raise InvalidInput(f"send one argument, a JSON object, not {len(args)}")
                return await handler(self._clients.get(sid), args[0])
            except PlenaryError as error:
                return {"ok": False, **error.as_dict()}
            except Exception:
                log.exception("socket event failed")
                return {"ok": False, "error": "internal", "message": "the server could not do that"}

        return answer

    async def _malformed(self, sid: str, *args: Any) -> Answer:
        problem = args[0][:MAX_PROBLEM] if args and isinstance(args[0], str) else "malformed"
        self._log.warning("refused a malformed packet")
        return {"ok": False, **InvalidInput(problem).as_dict()}

    async def _unknown_event(self, event: str, sid: str, *args: Any) -> Answer:
        name = event if len(event) <= MAX_EVENT_NAME else event[:MAX_EVENT_NAME] + "…"
        return {"ok": False, **UnknownEvent(f"there is no event {name!r}").as_dict()}

    async def _control(self, claims: Claims | None, data: Any) -> dict[str, Any]:
        request = ControlRequest.parse(data)
        if isinstance(request, StageRequest):
            return await self._move(claims, request)
        claims = require(claims, Permission.CONTROL_ROOMS)
        room = self._rooms.room(request.room)
        if not claims.allows_room(room.id):
            raise Forbidden(f"your access does not include room {room.id!r}")
        await self._rooms.override(
            room.id, request.action, request.minutes, Actor(claims.sub, claims.name)
        )
        payload = room_state_message(self._rooms, room.id, Reason.OVERRIDE, claims.name)
        return {"ok": True, "room": payload}

    async def _move(self, claims: Claims | None, request: StageRequest) -> dict[str, Any]:
        """Bring a source on stage or send it backstage; written to the audit log."""
        claims = require(claims, Permission.MOVE_SOURCES)
        room = self._rooms.room(request.room)
        if not claims.allows_room(room.id):
            raise Forbidden(f"your access does not include room {room.id!r}")
        if self.stage is None:
            raise NotFound("there is no such source in this room")
        source = await self.stage.move(room.id, request.source, request.on_stage)
        detail = {"source": source.id, "name": source.name, "role": source.role}
        await self._rooms.audit(
            room.id, request.action.value, Actor(claims.sub, claims.name), detail
        )
        return {"ok": True, "sources": self.stage.stage_payload(room.id, backstage=True)}
