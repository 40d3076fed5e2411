"""The agenda as a config gives it: ``parse_timetable`` turns the ``[event]`` and ``[[days]]``
tables into a validated ``Timetable`` (``timetable.py``), or raises ``TimetableError`` naming
the day, the item and the field."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from scheduler.timetable import (
    DEFAULT_AUTO_STAGE,
    PUBLISHING_ROLES,
    AgendaItem,
    ItemKind,
    Timetable,
    in_order,
)

ITEM_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}\Z")
CLOCK_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
MAX_TITLE = 200
MAX_DESCRIPTION = 5000
MAX_LOBBY_MINUTES = 240
# An event's days: wide enough for any real one, and far from the ends of datetime, where
# converting a local time to UTC, or the day after the last, would overflow.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
# In the zone database, but not places: "localtime" is this machine's, "Factory" is "-00".
NOT_EVENT_ZONES = frozenset({"localtime", "Factory"})
DAY_FIELDS = frozenset({"date", "items"})
ITEM_FIELDS = frozenset(
    {
        "id",
        "title",
        "kind",
        "start",
        "end",
        "description",
        "audio_only",
        "recorded",
        "auto_stage",
        "moderated",
    }
)


class TimetableError(ValueError):
    """A config the timetable cannot run, naming where: item and field."""

    def __init__(self, where: str, field_name: str, problem: str) -> None:
        super().__init__(f"{where}: field {field_name!r}: {problem}")
        self.where = where
        self.field_name = field_name
        self.problem = problem


def parse_timetable(event: Mapping[str, Any], days: Sequence[Any]) -> Timetable:
    """Validate the ``[event]`` table and the ``[[days]]`` array of a config."""
    zone = _parse_zone(event.get("timezone"))
    lobby = _parse_lobby(event.get("lobby_minutes", 15))
    if not isinstance(days, Sequence) or isinstance(days, str) or not days:
        raise TimetableError("days", "days", "the agenda needs at least one [[days]] table")
    items: list[AgendaItem] = []
    for day_index, day in enumerate(days):
        items.extend(_parse_day(day, day_index, zone))
    _check_unique_ids(items)
    _check_no_overlaps(items, zone)
    return Timetable(items=in_order(items), zone=zone, lobby=lobby)


def _parse_zone(value: object) -> ZoneInfo:
    if not isinstance(value, str) or not value:
        raise TimetableError(
            "[event]", "timezone", "must be an IANA zone name like 'Europe/Vienna'"
        )
    # ZoneInfo also opens files that are no zone's name (posix/..., right/..., localtime):
    # browsers refuse those, and the pages show every time in this zone.
    if value not in available_timezones() - NOT_EVENT_ZONES:
        raise TimetableError("[event]", "timezone", f"unknown time zone {value!r}")
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise TimetableError("[event]", "timezone", f"unknown time zone {value!r}") from None


def _parse_lobby(value: object) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TimetableError("[event]", "lobby_minutes", "must be a whole number of minutes")
    if not 0 <= value <= MAX_LOBBY_MINUTES:
        raise TimetableError("[event]", "lobby_minutes", f"must be from 0 to {MAX_LOBBY_MINUTES}")
    return timedelta(minutes=value)


def _parse_day(day: object, index: int, zone: ZoneInfo) -> list[AgendaItem]:
    where = f"days[{index}]"
    if not isinstance(day, Mapping):
        raise TimetableError(where, "days", "each day must be a table with a date and items")
    _refuse_unknown(day, DAY_FIELDS, where, "a day")
    on = _parse_date(day.get("date"), where)
    raw_items = day.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise TimetableError(where, "items", "each day needs at least one [[days.items]] table")
    return [_parse_item(raw, f"{where}.items[{n}]", on, zone) for n, raw in enumerate(raw_items)]


def _refuse_unknown(table: Mapping[str, Any], known: frozenset[str], where: str, what: str) -> None:
    """A misspelt field would otherwise fall back to its default: audio_onyl = true."""
    unknown = sorted(str(key) for key in table if key not in known)
    if unknown:
        raise TimetableError(
            where, unknown[0], f"is not a field of {what}; known: {', '.join(sorted(known))}"
        )


def _parse_date(value: object, where: str) -> date:
    on = _date(value)
    if on is None:
        raise TimetableError(where, "date", f"must be a date like 2021-06-14, not {value!r}")
    if not FIRST_DAY <= on <= LAST_DAY:
        raise TimetableError(
            where, "date", f"must be from {FIRST_DAY.year} to {LAST_DAY.year}, not {on}"
        )
    return on


def _date(value: object) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    return None


def _parse_item(raw: object, where: str, on: date, zone: ZoneInfo) -> AgendaItem:
    if not isinstance(raw, Mapping):
        raise TimetableError(where, "items", "each item must be a table")
    item_id = raw.get("id")
    if not isinstance(item_id, str) or not ITEM_ID.match(item_id):
        raise TimetableError(
            where,
            "id",
            f"must be lower-case letters, digits and '-', up to 63 characters, not {item_id!r}",
        )
    where = f"item {item_id!r}"
    _refuse_unknown(raw, ITEM_FIELDS, where, "an item")
    title = _parse_text(raw, "title", where, MAX_TITLE, required=True)
    kind = _parse_kind(raw.get("kind"), where)
    starts_at = _local_instant(
        on, _parse_clock(raw.get("start"), where, "start"), zone, where, "start"
    )
    ends_at = _local_instant(on, _parse_clock(raw.get("end"), where, "end"), zone, where, "end")
    if ends_at <= starts_at:
        raise TimetableError(where, "end", f"must be after the start ({raw.get('start')})")
    return AgendaItem(
        id=item_id,
        title=title,
        kind=kind,
        starts_at=starts_at,
        ends_at=ends_at,
        description=_parse_text(raw, "description", where, MAX_DESCRIPTION, required=False),
        audio_only=_parse_flag(raw, "audio_only", where, default=False),
        recorded=_parse_flag(raw, "recorded", where, default=True),
        auto_stage=_parse_auto_stage(raw.get("auto_stage"), where),
        moderated=_parse_flag(raw, "moderated", where, default=True),
        day=on,
    )


def _parse_auto_stage(value: object, where: str) -> frozenset[str]:
    if value is None:
        return DEFAULT_AUTO_STAGE
    roles = " and ".join(repr(role) for role in PUBLISHING_ROLES)
    if not isinstance(value, list) or not all(isinstance(role, str) for role in value):
        raise TimetableError(where, "auto_stage", f"must be a list of roles, of {roles}")
    unknown = [role for role in value if role not in PUBLISHING_ROLES]
    if unknown:
        raise TimetableError(
            where, "auto_stage", f"{unknown[0][:40]!r} is not a role that publishes; {roles} are"
        )
    return frozenset(value)


def _parse_text(
    raw: Mapping[str, Any], name: str, where: str, limit: int, *, required: bool
) -> str:
    value = raw.get(name, None if required else "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise TimetableError(where, name, "is required" if value is None else "must be text")
    if len(value) > limit:
        raise TimetableError(where, name, f"is longer than {limit} characters")
    return " ".join(value.split()) if name == "title" else value.strip()


def _parse_kind(value: object, where: str) -> ItemKind:
    if isinstance(value, str) and value in ItemKind.__members__.values():
        return ItemKind(value)
    known = ", ".join(kind.value for kind in ItemKind)
    raise TimetableError(where, "kind", f"unknown kind {value!r}; one of {known}")


def _parse_flag(raw: Mapping[str, Any], name: str, where: str, *, default: bool) -> bool:
    value = raw.get(name, default)
    if not isinstance(value, bool):
        raise TimetableError(where, name, "must be true or false")
    return value


def _parse_clock(value: object, where: str, name: str) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str) and (match := CLOCK_TIME.match(value)):
        return time(int(match.group(1)), int(match.group(2)))
    if value is None:
        raise TimetableError(where, name, 'is required (a local time like "14:00")')
    raise TimetableError(where, name, f'must be a local time like "14:00", not {value!r}')


def _local_instant(on: date, at: time, zone: ZoneInfo, where: str, name: str) -> datetime:
    """The one real instant a wall-clock time names, refusing gaps and repeats of DST."""
    naive = datetime.combine(on, at)
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        round_trip = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
        if round_trip != naive:
            raise TimetableError(
                where, name, f"{on} {at:%H:%M} does not exist in {zone.key} (clocks go forward)"
            )
        raise TimetableError(
            where,
            name,
            f"{on} {at:%H:%M} happens twice in {zone.key} (clocks go back); pick another time",
        )
    # Aware datetimes sharing a tzinfo compare and subtract as wall times, so store UTC.
    return first.astimezone(UTC)


def _check_unique_ids(items: Sequence[AgendaItem]) -> None:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise TimetableError(f"item {item.id!r}", "id", "is used by more than one item")
        seen.add(item.id)


def _check_no_overlaps(items: Sequence[AgendaItem], zone: ZoneInfo) -> None:
    ordered = sorted(items, key=lambda item: item.starts_at)
    for before, after in itertools.pairwise(ordered):
        same_day = (
            before.starts_at.astimezone(zone).date() == after.starts_at.astimezone(zone).date()
        )
        if same_day and after.starts_at < before.ends_at:
            raise TimetableError(
                f"item {after.id!r}",
                "start",
                f"overlaps {before.id!r}, which ends at {before.ends_at.astimezone(zone):%H:%M}",
            )
