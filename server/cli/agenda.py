"""``plenary agenda``: the running order in the event's time zone, with each room's state."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from scheduler.timetable import Timetable
from server.config import Config
from server.store import DATABASE_FILE, Store


def print_agenda(config: Config, data_dir: Path, at: datetime) -> None:
    timetable = asyncio.run(_effective(config.timetable, data_dir))
    print(render_agenda(config, timetable, at))


def render_agenda(config: Config, timetable: Timetable, at: datetime) -> str:
    zone = timetable.zone
    lines = [
        config.event.name,
        config.event.theme,
        config.event.venue,
        f"times in {zone.key}; states at {at.astimezone(zone):%Y-%m-%d %H:%M}",
        "",
    ]
    for day, items in timetable.days():
        lines.append(f"{day:%A %d %B %Y}")
        for item in items:
            state = timetable.state_at(item, at).value if item.has_room else "—"
            span = f"{item.starts_at.astimezone(zone):%H:%M}–{item.ends_at.astimezone(zone):%H:%M}"
            flags = " (audio only)" if item.audio_only else ""
            lines.append(f"  {span}  {state:<9}  {item.id:<16} {item.title}{flags}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


async def _effective(timetable: Timetable, data_dir: Path) -> Timetable:
    """The published timetable with the real event's stored overrides, if there are any."""
    if not (data_dir / DATABASE_FILE).exists():
        return timetable
    store = Store.in_data_dir(data_dir)
    try:
        await store.prepare()
        return timetable.with_overrides(await store.rooms.overrides("event"))
    finally:
        await store.close()
