"""The relay's collector policy: freeze after sessions connect, collect in full at quiet moments."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Iterator

import pytest

from server.media import heap
from server.media.heap import COLLECT_AFTER_CLOSES, HeapKeeper


@pytest.fixture
def keeper() -> Iterator[HeapKeeper]:
    keeper = HeapKeeper(freeze_after=0.05)
    try:
        yield keeper
    finally:
        keeper.close()
        assert gc.get_freeze_count() == 0
        assert keeper._timed not in gc.callbacks


class Cycle:
    def __init__(self) -> None:
        self.me = self


async def test_what_is_alive_is_frozen_shortly_after_a_connection(keeper: HeapKeeper) -> None:
    keeper.connected()
    assert gc.get_freeze_count() == 0  # not at once: the rest of the wave is on its way
    await asyncio.sleep(0.2)
    assert keeper.freezes == 1
    assert gc.get_freeze_count() > 0


async def test_a_wave_of_connections_freezes_at_a_steady_pace(keeper: HeapKeeper) -> None:
    for _ in range(12):  # a session every 25 ms for 300 ms: never a quiet 50 ms
        keeper.connected()
        await asyncio.sleep(0.025)
    during = keeper.freezes
    assert during >= 2  # not only once the wave is over
    await asyncio.sleep(0.2)
    assert keeper.freezes <= during + 1


async def test_the_last_session_closing_collects_what_was_frozen(keeper: HeapKeeper) -> None:
    garbage = Cycle()
    keeper.connected()
    await asyncio.sleep(0.2)
    assert gc.get_freeze_count() > 0
    alive = gc.get_freeze_count()
    del garbage  # a closed session's cycle, frozen: no ordinary collection frees it
    gc.collect()
    assert gc.get_freeze_count() == alive
    keeper.closed(sessions_left=1)
    assert keeper.collections == 0
    keeper.closed(sessions_left=0)
    assert keeper.collections == 1
    assert gc.get_freeze_count() == 0


async def test_many_closed_sessions_bring_a_collection(keeper: HeapKeeper) -> None:
    for _ in range(COLLECT_AFTER_CLOSES - 1):
        keeper.closed(sessions_left=100)
    assert keeper.collections == 0
    keeper.closed(sessions_left=100)
    assert keeper.collections == 1
    assert keeper.closed_since_collect == 0


async def test_a_collection_cancels_a_pending_freeze(keeper: HeapKeeper) -> None:
    keeper.connected()
    keeper.collect()
    await asyncio.sleep(0.2)
    assert keeper.freezes == 0
    assert gc.get_freeze_count() == 0


async def test_long_collections_are_logged_but_not_its_own(
    keeper: HeapKeeper, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(heap, "LONG_PAUSE_SECONDS", 0.0)  # every collection counts as long
    with caplog.at_level(logging.WARNING, logger="server.media.heap"):
        keeper.collect()  # chosen for a quiet moment: not a hold-up
        assert keeper.long_pauses == 0
        gc.collect()  # as the collector would run on its own
    assert keeper.long_pauses == 1
    assert "held up media" in caplog.text
