"""Stand-ins for the forwarder's surroundings, for its unit tests: a viewer (what a
``PassthroughSender`` is to the forwarder), a publisher's packets, and a clock to turn by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiortc.codecs.vpx import VpxPayloadDescriptor
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpParameters,
)
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from server.media.aiortc_internals.viewer_sender import Route
from server.media.forwarder import Profile

OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111)
VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
# What the viewers agreed to: other payload types than the publisher's, as a browser may.
VIEWER_PAYLOAD_TYPES = {("audio/opus", 48000): 109, ("video/vp8", 90000): 120}
NTP_AT_NOUGHT = 3_900_000_000  # seconds since 1900 when the clock reads nought
MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"

# VP8 payloads (RFC 7741): the payload descriptor, then the frame's own header. A frame's first
# packet starts its first partition (S=1, PID=0); the frame tag's lowest bit (P) is 0 on a
# keyframe, whose header goes on with the start code and the picture's size (640x360).
FRAME_START = bytes(VpxPayloadDescriptor(partition_start=1, partition_id=0))
VP8_KEYFRAME = FRAME_START + bytes([0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0x68, 0x01])
VP8_DELTA = FRAME_START + bytes([0x11, 0x02, 0x00]) + bytes(8)
VP8_LATER = bytes(VpxPayloadDescriptor(partition_start=0, partition_id=0)) + bytes(11)


@dataclass(frozen=True)
class Report:
    """A sender report as the forwarder asked for it, and how many packets the viewer had."""

    packets: int
    octets: int
    rtp_timestamp: int
    ntp_time: int
    received: int


@dataclass
class FakeClock:
    """Monotonic seconds, and the NTP time that goes with them, moved on by the test."""

    now: float = 1024.0  # steps of 1/64 s from here are exact

    def __call__(self) -> float:
        return self.now

    def ntp(self) -> int:
        return int((NTP_AT_NOUGHT + self.now) * (1 << 32))

    def at(self, ntp_time: int) -> float:
        """The time on this clock of an NTP time it gave."""
        return ntp_time / (1 << 32) - NTP_AT_NOUGHT


def extensions() -> HeaderExtensionsMap:
    made = HeaderExtensionsMap()
    made.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=1, uri=MID),
                RTCRtpHeaderExtensionParameters(id=3, uri=ABS_SEND_TIME),
            ]
        )
    )
    return made


@dataclass(eq=False)
class FakeViewer:
    """A viewer as the forwarder sees it. Unless given another ``way_out`` (a route), what it
    is sent arrives in ``received`` in the clear. ``outlet_to`` is what ``outlet()`` gives."""

    way_out: Route | None = None
    outlet_to: Any = None
    connected: bool = True
    mid: str | None = "0"
    extensions: HeaderExtensionsMap = field(default_factory=extensions)
    received: list[bytes] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    history: dict[int, RtpPacket] | None = None
    released: int = 0

    def route(self) -> Route | None:
        if not self.connected:
            return None
        return self.way_out or (_in_the_clear, self._arrive, ("127.0.0.1", 9))

    def outlet(self) -> Any:
        return self.outlet_to if self.connected else None

    def profile(self, codec_key: tuple[str, int]) -> Profile | None:
        payload_type = VIEWER_PAYLOAD_TYPES.get(codec_key)
        return None if payload_type is None else (payload_type, self.mid, (1, 3))

    def keep_history(self, history: dict[int, RtpPacket]) -> None:
        self.history = history

    def release(self) -> None:
        self.released += 1

    def send_report(self, packets: int, octets: int, rtp_timestamp: int, ntp_time: int) -> bool:
        self.reports.append(Report(packets, octets, rtp_timestamp, ntp_time, len(self.received)))
        return True

    def packets(self) -> list[RtpPacket]:
        return [RtpPacket.parse(data, self.extensions) for data in self.received]

    def sequence_numbers(self) -> list[int]:
        return [packet.sequence_number for packet in self.packets()]

    def _arrive(self, data: bytes, address: Any) -> None:
        self.received.append(data)


def viewer_payload_type(codec: RTCRtpCodecParameters) -> int:
    return VIEWER_PAYLOAD_TYPES[(codec.mimeType.lower(), codec.clockRate)]


def _in_the_clear(data: bytes) -> bytes:
    return data


def rtp(
    sequence: int,
    timestamp: int = 0,
    *,
    ssrc: int = 1111,
    payload: bytes = b"\xfc\xff\xfe",
    payload_type: int = 111,
    marker: int = 0,
) -> RtpPacket:
    """A publisher's packet, as the forwarder is handed it."""
    return RtpPacket(
        payload_type=payload_type,
        marker=marker,
        sequence_number=sequence % (1 << 16),
        timestamp=timestamp % (1 << 32),
        ssrc=ssrc,
        payload=payload,
    )
