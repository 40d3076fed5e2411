"""Background tasks (server/background.py): a repeating task lives through rounds that fail,
says so until one works, and logs the failure once, not at every round."""

from __future__ import annotations

import asyncio
import logging

import pytest

from server.background import RepeatingTask

log = logging.getLogger("tests.background")


class Rounds:
    """Work that fails in the rounds it is told to, and counts every round."""

    def __init__(self, failing: set[int]) -> None:
        self.failing = failing
        self.done = 0
        self.ticked = asyncio.Event()

    def __call__(self) -> None:
        self.done += 1
        self.ticked.set()
        if self.done in self.failing:
            raise RuntimeError(f"round {self.done} broke")

    async def until(self, rounds: int) -> None:
        async with asyncio.timeout(5):
            while self.done < rounds:
                self.ticked.clear()
                await self.ticked.wait()


async def test_a_failing_round_is_logged_once_and_named_until_one_works(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger=log.name)
    rounds = Rounds(failing={2, 3, 4})
    task = RepeatingTask("the test loop", 0, rounds, log)
    task.start()
    try:
        await rounds.until(4)
        assert task.running and task.failure == "RuntimeError: round 4 broke"
        await rounds.until(6)
        assert task.running and task.failure is None
    finally:
        await task.stop()
    messages = [(record.levelname, record.getMessage()) for record in caplog.records]
    assert messages == [
        ("ERROR", "the test loop failed; trying again every 0 s"),
        ("WARNING", "the test loop works again (it had failed: RuntimeError: round 4 broke)"),
    ]
    assert caplog.records[0].exc_info is not None  # the first failure with its traceback
    assert not task.running and task.started is False
    await task.stop()  # twice is safe


async def test_a_coroutine_round_is_awaited_and_its_failure_named() -> None:
    rounds = Rounds(failing={2})
    finished: list[int] = []

    async def work() -> None:
        await asyncio.sleep(0)
        rounds()  # raises in round 2, after the await
        finished.append(rounds.done)

    task = RepeatingTask("the async loop", 0, work, log)
    task.start()
    try:
        await rounds.until(2)
        await asyncio.sleep(0)  # the round's failure is handled before the next round starts
        assert task.failure == "RuntimeError: round 2 broke"
        await rounds.until(3)
        await asyncio.sleep(0)
        assert task.failure is None and finished[:2] == [1, 3]
    finally:
        await task.stop()
