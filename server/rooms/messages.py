"""How the agenda and room states look on the wire (``GET /api/agenda``, ``agenda``,
``room_state``): times as ISO 8601 in the event's zone, rooms with their announced state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scheduler.timetable import AgendaItem
from server.config import Config
from server.rooms.service import Reason, RoomService


def local_iso(instant: datetime, rooms: RoomService) -> str:
    return instant.astimezone(rooms.timetable.zone).isoformat()


def room_payload(rooms: RoomService, item: AgendaItem) -> dict[str, Any]:
    publishers, viewers = rooms.occupancy(item.id)
    return {
        "id": item.id,
        "room": item.id,
        "state": rooms.state(item.id).value,
        "opens_at": local_iso(item.starts_at - rooms.timetable.lobby, rooms),
        "starts_at": local_iso(item.starts_at, rooms),
        "ends_at": local_iso(item.ends_at, rooms),
        "audio_only": item.audio_only,
        "publishers": publishers,
        "viewers": viewers,
        "slots": rooms.slots(item),
        "sources": rooms.on_stage(item.id),
        # Until when "End now" can be undone (``control`` ``reopen``), or null.
        "reopen_until": _optional_iso(rooms.reopen_until(item.id), rooms),
    }


def _optional_iso(instant: datetime | None, rooms: RoomService) -> str | None:
    return None if instant is None else local_iso(instant, rooms)


def room_state_message(
    rooms: RoomService,
    room_id: str,
    reason: Reason,
    by: str | None,
) -> dict[str, Any]:
    payload = room_payload(rooms, rooms.timetable.item(room_id))
    payload.update(now=local_iso(rooms.clock.now(), rooms), reason=reason.value, by=by)
    return payload


def agenda_payload(config: Config, rooms: RoomService) -> dict[str, Any]:
    zone = rooms.timetable.zone
    return {
        "event": {
            "name": config.event.name,
            "theme": config.event.theme,
            "venue": config.event.venue,
            "timezone": zone.key,
            "lobby_minutes": int(rooms.timetable.lobby.total_seconds() // 60),
        },
        "clock": {
            "now": local_iso(rooms.clock.now(), rooms),
            "speed": rooms.clock.speed,
            "rehearsal": rooms.clock.rehearsal,
        },
        "items": [_item_payload(rooms, item) for item in rooms.timetable.items],
    }


def _item_payload(rooms: RoomService, item: AgendaItem) -> dict[str, Any]:
    published = rooms.published.item(item.id)
    return {
        "id": item.id,
        "title": item.title,
        "kind": item.kind.value,
        "description": item.description,
        "audio_only": item.audio_only,
        "recorded": item.recorded,
        "day": published.starts_at.astimezone(rooms.timetable.zone).date().isoformat(),
        "starts_at": local_iso(item.starts_at, rooms),
        "ends_at": local_iso(item.ends_at, rooms),
        "scheduled_starts_at": local_iso(published.starts_at, rooms),
        "scheduled_ends_at": local_iso(published.ends_at, rooms),
        "room": room_payload(rooms, item) if item.has_room else None,
    }
