"""Packet forwarding for one kind of media (audio or video) of one room.

The packets of the room's current publisher are rewritten onto one continuous outgoing stream:
one SSRC for every viewer, sequence numbers and timestamps that carry on smoothly when the
publisher changes or reconnects, so viewers already watching keep watching. Nothing is decoded:
a packet is parsed once on arrival, serialised once per distinct viewer profile (payload type,
header extensions, MID), and encrypted and sent once per viewer.

That last step is the relay's cost, so it is planned ahead: the viewers that can be sent to are
grouped by profile into ``_Copy`` plans, each with a ``Fanout`` over its viewers (``fanout.py``:
the C loop of ``_fanout.c``, or its Python twin), and a packet costs one serialisation per plan
and one encryption and ``sendto`` per viewer.
The plans are made again when a viewer comes or goes or becomes ready, and every so often in
case a connection changed underneath. Each plan keeps the recent packets once for all its
viewers, to answer their NACKs.

Each of our sequence numbers, which is a viewer's SRTP index, goes out with one packet only
(``sequence_window.py``): a retransmission of a packet that went out is dropped, and so is a
late packet whose number was used before (after a change of publisher, by the previous one) or
is too old to tell. libsrtp, as aiortc sets it up, would encrypt another packet under it.

Video starts at a keyframe: a new viewer, and every viewer when the publisher changes, waits
(gets no video) until the first packet of a keyframe, which is asked of the publisher at once
and again every second while anyone waits. Its decoder never sees a frame it cannot decode.

A forwarder is one slot of the room's stage (``stage.py``), fed by one source at a time, which
the relay names with each packet. A viewer may refuse a source (``receives``: never one's own,
and the hall's return never the hall's): while that source feeds the slot, the viewer waits as
for a keyframe, kept in step, and gets nothing.

Each viewer's RTCP sender reports go from here too, on the schedule of ``reports.py``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import Protocol

from aiortc import clock as aiortc_clock
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RTP_HISTORY_SIZE, HeaderExtensionsMap, RtpPacket
from aiortc.utils import random16, random32

from server.media.aiortc_internals.srtp import SRTP_PACKET_LIMIT
from server.media.fanout import C_LOOP_BUILT, Fanout, Outbound, fanout_to
from server.media.keyframes import starts_keyframe
from server.media.reports import INTERVAL_SECONDS, ReportSchedule
from server.media.sequence_window import SEQUENCE_SPACE, Placement, SequenceWindow

KEYFRAME_INTERVAL_SECONDS = 1.0
TIMESTAMP_SPACE = 1 << 32
# Plans are made afresh this often even when nothing announced a change: a viewer's way out
# moves with its ICE pair (browsers switch pairs after connecting), and nothing tells the
# forwarder. Sooner when a send failed: the old pair is often closed.
REPLAN_SECONDS = 1.0
REPLAN_AFTER_MISS_SECONDS = 0.1
# A viewer waiting for a keyframe is sent a padding-only packet this often (in packets), so its
# SRTP index (and the browser's) never falls 2^15 behind: it would be guessed a rollover off.
KEEP_IN_STEP_EVERY = 8192

Profile = tuple[int, str | None, object]


class Viewer(Outbound, Protocol):
    """What the forwarder needs of a viewer: its ``PassthroughSender``
    (``aiortc_internals/viewer_sender.py``), or a test's stand-in. Kept in sets, by identity."""

    def __hash__(self) -> int: ...

    @property
    def mid(self) -> str | None: ...

    @property
    def extensions(self) -> HeaderExtensionsMap: ...

    def profile(self, codec_key: tuple[str, int]) -> Profile | None:
        """(payload type, MID, header extensions) of its copy of a packet of this codec; None
        until negotiated, or if never agreed."""

    def keep_history(self, history: dict[int, RtpPacket]) -> None:
        """Answer its NACKs from ``history``, the packets kept once for its profile."""

    def release(self) -> None:
        """It is gone: let go of its outlet now."""

    def send_report(self, packets: int, octets: int, rtp_timestamp: int, ntp_time: int) -> bool:
        """Send it an RTCP sender report; False if it could not be sent."""


