"""The listening socket: aiohttp's own protocol for each connection, behind a guard.

aiohttp waits for a request's headers for as long as the client takes, so a client that sends
them a byte at a time (slowloris) holds a connection, and a file descriptor, for ever; a few
thousand such connections and nobody else gets in. So each connection must finish its first
request's headers within ``header_timeout`` seconds, or it is closed; and past
``max_connections`` open at once, a new connection is closed as soon as it is accepted. Once a
connection has sent its first headers it is aiohttp's (keep-alive, a websocket, a long body).

First headers larger than ``HEADER_BYTES`` are answered here, with the contract's JSON error
(431), before aiohttp reads them: aiohttp's own refusal is plain text that quotes what was
sent, a token perhaps. aiohttp is given the same limit per line (``handler_args``), so a long
token that fits reaches plenary and is refused as a token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass

from aiohttp import web

log = logging.getLogger(__name__)

END_OF_HEADERS = b"\r\n\r\n"
HEADER_BYTES = 32 * 1024
# After the 431, what the client still sends is read and dropped this long, so that closing
# with it unread (a reset) does not destroy the answer on its way.
LINGER_SECONDS = 2.0
LOG_EVERY_SECONDS = 60.0
TOO_LARGE = json.dumps(
    {"error": "headers_too_large", "message": f"the headers are larger than {HEADER_BYTES} bytes"}
).encode()
TOO_LARGE_RESPONSE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"Content-Type: application/json; charset=utf-8\r\n"
    + f"Content-Length: {len(TOO_LARGE)}\r\n".encode()
    + b"Connection: close\r\n\r\n"
    + TOO_LARGE
)


@dataclass
class Guard:
    """The limits, and what they have turned away, shared by every connection of a site."""

    header_timeout: float
    max_connections: int
    open: int = 0
    too_slow: int = 0
    too_large: int = 0
    turned_away: int = 0
    _last_logged: float = float("-inf")

    def note(self, what: str) -> None:
        """Log what was turned away, once a minute at most: a flood must not flood the log."""
        now = time.monotonic()
        if now - self._last_logged >= LOG_EVERY_SECONDS:
            self._last_logged = now
            log.warning(
                "%s; so far %d connections too slow to send their headers, %d with headers"
                " too large, %d over the cap of %d",
                what,
                self.too_slow,
                self.too_large,
                self.turned_away,
                self.max_connections,
            )


def parser_limits() -> dict[str, int]:
    """For ``web.Application(handler_args=...)``: aiohttp's own limits on a request line and
    a header, the guard's limit on a request's headers in all."""
    return {"max_line_size": HEADER_BYTES, "max_field_size": HEADER_BYTES}


class GuardedConnection(asyncio.Protocol):
    """aiohttp's protocol for one connection, behind the site's ``Guard``."""

    def __init__(self, inner: asyncio.Protocol, guard: Guard) -> None:
        self.inner = inner
        self.guard = guard
        self.transport: asyncio.Transport | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._tail = b""  # the last bytes seen, for an end of headers split between reads
        self._header_bytes = 0
        self._admitted = False
        self._refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.guard.open >= self.guard.max_connections:
            self.guard.turned_away += 1
            self.guard.note("a connection was turned away: too many are open")
            transport.abort()
            return
        self._admitted = True
        self.guard.open += 1
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self.guard.header_timeout, self._too_slow)
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # the rest of headers too large: dropped until the client stops
        if self._deadline is not None:
            seen = self._tail + data
            end = seen.find(END_OF_HEADERS)
            self._header_bytes += len(data) if end < 0 else end - len(self._tail)
            if self._header_bytes > HEADER_BYTES:
                self._refuse_as_too_large()
                return
            if end < 0:
                self._tail = seen[-3:]
            else:
                self._deadline.cancel()
                self._deadline = None
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        if self._refused:
            return False  # the client has finished sending: close
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._admitted:
            return
        self.guard.open -= 1
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self.inner.connection_lost(exc)

    def _refuse_as_too_large(self) -> None:
        assert self._deadline is not None and self.transport is not None
        self._deadline.cancel()
        self._deadline = None
        self.guard.too_large += 1
        self.guard.note("a connection's headers were too large")
        self._refused = True
        self.transport.write(TOO_LARGE_RESPONSE)
        self.transport.write_eof()
        asyncio.get_running_loop().call_later(LINGER_SECONDS, self.transport.abort)

    def _too_slow(self) -> None:
        self._deadline = None
        self.guard.too_slow += 1
        self.guard.note("a connection did not finish its headers in time")
        if self.transport is not None:
            self.transport.abort()


class GuardedSite(web.BaseSite):
    """A TCP site whose connections are guarded (``Guard``)."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        guard: Guard,
        backlog: int = 128,
    ) -> None:
        super().__init__(runner, backlog=backlog)
        self._host = host
        self._port = port
        self.guard = guard

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._connection, self._host, self._port, backlog=self._backlog, reuse_address=True
        )

    def _connection(self) -> asyncio.Protocol:
        server = self._runner.server
        assert server is not None  # BaseSite refuses a runner that was not set up
        return GuardedConnection(server(), self.guard)
