"""Prometheus text exposition of what a technician's dashboard would graph."""

from __future__ import annotations

from collections import Counter

from scheduler.timetable import RoomState
from server.live import LiveChannel
from server.rooms import RoomService


def render_metrics(rooms: RoomService, live: LiveChannel) -> str:
    states = Counter(rooms.state(item.id) for item in rooms.timetable.rooms)
    lines = [
        "# HELP plenary_rooms Rooms of the agenda by state.",
        "# TYPE plenary_rooms gauge",
        *(f'plenary_rooms{{state="{state.value}"}} {states.get(state, 0)}' for state in RoomState),
        "# HELP plenary_room_live Whether each room is live (1) or not (0).",
        "# TYPE plenary_room_live gauge",
        *(
            f'plenary_room_live{{room="{item.id}"}} {int(rooms.state(item.id) is RoomState.LIVE)}'
            for item in rooms.timetable.rooms
        ),
        "# HELP plenary_socket_clients Connected Socket.IO clients.",
        "# TYPE plenary_socket_clients gauge",
        f"plenary_socket_clients {live.connected}",
        "# HELP plenary_overrides_total Technician overrides applied in this run.",
        "# TYPE plenary_overrides_total counter",
        f"plenary_overrides_total {rooms.override_count}",
        "# HELP plenary_transitions_total Room state transitions announced by this process.",
        "# TYPE plenary_transitions_total counter",
        f"plenary_transitions_total {rooms.transition_count}",
    ]
    return "\n".join(lines) + "\n"
