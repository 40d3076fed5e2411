"""The agenda as iCalendar (RFC 5545): the feed that calendars subscribe to, each item's own
entry, and the copy the join mail carries, all made here by the ``icalendar`` library.

Every item is one VEVENT at its effective times (the published agenda with this run's
overrides), in the event's zone, which the calendar describes in a VTIMEZONE. Its UID comes
from the item's id and the event, so a calendar that has it once knows it again. Its SEQUENCE
counts the running-order changes that moved it, replayed from the stored overrides: the same on
every request and after a restart, and one higher each time the item's times change, which is
what tells a subscribed calendar to take the new times.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from icalendar import Calendar, Event, vDuration

from scheduler.timetable import AgendaItem, Override, Timetable
from server.config import Config
from server.errors import NotFound
from server.rooms.service import RoomService

PRODID = "-//plenary//agenda//EN"
# How often a subscribed calendar should look again: a delay reaches it within this.
REFRESH = timedelta(minutes=15)
# An unknown item's id is quoted in the answer only this far.
MAX_QUOTED_ID = 40


class UnknownItem(NotFound):
    code = "unknown_item"


@dataclass(frozen=True)
class Revision:
    """How often an item's times were moved, and when (agenda time) they last were."""

    sequence: int = 0
    moved_at: datetime | None = None


@dataclass(frozen=True)
class CalendarFile:
    body: bytes
    modified_at: datetime  # the newest DTSTAMP in it
    filename: str


def revisions(published: Timetable, overrides: Iterable[Override]) -> dict[str, Revision]:
    """Each moved item's revision, replaying ``overrides`` as the running order did: one that
    no longer fits is passed over, and one that leaves an item's times alone does not count."""
    found: dict[str, Revision] = {}
    for override, before, after in published.replay(overrides):
        for item_id in after.moved_since(before):
            found[item_id] = Revision(found.get(item_id, Revision()).sequence + 1, override.at)
    return found


def written_at(path: Path, fallback: datetime) -> datetime:
    """When the agenda was last written: the config file's modification time."""
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(microsecond=0)
    except OSError:
        return fallback.replace(microsecond=0)


class AgendaCalendar:
    def __init__(
        self, config: Config, rooms: RoomService, public_url: str, published_at: datetime
    ) -> None:
        self._config = config
        self._rooms = rooms
        self._public_url = public_url.rstrip("/")
        self._published_at = published_at
        digest = hashlib.sha256(f"{config.issuer}\n{config.event.name}".encode()).hexdigest()
        self._uid_suffix = f"{digest[:16]}@plenary"
        # The whole agenda as last made, by method, with the running order it was made from:
        # every join letter and every calendar's poll asks for it, and it changes only when
        # the running order does.
        self._made: dict[str | None, tuple[Timetable, CalendarFile]] = {}

    def whole(self, *, method: str | None = None) -> CalendarFile:
        """Every item; ``method`` (PUBLISH) for a copy sent by mail (RFC 5546)."""
        timetable = self._rooms.timetable
        made = self._made.get(method)
        if made is None or made[0] is not timetable:
            made = self._made[method] = (
                timetable,
                self._file(timetable.items, "agenda.ics", method),
            )
        return made[1]

    def of_item(self, item_id: str) -> CalendarFile:
        if item_id not in self._rooms.timetable:
            quoted = item_id if len(item_id) <= MAX_QUOTED_ID else item_id[:MAX_QUOTED_ID] + "…"
            raise UnknownItem(f"the agenda has no item {quoted!r}")
        item = self._rooms.timetable.item(item_id)
        return self._file([item], f"{item.id}.ics", None)

    def uid(self, item_id: str) -> str:
        return f"{item_id}.{self._uid_suffix}"

    def _file(self, items: Iterable[AgendaItem], filename: str, method: str | None) -> CalendarFile:
        moved = revisions(self._rooms.published, self._rooms.overrides)
        calendar = self._calendar(method)
        stamps = [self._published_at]
        for item in items:
            event, stamp = self._event(item, moved.get(item.id, Revision()))
            calendar.add_component(event)
            stamps.append(stamp)
        calendar.add_missing_timezones(*self._zone_span())
        return CalendarFile(calendar.to_ical(), max(stamps), filename)

    def _zone_span(self) -> tuple[date, date]:
        """The years the agenda falls in: the zone's rules for those, not for half a century."""
        items = self._rooms.timetable.items
        first = min(item.starts_at for item in items).astimezone(self._rooms.timetable.zone)
        last = max(item.ends_at for item in items).astimezone(self._rooms.timetable.zone)
        return date(first.year, 1, 1), date(last.year + 1, 1, 1)

    def _calendar(self, method: str | None) -> Calendar:
        calendar = Calendar()
        calendar.add("prodid", PRODID)
        calendar.add("version", "2.0")
        if method is not None:
            calendar.add("method", method)
        calendar.add("name", self._config.event.name)
        calendar.add("x-wr-calname", self._config.event.name)
        calendar.add("x-wr-timezone", self._rooms.timetable.zone.key)
        calendar.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", vDuration(REFRESH))
        return calendar

    def _event(self, item: AgendaItem, revision: Revision) -> tuple[Event, datetime]:
        zone = self._rooms.timetable.zone
        event = Event()
        event.add("uid", self.uid(item.id))
        event.add("sequence", revision.sequence)
        event.add("summary", item.title)
        event.add("dtstart", item.starts_at.astimezone(zone))
        event.add("dtend", item.ends_at.astimezone(zone))
        if self._config.event.venue:
            event.add("location", self._config.event.venue)
        event.add("url", self._url(item))
        event.add("description", self._description(item))
        event.add("categories", [item.kind.value])
        event.add("transp", "OPAQUE" if item.has_room else "TRANSPARENT")
        stamp = self._published_at
        if revision.moved_at is not None:
            # The wall moment of the change: in a rehearsal, agenda time is years back.
            modified = self._rooms.clock.to_wall(revision.moved_at).replace(microsecond=0)
            event.add("last-modified", modified.astimezone(UTC))
            stamp = max(stamp, modified)
        event.add("dtstamp", stamp.astimezone(UTC))
        return event, stamp

    def _url(self, item: AgendaItem) -> str:
        return f"{self._public_url}/watch/{item.id}" if item.has_room else f"{self._public_url}/"

    def _description(self, item: AgendaItem) -> str:
        parts = [item.description] if item.description else []
        if item.audio_only:
            parts.append("Sound only.")
        if not item.recorded:
            parts.append("Not recorded.")
        if item.has_room:
            parts.append(f"Watch online with your personal join link: {self._url(item)}")
        return "\n\n".join(parts)
