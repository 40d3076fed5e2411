"""Ends live connections whose access has ended: a revoked or expired token is cut off
within about a second (the contract allows five)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from server.auth.revocation import RevocationList
from server.background import BackgroundTask
from server.errors import StoreUnavailable

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 1.0

# Ends whatever of its own (connections, media sessions) belongs to lapsed tokens; says how many.
Enforcer = Callable[[datetime, Callable[[str], bool]], Awaitable[int]]


class AccessWatch:
    def __init__(
        self,
        revocations: RevocationList,
        enforcers: Sequence[Enforcer],
        wall: Callable[[], datetime],
        interval: float = INTERVAL_SECONDS,
    ) -> None:
        self._revocations = revocations
        self._enforcers = enforcers
        self._wall = wall
        self._interval = interval
        self._task = BackgroundTask("access-watch", self._run)

    def start(self) -> None:
        self._task.start()

    async def stop(self) -> None:
        await self._task.stop()

    async def check(self) -> int:
        await self._revocations.refresh()
        now, ended = self._wall(), 0
        for enforce in self._enforcers:
            ended += await enforce(now, self._revocations.is_revoked)
        return ended

    async def _run(self) -> None:
        while True:
            try:
                ended = await self.check()
                if ended:
                    log.info("ended %d connection(s) whose access was revoked or expired", ended)
            except StoreUnavailable:
                pass  # the store's health has logged that, once; the next turn tries again
            except Exception:
                log.exception("checking access failed; trying again in a moment")
            await asyncio.sleep(self._interval)
