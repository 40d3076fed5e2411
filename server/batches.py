"""Writes taken together: everything that arrives while one batch is being written goes in the
next, as one transaction ("group commit").

A store round trip costs about the same for one row as for hundreds, so at a thousand votes a
second one transaction each would keep the store busy with nothing but overhead. Nothing
waits for a batch to fill: the first write of a quiet moment goes at once, alone, and only
what arrives while it is written waits, for one transaction at most.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# One outcome per item, in order: what that item's caller gets, or what it raises.
Write = Callable[[list[Item]], Awaitable[Sequence[Result | Exception]]]


class Batches(Generic[Item, Result]):
    """Calls ``write`` with the items submitted since its last call, at most ``limit`` at a
    time and one call at a time; each ``submit`` returns its own item's outcome. When
    ``write`` itself raises, every item of that batch raises it."""

    def __init__(self, write: Write[Item, Result], limit: int = 200) -> None:
        self._write = write
        self._limit = limit
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0  # written so far: with ``items``, how well they are filled
        self.items = 0

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_all())
        return await future

    async def close(self) -> None:
        """Let the batch being written finish; what has not been written yet is cancelled."""
        writer = self._writer
        waiting, self._waiting = self._waiting, []
        for _, future in waiting:
            future.cancel()
        if writer is not None:
            await asyncio.gather(writer, return_exceptions=True)

    async def _write_all(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self._limit]
                del self._waiting[: self._limit]
                self.batches += 1
                self.items += len(batch)
                await self._write_one(batch)
        finally:
            self._writer = None

    async def _write_one(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            outcomes = await self._write([item for item, _ in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError(f"{len(outcomes)} outcomes for a batch of {len(batch)}")
        except Exception as error:
            outcomes = [error] * len(batch)
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():  # its caller was cancelled: the write stands all the same
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
