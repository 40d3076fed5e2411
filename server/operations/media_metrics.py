"""The relay's figures for ``/metrics``: sessions, each room's publishers, viewers and
sources, what was forwarded and what could not be, offers turned away; and the collector
policy's, the time media stood still while the garbage collector ran."""

from __future__ import annotations

import gc
from collections.abc import Iterator

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from server.errors import AtCapacity, TooManyRequests
from server.media.admission import Busy, TooManySessions
from server.media.heap import STALL_BUCKETS, HeapKeeper
from server.media.relay import Relay
from server.media.sessions import Direction, SessionState
from server.rooms.service import RoomService
from server.web.rate_limit import RateLimiter

REFUSAL_CODES = (AtCapacity.code, Busy.code, TooManySessions.code, TooManyRequests.code)


class MediaFigures:
    def __init__(self, rooms: RoomService, relay: Relay, offers: RateLimiter) -> None:
        self._rooms = rooms
        self._relay = relay
        self._offers = offers

    def collect(self) -> Iterator[Metric]:
        yield from self._sessions()
        yield from self._rooms_media()
        yield from self._forwarding()

    def _sessions(self) -> Iterator[Metric]:
        """Connecting sessions apart from connected ones: a seat held by a session that never
        connects shows here, not as a viewer."""
        relay = self._relay
        sessions = relay.session_counts()
        family = GaugeMetricFamily(
            "plenary_media_sessions",
            "Open WHIP (publish) and WHEP (watch) sessions: connecting (offer taken, ICE and "
            "DTLS not yet up) or connected.",
            labels=["direction", "state"],
        )
        for direction in Direction:
            for state in SessionState:
                family.add_metric([direction.value, state.value], sessions[direction, state])
        yield family
        refusals = {**relay.refusals, TooManyRequests.code: self._offers.refused}
        turned_away = CounterMetricFamily(
            "plenary_media_refusals",
            "WHIP and WHEP offers turned away, by error code.",
            labels=["reason"],
        )
        for code in REFUSAL_CODES:
            turned_away.add_metric([code], refusals.get(code, 0))
        yield turned_away
        yield CounterMetricFamily(
            "plenary_media_sessions_replaced",
            "Sessions closed to admit a newer one of the same person in the same room.",
            value=relay.replaced,
        )
        yield CounterMetricFamily(
            "plenary_media_sessions_never_connected",
            "Answered sessions that closed before connecting (timed out, replaced, hung up).",
            value=relay.never_connected,
        )

    def _rooms_media(self) -> Iterator[Metric]:
        relay = self._relay
        publishers = GaugeMetricFamily(
            "plenary_room_publishers", "Connected publishers of each room.", labels=["room"]
        )
        viewers = GaugeMetricFamily(
            "plenary_room_viewers", "Connected viewers of each room.", labels=["room"]
        )
        connecting = GaugeMetricFamily(
            "plenary_room_viewers_connecting",
            "Viewers of each room whose sessions have not connected yet; they hold a seat.",
            labels=["room"],
        )
        sources = GaugeMetricFamily(
            "plenary_room_sources",
            "Each room's sources (connected publishers), on stage or backstage.",
            labels=["room", "place"],
        )
        for item in self._rooms.timetable.rooms:
            room = item.id
            publishing, watching = relay.counts(room)
            publishers.add_metric([room], publishing)
            viewers.add_metric([room], watching)
            connecting.add_metric([room], relay.connecting_viewers(room))
            media = relay.room_media(room)
            present = [] if media is None else media.stage.sources
            staged = sum(source.on_stage for source in present)
            sources.add_metric([room, "on_stage"], staged)
            sources.add_metric([room, "backstage"], len(present) - staged)
        yield from (publishers, viewers, connecting, sources)

    def _forwarding(self) -> Iterator[Metric]:
        forwarded = self._relay.forwarded()
        packets = CounterMetricFamily(
            "plenary_forwarded_packets",
            "RTP packets sent to viewers, by kind: one per viewer reached.",
            labels=["kind"],
        )
        octets = CounterMetricFamily(
            "plenary_forwarded_bytes",
            "RTP bytes sent to viewers, by kind, before encryption.",
            labels=["kind"],
        )
        dropped = CounterMetricFamily(
            "plenary_dropped_packets",
            "RTP packets meant for a viewer that did not go out (its socket full or gone, "
            "or the packet too large to encrypt), by kind.",
            labels=["kind"],
        )
        for kind, stats in forwarded.items():
            packets.add_metric([kind], stats.packets_out)
            octets.add_metric([kind], stats.bytes_out)
            dropped.add_metric([kind], stats.dropped)
        yield from (packets, octets, dropped)
        yield CounterMetricFamily(
            "plenary_forwarding_failures",
            "Publishers' packets whose forwarding raised (the first of each error type is logged).",
            value=self._relay.forwarding_failures.count,
        )


class HeapFigures:
    def __init__(self, heap: HeapKeeper) -> None:
        self._heap = heap

    def collect(self) -> Iterator[Metric]:
        stalls = self._heap.stalls
        buckets = [
            (f"{bound}", count)  # 0.0025, as Prometheus writes bounds
            for bound, count in zip(STALL_BUCKETS, stalls.buckets, strict=True)
        ]
        yield HistogramMetricFamily(
            "plenary_media_stall_seconds",
            "Garbage collections made while anyone watched: the time media stood still.",
            buckets=[*buckets, ("+Inf", stalls.count)],
            sum_value=stalls.total_seconds,
        )
        yield GaugeMetricFamily(
            "plenary_media_stall_longest_seconds",
            "The longest such stall in this run.",
            value=stalls.longest_seconds,
        )
        yield GaugeMetricFamily(
            "plenary_heap_frozen_objects",
            "Objects frozen out of the collector's reach.",
            value=gc.get_freeze_count(),
        )
        yield CounterMetricFamily(
            "plenary_heap_full_collections",
            "Full collections, frozen objects included.",
            value=self._heap.full_collections,
        )