@dataclass
class ForwardingStats:
    packets_in: int = 0
    bytes_in: int = 0
    packets_out: int = 0  # one per viewer a packet went out to
    bytes_out: int = 0  # their RTP octets, before encryption
    source_switches: int = 0
    keyframe_requests: int = 0
    dropped: int = 0
    kept_in_step: int = 0  # padding-only packets sent to viewers waiting for a keyframe
    duplicates: int = 0  # retransmissions of packets that went out already
    stale: int = 0  # packets whose number went out with another packet, or may have
    held: int = 0  # packets nobody was waiting for (every viewer waits for a keyframe)

    def add(self, other: ForwardingStats) -> None:
        """Count ``other``'s figures in too: a room's totals outlive its forwarders."""
        for figure in fields(self):
            setattr(self, figure.name, getattr(self, figure.name) + getattr(other, figure.name))

    @classmethod
    def summed(cls, all_stats: Iterable[ForwardingStats]) -> ForwardingStats:
        total = cls()
        for stats in all_stats:
            total.add(stats)
        return total


@dataclass
class _Copy:
    """One viewer profile's copy of each packet, and the viewers it goes to."""

    payload_type: int
    mid: str | None
    extensions: HeaderExtensionsMap
    history: dict[int, RtpPacket]
    fanout: Fanout


@dataclass
class _Source:
    """The publisher stream now being forwarded, and how its numbers map onto ours."""

    key: str | None  # the relay's name for the source
    ssrc: int
    clock_rate: int
    sequence_offset: int
    timestamp_offset: int


