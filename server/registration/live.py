"""Registrations as they change, pushed to the organizers' pages over Socket.IO.

Each change the store commits (a sign-up, a decision, a letter queued, sent, written to the
outbox or failed) goes out as ``registration``, the same entry ``GET /api/registrations``
lists, to the clients whose token may manage registrations, and to nobody else: the entry
holds the e-mail address.
"""

from __future__ import annotations

from server.auth.permissions import Permission
from server.auth.tokens import Claims
from server.registration.http import organizer_view
from server.rooms.live import LiveChannel
from server.store.registrations import RegistrationRecords

REGISTRATION_EVENT = "registration"
ORGANIZERS_ROOM = "organizers"
NAMESPACE = "/"


class RegistrationFeed:
    def __init__(self, live: LiveChannel, records: RegistrationRecords) -> None:
        self._sio = live.sio
        self._records = records
        live.on_connect(self._join)
        records.on_change(self.changed)

    async def changed(self, registration_id: str) -> None:
        if not self._organizers_connected():
            return  # nobody to tell: a burst of sign-ups costs no read each
        registration = await self._records.get(registration_id)
        if registration is None:
            return
        await self._sio.emit(REGISTRATION_EVENT, organizer_view(registration), to=ORGANIZERS_ROOM)

    def _organizers_connected(self) -> bool:
        participants = self._sio.manager.get_participants(NAMESPACE, ORGANIZERS_ROOM)
        return next(iter(participants), None) is not None

    async def _join(self, sid: str, claims: Claims) -> None:
        if claims.can(Permission.MANAGE_REGISTRATIONS):
            await self._sio.enter_room(sid, ORGANIZERS_ROOM)
