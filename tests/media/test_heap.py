"""The collector policy (server/media/heap.py), on the real collector and an injected clock:
settle the young every tick, pay for a full collection only when nobody watches."""

from __future__ import annotations

import asyncio
import gc
import logging
import weakref
from collections.abc import AsyncIterator

import pytest

from server.media import heap
from server.media.heap import (
    FULL_AFTER_CLOSES,
    FULL_WHEN_IDLE_EVERY_SECONDS,
    SETTLE_AFTER_YOUNG_COLLECTIONS,
    HeapKeeper,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Cycle:
    """What a closed session leaves behind: objects that only refer to each other."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def keeper(clock: Clock) -> AsyncIterator[HeapKeeper]:
    keeper = HeapKeeper(settle_every=3600, clock=clock)  # ticked by the tests, not by time
    try:
        yield keeper
    finally:
        await keeper.close()
        assert gc.get_freeze_count() == 0
        assert keeper._observe not in gc.callbacks


def frozen(thing: object) -> bool:
    """Out of the collector's reach: in no generation it walks."""
    return not any(alive is thing for alive in gc.get_objects())


def test_settling_collects_the_young_and_freezes_what_survives(keeper: HeapKeeper) -> None:
    keeper.viewers_changed(3)
    survivor = Cycle()
    garbage = weakref.ref(Cycle())  # unreachable at once: a young cycle
    assert garbage() is not None
    keeper.tick()
    assert garbage() is None
    assert frozen(survivor)
    assert keeper.settlings == 1
    assert keeper.full_collections == 0


def test_a_cycle_that_dies_frozen_waits_until_nobody_watches(
    keeper: HeapKeeper, clock: Clock
) -> None:
    keeper.viewers_changed(3)
    session = Cycle()
    keeper.tick()
    assert frozen(session)
    left = weakref.ref(session)
    del session  # the session closes; its cycle is frozen, so no collection frees it
    keeper.closed()
    clock.now += 10 * FULL_WHEN_IDLE_EVERY_SECONDS
    keeper.tick()
    assert left() is not None  # viewers are watching: no full collection
    assert keeper.full_collections == 0
    keeper.viewers_changed(0)
    keeper.tick()
    assert left() is None
    assert keeper.full_collections == 1
    assert keeper.closed_since_full == 0


def test_with_nobody_watching_the_tick_freezes_without_collecting(keeper: HeapKeeper) -> None:
    """Nothing to hold up, and a collection in the middle of a flood of events walks all that
    is in flight: a cycle that died waits for the next full collection."""
    survivor = Cycle()
    garbage = weakref.ref(Cycle())
    gc.disable()  # no collection of Python's own in between: any would be the keeper's
    try:
        collections = [generation["collections"] for generation in gc.get_stats()]
        keeper.tick()
        assert [generation["collections"] for generation in gc.get_stats()] == collections
    finally:
        gc.enable()
    assert frozen(survivor)
    assert garbage() is not None
    keeper.collect_in_full()
    assert garbage() is None


def test_with_nobody_watching_a_full_collection_comes_at_most_once_a_minute(
    keeper: HeapKeeper, clock: Clock
) -> None:
    keeper.tick()  # settles: the keeper was made just now
    assert (keeper.settlings, keeper.full_collections) == (1, 0)
    clock.now += FULL_WHEN_IDLE_EVERY_SECONDS
    keeper.tick()
    assert keeper.full_collections == 1
    clock.now += 1
    keeper.tick()
    clock.now += FULL_WHEN_IDLE_EVERY_SECONDS - 2
    keeper.tick()
    assert (keeper.settlings, keeper.full_collections) == (3, 1)
    clock.now += 1
    keeper.tick()
    assert keeper.full_collections == 2


def test_nothing_frozen_since_the_last_full_collection_needs_no_other(
    keeper: HeapKeeper, clock: Clock
) -> None:
    clock.now += FULL_WHEN_IDLE_EVERY_SECONDS
    keeper.tick()  # nothing was ever settled: this tick settles
    clock.now += FULL_WHEN_IDLE_EVERY_SECONDS
    keeper.tick()
    assert keeper.full_collections == 1
    clock.now += FULL_WHEN_IDLE_EVERY_SECONDS
    keeper.tick()  # settled nothing since: settles again rather than collecting in full
    assert keeper.full_collections == 1


def test_too_many_closed_sessions_bring_a_full_collection_even_while_watched(
    keeper: HeapKeeper, caplog: pytest.LogCaptureFixture
) -> None:
    keeper.viewers_changed(50)
    for _ in range(FULL_AFTER_CLOSES - 1):
        keeper.closed()
    keeper.tick()
    assert keeper.full_collections == 0
    keeper.closed()
    with caplog.at_level(logging.WARNING, logger="server.media.heap"):
        keeper.tick()
    assert keeper.full_collections == 1
    assert f"{FULL_AFTER_CLOSES} media sessions closed" in caplog.text


async def test_collections_while_watched_are_stalls_and_long_ones_logged_once_a_minute(
    keeper: HeapKeeper,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(heap, "LONG_STALL_SECONDS", 0.0)  # every collection counts as long
    keeper.start()
    with caplog.at_level(logging.WARNING, logger="server.media.heap"):
        gc.collect()
        assert keeper.stalls.count == 0  # nobody watching: nothing stood still
        keeper.viewers_changed(1)
        gc.collect()
        gc.collect()
        assert keeper.stalls.count >= 2
        assert keeper.stalls.longest_seconds > 0
        assert keeper.stalls.buckets[-1] == keeper.stalls.count
        assert caplog.text.count("held up media") == 1
        clock.now += heap.LOG_EVERY_SECONDS
        gc.collect()
        assert caplog.text.count("held up media") == 2
    assert "such stalls since the last warning" in caplog.text


async def test_a_burst_of_new_objects_is_settled_without_waiting_for_the_second(
    keeper: HeapKeeper,
) -> None:
    """A hall's worth of sockets connecting makes in a second more objects than one settling
    should walk: while someone watches, after a few young collections, the heap is settled at
    once."""
    keeper.start()
    keeper.viewers_changed(1)
    assert keeper.settlings == 1
    burst = young_burst()
    async with asyncio.timeout(5):
        while keeper.settlings < 2:
            await asyncio.sleep(0)
    assert frozen(burst[0][0])


async def test_with_nobody_watching_a_burst_waits_for_the_tick(keeper: HeapKeeper) -> None:
    """No collection holds up anyone then, and settling in the middle of a flood of events
    walks everything in flight: the tick settles it."""
    keeper.start()
    burst = young_burst()
    settled = asyncio.get_running_loop().create_future()
    # A settling queued by the burst would run before this, queued after it.
    asyncio.get_running_loop().call_soon_threadsafe(settled.set_result, None)
    await settled
    assert keeper.settlings == 1
    assert not frozen(burst[0][0])
    keeper.tick()
    assert frozen(burst[0][0])


def young_burst() -> list[list[Cycle]]:
    """Objects that live, made until the young generations were collected
    ``SETTLE_AFTER_YOUNG_COLLECTIONS`` times."""
    young_collections = gc.get_stats()[1]["collections"]
    burst = []
    while gc.get_stats()[1]["collections"] < young_collections + SETTLE_AFTER_YOUNG_COLLECTIONS:
        burst.append([Cycle() for _ in range(100)])  # they live: promoted, not collected
    return burst


async def test_started_it_settles_at_once_then_every_interval_until_closed(clock: Clock) -> None:
    keeper = HeapKeeper(settle_every=0.01, clock=clock)
    before = Cycle()
    keeper.start()
    try:
        assert keeper.settlings == 1
        assert frozen(before)
        async with asyncio.timeout(5):
            while keeper.settlings < 3:
                await asyncio.sleep(0.01)
        assert gc.get_freeze_count() > 0
    finally:
        await keeper.close()
    assert not keeper._ticker.running
    assert gc.get_freeze_count() == 0
    await keeper.close()  # safe twice
