"""Writes taken together: what arrives during one write goes in the next, each caller gets
its own outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from server.batches import Batches


class Store:
    """Records each batch it is given, and holds a write open until released."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.writing = asyncio.Event()

    async def write(self, items: list[int]) -> Sequence[int | Exception]:
        self.batches.append(items)
        self.writing.set()
        await self.release.wait()
        if -1 in items:
            raise OSError("the disk is full")
        return [ValueError(f"odd {n}") if n % 2 else n * 10 for n in items]


async def test_the_first_goes_alone_and_what_arrives_meanwhile_goes_next_together() -> None:
    store = Store()
    batches: Batches[int, int] = Batches(store.write)
    first = asyncio.create_task(batches.submit(0))
    await store.writing.wait()
    rest = [asyncio.create_task(batches.submit(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)  # they are waiting, not written
    assert store.batches == [[0]]
    store.release.set()
    assert await first == 0
    assert [await task for task in rest[::2]] == [20, 40]
    with pytest.raises(ValueError, match="odd 3"):  # its own outcome, the others unharmed
        await rest[1]
    assert store.batches == [[0], [2, 3, 4]]
    assert (batches.batches, batches.items) == (2, 4)


async def test_a_failed_write_fails_its_batch_only() -> None:
    store = Store()
    store.release.set()
    batches: Batches[int, int] = Batches(store.write)
    failed = await asyncio.gather(batches.submit(-1), batches.submit(2), return_exceptions=True)
    assert [type(outcome) for outcome in failed] == [OSError, OSError]
    assert await batches.submit(4) == 40


async def test_a_batch_holds_at_most_its_limit() -> None:
    store = Store()
    store.release.set()
    batches: Batches[int, int] = Batches(store.write, limit=3)
    assert await asyncio.gather(*(batches.submit(n * 2) for n in range(7))) == [
        n * 20 for n in range(7)
    ]
    assert [len(batch) for batch in store.batches] == [3, 3, 1]


async def test_a_write_that_answers_short_fails_its_batch() -> None:
    async def short(items: list[int]) -> Sequence[int | Exception]:
        return items[:-1]

    batches: Batches[int, int] = Batches(short)
    with pytest.raises(RuntimeError, match="1 outcomes for a batch of 2"):
        await asyncio.gather(batches.submit(1), batches.submit(2))


async def test_closing_finishes_the_write_under_way_and_cancels_the_rest() -> None:
    store = Store()
    batches: Batches[int, int] = Batches(store.write)
    first = asyncio.create_task(batches.submit(0))
    await store.writing.wait()
    waiting = asyncio.create_task(batches.submit(2))
    await asyncio.sleep(0)
    closing = asyncio.create_task(batches.close())
    await asyncio.sleep(0)
    store.release.set()
    await closing
    assert await first == 0
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert store.batches == [[0]]
