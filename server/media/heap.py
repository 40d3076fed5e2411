"""Keeping Python's cyclic garbage collector from stalling the media.

While the collector runs, nothing else does: no packet is forwarded. A full collection walks
every tracked object, and with 200 viewers and 1,000 Socket.IO clients that is several hundred
thousand objects and 100 ms or more. Python starts one by itself each time the old generation
has grown by a quarter, and a room's sessions or a hall's sockets connecting make it grow.

So the heap is *settled* twice a second: the objects made since the last settling are collected
(they are few, so this is quick) and what survives is frozen (``gc.freeze``), out of reach of
every later collection. A burst of work (a hall's worth of agenda pages connecting at once)
makes many objects in a second, so while someone watches the heap is also settled after every
``SETTLE_AFTER_YOUNG_COLLECTIONS`` collections of the young generations; with nobody watching,
no collection holds anything up, and a burst waits for the next tick. The collector then
only ever walks what is young, and no collection walks more than a little of it (with 200
viewers and 1,000 sockets, 20,000 to 45,000 objects: 3 to 15 ms on this project's machine).

Frozen objects are never collected, and a closed session or socket leaves cycles among them.
They are reclaimed by a full collection (unfreeze, collect everything), which is paid for only
when nobody is watching (no viewer in any room), at most once a minute while that lasts. A day
with no such moment would grow without bound, so after ``FULL_AFTER_CLOSES`` closed media
sessions a full collection is made anyway, and logged as the stall it is. While nobody watches,
the tick only freezes, and what died among the frozen waits for that minute's collection.

Every collection is timed. Those made while someone watches are media stalls: counted in
``stalls`` for ``/metrics``, and the long ones logged (once a minute at most, with a count).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from server.background import BackgroundTask

log = logging.getLogger(__name__)

SETTLE_EVERY_SECONDS = 0.5
# Python collects its middle generation once every 7,000 or so new objects that live; after
# this many such collections, while someone watches, the heap is settled without waiting for
# the second to pass. Ten is Python's own pace for looking at its old generation. Each settling
# walks what is in flight at that moment, so under a flood of events (votes) settling more often
# costs more: at 4, 5,000 votes a second spent 8% of the server's time settling
# (bench.questions), and the longest collection in bench.stalls was 7 ms instead of 13.
SETTLE_AFTER_YOUNG_COLLECTIONS = 10
FULL_WHEN_IDLE_EVERY_SECONDS = 60.0  # with nobody watching, at most this often
FULL_AFTER_CLOSES = 2000  # media sessions closed since the last full collection: collect anyway
LONG_STALL_SECONDS = 0.02  # a collection this long while someone watches is logged
LOG_EVERY_SECONDS = 60.0
# Upper bounds of the stall histogram, in seconds, as /metrics shows it.
STALL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)


@dataclass
class Stalls:
    """The collections made while someone was watching: how many, how long, the longest."""

    buckets: list[int] = field(default_factory=lambda: [0] * len(STALL_BUCKETS))
    count: int = 0
    total_seconds: float = 0.0
    longest_seconds: float = 0.0

    def add(self, seconds: float) -> None:
        self.count += 1
        self.total_seconds += seconds
        self.longest_seconds = max(self.longest_seconds, seconds)
        for index, bound in enumerate(STALL_BUCKETS):
            if seconds <= bound:
                self.buckets[index] += 1


class HeapKeeper:
    """The app's collector policy. ``start()`` on the event loop, ``close()`` at the end; the
    relay says when viewers come and go (``viewers_changed``) and when sessions close."""

    def __init__(
        self,
        settle_every: float = SETTLE_EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settle_every = settle_every
        self.clock = clock
        self.viewers = 0  # viewer sessions open in every room, as the relay last said
        self.closed_since_full = 0
        self.settlings = 0
        self.full_collections = 0
        self.stalls = Stalls()
        self._frozen_since_full = False
        self._last_full = clock()
        self._collecting_since = 0.0
        self._young_since_settle = 0
        self._settle_queued = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._long_unlogged = 0
        self._last_logged = float("-inf")
        self._ticker = BackgroundTask("heap keeper", self._tick_forever)

    def start(self) -> None:
        """Settle at once, before anyone connects: what start-up made (every module, the
        config, the agenda) is then frozen before the first viewer can be held up by it."""
        self._loop = asyncio.get_running_loop()
        self.settle()
        gc.callbacks.append(self._observe)
        self._ticker.start()

    async def close(self) -> None:
        await self._ticker.stop()
        if self._observe in gc.callbacks:
            gc.callbacks.remove(self._observe)
        self._loop = None
        gc.unfreeze()

    def viewers_changed(self, viewers: int) -> None:
        """The relay's count of viewer sessions, in every room, is now ``viewers``."""
        self.viewers = viewers

    def closed(self) -> None:
        """A media session closed: what it leaves among the frozen is reclaimed later."""
        self.closed_since_full += 1

    def tick(self) -> None:
        """Every ``settle_every``: a full collection if nobody watches (or one is overdue), else the
        young objects settled."""
        now = self.clock()
        idle_and_due = (
            self.viewers == 0
            and self._frozen_since_full
            and now - self._last_full >= FULL_WHEN_IDLE_EVERY_SECONDS
        )
        if idle_and_due:
            self.collect_in_full()
        elif self.closed_since_full >= FULL_AFTER_CLOSES:
            log.warning(
                "%d media sessions closed with no moment when nobody watched: collecting in "
                "full now, which holds up media (see plenary_media_stall_seconds)",
                self.closed_since_full,
            )
            self.collect_in_full()
        else:
            self.settle(collect=self.viewers > 0)

    def settle(self, collect: bool = True) -> None:
        """Collect the objects made since the last settling, then freeze what survived.

        Without ``collect`` they are frozen as they are, cycles that died among them
        included, to be reclaimed by the next full collection: with nobody watching, that is
        at most a minute away, and collecting in the middle of a flood of events walks
        everything in flight (bench.questions: 6% of the server's time under 5,000 votes a
        second, twice a second at 30 ms)."""
        self._settle_queued = False
        self._young_since_settle = 0
        if collect:
            gc.collect()
        gc.freeze()
        self.settlings += 1
        self._frozen_since_full = True

    def collect_in_full(self) -> None:
        """Unfreeze and collect everything, frozen cycles of closed sessions included."""
        began = time.perf_counter()
        gc.unfreeze()
        found = gc.collect()
        gc.freeze()  # what survived is alive and old: out of reach again
        self.full_collections += 1
        self.closed_since_full = 0
        self._frozen_since_full = False
        self._last_full = self.clock()
        log.debug(
            "full collection: %d unreachable, %.0f ms", found, (time.perf_counter() - began) * 1e3
        )

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settle_every)
            self.tick()

    def _observe(self, phase: str, info: dict[str, int]) -> None:
        """Called by the collector before and after each collection: times it, and after a
        burst of young collections while someone watches, has the heap settled as soon as the
        loop is free."""
        if phase == "start":
            self._collecting_since = time.perf_counter()
            return
        took = time.perf_counter() - self._collecting_since
        if info.get("generation") == 1 and self.viewers:
            self._young_since_settle += 1
            if self._young_since_settle >= SETTLE_AFTER_YOUNG_COLLECTIONS:
                self._queue_settle()
        self._timed(took, info)

    def _queue_settle(self) -> None:
        loop = self._loop
        if self._settle_queued or loop is None or loop.is_closed():
            return
        self._settle_queued = True
        # Any thread may allocate (aiosqlite's does), so any thread may get here.
        loop.call_soon_threadsafe(self.settle)

    def _timed(self, took: float, info: dict[str, int]) -> None:
        """A collection made while someone watches is a media stall."""
        if self.viewers == 0:
            return  # nobody is watching: nothing stood still
        self.stalls.add(took)
        if took > LONG_STALL_SECONDS:
            self._long_unlogged += 1
            now = self.clock()
            if now - self._last_logged >= LOG_EVERY_SECONDS:
                log.warning(
                    "the garbage collector held up media for %.0f ms (generation %d; "
                    "%d such stalls since the last warning)",
                    took * 1e3,
                    info.get("generation", -1),
                    self._long_unlogged,
                )
                self._long_unlogged = 0
                self._last_logged = now
