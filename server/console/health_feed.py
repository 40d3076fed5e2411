"""The technicians' live view of the media: once a second, every room with a source gets its
``health`` message, and the alerts (``alerts.py``) that start or clear go out as ``alert``
and into the audit log.

Only clients whose token may see health (technicians, organizers) receive either, and only
for the rooms their token covers: each joins a Socket.IO room per room it may watch. One who
connects while alerts are up is sent them at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from server.auth.permissions import Permission
from server.auth.tokens import Claims
from server.background import RepeatingTask
from server.config import AlertSettings
from server.console.alerts import Alert, AlertBook, RoomFacts
from server.media.health import Limits
from server.rooms.live import LiveChannel
from server.rooms.service import RoomService
from server.store.records import Actor

log = logging.getLogger(__name__)

HEALTH_SECONDS = 1.0
HEALTH_EVENT = "health"
ALERT_EVENT = "alert"
ALERTS = Actor("alerts", "alerts")  # who raises and clears alerts, in the audit log


class Sources(Protocol):
    """What the feed needs of the relay."""

    def health(self, limits: Limits) -> list[dict[str, Any]]: ...


def health_room(room: str) -> str:
    return f"health:{room}"


class HealthFeed:
    def __init__(
        self,
        sources: Sources,
        rooms: RoomService,
        live: LiveChannel,
        settings: AlertSettings,
        limits: Limits | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.alerts = AlertBook(settings)
        self._sources = sources
        self._rooms = rooms
        self._sio = live.sio
        self._limits = limits or Limits()
        self._monotonic = monotonic
        self._task = RepeatingTask("health feed", HEALTH_SECONDS, self.tick, log)
        self._alert_listeners: list[Callable[[Alert], None]] = []
        self.ticks = 0
        live.on_connect(self._join)

    def start(self) -> None:
        self._task.start()

    def on_alert(self, listener: Callable[[Alert], None]) -> None:
        """``listener(alert)`` for each alert that starts or clears (``/metrics`` counts them)."""
        self._alert_listeners.append(listener)

    async def stop(self) -> None:
        await self._task.stop()

    async def tick(self) -> list[Alert]:
        """One round: every room's health out, the alerts evaluated; the alerts that changed."""
        self.ticks += 1
        healths = {health["room"]: health for health in self._sources.health(self._limits)}
        for room, health in healths.items():
            await self._sio.emit(HEALTH_EVENT, health, to=health_room(room))
        facts = [
            RoomFacts(
                room=item.id,
                title=item.title,
                state=self._rooms.state(item.id),
                starts_at=item.starts_at,
                ends_at=item.ends_at,
                audio_only=item.audio_only,
                health=healths.get(item.id),
            )
            for item in self._rooms.timetable.rooms
        ]
        changes = self.alerts.evaluate(facts, self._rooms.clock.now(), self._monotonic())
        for alert in changes:
            await self._sio.emit(ALERT_EVENT, alert.payload(), to=health_room(alert.room))
            detail = {"code": alert.code.value, "text": alert.text, "active": alert.active}
            await self._rooms.audit(alert.room, "alert", ALERTS, detail)
            for listener in self._alert_listeners:
                listener(alert)
        return changes

    async def _join(self, sid: str, claims: Claims) -> None:
        if not claims.can(Permission.SEE_HEALTH):
            return
        for item in self._rooms.timetable.rooms:
            if claims.allows_room(item.id):
                await self._sio.enter_room(sid, health_room(item.id))
        for alert in self.alerts.active():
            if claims.allows_room(alert.room):
                await self._sio.emit(ALERT_EVENT, alert.payload(), to=sid)
