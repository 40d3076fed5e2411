"""The Socket.IO adapter of notices: ``notice`` in (post one, or clear it), ``notice`` out to
exactly the clients of the room it is about, and ``notices`` (those up now) to each client
as it connects.

A notice for one room goes to the Socket.IO room of that room's receivers, which every client
whose token covers it joins on connect; a notice for every room (``room`` null) goes to every
client, those without a token included, since it is about the whole event.
"""

from __future__ import annotations

from typing import Any

from server.auth.permissions import Permission
from server.auth.tokens import Claims, require
from server.errors import Forbidden
from server.rooms.commands import NoticeClear, NoticeRequest
from server.rooms.live import LiveChannel
from server.rooms.notices import Notice, NoticeBoard
from server.rooms.service import RoomService
from server.store import Actor
from server.web.rate_limit import RateLimiter

EVENT = "notice"
LIST_EVENT = "notices"
# Notices reach every page: a sender may post a few in a row, then two a second.
NOTICES_PER_MINUTE = 120
NOTICE_BURST = 5


def receivers_room(room: str) -> str:
    return f"notices:{room}"


class NoticeChannel:
    def __init__(self, live: LiveChannel, rooms: RoomService) -> None:
        self._sio = live.sio
        self._rooms = rooms
        self._board = NoticeBoard()
        self._senders = RateLimiter(NOTICES_PER_MINUTE, burst=NOTICE_BURST)
        live.on_event(EVENT, self._notice)
        live.on_any_connect(self._join)

    def up(self) -> list[Notice]:
        return self._board.up()

    async def _join(self, sid: str, claims: Claims | None) -> None:
        """The client's rooms, then the notices up now that are for it."""
        if claims is not None:
            for item in self._rooms.timetable.rooms:
                if claims.allows_room(item.id):
                    await self._sio.enter_room(sid, receivers_room(item.id))
        seen = [notice.payload() for notice in self._board.up() if _reaches(notice, claims)]
        await self._sio.emit(LIST_EVENT, {"notices": seen}, to=sid)

    async def _notice(self, claims: Claims | None, data: Any) -> dict[str, Any]:
        request = NoticeRequest.parse(data)
        sender = require(claims, Permission.SEND_NOTICE)
        if isinstance(request, NoticeClear):
            return await self._clear(sender, request)
        room = None if request.room is None else self._rooms.room(request.room).id
        _check_covers(sender, room)
        self._senders.check(sender.sub, "notices")
        notice = self._board.post(request, sender.name, self._rooms.clock.now())
        try:
            await self._audit(sender, notice, "notice", text=notice.text, level=notice.level)
        except BaseException:
            self._board.clear(notice.id)  # not written down: not put up either
            raise
        await self._send(notice, notice.payload())
        return {"ok": True, "notice": notice.payload()}

    async def _clear(self, sender: Claims, request: NoticeClear) -> dict[str, Any]:
        notice = self._board.find(request.id)
        _check_covers(sender, notice.room)
        await self._audit(sender, notice, "notice_cleared")
        self._board.clear(notice.id)
        await self._send(notice, notice.taken_down())
        return {"ok": True, "notice": notice.taken_down()}

    async def _audit(self, sender: Claims, notice: Notice, action: str, **detail: str) -> None:
        actor = Actor(sender.sub, sender.name)
        await self._rooms.audit(notice.room, action, actor, {"id": notice.id, **detail})

    async def _send(self, notice: Notice, payload: dict[str, Any]) -> None:
        if notice.room is None:
            await self._sio.emit(EVENT, payload)
        else:
            await self._sio.emit(EVENT, payload, to=receivers_room(notice.room))


def _reaches(notice: Notice, claims: Claims | None) -> bool:
    if notice.room is None:
        return True
    return claims is not None and claims.allows_room(notice.room)


def _check_covers(sender: Claims, room: str | None) -> None:
    """A notice is posted, and cleared, only by someone whose access covers where it shows."""
    if room is None and not sender.allows_every_room:
        raise Forbidden("only an access to every room may post or clear a notice for all rooms")
    if room is not None and not sender.allows_room(room):
        raise Forbidden(f"your access does not include room {room!r}")
