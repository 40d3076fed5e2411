"""The relay's reach into aiortc: present in this aiortc, and loud when an upgrade moves it."""

from __future__ import annotations

import pytest
from aiortc import RTCRtpReceiver, RTCRtpSender
from pylibsrtp import Policy, Session
from pylibsrtp._binding import ffi

from server.media.aiortc_hooks import (
    SRTP_BUFFER_BYTES,
    SRTP_PACKET_LIMIT,
    AiortcChanged,
    check_compatible,
    srtp_protector,
)


def test_this_aiortc_has_everything_the_relay_touches() -> None:
    check_compatible()


@pytest.mark.parametrize(
    ("cls", "name"),
    [
        (RTCRtpReceiver, "_handle_rtp_packet"),
        (RTCRtpReceiver, "_send_rtcp_pli"),
        (RTCRtpSender, "_run_rtp"),
        (RTCRtpSender, "_retransmit"),
        (RTCRtpReceiver, "_RTCRtpReceiver__stop_decoder"),
    ],
)
def test_a_renamed_internal_is_named_in_the_failure(
    monkeypatch: pytest.MonkeyPatch, cls: type, name: str
) -> None:
    monkeypatch.delattr(cls, name)
    with pytest.raises(AiortcChanged, match=name.rsplit("__", 1)[-1]):
        check_compatible()


def _session(key: bytes, direction: int, buffer: int = 0) -> Session:
    session = Session(Policy(key=key, ssrc_type=direction, srtp_profile=PROFILE))
    if buffer:  # as allow_large_packets leaves it
        session._cdata = ffi.new("char[]", buffer)
        session._buffer = ffi.buffer(session._cdata)
    return session


PROFILE = Policy.SRTP_PROFILE_AEAD_AES_128_GCM


def test_the_fast_protector_encrypts_exactly_as_pylibsrtp() -> None:
    key = bytes(range(28))
    theirs = _session(key, Policy.SSRC_ANY_OUTBOUND)
    encrypt = srtp_protector(_session(key, Policy.SSRC_ANY_OUTBOUND, SRTP_BUFFER_BYTES))
    receiver = _session(key, Policy.SSRC_ANY_INBOUND, SRTP_BUFFER_BYTES)
    for sequence, size in ((1, 20), (2, 1200), (3, SRTP_PACKET_LIMIT - 1), (4, 1356)):
        header = bytes([0x80, 96]) + sequence.to_bytes(2, "big") + bytes(4) + b"\x00\x00\x00\x07"
        packet = header + bytes([sequence]) * (size - len(header))
        encrypted = encrypt(packet)
        assert encrypted != packet
        if size <= 1356:  # what pylibsrtp's own 1500-byte buffer takes
            assert encrypted == theirs.protect(packet)
        assert receiver.unprotect(encrypted) == packet


def test_the_fast_protector_wants_the_enlarged_buffer() -> None:
    with pytest.raises(ValueError, match="enlarged"):
        srtp_protector(_session(bytes(28), Policy.SSRC_ANY_OUTBOUND))
