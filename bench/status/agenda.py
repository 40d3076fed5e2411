"""The agenda as a client reads it: the transitions to expect, and the controls to send."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

MIRROR_GAP = 2.0


@dataclass(frozen=True)
class Expected:
    """A transition of the published agenda and its wall instant in this rehearsal."""

    room: str
    state: str
    day: str
    agenda_at: datetime
    wall: float


def expected_transitions(agenda: dict[str, Any], start: float, speed: float) -> list[Expected]:
    """wall = START + (agenda instant - first item's start) / speed, for every room."""
    items = agenda["items"]
    lobby = timedelta(minutes=agenda["event"]["lobby_minutes"])
    first = datetime.fromisoformat(items[0]["starts_at"])
    found = []
    for item in items:
        if item["room"] is None:
            continue
        starts, ends = (datetime.fromisoformat(item[key]) for key in ("starts_at", "ends_at"))
        for state, at in (("lobby", starts - lobby), ("live", starts), ("ended", ends)):
            wall = start + (at - first).total_seconds() / speed
            found.append(Expected(item["id"], state, item["day"], at, wall))
    return sorted(found, key=lambda expected: expected.wall)


def mirror_offsets(expected: list[Expected]) -> list[tuple[float, int]]:
    """(seconds from the first, broadcasts) per instant, idle gaps cut to ``MIRROR_GAP``."""
    counts: dict[float, int] = {}
    for event in expected:
        counts[event.wall] = counts.get(event.wall, 0) + 1
    offsets, previous, offset = [], min(counts), 0.0
    for wall, count in sorted(counts.items()):
        offset += min(wall - previous, MIRROR_GAP)
        offsets.append((offset, count))
        previous = wall
    return offsets


def control_plan(agenda: dict[str, Any], rounds: int) -> deque[dict[str, Any]]:
    """Extend the last room by a minute, end a later-day room (one not yet begun, which only a
    room of today may be started), and again: actions that never touch day one, so they cannot
    collide with the scheduled transitions."""
    rooms = [item for item in agenda["items"] if item["room"] is not None]
    last = rooms[-1]["id"]
    spare = [item["id"] for item in rooms[:-1] if item["day"] != agenda["items"][0]["day"]]
    plan: list[dict[str, Any]] = []
    while len(plan) < rounds:
        plan.append({"room": last, "action": "extend", "minutes": 1})
        if spare:
            room = spare.pop(0)
            plan.append({"room": room, "action": "end"})
    return deque(plan[:rounds])


def room_state_like(agenda: dict[str, Any]) -> dict[str, Any]:
    """What plenary's room_state carries (a room of the agenda plus now, reason, by)."""
    room = next(item["room"] for item in agenda["items"] if item["room"] is not None)
    return {**room, "now": agenda["clock"]["now"], "reason": "override", "by": "Bench"}
