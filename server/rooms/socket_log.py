"""The logger handed to python-socketio and python-engineio, and the one plenary's own Socket.IO
adapter uses for what clients get wrong.

What those libraries report at WARNING and above is nearly always a client's doing: a packet
they cannot decode, an ack nobody asked for, a foreign origin. Logged their way, each is an
ERROR with a ten-line traceback, so any client could flood the log. Here each is one line,
with the type of the error but without the client's content, and at most one line every
``EVERY_SECONDS``; the next line says how many were left out. Their INFO and DEBUG chatter
(a line per packet) is dropped.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

EVERY_SECONDS = 10.0
MAX_MESSAGE = 120

ExcInfo = (
    bool
    | BaseException
    | tuple[type[BaseException], BaseException, TracebackType | None]
    | tuple[None, None, None]
    | None
)


class SocketLog(logging.LoggerAdapter[logging.Logger]):
    def __init__(
        self,
        name: str = "server.rooms.socket",
        clock: Callable[[], float] = time.monotonic,
        every: float = EVERY_SECONDS,
    ) -> None:
        super().__init__(logging.getLogger(name), {})
        self._clock = clock
        self._every = every
        self._next_line = -math.inf
        self._left_out = 0

    def debug(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Dropped: the libraries call this for every packet, so it does nothing at all."""

    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Dropped, as ``debug``."""

    def isEnabledFor(self, level: int) -> bool:
        return level >= logging.WARNING and self.logger.isEnabledFor(logging.WARNING)

    def log(
        self,
        level: int,
        msg: object,
        *args: object,
        exc_info: ExcInfo = None,
        stack_info: bool = False,
        stacklevel: int = 1,
        extra: Mapping[str, object] | None = None,
        **kwargs: Any,
    ) -> None:
        if not self.isEnabledFor(level):
            return
        now = self._clock()
        if now < self._next_line:
            self._left_out += 1
            return
        self._next_line = now + self._every
        left_out, self._left_out = self._left_out, 0
        since = f" ({left_out} more left out since the last line)" if left_out else ""
        self.logger.warning("Socket.IO: %s%s", _describe(msg, exc_info), since)


def _describe(msg: object, exc_info: ExcInfo) -> str:
    """The message's own words, not its arguments (those may carry what the client sent)."""
    text = str(msg).splitlines()[0] if str(msg) else "a client's input was refused"
    if len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE] + "…"
    error = sys.exc_info()[1] if exc_info is True else exc_info
    if isinstance(error, tuple):
        error = error[1]
    if isinstance(error, BaseException):
        return f"{text!r}: {type(error).__name__}"
    return repr(text)
