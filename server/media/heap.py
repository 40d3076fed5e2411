"""Keeping Python's cyclic garbage collector from stalling the media.

A full collection walks every tracked object; with a few hundred peer connections that is
hundreds of thousands of objects and 100–300 ms in which no packet is forwarded, and it comes
each time the heap has grown by a quarter (as viewers join). So shortly after a session
connects, and then once a second while a wave of them keeps connecting, what is alive is frozen
(``gc.freeze``): later collections skip it. Frozen objects
are never collected, and a closed session leaves cycles among them; so the heap is unfrozen
and collected in full when a room ends (nobody is watching it), when every session is gone,
or when enough sessions have closed since the last time.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time

log = logging.getLogger(__name__)

FREEZE_AFTER_SECONDS = 1.0  # freeze this long after a session connects, and no more often
COLLECT_AFTER_CLOSES = 200
LONG_PAUSE_SECONDS = 0.05  # a collection longer than this is logged: media stood still


class HeapKeeper:
    def __init__(self, freeze_after: float = FREEZE_AFTER_SECONDS) -> None:
        self.freeze_after = freeze_after
        self.closed_since_collect = 0
        self.freezes = 0
        self.collections = 0
        self.long_pauses = 0
        self._freeze_later: asyncio.TimerHandle | None = None
        self._collecting_since = 0.0
        self._deliberate = False
        gc.callbacks.append(self._timed)

    def connected(self) -> None:
        """A session connected: freeze what is alive shortly, and then at most once every
        ``freeze_after`` seconds while a wave of viewers keeps connecting."""
        if self._freeze_later is None:
            loop = asyncio.get_running_loop()
            self._freeze_later = loop.call_later(self.freeze_after, self._freeze)

    def closed(self, sessions_left: int) -> None:
        self.closed_since_collect += 1
        if sessions_left == 0 or self.closed_since_collect >= COLLECT_AFTER_CLOSES:
            self.collect()

    def collect(self) -> None:
        """Unfreeze and collect everything: the moment to pay for a full collection."""
        if self._freeze_later is not None:
            self._freeze_later.cancel()
            self._freeze_later = None
        began = time.perf_counter()
        gc.unfreeze()
        self._deliberate = True
        try:
            found = gc.collect()
        finally:
            self._deliberate = False
        self.collections += 1
        self.closed_since_collect = 0
        log.debug(
            "full collection: %d unreachable, %.0f ms", found, (time.perf_counter() - began) * 1e3
        )

    def _freeze(self) -> None:
        self._freeze_later = None
        gc.freeze()
        self.freezes += 1

    def close(self) -> None:
        if self._freeze_later is not None:
            self._freeze_later.cancel()
            self._freeze_later = None
        if self._timed in gc.callbacks:
            gc.callbacks.remove(self._timed)
        gc.unfreeze()

    def _timed(self, phase: str, info: dict[str, int]) -> None:
        """Times the collector's own collections, and logs those long enough to be heard."""
        if phase == "start":
            self._collecting_since = time.perf_counter()
            return
        took = time.perf_counter() - self._collecting_since
        if took > LONG_PAUSE_SECONDS and not self._deliberate:
            self.long_pauses += 1
            log.warning(
                "the garbage collector held up media for %.0f ms (generation %d, %d frozen)",
                took * 1e3,
                info.get("generation", -1),
                gc.get_freeze_count(),
            )
