"""``plenary serve``: choose the clock, build the app, run it, and greet the user."""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import signal
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from aiohttp import web

from scheduler.clock import Clock, RehearsalClock, SystemClock, wall_now
from scheduler.timetable import RoomState, Timetable
from server.auth.keys import KeyRing
from server.auth.permissions import Role
from server.auth.tokens import TokenService
from server.config import Config
from server.web import appkeys
from server.web.app import Settings, create_app
from server.web.site import Guard, GuardedSite

log = logging.getLogger(__name__)
# Descriptors besides the HTTP connections: the media sessions' sockets, the store, the logs.
SPARE_DESCRIPTORS = 4096

# A stopping server hangs up on live clients at once (they come back by themselves); a request
# still being answered after that gets this long, and is then cut.
SHUTDOWN_SECONDS = 1.0
# Where each role starts: staff at their desks, everyone else in the room open now, or next.
ROLE_PAGES = {
    Role.TECHNICIAN: "/technician",
    Role.ORGANIZER: "/organizer",
    Role.SPEAKER: "/speak/{room}",
    Role.MODERATOR: "/moderate/{room}",
}


def serve(
    config: Config,
    data_dir: Path,
    *,
    host: str,
    port: int,
    rehearsal_start: datetime | None,
    speed: float,
    ice_addresses: tuple[str, ...],
    print_links: bool,
    demo_feed: bool = False,
) -> None:
    clock = _clock(config, rehearsal_start, speed)
    run = clock.run_id if isinstance(clock, RehearsalClock) else "event"
    base = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    app = create_app(
        Settings(
            config=config,
            data_dir=data_dir,
            clock=clock,
            run=run,
            public_url=config.public_url or base,
            ice_addresses=ice_addresses,
            demo_feed=demo_feed,
            environ=os.environ,
        )
    )

    guard = Guard(config.header_timeout_seconds, config.max_connections)
    _allow_descriptors(config.max_connections + SPARE_DESCRIPTORS)

    def banner() -> str:  # once the store is read: a room ended before a restart stays ended
        rooms = app[appkeys.ROOMS]
        states = {item.id: rooms.state(item.id) for item in rooms.timetable.rooms}
        room = room_open_or_next(rooms.timetable, states)
        return _banner(config, base, clock, data_dir, print_links, room)

    asyncio.run(_serve_until_stopped(app, host, port, guard, banner))


def room_open_or_next(timetable: Timetable, states: Mapping[str, RoomState]) -> str:
    """The room the printed links open: the first live, else the first in its lobby, else the
    next to open, else, after the event, the last."""
    rooms = timetable.rooms
    for wanted in (RoomState.LIVE, RoomState.LOBBY, RoomState.SCHEDULED):
        found = next((item for item in rooms if states.get(item.id) is wanted), None)
        if found is not None:
            return found.id
    return rooms[-1].id


async def _serve_until_stopped(
    app: web.Application, host: str, port: int, guard: Guard, banner: Callable[[], str]
) -> None:
    """Serve on a guarded site (``server/web/site.py``) until SIGTERM or SIGINT, then stop as
    aiohttp's ``run_app`` would: the app's shutdown and cleanup, in order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(
        app, handle_signals=False, access_log=None, shutdown_timeout=SHUTDOWN_SECONDS
    )
    await runner.setup()
    try:
        await GuardedSite(runner, host, port, guard).start()
        print(banner(), flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()


def _allow_descriptors(wanted: int) -> None:
    """Raise the soft limit on open files towards ``wanted``, as far as the hard limit lets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < wanted:
        log.warning(
            "only %d open files are allowed here (%d wanted for [server] max_connections and "
            "the media); raise the hard limit (ulimit -Hn) for a large event",
            target,
            wanted,
        )


def _clock(config: Config, rehearsal_start: datetime | None, speed: float) -> Clock:
    if rehearsal_start is None:
        return SystemClock()
    first = config.timetable.items[0].starts_at
    return RehearsalClock(agenda_origin=first, wall_origin=rehearsal_start, speed=speed)


def _banner(
    config: Config, base: str, clock: Clock, data_dir: Path, print_links: bool, room: str
) -> str:
    lines = [
        "",
        f"plenary is serving {config.event.name}",
        f"  agenda        {base}/",
        f"  register      {base}/register",
        f"  technicians   {base}/technician",
        f"  organizers    {base}/organizer",
        f"  health        {base}/healthz",
    ]
    if isinstance(clock, RehearsalClock):
        first = config.timetable.items[0]
        lines.append(
            f"  rehearsal     {first.title!r} starts at "
            f"{clock.to_wall(first.starts_at).astimezone():%H:%M:%S} (your time), "
            f"agenda time runs x{clock.speed:g}"
        )
    if print_links:
        tokens = TokenService(KeyRing.open(data_dir), config.issuer, wall_now)
        lines.append("")
        lines.append("Signed-in links (each carries its token after #; keep them private):")
        lines.append(f"  (the rooms' links open {room!r}: the room open now, or next)")
        for role in Role:
            token = tokens.issue(role=role, name=f"Rehearsal {role.value}", ttl=config.staff_ttl)
            page = ROLE_PAGES.get(role, "/watch/{room}").format(room=room)
            lines.append(f"  {role.value:<12}  {base}{page}#token={token}")
            if role is Role.TECHNICIAN:  # the hall's projectors and loudspeakers
                lines.append(f"  {'hall screen':<12}  {base}/hall/{room}#token={token}")
                lines.append(f"  {'Q&A screen':<12}  {base}/screen/{room}#token={token}")
    lines.append("")
    return "\n".join(lines)
