"""The viewers of a stage, in the viewers' process: stage-aware viewers (every slot, one
m-line each) and plain players (one audio and one video m-line: the programme), matched to
the publishers of the stage, each of which logs its sends to a ring of its own.

Only every ``stride``-th stage-aware viewer is measured (stage_tap.py), spread over the
connection order so that they are a fair sample of the relay's; the others are sinks
(tap.SinkReader): they receive everything the relay sends them and count it, for a few
microseconds a datagram. A stage of three sends a viewer about 3.5 times the packets of the
single-source bench's stream, which one client process could not match for 200 viewers.
Loss and delay are measured on the tapped ones; what the relay does is the same for every
viewer of a slot, and the sinks' counts say whether any of them went short.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection

from bench.common.percentiles import histogram_summary
from bench.fanout.media import Reply
from bench.fanout.ring import SendRing
from bench.fanout.stage_tap import Lane, StagePaths, summary_of, tap_stage_viewer
from bench.fanout.tap import (
    BIN_SECONDS,
    BINS,
    KINDS,
    SendLog,
    SinkReader,
    SocketDrain,
    Window,
    dtls_transports,
)

RECEIVE_BUFFER = 1 << 20
Signal = Callable[[RTCPeerConnection, str, str], Awaitable[str]]
Connected = Callable[[RTCPeerConnection], Awaitable[None]]


@dataclass
class StageViewer:
    pc: RTCPeerConnection
    location: str
    token: str
    plain: bool
    lanes: list[Lane] = field(default_factory=list)  # tapped; empty for a sink
    sink: SinkReader | None = None


def bundled_pc() -> RTCPeerConnection:
    """aiortc leaves the second and later m-lines of a kind on transports that BUNDLE then
    drops, unless everything is bundled from the start (browsers do)."""
    return RTCPeerConnection(
        RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    )


class StageViewers:
    def __init__(self, window: Window, signal: Signal, connected: Connected) -> None:
        self.window = window
        self._signal = signal
        self._connected = connected
        self.names: list[str] = []
        self.logs: list[SendLog] = []
        self.onset: tuple[int, int] | None = None
        self.paths = StagePaths(0)
        self.viewers: list[StageViewer] = []
        self.drain = SocketDrain(self._catch_up, window)

    def _catch_up(self) -> None:
        for log in self.logs:
            log.catch_up()

    def follow(self, rings: dict[str, str], onset: tuple[str, int] | None) -> Reply:
        """From now on, the stage is these publishers, each writing to its ring; ``onset``:
        the publisher whose tone starts in the packet with this payload key (the hall)."""
        self.names = list(rings)
        self.logs = []
        for ring in rings.values():
            log = SendLog(self.window)
            log.follow(SendRing.open(Path(ring)))
            self.logs.append(log)
        self.onset = (self.names.index(onset[0]), onset[1]) if onset else None
        self.paths = StagePaths(len(self.logs))
        return {}

    def forget_old(self) -> None:
        for log in self.logs:
            log.forget_old()

    @property
    def tapped(self) -> list[StageViewer]:
        return [viewer for viewer in self.viewers if viewer.lanes]

    async def watch(
        self, base: str, token: str, total: int, batch: int, slots: dict[str, int], plain: bool,
        stride: int, room: str,
    ) -> Reply:  # fmt: skip
        """Adds viewers of one kind until there are ``total`` of it; every ``stride``-th of
        them (the first included) is measured."""
        began, errors = time.perf_counter(), list[str]()
        mine = [viewer for viewer in self.viewers if viewer.plain == plain]
        count = len(mine)
        while count < total:
            wanted = min(batch, total - count)
            results = await asyncio.gather(
                *(
                    self._viewer(base, token, slots, plain, (count + n) % stride == 0, room)
                    for n in range(wanted)
                ),
                return_exceptions=True,
            )
            for result in results:
                if isinstance(result, StageViewer):
                    self.viewers.append(result)
                    count += 1
                else:
                    errors.append(f"{type(result).__name__}: {result}")
            if len(errors) > total // 10 + 2:
                break
        gc.collect()
        return {
            "viewers": count,
            "failed": len(errors),
            "errors": sorted(set(errors))[:3],
            "seconds": time.perf_counter() - began,
        }

    async def _viewer(
        self, base: str, token: str, slots: dict[str, int], plain: bool, tap: bool, room: str
    ) -> StageViewer:
        pc = bundled_pc()
        audio, video = (1, 1) if plain else (slots["audio"], slots["video"])
        for kind, count in (("audio", audio), ("video", video)):
            for _ in range(count):
                pc.addTransceiver(kind, direction="recvonly")
        try:
            location = await self._signal(pc, f"{base}/whep/{room}", token)
            viewer = StageViewer(pc, location, token, plain)
            if tap:
                viewer.lanes = tap_stage_viewer(
                    pc, self.logs, self.paths, self.window, self.drain, plain, self.onset
                )
            else:
                viewer.sink = self._sink(pc)
            _room_to_fall_behind(pc)
            await self._connected(pc)
        except BaseException:
            await pc.close()
            raise
        return viewer

    def _sink(self, pc: RTCPeerConnection) -> SinkReader | None:
        for dtls in dtls_transports(pc):
            for protocol in dtls.transport._connection._protocols:
                if protocol.transport is not None:
                    return self.drain.take_sink(protocol.transport, protocol.datagram_received)
        return None

    def reset(self) -> None:
        """The window opens: counts from zero."""
        for log in self.logs:
            log.sent[:] = [0, 0]
            log.frames[:] = [0, 0]
            log.retransmitted = 0
        self.paths.reset()
        for viewer in self.viewers:
            for lane in viewer.lanes:
                lane.reset()
            if viewer.sink is not None:
                viewer.sink.counted = 0
        self.drain.oldest_in_pass = float("inf")

    def catch_up(self) -> None:
        self._catch_up()

    def figures(self) -> Reply:
        """What the window measured, under the keys of the single-source bench's (each
        tapped stage-aware viewer a row of both kinds, delays over every source), and the
        stage's own under ``stage``."""
        stage_aware = [v for v in self.tapped if not v.plain]
        sent = [sum(log.sent[kind] for log in self.logs) for kind in (0, 1)]
        return {
            "sent": sent,
            "sent_frames": [sum(log.frames[kind] for log in self.logs) for kind in (0, 1)],
            "retransmitted": sum(log.retransmitted for log in self.logs),
            "viewers": [_row(viewer.lanes) for viewer in stage_aware],
            "relay_delay": self._merged_delays(),
            "failed_auth": sum(self.paths.srtp_errors.values()),
            "srtp_errors": self.paths.srtp_errors,
            "packets_received": self._packets_received(),
            "stage": {
                "names": self.names,
                "sent": [log.sent for log in self.logs],
                "viewers": sum(not v.plain for v in self.viewers),
                "plain": sum(v.plain for v in self.viewers),
                "lanes": [[lane.row() for lane in v.lanes] for v in stage_aware],
                "plain_lanes": [[lane.row() for lane in v.lanes] for v in self.tapped if v.plain],
                "sinks": [v.sink.counted for v in self.viewers if v.sink is not None],
                **summary_of(self.paths, self.names),
            },
        }

    def _packets_received(self) -> int:
        tapped = sum(lane.received for v in self.viewers for lane in v.lanes)
        return tapped + sum(v.sink.counted for v in self.viewers if v.sink is not None)

    def _merged_delays(self) -> Reply:
        merged = {}
        for kind_index, kind in enumerate(KINDS):
            bins = [0] * (BINS + 1)
            for source in self.paths.bins:
                for slot, count in enumerate(source[kind_index]):
                    if count:
                        bins[slot] += count
            merged[kind] = {
                **histogram_summary(bins, BIN_SECONDS),
                "unmatched": self.paths.unmatched[kind_index],
                "renumbered": 0,
            }
        return merged

    def states(self, plain: bool | None = None) -> list[str]:
        return [v.pc.connectionState for v in self.viewers if plain is None or v.plain == plain]

    def take(self, plain: bool | None) -> list[StageViewer]:
        """The viewers (of one kind, or all) that leave now: released from the drain."""
        leaving = [v for v in self.viewers if plain is None or v.plain == plain]
        self.viewers = [v for v in self.viewers if v not in leaving]
        for viewer in leaving:
            self.drain.release(viewer.pc)
        return leaving


def _room_to_fall_behind(pc: RTCPeerConnection) -> None:
    """A receive buffer of about 1.5 s of a stage's packets (the kernel doubles what is asked,
    and counts a datagram's overhead too): this client shares its core with four others, and
    with the default, a tenth of a second away from it overflowed a viewer's socket."""
    for dtls in dtls_transports(pc):
        for protocol in dtls.transport._connection._protocols:
            sock = getattr(protocol.transport, "_sock", None)
            if isinstance(sock, socket.socket):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)


def _row(lanes: list[Lane]) -> list[int]:
    """A stage-aware viewer as tap.ViewerCounts.row gives a viewer of one source: per kind,
    matched in the window, received, sequence spans, octets, marker bits."""
    columns: list[list[int]] = [[0, 0] for _ in range(5)]
    for lane in lanes:
        for column, value in zip(
            columns,
            (lane.in_window, lane.received, lane.span(), lane.octets, lane.frames),
            strict=True,
        ):
            column[lane.kind] += value
    return [value for column in columns for value in column]
