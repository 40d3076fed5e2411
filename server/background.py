"""Background tasks with an owner: started once, stopped by cancelling and awaiting them, safe
to stop twice or before they started. ``RepeatingTask`` does one round of work every so often
and lives through a round that fails, saying so (``failure``) until one works again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any


class BackgroundTask:
    def __init__(self, name: str, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._name = name
        self._work = work
        self._task: asyncio.Task[None] | None = None

    @property
    def started(self) -> bool:
        return self._task is not None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._work(), name=self._name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class RepeatingTask(BackgroundTask):
    """``work()`` every ``every`` seconds, awaited if it is a coroutine function. A round that
    raises is logged, with its traceback, the first time only; ``failure`` names the error
    until a round works again, which is logged too. So a fault met at every round neither
    ends the loop nor floods the log."""

    def __init__(
        self,
        name: str,
        every: float,
        work: Callable[[], Awaitable[object] | None],
        log: logging.Logger,
    ) -> None:
        super().__init__(name, self._repeat)
        self._every = every
        self._round = work
        self._log = log
        self.failure: str | None = None

    async def _repeat(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                done = self._round()
                if done is not None:
                    await done
            except Exception as error:
                if self.failure is None:
                    self._log.exception(
                        "%s failed; trying again every %g s", self._name, self._every
                    )
                self.failure = f"{type(error).__name__}: {error}"
                continue
            if self.failure is not None:
                self._log.warning("%s works again (it had failed: %s)", self._name, self.failure)
                self.failure = None
