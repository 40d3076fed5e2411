"""RTP packets, libsrtp sessions and loopback UDP sockets for the tests of the relay's C loop."""

from __future__ import annotations

import socket

from pylibsrtp import Policy, Session
from pylibsrtp._binding import ffi

from server.media.aiortc_internals.srtp import SRTP_BUFFER_BYTES


def udp(sockets: list[socket.socket], family: int = socket.AF_INET) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
    sock.settimeout(2)
    sockets.append(sock)
    return sock


def session(key: bytes, profile: int, direction: int = Policy.SSRC_ANY_OUTBOUND) -> Session:
    """libsrtp with its own defaults, which refuse to encrypt an index twice: not as aiortc
    sets it up (``like_aiortc``)."""
    made = Session(Policy(key=key, ssrc_type=direction, srtp_profile=profile))
    if direction == Policy.SSRC_ANY_INBOUND:  # room for the largest packet the relay sends
        made._cdata = ffi.new("char[]", SRTP_BUFFER_BYTES)
        made._buffer = ffi.buffer(made._cdata)
    return made


def like_aiortc(master: bytes, profile: int, direction: int = Policy.SSRC_ANY_OUTBOUND) -> Session:
    """libsrtp exactly as aiortc sets it up (``RTCDtlsTransport._setup_srtp``), for either
    direction: a 1024-packet window, and an index encrypted again when asked to (repeats
    allowed): the relay's libsrtp paths must themselves never ask for one with other content."""
    policy = Policy(key=master, ssrc_type=direction, srtp_profile=profile)
    policy.allow_repeat_tx = True
    policy.window_size = 1024
    return Session(policy)


def srtp_address(session: Session) -> int:
    return int(ffi.cast("uintptr_t", session._srtp[0]))


def rtp(
    sequence: int,
    size: int = 1200,
    ssrc: int = 7,
    *,
    csrcs: int = 0,
    extension_words: int | None = None,
) -> bytes:
    """A clear RTP packet of ``size`` bytes: ``csrcs`` contributing sources, and a one-byte
    header extension block of ``extension_words`` 32-bit words when not None."""
    first = 0x80 | csrcs | (0x10 if extension_words is not None else 0)
    header = bytes([first, 96]) + (sequence % 65536).to_bytes(2, "big") + bytes(4)
    header += ssrc.to_bytes(4, "big") + bytes(range(1, 1 + 4 * csrcs))
    if extension_words is not None:
        header += (
            b"\xbe\xde" + extension_words.to_bytes(2, "big") + b"\x10\x2a" * 2 * extension_words
        )
    return header + bytes([sequence % 256]) * (size - len(header))
