"""The composition root: ``create_app(settings)`` builds and wires every part, and its cleanup
context starts them in order and stops them in reverse."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aiohttp import web

from scheduler.clock import Clock, wall_now
from scheduler.runner import TransitionRunner
from server import api, appkeys, pages
from server.config import Config
from server.keys import KeyRing
from server.live import LiveChannel
from server.rooms import RoomService, RoomUpdate
from server.store import Store
from server.tokens import TokenService

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class Settings:
    config: Config
    data_dir: Path
    clock: Clock
    run: str = "event"
    wall: Callable[[], datetime] = wall_now


def create_app(settings: Settings) -> web.Application:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = web.Application(middlewares=[api.json_errors], client_max_size=MAX_BODY_BYTES)
    store = Store.in_data_dir(settings.data_dir)
    keyring = KeyRing.open(settings.data_dir)
    tokens = TokenService(keyring, settings.config.issuer, settings.wall)
    rooms = RoomService(
        settings.config.timetable, settings.clock, store.rooms, settings.run, settings.wall
    )
    runner = TransitionRunner(settings.clock, rooms.reconcile)
    live = LiveChannel(settings.config, rooms, tokens)
    live.sio.attach(app)

    async def reschedule(update: RoomUpdate) -> None:
        if update.running_order_changed:
            runner.schedule(rooms.timetable)

    rooms.subscribe(reschedule)
    app[appkeys.CONFIG] = settings.config
    app[appkeys.STORE] = store
    app[appkeys.KEYRING] = keyring
    app[appkeys.TOKENS] = tokens
    app[appkeys.ROOMS] = rooms
    app[appkeys.RUNNER] = runner
    app[appkeys.LIVE] = live
    api.add_routes(app)
    pages.add_routes(app)
    app.cleanup_ctx.append(_run_store)
    app.cleanup_ctx.append(_run_schedule)
    return app


async def _run_store(app: web.Application) -> AsyncIterator[None]:
    store = app[appkeys.STORE]
    await store.prepare()
    yield
    await store.close()


async def _run_schedule(app: web.Application) -> AsyncIterator[None]:
    rooms, runner, live = app[appkeys.ROOMS], app[appkeys.RUNNER], app[appkeys.LIVE]
    await rooms.load()
    await runner.start(rooms.timetable)
    yield
    await runner.stop()
    await live.close()
