"""Finding where a keyframe starts in VP8 and H.264 RTP payloads."""

from __future__ import annotations

import pytest

from server.media.keyframes import starts_keyframe

VP8_KEYFRAME = bytes([0x10, 0x50, 0x01])  # S=1 PID=0; the payload header's P bit is 0
VP8_DELTA = bytes([0x10, 0x51, 0x01])  # P bit 1
VP8_LATER_PACKET = bytes([0x00, 0x50, 0x01])  # S=0: not the start of the frame
# X=1 with a 15-bit picture ID (I and M bits), then the keyframe's payload header.
VP8_KEYFRAME_EXTENDED = bytes([0x90, 0x80, 0x81, 0x23, 0x50, 0x01])


@pytest.mark.parametrize(
    ("mime", "payload", "expected"),
    [
        ("video/VP8", VP8_KEYFRAME, True),
        ("video/vp8", VP8_KEYFRAME_EXTENDED, True),
        ("video/vp8", VP8_DELTA, False),
        ("video/vp8", VP8_LATER_PACKET, False),
        ("video/vp8", b"", False),
        ("video/vp8", bytes([0x90]), False),  # cut off inside the descriptor
        ("video/H264", bytes([0x65, 0x88]), True),  # an IDR slice
        ("video/h264", bytes([0x67, 0x42]), True),  # a sequence parameter set
        ("video/h264", bytes([0x61, 0x9A]), False),  # a non-IDR slice
        ("video/h264", bytes([0x18, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xCE]), True),
        ("video/h264", bytes([0x18, 0x00, 0x02, 0x06, 0x05, 0x00, 0x02, 0x65, 0x88]), True),
        ("video/h264", bytes([0x18, 0x00, 0x02, 0x06, 0x05, 0x00, 0x02, 0x61, 0x88]), False),
        ("video/h264", bytes([0x18, 0x00, 0x00, 0x65]), False),  # a zero-length unit
        ("video/h264", bytes([0x18, 0xFF, 0xFF, 0x61]), False),  # a size past the end
        ("video/h264", bytes([0x7C, 0x85, 0x88]), True),  # FU-A: the start of an IDR
        ("video/h264", bytes([0x7C, 0x05, 0x88]), False),  # FU-A: the middle of one
        ("video/h264", bytes([0x7C]), False),
        ("video/h264", b"", False),
        ("audio/opus", VP8_KEYFRAME, False),
    ],
)
def test_keyframe_starts(mime: str, payload: bytes, expected: bool) -> None:
    assert starts_keyframe(mime, payload) is expected
