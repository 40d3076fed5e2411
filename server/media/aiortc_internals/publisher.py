"""A publisher's ``RTCRtpReceiver``, tapped: every RTP packet goes to the relay undecoded."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCRtpReceiver
from aiortc.codecs import is_rtx
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import (
    RtpPacket,
    unwrap_rtx,
)

from server.media.aiortc_internals.compat import RECEIVER_MANGLED
from server.media.aiortc_internals.media_first import MediaFirst, Publishers

log = logging.getLogger(__name__)


PacketHandler = Callable[[RtpPacket, RTCRtpCodecParameters], Awaitable[None]]


class ForwardingFailures:
    """Packets whose forwarding raised. Each is caught, since an exception out of the tap
    would end the publisher's whole DTLS transport, and counted; only the first of each type
    is logged, with its traceback, so a fault met by every packet cannot flood the log."""

    def __init__(self) -> None:
        self.count = 0
        self._logged: set[type[Exception]] = set()

    def caught(self, error: Exception) -> None:
        self.count += 1
        if type(error) not in self._logged:
            self._logged.add(type(error))
            log.error(
                "forwarding a packet failed; the publisher stays connected, and further "
                "%s are counted (plenary_forwarding_failures_total), not logged",
                type(error).__name__,
                exc_info=error,
            )


class _KeepNothing:
    """Stands in for the receiver's jitter buffer: no frame is ever assembled or decoded."""

    def add(self, packet: RtpPacket) -> tuple[bool, None]:
        return False, None


def tap_receiver(
    receiver: RTCRtpReceiver,
    on_packet: PacketHandler,
    failures: ForwardingFailures,
    publishers: Publishers | None = None,
) -> None:
    """Hand every RTP packet the publisher sends to ``on_packet``, undecoded; what it
    raises goes to ``failures``. The publisher's next datagram is taken at once, unless
    another of ``publishers`` has one waiting (``MediaFirst``)."""
    setattr(receiver, RECEIVER_MANGLED + "jitter_buffer", _KeepNothing())
    keep_books = receiver._handle_rtp_packet
    start = receiver.receive

    async def receive(parameters: Any) -> None:
        await start(parameters)
        getattr(receiver, RECEIVER_MANGLED + "stop_decoder")()  # started by receive(); never needed

    async def handle(packet: RtpPacket, arrival_time_ms: int) -> None:
        codecs: dict[int, RTCRtpCodecParameters] = getattr(receiver, RECEIVER_MANGLED + "codecs")
        codec = codecs.get(packet.payload_type)
        if codec is not None and packet.payload:  # padding-only packets are probes: dropped
            try:
                forwardable = (
                    _unwrapped(receiver, packet, codec, codecs)
                    if is_rtx(codec)
                    else (packet, codec)
                )
                if forwardable is not None:
                    await on_packet(*forwardable)
            except Exception as error:
                failures.caught(error)
        await keep_books(packet, arrival_time_ms)
        media_first.take_next()

    media_first = MediaFirst.of(receiver.transport, failures.caught, publishers)
    receiver.receive = receive  # type: ignore[method-assign]
    receiver._handle_rtp_packet = handle  # type: ignore[method-assign]


def _unwrapped(
    receiver: RTCRtpReceiver,
    packet: RtpPacket,
    codec: RTCRtpCodecParameters,
    codecs: dict[int, RTCRtpCodecParameters],
) -> tuple[RtpPacket, RTCRtpCodecParameters] | None:
    ssrcs: dict[int, int] = getattr(receiver, RECEIVER_MANGLED + "rtx_ssrc")
    apt = codec.parameters.get("apt")
    if packet.ssrc not in ssrcs or not isinstance(apt, int) or apt not in codecs:
        return None
    if len(packet.payload) < 3:
        return None
    return unwrap_rtx(packet, payload_type=apt, ssrc=ssrcs[packet.ssrc]), codecs[apt]


async def request_keyframe(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    """Send the publisher a Picture Loss Indication for ``media_ssrc``."""
    await receiver._send_rtcp_pli(media_ssrc)


# -- viewers -----------------------------------------------------------------------------
