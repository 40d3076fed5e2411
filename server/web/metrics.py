"""Prometheus text exposition of what a technician's dashboard would graph."""

from __future__ import annotations

import gc
from collections import Counter

from scheduler.timetable import RoomState
from server.errors import AtCapacity, TooManyRequests
from server.media.admission import Busy, TooManySessions
from server.media.heap import STALL_BUCKETS, HeapKeeper
from server.media.relay import Relay
from server.media.sessions import Direction, SessionState
from server.rooms.live import LiveChannel
from server.rooms.service import RoomService
from server.web.rate_limit import RateLimiter

REFUSAL_CODES = (AtCapacity.code, Busy.code, TooManySessions.code, TooManyRequests.code)


def render_metrics(
    rooms: RoomService, live: LiveChannel, relay: Relay, heap: HeapKeeper, offers: RateLimiter
) -> str:
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
        *_media_session_lines(rooms, relay, offers),
        "# HELP plenary_room_publishers Connected publishers of each room.",
        "# TYPE plenary_room_publishers gauge",
        *(
            f'plenary_room_publishers{{room="{item.id}"}} {relay.counts(item.id)[0]}'
            for item in rooms.timetable.rooms
        ),
        "# HELP plenary_forwarded_packets_total RTP packets sent to viewers, by kind.",
        "# TYPE plenary_forwarded_packets_total counter",
        *(
            f'plenary_forwarded_packets_total{{kind="{kind}"}} {stats.packets_out}'
            for kind, stats in relay.forwarded().items()
        ),
        "# HELP plenary_forwarding_failures_total Publishers' packets whose forwarding raised "
        "(the first of each error type is logged).",
        "# TYPE plenary_forwarding_failures_total counter",
        f"plenary_forwarding_failures_total {relay.forwarding_failures.count}",
        *_heap_lines(heap),
    ]
    return "\n".join(lines) + "\n"


def _media_session_lines(rooms: RoomService, relay: Relay, offers: RateLimiter) -> list[str]:
    """Connecting sessions apart from connected ones: a seat held by a session that never
    connects shows here, not as a viewer."""
    sessions = relay.session_counts()
    refusals = {**relay.refusals, TooManyRequests.code: offers.refused}
    return [
        "# HELP plenary_media_sessions Open WHIP (publish) and WHEP (watch) sessions: "
        "connecting (offer taken, ICE and DTLS not yet up) or connected.",
        "# TYPE plenary_media_sessions gauge",
        *(
            f'plenary_media_sessions{{direction="{direction.value}",state="{state.value}"}} '
            f"{sessions[direction, state]}"
            for direction in Direction
            for state in SessionState
        ),
        "# HELP plenary_room_viewers Connected viewers of each room.",
        "# TYPE plenary_room_viewers gauge",
        *(
            f'plenary_room_viewers{{room="{item.id}"}} {relay.counts(item.id)[1]}'
            for item in rooms.timetable.rooms
        ),
        "# HELP plenary_room_viewers_connecting Viewers of each room whose sessions have not "
        "connected yet; they hold a seat.",
        "# TYPE plenary_room_viewers_connecting gauge",
        *(
            f'plenary_room_viewers_connecting{{room="{item.id}"}} '
            f"{relay.connecting_viewers(item.id)}"
            for item in rooms.timetable.rooms
        ),
        "# HELP plenary_media_refusals_total WHIP and WHEP offers turned away, by error code.",
        "# TYPE plenary_media_refusals_total counter",
        *(
            f'plenary_media_refusals_total{{reason="{code}"}} {refusals.get(code, 0)}'
            for code in REFUSAL_CODES
        ),
        "# HELP plenary_media_sessions_replaced_total Sessions closed to admit a newer one of "
        "the same person in the same room.",
        "# TYPE plenary_media_sessions_replaced_total counter",
        f"plenary_media_sessions_replaced_total {relay.replaced}",
        "# HELP plenary_media_sessions_never_connected_total Answered sessions that closed "
        "before connecting (timed out, replaced, hung up).",
        "# TYPE plenary_media_sessions_never_connected_total counter",
        f"plenary_media_sessions_never_connected_total {relay.never_connected}",
    ]


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
