"""``/healthz`` over real HTTP, with each part really broken and mended: the scheduler stopped
and started, the store's disk filled and freed (and the scheduler falling behind meanwhile),
the relay's speaking watch failing at every round. 503 names the part; 200 once it works."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from scheduler.clock import RehearsalClock
from server.media.room_media import RoomMedia
from server.web import appkeys
from server.web.app import create_app
from tests.helpers import bundled_config, fast_rehearsal, settings
from tests.media.test_relay import ServerFactory, Stage, make_stage
from tests.small_disk import SmallDisk

Health = tuple[int, dict[str, Any]]


async def health(base: str) -> Health:
    async with aiohttp.ClientSession() as http, http.get(base + "/healthz") as response:
        return response.status, await response.json()


async def health_until(base: str, done: Callable[[Health], bool], within: float = 10) -> Health:
    async with asyncio.timeout(within):
        while not done(answer := await health(base)):
            await asyncio.sleep(0.05)
    return answer


def failing(*parts: str) -> Callable[[Health], bool]:
    return lambda answer: answer[0] == 503 and set(parts) <= set(answer[1]["failing"])


def healthy(answer: Health) -> bool:
    return answer[0] == 200


async def test_a_stopped_scheduler_is_503_until_it_runs_again(
    tmp_path: Path, aiohttp_server: ServerFactory
) -> None:
    stage = await make_stage(tmp_path, aiohttp_server)
    runner, rooms = stage.app[appkeys.RUNNER], stage.app[appkeys.ROOMS]
    assert (await health(stage.base))[0] == 200
    await runner.stop()
    status, body = await health(stage.base)
    assert (status, body["status"], body["failing"]) == (503, "failing", ["scheduler"])
    assert body["scheduler"] == {"status": "failing", "error": "stopped", "pending_transitions": 0}
    assert body["store"] == {"status": "ok"} and body["relay"]["status"] == "ok"
    await runner.start(rooms.timetable)
    status, body = await health(stage.base)
    assert (status, body["failing"], body["scheduler"]["status"]) == (200, [], "ok")


async def test_a_full_disk_fails_the_store_and_then_the_scheduler_until_freed(
    small_disk: SmallDisk, aiohttp_server: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # Agenda minutes pass in a tenth of a second: a transition is due every few seconds.
    clock: RehearsalClock = fast_rehearsal(bundled_config(), lead=-1, speed=600)
    app = create_app(settings(small_disk.path, clock))
    base = str((await aiohttp_server(app)).make_url("")).rstrip("/")
    assert (await health(base))[0] == 200
    small_disk.fill()
    _, body = await health_until(base, failing("store"))
    assert body["store"]["error"] == "database or disk is full" and body["store"]["since"]
    _, body = await health_until(base, failing("store", "scheduler"))
    assert body["scheduler"]["error"].startswith("the rooms could not be brought in line")
    small_disk.free()
    _, body = await health_until(base, healthy)
    assert body["failing"] == [] and body["store"] == {"status": "ok"}
    # The runner logs its first failed reconcile with the traceback; nothing else is a crash.
    crashes = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert {r.name for r in crashes} <= {"scheduler.runner"}


async def test_a_relay_whose_speaking_watch_fails_is_503_until_it_works_again(
    tmp_path: Path, aiohttp_server: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage: Stage = await make_stage(tmp_path, aiohttp_server)
    audience = await stage.watch()  # the room's media, and the relay's watch over it, start
    try:
        await audience.connected()
        status, body = await health(stage.base)
        assert (status, body["relay"]["sessions"]) == (200, 1)

        def broken(media: RoomMedia) -> None:
            raise RuntimeError("the speaking detector is broken")

        monkeypatch.setattr(RoomMedia, "check_speaking", broken)
        _, body = await health_until(stage.base, failing("relay"))
        assert body["failing"] == ["relay"]
        assert body["relay"]["error"] == (
            "its speaking watch fails: RuntimeError: the speaking detector is broken"
        )
        monkeypatch.undo()
        _, body = await health_until(stage.base, healthy)
        assert body["relay"]["status"] == "ok"
    finally:
        await audience.close()
