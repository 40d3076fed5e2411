"""Whether the store works: what failed, and since when, for the health check and the log.

Reading can go on while writing cannot (a full disk), so the check is the smallest real write,
committed. While the store works it is tried at most once a second, however often the health
check is called; while it fails, at every check, so that its recovery shows at once. A failure
of any statement in between counts at once. The log says when the store starts failing and
when it works again, once each, not at every failed request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from scheduler.clock import wall_now
from server.errors import StoreUnavailable

log = logging.getLogger(__name__)

CHECK_EVERY_SECONDS = 1.0
CHECK_WITHIN_SECONDS = 5.0


@dataclass(frozen=True)
class StoreFailure:
    reason: str
    since: datetime


class StoreHealth:
    def __init__(
        self,
        write_probe: Callable[[], Awaitable[None]],
        wall: Callable[[], datetime] = wall_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write_probe = write_probe
        self._wall = wall
        self._monotonic = monotonic
        self._failure: StoreFailure | None = None
        self._checked_at: float | None = None
        self._checking = asyncio.Lock()

    @property
    def failure(self) -> StoreFailure | None:
        return self._failure

    def failed(self, reason: str) -> None:
        if self._failure is None:
            log.warning("the store is failing: %s", reason)
            self._failure = StoreFailure(reason, self._wall())

    def works(self) -> None:
        if self._failure is not None:
            log.warning("the store works again (it had failed since %s)", self._failure.since)
            self._failure = None

    async def check(self) -> StoreFailure | None:
        """Try a write, unless the store works and one was tried in the last second; what is
        failing, if anything."""
        async with self._checking:  # callers at the same moment share one write
            if self._failure is not None or self._due():
                await self._try_write()
                self._checked_at = self._monotonic()
        return self._failure

    def _due(self) -> bool:
        checked_at = self._checked_at
        return checked_at is None or self._monotonic() - checked_at >= CHECK_EVERY_SECONDS

    async def _try_write(self) -> None:
        try:
            async with asyncio.timeout(CHECK_WITHIN_SECONDS):
                await self._write_probe()
        except StoreUnavailable:
            return  # the engine's hook has called ``failed`` already
        except TimeoutError:
            self.failed(f"no answer within {CHECK_WITHIN_SECONDS:g} s")
            return
        self.works()
