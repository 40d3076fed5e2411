"""Prometheus text exposition of what a technician's dashboard would graph."""

from __future__ import annotations

import gc
from collections import Counter

from scheduler.timetable import RoomState
from server.media.heap import STALL_BUCKETS, HeapKeeper
from server.media.relay import Relay
from server.rooms.live import LiveChannel
from server.rooms.service import RoomService


def render_metrics(rooms: RoomService, live: LiveChannel, relay: Relay, heap: HeapKeeper) -> str:
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
        "# HELP plenary_media_sessions Open WHIP and WHEP sessions (peer connections).",
        "# TYPE plenary_media_sessions gauge",
        f"plenary_media_sessions {relay.peer_connections}",
        "# HELP plenary_room_viewers Connected viewers of each room.",
        "# TYPE plenary_room_viewers gauge",
        *(
            f'plenary_room_viewers{{room="{item.id}"}} {relay.counts(item.id)[1]}'
            for item in rooms.timetable.rooms
        ),
        "# HELP plenary_room_publishers Connected publishers of each room.",
        "# TYPE plenary_room_publishers gauge",
        *(
            f'plenary_room_publishers{{room="{item.id}"}} {relay.counts(item.id)[0]}'
            for item in rooms.timetable.rooms
        ),
        "# HELP plenary_forwarded_packets_total RTP packets sent to viewers, by kind.",
        "# TYPE plenary_forwarded_packets_total counter",
        *(
            f'plenary_forwarded_packets_total{{kind="{kind}"}} {count}'
            for kind, count in relay.forwarded_packets().items()
        ),
        "# HELP plenary_forwarding_failures_total Publishers' packets whose forwarding raised "
        "(the first of each error type is logged).",
        "# TYPE plenary_forwarding_failures_total counter",
        f"plenary_forwarding_failures_total {relay.forwarding_failures.count}",
        *_heap_lines(heap),
    ]
    return "\n".join(lines) + "\n"


def _heap_lines(heap: HeapKeeper) -> list[str]:
    stalls = heap.stalls
    return [
        "# HELP plenary_media_stall_seconds Garbage collections made while anyone watched: "
        "the time media stood still.",
        "# TYPE plenary_media_stall_seconds histogram",
        *(
            f'plenary_media_stall_seconds_bucket{{le="{bound}"}} {count}'
            for bound, count in zip(STALL_BUCKETS, stalls.buckets, strict=True)
        ),
        f'plenary_media_stall_seconds_bucket{{le="+Inf"}} {stalls.count}',
        f"plenary_media_stall_seconds_sum {stalls.total_seconds:.6f}",
        f"plenary_media_stall_seconds_count {stalls.count}",
        "# HELP plenary_media_stall_longest_seconds The longest such stall in this run.",
        "# TYPE plenary_media_stall_longest_seconds gauge",
        f"plenary_media_stall_longest_seconds {stalls.longest_seconds:.6f}",
        "# HELP plenary_heap_frozen_objects Objects frozen out of the collector's reach.",
        "# TYPE plenary_heap_frozen_objects gauge",
        f"plenary_heap_frozen_objects {gc.get_freeze_count()}",
        "# HELP plenary_heap_full_collections_total Full collections, frozen objects included.",
        "# TYPE plenary_heap_full_collections_total counter",
        f"plenary_heap_full_collections_total {heap.full_collections}",
    ]
