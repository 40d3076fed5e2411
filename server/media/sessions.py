"""One WHIP or WHEP session: a peer connection, who opened it, and how it ends.

Every session ends exactly once, through ``close``: when its owner deletes it, when its peer
connection fails or never connects, when its room ends, when its token lapses, and at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from aiortc import RTCPeerConnection

from server.media.aiortc_internals.viewer_sender import PassthroughSender
from server.media.stage import View

log = logging.getLogger(__name__)


class Direction(StrEnum):
    PUBLISH = "publish"  # WHIP
    WATCH = "watch"  # WHEP


class SessionState(StrEnum):
    CONNECTING = "connecting"  # its offer taken, ICE and DTLS not yet up
    CONNECTED = "connected"


@dataclass(frozen=True)
class Owner:
    sub: str
    name: str
    role: str
    jti: str
    expires_at: datetime


@dataclass(eq=False)
class MediaSession:
    room: str
    direction: Direction
    owner: Owner
    pc: RTCPeerConnection
    id: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    etag: str = field(default_factory=lambda: '"' + secrets.token_hex(8) + '"')
    # A publisher's id as a source on the stage: public, unlike ``id``, which is its secret.
    source_id: str = field(default_factory=lambda: secrets.token_urlsafe(8))
    view: View = View.STAGE  # what a viewer asked to see
    answer: str = ""  # set once answered; until then it may not be replaced
    outputs: list[PassthroughSender] = field(default_factory=list)
    # A publisher's latest round trip in milliseconds, when measured (``ConsentRoundTrip``).
    round_trip: Callable[[], float | None] = lambda: None
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False
    close_reason: str = ""
    _on_close: list[Callable[[MediaSession], Awaitable[None]]] = field(default_factory=list)
    _timeout: asyncio.Task[None] | None = None

    @property
    def answered(self) -> bool:
        return bool(self.answer)

    @property
    def state(self) -> SessionState:
        return SessionState.CONNECTED if self.connected.is_set() else SessionState.CONNECTING

    @property
    def path(self) -> str:
        endpoint = "whip" if self.direction is Direction.PUBLISH else "whep"
        return f"/{endpoint}/{self.room}/{self.id}"

    def on_close(self, callback: Callable[[MediaSession], Awaitable[None]]) -> None:
        self._on_close.append(callback)

    def watch_connection(self, connect_within: float) -> None:
        """Close when the connection fails, or when ICE never completes in time."""

        @self.pc.on("connectionstatechange")
        async def changed() -> None:
            state = self.pc.connectionState
            if state == "connected":
                self.connected.set()
            elif state in ("failed", "closed"):
                await self.close(f"connection {state}")

        self._timeout = asyncio.ensure_future(self._expire_unless_connected(connect_within))

    async def close(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.close_reason = reason
        log.info("%s session %s in %s closed: %s", self.direction, self.id[:6], self.room, reason)
        if self._timeout is not None and self._timeout is not asyncio.current_task():
            self._timeout.cancel()
        for callback in self._on_close:
            try:
                await callback(self)
            except Exception:
                log.exception("closing session %s", self.id[:6])
        await self.pc.close()

    async def _expire_unless_connected(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.connected.wait(), seconds)
        except TimeoutError:
            await self.close(f"not connected within {seconds:g} s")
