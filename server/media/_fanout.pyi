"""The relay's per-viewer encrypt-and-send loop, in C (``_fanout.c``, ``_srtp.c``)."""

from typing import Any

PACKET_LIMIT: int

class GcmSender:
    """SRTP AEAD AES-GCM (RFC 7714) for one viewer's RTP stream: its session key (16 or 32
    bytes) and salt (12 bytes). ``protect`` raises ValueError for what it will not send."""

    def __init__(self, key: bytes, salt: bytes) -> None: ...
    @property
    def rollover(self) -> int: ...
    def protect(self, data: bytes) -> bytes: ...

class LibsrtpSender:
    """libsrtp's ``srtp_protect`` (by address) on a session (``srtp_t`` as an integer), kept
    alive by holding ``keep``."""

    def __init__(self, protect: int, session: int, keep: object) -> None: ...

class Outlet:
    """One viewer's way out: a duplicate of its socket's descriptor, the address to send to,
    and what encrypts for it."""

    def __init__(
        self, fd: int, address: tuple[Any, ...], sender: GcmSender | LibsrtpSender
    ) -> None: ...
    @property
    def closed(self) -> bool: ...
    def close(self) -> None: ...
    def send(self, data: bytes) -> bool: ...

class Fanout:
    """Encrypt a clear RTP packet for each outlet, and send it."""

    def __init__(self, outlets: list[Outlet] | tuple[Outlet, ...]) -> None: ...
    @property
    def size(self) -> int: ...
    def send(self, data: bytes) -> int: ...
