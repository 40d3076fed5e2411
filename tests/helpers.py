"""Builders shared by the tests: configs, app settings, clocks and Socket.IO clients."""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import socketio

from scheduler.clock import Clock, RehearsalClock, wall_now
from server.config import Config, load_config
from server.web.app import Settings
from tests.serverproc import CONFIG


def bundled_config() -> Config:
    return load_config(CONFIG)


def bundled_raw() -> dict[str, Any]:
    return tomllib.loads(CONFIG.read_text(encoding="utf-8"))


def fast_rehearsal(config: Config, *, lead: float = 1.0, speed: float = 600.0) -> RehearsalClock:
    """The first item goes live ``lead`` wall seconds from now; at 600x an agenda minute
    lasts a tenth of a wall second."""
    first = config.timetable.items[0].starts_at
    return RehearsalClock(first, wall_now() + timedelta(seconds=lead), speed)


def settings(
    tmp_path: Path, clock: Clock, config: Config | None = None, run: str = "test"
) -> Settings:
    return Settings(
        config=config or bundled_config(), data_dir=tmp_path / "data", clock=clock, run=run
    )


EVENTS = (
    "agenda",
    "room_state",
    "stage",
    "notice",
    "notices",
    "question",
    "question_order",
    "health",
    "alert",
    "registration",
    "connect_error",
)


@dataclass
class Listener:
    """A real python-socketio client that records every event it receives, with arrival times."""

    url: str
    token: str | None = None
    client: socketio.AsyncClient = field(
        default_factory=lambda: socketio.AsyncClient(reconnection=False)
    )
    events: list[tuple[str, Any, datetime]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def connect(self) -> Listener:
        for name in EVENTS:
            self.client.on(name, self._recorder(name))
        auth = {"token": self.token} if self.token is not None else None
        await self.client.connect(self.url, auth=auth, transports=["websocket"], wait_timeout=5)
        return self

    def _recorder(self, name: str) -> Callable[[Any], Any]:
        async def record(data: Any = None) -> None:
            self.events.append((name, data, wall_now()))
            self.changed.set()

        return record

    def received(self, name: str) -> list[Any]:
        return [data for event, data, _ in self.events if event == name]

    async def wait_for(self, predicate: Callable[[str, Any], bool], within: float = 5.0) -> Any:
        async with asyncio.timeout(within):
            while True:
                for event, data, _ in self.events:
                    if predicate(event, data):
                        return data
                self.changed.clear()
                await self.changed.wait()

    async def call(self, event: str, data: Any) -> Any:
        return await self.client.call(event, data, timeout=5)

    async def close(self) -> None:
        await self.client.disconnect()
