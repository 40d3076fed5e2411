"""pylibsrtp's session, reached into: a larger buffer, and ``srtp_protect`` called directly."""

from __future__ import annotations

import functools
from collections.abc import Callable

from pylibsrtp import SRTP_MAX_TRAILER_LEN, Session
from pylibsrtp._binding import ffi, lib

from server.media.aiortc_internals.compat import check_libsrtp

# Room for a publisher's largest packet, our header extensions and SRTP's trailer.
SRTP_BUFFER_BYTES = 2048
SRTP_PACKET_LIMIT = SRTP_BUFFER_BYTES - SRTP_MAX_TRAILER_LEN


def srtp_protector(session: Session) -> Callable[[bytes], bytes]:
    """``session.protect`` without pylibsrtp's per-call allocation and checks: the same
    libsrtp call on the session's own buffer, which ``allow_large_packets`` has made
    ``SRTP_BUFFER_BYTES`` long. The caller keeps packets within ``SRTP_PACKET_LIMIT``."""
    if len(session._cdata) < SRTP_BUFFER_BYTES:
        raise ValueError("the SRTP session's buffer was not enlarged")
    cdata, buffer, srtp = session._cdata, session._buffer, session._srtp[0]
    length = ffi.new("int *")
    protect = lib.srtp_protect

    def encrypt(data: bytes, _session: Session = session) -> bytes:  # keeps it alive
        size = length[0] = len(data)
        buffer[0:size] = data
        if protect(srtp, cdata, length):
            raise OSError("SRTP refused the packet")
        encrypted: bytes = buffer[0 : length[0]]
        return encrypted

    return encrypt


@functools.cache
def protect_address() -> int:
    """Where libsrtp's ``srtp_protect`` is, for the C loop to call it directly: given only
    for the libsrtp, and the signature, that the C loop was written against."""
    check_libsrtp()
    return int(ffi.cast("uintptr_t", ffi.addressof(lib, "srtp_protect")))
