"""Packet forwarding for one kind of media (audio or video) of one room.

The packets of the room's current publisher are rewritten onto one continuous outgoing stream:
one SSRC for every viewer, sequence numbers and timestamps that carry on smoothly when the
publisher changes or reconnects, so viewers already watching keep watching. Nothing is decoded:
a packet is parsed once on arrival, serialised once per distinct viewer profile (payload type,
header extensions, MID), and encrypted and sent once per viewer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiortc import clock as aiortc_clock
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket
from aiortc.utils import random16, random32

from server.media.aiortc_hooks import PassthroughSender

KEYFRAME_INTERVAL_SECONDS = 1.0
SEQUENCE_SPACE = 1 << 16
TIMESTAMP_SPACE = 1 << 32


@dataclass
class ForwardingStats:
    packets_in: int = 0
    bytes_in: int = 0
    packets_out: int = 0
    source_switches: int = 0
    keyframe_requests: int = 0
    dropped: int = 0


@dataclass
class _Source:
    """The publisher stream now being forwarded, and how its numbers map onto ours."""

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
    stats: ForwardingStats = field(default_factory=ForwardingStats)
    _viewers: list[PassthroughSender] = field(default_factory=list)
    _source: _Source | None = None
    _last_sequence: int = field(default_factory=random16)
    _last_timestamp: int = field(default_factory=random32)
    _last_sent_at: float = 0.0
    _last_keyframe_request: float = float("-inf")

    @property
    def source_ssrc(self) -> int | None:
        return self._source.ssrc if self._source else None

    @property
    def viewers(self) -> int:
        return len(self._viewers)

    def add_viewer(self, viewer: PassthroughSender) -> None:
        self._viewers.append(viewer)
        self.ask_for_keyframe()  # so the newcomer sees a picture at once

    def remove_viewer(self, viewer: PassthroughSender) -> None:
        if viewer in self._viewers:
            self._viewers.remove(viewer)

    def ask_for_keyframe(self) -> None:
        """Pass a keyframe request on to the publisher, at most once a second."""
        if self.kind != "video":
            return
        now = self.clock()
        if now - self._last_keyframe_request >= KEYFRAME_INTERVAL_SECONDS:
            self._last_keyframe_request = now
            self.stats.keyframe_requests += 1
            self.request_keyframe()

    async def forward(self, packet: RtpPacket, codec: RTCRtpCodecParameters) -> None:
        self.stats.packets_in += 1
        self.stats.bytes_in += len(packet.payload)
        source = self._source
        if source is None or source.ssrc != packet.ssrc:
            source = self._switch_to(packet, codec)
        sequence = (packet.sequence_number + source.sequence_offset) % SEQUENCE_SPACE
        timestamp = (packet.timestamp + source.timestamp_offset) % TIMESTAMP_SPACE
        self._last_sequence, self._last_timestamp = sequence, timestamp
        self._last_sent_at = self.clock()
        send_time = (aiortc_clock.current_ntp_time() >> 14) & 0x00FFFFFF
        prepared: dict[tuple[object, ...], tuple[RtpPacket, bytes]] = {}
        for viewer in self._viewers:
            if not viewer.ready:
                continue
            payload_type = viewer.payload_type(codec.mimeType, codec.clockRate)
            if payload_type is None:
                continue
            profile = (payload_type, viewer.mid, viewer.extension_ids)
            if profile not in prepared:
                out = RtpPacket(
                    payload_type=payload_type,
                    marker=packet.marker,
                    sequence_number=sequence,
                    timestamp=timestamp,
                    ssrc=self.ssrc,
                    payload=packet.payload,
                )
                out.extensions.mid = viewer.mid
                out.extensions.abs_send_time = send_time
                out.extensions.audio_level = packet.extensions.audio_level
                prepared[profile] = out, out.serialize(viewer.extensions)
            out, data = prepared[profile]
            try:
                await viewer.send(out, data)
            except ConnectionError:
                continue  # that viewer is going away; the session cleans up
            except ValueError:
                self.stats.dropped += 1  # SRTP refused it (too large): this viewer misses it
                continue
            self.stats.packets_out += 1

    def _switch_to(self, packet: RtpPacket, codec: RTCRtpCodecParameters) -> _Source:
        """A new or returning publisher: continue our numbering where it stopped."""
        elapsed = max(0.0, self.clock() - self._last_sent_at) if self._last_sent_at else 0.0
        next_timestamp = self._last_timestamp + int(elapsed * codec.clockRate) + 1
        self._source = _Source(
            ssrc=packet.ssrc,
            clock_rate=codec.clockRate,
            sequence_offset=(self._last_sequence + 1 - packet.sequence_number) % SEQUENCE_SPACE,
            timestamp_offset=(next_timestamp - packet.timestamp) % TIMESTAMP_SPACE,
        )
        self.stats.source_switches += 1
        self._last_keyframe_request = float("-inf")
        self.ask_for_keyframe()
        return self._source
