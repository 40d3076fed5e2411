"""What a viewer of a stage receives: each m-line's packets counted, and matched to the source
that sent them.

A stage-aware viewer's m-lines are the room's slots, each an outgoing stream of its own (one
SSRC, named in the answer), all on one bundled transport. Which source feeds a slot is learnt
from the packets: the first packet of a slot, and every ``VERIFY_EVERY``-th after it, is
decrypted and its payload looked up in every publisher's send log; from then on a packet is
matched on its sequence number through the relay's renumbering, as for one publisher
(tap.py). A check that finds another source on a slot counts as a switch.

A plain player's sound is the programme mix, made on the server: nothing to match it with.
Every one of its packets is decrypted for the RFC 6464 audio level the mix writes, and the
mix's delay is taken from the hall's tone: the hall's loop begins with near-silence, so once
a loop the mix goes from quiet to loud, and the packet in which it does is matched to the
hall's packet in which the tone starts (``onset``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pylibsrtp
from aiortc import RTCPeerConnection
from aiortc.sdp import SessionDescription

from bench.common.percentiles import histogram_summary, percentile
from bench.fanout.media import Reply
from bench.fanout.tap import (
    BIN_SECONDS,
    BINS,
    KINDS,
    VERIFY_EVERY,
    Receiver,
    SendLog,
    SocketDrain,
    Window,
    dtls_transports,
    is_rtcp,
    payload_key,
    payload_kinds,
)

AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
LOUD, QUIET = 35, 45  # RFC 6464 levels (-dBov): the tone is louder, the gap quieter
QUIET_PACKETS = 5  # a quiet stretch this long, then a loud packet: the tone's onset
MAX_ONSET_SECONDS = 1.5  # an onset later than this was not the one looked up
LATE_SECONDS = 0.005  # a packet this late (issue 14's p99 target) is counted in its tenth
TENTH = 0.1  # of a second: late packets are counted by when they were sent, in these steps


@dataclass
class Lane:
    """One m-line of a viewer: what it received, and from which source (index into the
    publishers' logs; -1 until learnt). ``mixed``: a plain player's sound."""

    kind: int
    mixed: bool = False
    source: int = -1
    switches: int = 0
    offset: int | None = None
    seen: int = 0
    in_window: int = 0
    received: int = 0
    octets: int = 0
    frames: int = 0
    first: int = -1
    last: int = -1
    top: int = -1
    quiet_run: int = 0  # mixed: quiet packets in a row so far

    def reset(self) -> None:
        self.in_window = self.received = self.octets = self.frames = 0
        self.first = self.last = -1

    def span(self) -> int:
        return self.last - self.first + 1 if self.first >= 0 else 0

    def row(self) -> list[int]:
        """kind, source, matched in the window, received in it, its sequence span, octets,
        marker bits, switches."""
        return [
            self.kind, self.source, self.in_window, self.received, self.span(), self.octets,
            self.frames, self.switches,
        ]  # fmt: skip


@dataclass
class StagePaths:
    """Delays over every tapped viewer: per source and kind; the mix's onsets, in ms."""

    sources: int
    bins: list[list[list[int]]] = field(init=False)
    unmatched: list[int] = field(default_factory=lambda: [0, 0])
    unknown_ssrc: int = 0  # packets on an SSRC that no m-line of the answer names
    other_types: dict[int, int] = field(default_factory=dict)  # by payload type: RTX, padding
    srtp_errors: dict[str, int] = field(default_factory=dict)
    onsets: list[float] = field(default_factory=list)
    onsets_unmatched: int = 0
    unmixed: int = 0  # packets of a plain player's sound that were a source's, not the mix
    # Late packets (over LATE_SECONDS from send to arrival) by the tenth of a second of the
    # window they were sent in: a relay that is slow all along is late in every tenth, a
    # machine that takes its CPU away for a moment in a few.
    late: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.bins = [[[0] * (BINS + 1) for _ in KINDS] for _ in range(self.sources)]

    def reset(self) -> None:
        for source in self.bins:
            for kind_bins in source:
                kind_bins[:] = [0] * (BINS + 1)
        self.unmatched[:] = [0, 0]
        self.unknown_ssrc = self.onsets_unmatched = self.unmixed = 0
        self.other_types.clear()
        self.late.clear()
        self.srtp_errors.clear()
        self.onsets.clear()


def answer_lanes(pc: RTCPeerConnection, plain: bool) -> tuple[dict[int, int], list[Lane]]:
    """Each m-line of the answer as a lane, and its media SSRC's lane index. A plain player's
    audio m-line is the mix."""
    lanes: list[Lane] = []
    by_ssrc: dict[int, int] = {}
    for media in SessionDescription.parse(pc.remoteDescription.sdp).media:
        if media.kind not in KINDS:
            continue
        kind = KINDS.index(media.kind)
        lanes.append(Lane(kind, mixed=plain and kind == 0))
        grouped = [group.items[0] for group in media.ssrc_group if group.semantic == "FID"]
        ssrcs = grouped or [info.ssrc for info in media.ssrc][:1]
        for ssrc in ssrcs:
            by_ssrc[int(ssrc)] = len(lanes) - 1
    return by_ssrc, lanes


def audio_level_id(pc: RTCPeerConnection) -> int:
    """The header extension id of the audio level in the answer (0: none)."""
    for media in SessionDescription.parse(pc.remoteDescription.sdp).media:
        for extension in media.rtp.headerExtensions:
            if extension.uri == AUDIO_LEVEL:
                return int(extension.id)
    return 0


def audio_level(packet: bytes, extension_id: int) -> int | None:
    """The RFC 6464 level of a clear RTP packet with one-byte header extensions (RFC 8285)."""
    if not packet[0] & 0x10 or not extension_id:
        return None
    at = 12 + 4 * (packet[0] & 0x0F)
    if packet[at : at + 2] != b"\xbe\xde":
        return None
    end = at + 4 + 4 * (packet[at + 2] << 8 | packet[at + 3])
    at += 4
    while at < end:
        header = packet[at]
        if header == 0:  # padding
            at += 1
            continue
        element, length = header >> 4, (header & 0x0F) + 1
        if element == 15:
            return None
        if element == extension_id:
            return packet[at + 1] & 0x7F
        at += 1 + length
    return None


def tap_stage_viewer(
    pc: RTCPeerConnection,
    logs: list[SendLog],
    paths: StagePaths,
    window: Window,
    drain: SocketDrain,
    plain: bool,
    onset: tuple[int, int] | None,
) -> list[Lane]:
    """Take RTP off this viewer's one socket, lane by lane; ``onset``: (the hall's log, the
    payload key of its packet in which the tone starts), for a plain player's mix. Returns
    its lanes, in m-line order."""
    by_ssrc, lanes = answer_lanes(pc, plain)
    context = _Context(logs, paths, window, payload_kinds(pc.remoteDescription.sdp), onset)
    context.level_id = audio_level_id(pc)
    for dtls in dtls_transports(pc):
        for protocol in dtls.transport._connection._protocols:
            taker = _lane_taker(protocol.datagram_received, dtls, by_ssrc, lanes, context)
            protocol.datagram_received = taker
            if protocol.transport is not None:
                drain.take(protocol.transport, taker)
    return lanes


@dataclass
class _Context:
    logs: list[SendLog]
    paths: StagePaths
    window: Window
    kinds: dict[int, int]
    onset: tuple[int, int] | None
    level_id: int = 0


def _lane_taker(
    deliver: Callable[[bytes, Any], None],
    dtls: Any,
    by_ssrc: dict[int, int],
    lanes: list[Lane],
    context: _Context,
) -> Receiver:
    logs, paths, window, kinds = context.logs, context.paths, context.window, context.kinds
    trailer = [0]

    def decrypt(data: bytes) -> bytes | None:
        try:
            packet: bytes = dtls._rx_srtp.unprotect(data)
        except pylibsrtp.Error as error:
            paths.srtp_errors[str(error)] = paths.srtp_errors.get(str(error), 0) + 1
            return None
        trailer[0] = len(data) - len(packet)
        return packet

    def learn(lane: Lane, data: bytes, sequence: int) -> float | None:
        """Which source sent this packet, and when; the lane's renumbering, learnt again."""
        packet = decrypt(data)
        if packet is None:
            return None
        key = payload_key(packet)
        for index, log in enumerate(logs):
            sent = log.by_payload[0].get(key) or log.by_payload[1].get(key)
            if sent is not None:
                if lane.source != index:
                    lane.switches += lane.source >= 0
                    lane.source = index
                lane.offset = (sequence - sent[1]) & 0xFFFF
                return sent[0]
        return None

    def sent_at(lane: Lane, data: bytes, sequence: int) -> float | None:
        lane.seen += 1
        if lane.offset is None or lane.seen % VERIFY_EVERY == 0:
            return learn(lane, data, sequence)
        by_sequence = logs[lane.source].by_sequence[lane.kind]
        published = (sequence - lane.offset) & 0xFFFF
        return by_sequence[0].get(published) or by_sequence[1].get(published)

    def mixed(lane: Lane, data: bytes, now: float) -> None:
        """A packet of the mix: its level, and whether the hall's tone starts in it."""
        packet = decrypt(data)
        if packet is None:
            return
        if lane.seen % VERIFY_EVERY == 0 and any(
            payload_key(packet) in log.by_payload[0] for log in logs
        ):
            paths.unmixed += 1
        lane.seen += 1
        level = audio_level(packet, context.level_id)
        if level is None or context.onset is None:
            return
        if level >= QUIET:
            lane.quiet_run += 1
            return
        if level <= LOUD and lane.quiet_run >= QUIET_PACKETS and window.start <= now < window.end:
            hall, key = context.onset
            sent = logs[hall].by_payload[0].get(key) or logs[hall].by_payload[1].get(key)
            if sent is not None and 0 <= now - sent[0] < MAX_ONSET_SECONDS:
                paths.onsets.append((now - sent[0]) * 1000)
            else:
                paths.onsets_unmatched += 1
        lane.quiet_run = 0

    def datagram_received(data: bytes, addr: Any, arrived: float | None = None) -> None:
        if not 127 < data[0] < 192 or is_rtcp(data) or dtls._rx_srtp is None:
            deliver(data, addr)
            return
        now = time.perf_counter() if arrived is None else arrived
        kind = kinds.get(data[1] & 0x7F)
        if kind is None:  # retransmissions: counted apart
            other = paths.other_types
            other[data[1] & 0x7F] = other.get(data[1] & 0x7F, 0) + 1
            return
        found = by_ssrc.get(int.from_bytes(data[8:12], "big"))
        if found is None:
            paths.unknown_ssrc += 1
            return
        lane = lanes[found]
        sequence = data[2] << 8 | data[3]
        high = lane.top
        if high < 0:
            extended = sequence + 0x10000
        else:  # the nearest to the highest so far, modulo 2^16
            extended = high + ((sequence - high + 0x8000) & 0xFFFF) - 0x8000
        if extended > high:
            lane.top = extended
        in_window = window.start <= now < window.end
        if in_window:
            lane.received += 1
            lane.octets += len(data) - trailer[0]
            lane.frames += data[1] >> 7
            if lane.first < 0 or extended < lane.first:
                lane.first = extended
            lane.last = max(lane.last, extended)
        if lane.mixed:
            mixed(lane, data, now)
            return
        sent = sent_at(lane, data, sequence)
        if sent is None:
            paths.unmatched[kind] += 1
        elif window.start <= sent < window.end:
            lane.in_window += 1
            if now - sent > LATE_SECONDS:
                tenth = int((sent - window.start) / TENTH)
                paths.late[tenth] = paths.late.get(tenth, 0) + 1
            slot = max(0, int((now - sent) / BIN_SECONDS))
            paths.bins[lane.source][kind][slot if slot < BINS else BINS] += 1

    return datagram_received


def lane_rows(lanes: list[Lane]) -> list[list[int]]:
    return [lane.row() for lane in lanes]


def summary_of(paths: StagePaths, names: list[str]) -> Reply:
    """Delays per source and kind, as tap.PathStats.summary gives them for one path."""
    return {
        "sources": {
            name: {
                kind: histogram_summary(paths.bins[index][k], BIN_SECONDS)
                for k, kind in enumerate(KINDS)
            }
            for index, name in enumerate(names)
        },
        "unmatched": paths.unmatched,
        "unknown_ssrc": paths.unknown_ssrc,
        "other_types": {str(pt): count for pt, count in paths.other_types.items()},
        "srtp_errors": paths.srtp_errors,
        "onsets": {
            "n": len(paths.onsets),
            **{
                stat: percentile(paths.onsets, fraction)
                for stat, fraction in (("p50", 0.5), ("p99", 0.99), ("max", 1.0))
            },
            "min": min(paths.onsets, default=float("nan")),
            "unmatched": paths.onsets_unmatched,
        },
        "unmixed": paths.unmixed,
        "late": {str(tenth): count for tenth, count in sorted(paths.late.items())},
    }
