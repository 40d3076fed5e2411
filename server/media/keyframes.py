"""Where a keyframe starts, in the RTP payloads of the video codecs the relay forwards.

A viewer's decoder can only begin at a keyframe: everything before it decodes into garbage or
not at all. So the relay starts each new viewer's video (and every viewer's, when the
publisher changes) at the first packet of a keyframe.
"""

from __future__ import annotations

from aiortc.codecs.vpx import VpxPayloadDescriptor

H264_IDR = 5
H264_SPS = 7
H264_STAP_A = 24
H264_FU_A = 28


def starts_keyframe(mime_type: str, payload: bytes) -> bool:
    """Whether ``payload`` (of a ``video/vp8`` or ``video/h264`` RTP packet) is the first
    packet of a keyframe. False for anything else, including payloads too short to tell."""
    mime = mime_type.lower()
    if mime == "video/vp8":
        return _vp8_starts_keyframe(payload)
    if mime == "video/h264":
        return _h264_starts_keyframe(payload)
    return False


def _vp8_starts_keyframe(payload: bytes) -> bool:
    try:
        descriptor, rest = VpxPayloadDescriptor.parse(payload)
    except ValueError:
        return False
    starts_frame = descriptor.partition_start and descriptor.partition_id == 0
    return bool(starts_frame and rest and rest[0] & 0x01 == 0)  # the P bit: 0 on keyframes


def _h264_starts_keyframe(payload: bytes) -> bool:
    """An IDR slice or a sequence parameter set (which encoders send just before the IDR),
    on its own, first in an aggregation packet (STAP-A), or at the start of a fragment (FU-A)."""
    if not payload:
        return False
    nal_type = payload[0] & 0x1F
    if nal_type in (H264_IDR, H264_SPS):
        return True
    if nal_type == H264_STAP_A:
        offset = 1
        while offset + 2 < len(payload):
            size = payload[offset] << 8 | payload[offset + 1]
            if size == 0:
                return False
            if payload[offset + 2] & 0x1F in (H264_IDR, H264_SPS):
                return True
            offset += 2 + size
        return False
    if nal_type == H264_FU_A and len(payload) > 1:
        fu_header = payload[1]
        return bool(fu_header & 0x80) and fu_header & 0x1F in (H264_IDR, H264_SPS)
    return False
