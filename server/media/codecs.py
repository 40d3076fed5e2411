"""The codecs the relay forwards: Opus, VP8 and H.264 (with RTX for retransmission).

Publishers and viewers negotiate from the same list, so whatever a publisher sends, a viewer
has agreed to receive it under some payload type of its own.
"""

from __future__ import annotations

from aiortc import RTCRtpSender, RTCRtpTransceiver
from aiortc.rtcrtpparameters import RTCRtpCodecCapability

FORWARDED = ("audio/opus", "video/vp8", "video/h264", "video/rtx")


def relay_codecs(kind: str) -> list[RTCRtpCodecCapability]:
    capabilities = RTCRtpSender.getCapabilities(kind)
    return [codec for codec in capabilities.codecs if codec.mimeType.lower() in FORWARDED]


def prefer_relay_codecs(transceiver: RTCRtpTransceiver) -> None:
    transceiver.setCodecPreferences(relay_codecs(transceiver.kind))
