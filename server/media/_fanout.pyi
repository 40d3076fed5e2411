"""The relay's per-viewer encrypt-and-send loop, in C (``_fanout.c``)."""

from typing import Any

PACKET_LIMIT: int

class Outlet:
    """One viewer's way out: a duplicate of its socket's descriptor, the address to send to,
    and its libsrtp session (``srtp_t`` as an integer), kept alive by holding ``keep``."""

    def __init__(self, fd: int, address: tuple[Any, ...], session: int, keep: object) -> None: ...
    @property
    def closed(self) -> bool: ...
    def close(self) -> None: ...

class Fanout:
    """Encrypt a clear RTP packet with ``protect`` (libsrtp's ``srtp_protect``, by address)
    for each outlet, and send it."""

    def __init__(self, protect: int, outlets: list[Outlet] | tuple[Outlet, ...]) -> None: ...
    @property
    def size(self) -> int: ...
    def send(self, data: bytes) -> int: ...