@dataclass
class Forwarder:
    kind: str
    request_keyframe: Callable[[], None] = lambda: None
    clock: Callable[[], float] = time.monotonic
    ssrc: int = field(default_factory=random32)
    # Our first packet's sequence number and timestamp: random, as RFC 3550 asks.
    first_sequence: int = field(default_factory=random16)
    first_timestamp: int = field(default_factory=random32)
    ntp_clock: Callable[[], int] = aiortc_clock.current_ntp_time  # for abs-send-time and reports
    c_loop: bool = C_LOOP_BUILT  # packets go out through the C loop (else its Python twin)
    # Whether a viewer may get the source of that name; those that may not wait.
    receives: Callable[[Viewer, str | None], bool] = lambda viewer, source: True
    stats: ForwardingStats = field(default_factory=ForwardingStats)
    _viewers: list[Viewer] = field(default_factory=list)
    _plans: dict[tuple[str, int], list[_Copy]] = field(default_factory=dict)
    _histories: dict[Profile, dict[int, RtpPacket]] = field(default_factory=dict)
    # Packets and payload octets forwarded so far, and each viewer's counts when it joined.
    _packets: int = 0
    _octets: int = 0
    _counted_from: dict[Viewer, tuple[int, int]] = field(default_factory=dict)
    # When each viewer that is being sent to gets its next RTCP sender report.
    _reports: ReportSchedule[Viewer] = field(init=False)
    # Video viewers that must start at the next keyframe, each with ``_packets`` when it was
    # last sent a packet (real, or padding to keep it in step).
    _waiting: dict[Viewer, int] = field(default_factory=dict)
    _source: _Source | None = None
    # Our sequence numbers used lately: none ever goes out with two different packets.
    _sequences: SequenceWindow = field(init=False)
    _last_timestamp: int = field(init=False)
    _last_ntp_time: int = 0  # when the packet with ``_last_timestamp`` was sent
    _reports_queued: bool = False
    _last_sent_at: float | None = None  # on ``clock``, which may read nought
    _last_keyframe_request: float = float("-inf")
    _replan_at: float = float("-inf")  # on ``clock``: when every plan is made afresh

    def __post_init__(self) -> None:
        self._reports = ReportSchedule(INTERVAL_SECONDS[self.kind])
        self._sequences = SequenceWindow(self.first_sequence - 1)
        self._last_timestamp = (self.first_timestamp - 1) % TIMESTAMP_SPACE

    @property
    def source_ssrc(self) -> int | None:
        return self._source.ssrc if self._source else None

    @property
    def source_key(self) -> str | None:
        return self._source.key if self._source else None

    @property
    def viewers(self) -> int:
        return len(self._viewers)

    def add_viewer(self, viewer: Viewer) -> None:
        self._viewers.append(viewer)
        if self.kind == "video" or not self._may_receive(viewer):
            self._wait([viewer])
        self.replan()

    def remove_viewer(self, viewer: Viewer) -> None:
        if viewer in self._viewers:
            self._viewers.remove(viewer)
        self._counted_from.pop(viewer, None)
        self._reports.remove(viewer)
        self._stop_waiting([viewer])
        self.replan()
        viewer.release()

    def waiting_for_keyframe(self, viewer: Viewer) -> bool:
        return viewer in self._waiting

    def replan(self) -> None:
        """Viewers changed: work out again who gets which copy before the next packet."""
        self._plans.clear()

    def ask_for_keyframe(self) -> None:
        """Pass a keyframe request on to the publisher, at most once a second."""
        if self.kind != "video":
            return
        now = self.clock()
        if now - self._last_keyframe_request >= KEYFRAME_INTERVAL_SECONDS:
            self._last_keyframe_request = now
            self.stats.keyframe_requests += 1
            self.request_keyframe()

    async def forward(
        self, packet: RtpPacket, codec: RTCRtpCodecParameters, source_key: str | None = None
    ) -> None:
        """Forward one packet of the source ``source_key`` (the relay's name for it)."""
        self.stats.packets_in += 1
        self.stats.bytes_in += len(packet.payload)
        source = self._source
        if source is None or source.ssrc != packet.ssrc or source.key != source_key:
            source = self._switch_to(packet, codec, source_key)
        if self._waiting and len(self._waiting) == len(self._viewers):
            if not self._admit_waiting(codec, packet.payload):
                self.stats.held += 1
                return
            self._continue_from(source, packet)
        sequence = (packet.sequence_number + source.sequence_offset) % SEQUENCE_SPACE
        placement = self._sequences.place(sequence)
        if placement is Placement.REPEAT:
            self.stats.duplicates += 1  # a retransmission we had already (several NACKs)
            return
        if placement is Placement.STALE:
            self.stats.stale += 1  # late, onto a number used before: SRTP must not reuse it
            return
        timestamp = (packet.timestamp + source.timestamp_offset) % TIMESTAMP_SPACE
        now = self.clock()
        newest = placement is Placement.NEWEST
        if newest:  # not a late packet
            self._last_timestamp = timestamp
            self._last_sent_at = now
            if self._waiting:
                self._admit_waiting(codec, packet.payload)
        ntp_time = self.ntp_clock()
        codec_key = (codec.mimeType.lower(), codec.clockRate)
        if newest and self._waiting:
            self._keep_in_step(codec_key, sequence, timestamp)
        if now >= self._replan_at:
            self._plans.clear()
            self._replan_at = now + REPLAN_SECONDS
        plan = self._plans.get(codec_key)
        if plan is None:
            plan = self._plan(codec_key)
        self._packets += 1
        self._octets += len(packet.payload)
        sent = missed = 0
        for copy in plan:
            out = RtpPacket(
                payload_type=copy.payload_type,
                marker=packet.marker,
                sequence_number=sequence,
                timestamp=timestamp,
                ssrc=self.ssrc,
                payload=packet.payload,
            )
            out.extensions.mid = copy.mid
            out.extensions.abs_send_time = (ntp_time >> 14) & 0x00FFFFFF
            out.extensions.audio_level = packet.extensions.audio_level
            data = out.serialize(copy.extensions)
            copy.history[sequence % RTP_HISTORY_SIZE] = out
            fanout = copy.fanout
            if len(data) > SRTP_PACKET_LIMIT:
                self.stats.dropped += fanout.size  # larger than any network carries
                continue
            delivered = fanout.send(data)
            missed += fanout.size - delivered  # sockets full or gone, or a pair that moved
            self.stats.bytes_out += delivered * len(data)
            sent += delivered
        self.stats.packets_out += sent
        if missed:
            self.stats.dropped += missed
            self._replan_at = min(self._replan_at, now + REPLAN_AFTER_MISS_SECONDS)
        if newest:
            self._last_ntp_time = ntp_time
            self._queue_reports(now)

    def _queue_reports(self, now: float) -> None:
        """If a sender report is due, send it on the event loop's next turn (once queued)."""
        if not self._reports_queued and self._reports.next_at() <= now:
            self._reports_queued = True
            asyncio.get_running_loop().call_soon(self._send_reports)

    def _send_reports(self) -> None:
        """A sender report that is due, from the newest packet's times. Reports wait for the
        event loop's turn, so the packets queued to be forwarded (``MediaFirst``) go first;
        and go one a turn, so none holds up a packet behind it for long."""
        self._reports_queued = False
        now = self.clock()
        viewer = self._reports.take_due(now)
        if viewer is not None:
            packets, octets = self._counted_from[viewer]
            viewer.send_report(
                self._packets - packets,
                self._octets - octets,
                self._last_timestamp,
                self._last_ntp_time,
            )
        self._queue_reports(now)

    def _admit_waiting(self, codec: RTCRtpCodecParameters, payload: bytes) -> bool:
        """Waiting viewers that may receive this source get it from this packet on: audio at
        once, video if a keyframe starts here; until then the publisher is asked for one (at
        most once a second). Whether any was admitted."""
        ready = [
            viewer
            for viewer in self._waiting
            if viewer.route() is not None and self._may_receive(viewer)
        ]
        if not ready:
            return False  # nobody can be sent to yet: the request comes when one connects
        if self.kind == "audio" or starts_keyframe(codec.mimeType, payload):
            self._stop_waiting(ready)
            self.replan()
            return True
        self.ask_for_keyframe()
        return False

    def _continue_from(self, source: _Source, packet: RtpPacket) -> None:
        """Every viewer waited: our numbering carries on from this packet, with no gap for
        the packets nobody got (a gap reads as loss, and some receivers stall on it)."""
        source.sequence_offset = (
            self._sequences.newest + 1 - packet.sequence_number
        ) % SEQUENCE_SPACE
        self._sequences.fence()

    def _keep_in_step(self, codec_key: tuple[str, int], sequence: int, timestamp: int) -> None:
        """Every ``KEEP_IN_STEP_EVERY`` packets, the viewers still waiting for a keyframe get
        this number as a padding-only packet (which a decoder never sees), so neither their SRTP
        session here nor the browser's loses count of the rollovers. Each has keys of its own:
        the number is used once for each of them, by this packet."""
        groups: dict[Profile, list[Viewer]] = {}
        for viewer, since in self._waiting.items():
            if self._packets - since < KEEP_IN_STEP_EVERY:
                continue
            profile = viewer.profile(codec_key)
            if profile is not None and viewer.route() is not None:
                groups.setdefault(profile, []).append(viewer)
                self._waiting[viewer] = self._packets
        for profile, viewers in groups.items():
            padding = RtpPacket(
                payload_type=profile[0],
                sequence_number=sequence,
                timestamp=timestamp,
                ssrc=self.ssrc,
            )
            padding.padding_size = 1
            padding.extensions.mid = viewers[0].mid
            sent = fanout_to(viewers, self.c_loop).send(padding.serialize(viewers[0].extensions))
            self.stats.kept_in_step += sent

    def _wait(self, viewers: list[Viewer]) -> None:
        """These viewers get no video until the next keyframe."""
        for viewer in viewers:
            self._waiting.setdefault(viewer, self._packets)

    def _stop_waiting(self, viewers: list[Viewer]) -> None:
        for viewer in viewers:
            self._waiting.pop(viewer, None)

    def _may_receive(self, viewer: Viewer) -> bool:
        return self._source is None or self.receives(viewer, self._source.key)

    def _plan(self, codec_key: tuple[str, int]) -> list[_Copy]:
        """Group the viewers that can be sent to now by the copy of a packet they need."""
        groups: dict[Profile, list[Viewer]] = {}
        for viewer in self._viewers:
            if viewer in self._waiting:
                continue  # no video before a keyframe
            profile = viewer.profile(codec_key)
            if profile is None or viewer.route() is None:
                continue  # not connected yet, gone, or never agreed to this codec
            groups.setdefault(profile, []).append(viewer)
            if viewer not in self._counted_from:
                self._counted_from[viewer] = (self._packets, self._octets)
                self._reports.add(viewer, self.clock())
        plan = self._plans[codec_key] = []
        for profile, viewers in groups.items():
            history = self._histories.setdefault(profile, {})
            first = viewers[0]
            plan.append(
                _Copy(
                    profile[0],
                    first.mid,
                    first.extensions,
                    history,
                    fanout_to(viewers, self.c_loop),
                )
            )
            for viewer in viewers:
                viewer.keep_history(history)
        return plan

    def _switch_to(
        self, packet: RtpPacket, codec: RTCRtpCodecParameters, key: str | None
    ) -> _Source:
        """A new or returning publisher: continue our numbering where it stopped."""
        sent_at = self._last_sent_at
        elapsed = 0.0 if sent_at is None else max(0.0, self.clock() - sent_at)
        next_timestamp = self._last_timestamp + int(elapsed * codec.clockRate) + 1
        self._source = _Source(
            key=key,
            ssrc=packet.ssrc,
            clock_rate=codec.clockRate,
            sequence_offset=(self._sequences.newest + 1 - packet.sequence_number) % SEQUENCE_SPACE,
            timestamp_offset=(next_timestamp - packet.timestamp) % TIMESTAMP_SPACE,
        )
        self.stats.source_switches += 1
        if self.kind == "video":  # every decoder starts again at the new source's keyframe
            self._wait(self._viewers)
        else:
            self._wait([v for v in self._viewers if not self._may_receive(v)])
            self._stop_waiting([v for v in self._waiting if self._may_receive(v)])
        self.replan()
        self._sequences.fence()  # its late packets would take numbers already used
        self._last_keyframe_request = float("-inf")
        self.ask_for_keyframe()
        return self._source
