"""The rooms: one per agenda item that is not a break, kept in step with the timetable.

``RoomService`` holds the effective running order (the published timetable with the
technicians' overrides applied) and the last state announced for each room. ``reconcile`` is
idempotent: it compares every room with what the clock says it should be, records and announces
only the differences, and is what every scheduled job and every start-up runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from scheduler.clock import Clock
from scheduler.timetable import (
    AgendaItem,
    Override,
    OverrideAction,
    OverrideRefused,
    RoomState,
    Timetable,
)
from server.errors import Conflict, UnknownRoom
from server.listeners import tell_each
from server.store import SCHEDULE, Actor, AuditEntry, RoomChange, RoomRecords

log = logging.getLogger(__name__)


class Reason(StrEnum):
    SCHEDULE = "schedule"
    OVERRIDE = "override"
    OCCUPANCY = "occupancy"  # publishers or viewers came or went


class RefusedOverride(Conflict):
    """An override the running order refused, with the timetable's code for why."""

    def __init__(self, refusal: OverrideRefused) -> None:
        super().__init__(str(refusal))
        self.code = refusal.reason.value


@dataclass(frozen=True)
class RoomUpdate:
    """What listeners hear: these rooms changed state or times, for this reason."""

    rooms: tuple[str, ...]
    reason: Reason
    actor: Actor
    running_order_changed: bool = False


Listener = Callable[[RoomUpdate], Awaitable[None]]


class RoomService:
    def __init__(
        self,
        timetable: Timetable,
        clock: Clock,
        records: RoomRecords,
        run: str,
        wall: Callable[[], datetime],
        undo_window: timedelta = timedelta(minutes=5),
    ) -> None:
        self.published = timetable
        self.timetable = timetable
        self.clock = clock
        self.run = run
        self._records = records
        self._wall = wall
        self.undo_window = undo_window
        self._overrides: list[Override] = []
        self._states: dict[str, RoomState] = {}
        self._listeners: list[Listener] = []
        self._lock = asyncio.Lock()
        self.transition_count = 0
        # (publishers, viewers) of a room: the media relay knows, and is wired in by the app.
        self.occupancy: Callable[[str], tuple[int, int]] = lambda room: (0, 0)
        # The sources on a room's stage, as ``stage`` messages give them; and the WHEP slots of
        # a room ({"audio", "video"}): the relay knows both, and is wired in by the app.
        self.on_stage: Callable[[str], list[dict[str, Any]]] = lambda room: []
        self.slots: Callable[[AgendaItem], dict[str, int]] = lambda item: {"audio": 0, "video": 0}

    @property
    def override_count(self) -> int:
        return len(self._overrides)

    @property
    def overrides(self) -> tuple[Override, ...]:
        """This run's accepted overrides, oldest first: how the running order came to be."""
        return tuple(self._overrides)

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def load(self) -> None:
        """Restore this run's overrides and last announced states after a restart."""
        self._overrides = await self._records.overrides(self.run)
        self.timetable = self.published.with_overrides(self._overrides)
        self._states = await self._records.room_states(self.run)

    def room(self, room_id: object) -> AgendaItem:
        if isinstance(room_id, str) and room_id in self.timetable:
            item = self.timetable.item(room_id)
            if item.has_room:
                return item
        raise UnknownRoom(f"there is no room {room_id!r}")

    def state(self, room_id: str) -> RoomState:
        item = self.timetable.item(room_id)
        return self._states.get(room_id) or self.timetable.state_at(item, self.clock.now())

    def reopen_until(self, room_id: str) -> datetime | None:
        """Until when the room's "End now" can still be undone; None if it cannot be."""
        deadline = self.timetable.reopen_deadline(room_id, self.undo_window)
        return deadline if deadline is not None and self.clock.now() < deadline else None

    async def reconcile(self) -> tuple[str, ...]:
        async with self._lock:
            changed = await self._reconcile_locked(SCHEDULE)
        if changed:
            await self._announce(RoomUpdate(changed, Reason.SCHEDULE, SCHEDULE))
        return changed

    async def override(
        self, room_id: str, action: OverrideAction, minutes: int, actor: Actor
    ) -> AgendaItem:
        item = self.room(room_id)
        async with self._lock:
            override = Override(item.id, action, self.clock.now(), minutes)
            try:
                effective = self.timetable.apply(override, undo_within=self.undo_window)
            except OverrideRefused as refusal:
                raise RefusedOverride(refusal) from None
            moved = _moved_rooms(self.timetable, effective)
            detail = {"action": action.value, "minutes": minutes, "moved": list(moved)}
            await self._records.add_override(
                self.run, override, self._entry(item.id, "override", actor, detail)
            )
            self._overrides.append(override)
            self.timetable = effective
            changed = await self._reconcile_locked(actor)
        rooms = tuple(dict.fromkeys((item.id, *moved, *changed)))
        await self._announce(RoomUpdate(rooms, Reason.OVERRIDE, actor, running_order_changed=True))
        return self.timetable.item(item.id)

    async def audit(
        self, room: str | None, action: str, actor: Actor, detail: Mapping[str, object]
    ) -> None:
        """Write down what someone did in ``room`` (None: every room) that is not an override:
        the stage, notices."""
        await self._records.record(self.run, self._entry(room, action, actor, detail))

    async def audit_log(self, limit: int = 200, day: date | None = None) -> list[AuditEntry]:
        """The newest entries; with ``day``, those of that calendar day in the event's zone."""
        if day is None:
            return await self._records.audit_log(self.run, limit)
        zone = self.timetable.zone
        start = datetime.combine(day, time(), zone)
        end = datetime.combine(day + timedelta(days=1), time(), zone)
        return await self._records.audit_log(self.run, limit, (start, end))

    async def _reconcile_locked(self, actor: Actor) -> tuple[str, ...]:
        target = self.timetable.states_at(self.clock.now())
        changes = [
            RoomChange(
                room,
                state,
                self._entry(
                    room, "transition", actor, {"from": self._states.get(room), "to": state}
                ),
            )
            for room, state in target.items()
            if self._states.get(room) != state
        ]
        if changes:
            await self._records.save_transitions(self.run, changes)
            self._states.update((change.room, change.state) for change in changes)
            self.transition_count += len(changes)
            for change in changes:
                log.info("room %s is now %s", change.room, change.state)
        return tuple(change.room for change in changes)

    def _entry(
        self, room: str | None, action: str, actor: Actor, detail: Mapping[str, object]
    ) -> AuditEntry:
        return AuditEntry(
            wall_at=self._wall(),
            agenda_at=self.clock.now(),
            room=room,
            action=action,
            actor=actor,
            detail=dict(detail),
        )

    async def _announce(self, update: RoomUpdate) -> None:
        await tell_each(self._listeners, update, "room update")


def _moved_rooms(before: Timetable, after: Timetable) -> tuple[str, ...]:
    return tuple(item_id for item_id in after.moved_since(before) if after.item(item_id).has_room)
