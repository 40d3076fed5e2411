"""How one packet reaches a plan's viewers: the C loop (``_fanout.c``) for each viewer with an
outlet, its Python twin for the rest, and for everyone when the C loop was not built. A viewer
stays with one or the other, so its packets are numbered and encrypted in one place. Each
viewer's way out (``route()``, ``outlet()``) comes from its ``PassthroughSender``
(``aiortc_internals/viewer_sender.py``), or a test's stand-in (``Outbound``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from server.media.aiortc_internals.viewer_sender import Route

try:
    from server.media import _fanout
except ImportError:  # installed without a C compiler: the same loop runs in Python
    _fanout = None  # type: ignore[assignment]

# Whether the C loop (server/media/_fanout.c) was built at install; the relay's settings say
# whether to use it (``RelaySettings.c_loop``).
C_LOOP_BUILT = _fanout is not None


class Outbound(Protocol):
    """A viewer's way out, as ``PassthroughSender`` gives it: ``route()`` for the Python loop,
    ``outlet()`` (a ``_fanout.Outlet``) for the C loop; None while there is none."""

    def route(self) -> Route | None: ...

    def outlet(self) -> Any: ...


class Fanout(Protocol):
    """One packet to a fixed set of viewers: ``send(data)`` encrypts the clear RTP packet
    ``data`` (at most ``SRTP_PACKET_LIMIT`` bytes) for each and sends it, and returns how many
    it reached; the others miss it. ``size``: how many viewers."""

    @property
    def size(self) -> int: ...

    def send(self, data: bytes) -> int: ...


class PythonFanout:
    """The C loop's twin, for an install without it: the same sends, from Python."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = tuple(routes)
        self.size = len(self.routes)

    def send(self, data: bytes) -> int:
        sent = 0
        for encrypt, send, address in self.routes:
            try:
                send(encrypt(data), address)
            except OSError:
                continue  # socket full or gone, or SRTP refused: this viewer misses it
            sent += 1
        return sent


class SplitFanout:
    """A plan's viewers split between the C loop and the Python one: those whose ICE pair is
    not a plain socket (a TURN relay) have no outlet."""

    def __init__(self, parts: Sequence[Fanout]) -> None:
        self.parts = tuple(parts)
        self.size = sum(part.size for part in self.parts)

    def send(self, data: bytes) -> int:
        return sum(part.send(data) for part in self.parts)


def fanout_to(viewers: Sequence[Outbound], c_loop: bool) -> Fanout:
    """How a packet reaches ``viewers``, whose ``route()`` is ready: with ``c_loop``, the C
    loop for each viewer with an outlet, else the Python one. A viewer stays with one or
    the other, so its packets are numbered and encrypted in one place."""
    if c_loop and _fanout is not None:
        outlets, routes = [], []
        for viewer in viewers:
            outlet = viewer.outlet()
            if outlet is not None:
                outlets.append(outlet)
            elif (route := viewer.route()) is not None:
                routes.append(route)
        native: Fanout = _fanout.Fanout(outlets)
        return SplitFanout([native, PythonFanout(routes)]) if routes else native
    routes = [route for viewer in viewers if (route := viewer.route()) is not None]
    return PythonFanout(routes)
