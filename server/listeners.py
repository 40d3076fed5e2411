"""Telling every listener of a change, each on its own: one that fails (a broken socket, say)
is logged and does not stop the others, nor the change that was being told."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

log = logging.getLogger(__name__)

Change = TypeVar("Change")


async def tell_each(
    listeners: Iterable[Callable[[Change], Awaitable[None]]], change: Change, what: str
) -> None:
    """Await each listener with ``change``; ``what`` names them in the log if one fails."""
    for listener in listeners:
        try:
            await listener(change)
        except Exception:
            log.exception("%s listener failed", what)
