"""The config file: one event, checked whole before anything starts.

``load_config(path)`` returns a frozen ``Config`` or raises ``ConfigError`` with one message that
names the file, the place in it and the field, so ``plenary`` can print it and exit.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from scheduler.timetable import Timetable, TimetableError, parse_timetable
from server.errors import InvalidInput
from server.tokens import parse_ttl

SECTIONS = {"event", "auth", "media", "days"}
EVENT_KEYS = {"name", "theme", "venue", "timezone", "lobby_minutes"}
AUTH_KEYS = {"issuer", "staff_ttl"}
MEDIA_KEYS = {"ice_addresses"}
MAX_TEXT = 300


class ConfigError(Exception):
    def __init__(self, path: Path, where: str, problem: str) -> None:
        super().__init__(f"{path}: {where}: {problem}")


@dataclass(frozen=True)
class EventInfo:
    name: str
    theme: str
    venue: str


@dataclass(frozen=True)
class Config:
    path: Path
    event: EventInfo
    timetable: Timetable
    issuer: str
    staff_ttl: timedelta
    ice_addresses: tuple[str, ...]


def load_config(path: Path) -> Config:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, "file", "not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(path, "file", f"cannot be read ({error})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path, "TOML", str(error)) from None
    return parse_config(raw, path)


def parse_config(raw: Mapping[str, Any], path: Path) -> Config:
    _refuse_unknown(raw, SECTIONS, path, "top level")
    event = _table(raw, "event", path)
    auth = _table(raw, "auth", path, required=False)
    media = _table(raw, "media", path, required=False)
    _refuse_unknown(event, EVENT_KEYS, path, "[event]")
    _refuse_unknown(auth, AUTH_KEYS, path, "[auth]")
    _refuse_unknown(media, MEDIA_KEYS, path, "[media]")
    try:
        timetable = parse_timetable(event, raw.get("days", []))
    except TimetableError as error:
        raise ConfigError(
            path, error.where, f"field {error.field_name!r}: {error.problem}"
        ) from None
    return Config(
        path=path,
        event=EventInfo(
            name=_text(event, "name", path, "[event]", required=True),
            theme=_text(event, "theme", path, "[event]"),
            venue=_text(event, "venue", path, "[event]"),
        ),
        timetable=timetable,
        issuer=_text(auth, "issuer", path, "[auth]", default="plenary"),
        staff_ttl=_ttl(auth.get("staff_ttl", "12h"), path),
        ice_addresses=_addresses(media.get("ice_addresses", []), path),
    )


def _table(raw: Mapping[str, Any], name: str, path: Path, required: bool = True) -> dict[str, Any]:
    value = raw.get(name)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(path, f"[{name}]", "missing" if value is None else "must be a table")
    return value


def _refuse_unknown(table: Mapping[str, Any], known: set[str], path: Path, where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(
            path, where, f"unknown field {unknown[0]!r}; known: {', '.join(sorted(known))}"
        )


def _text(
    table: Mapping[str, Any],
    key: str,
    path: Path,
    where: str,
    *,
    required: bool = False,
    default: str = "",
) -> str:
    value = table.get(key, None if required else default)
    if not isinstance(value, str) or (required and not value.strip()):
        raise ConfigError(path, where, f"field {key!r}: must be non-empty text")
    if len(value) > MAX_TEXT:
        raise ConfigError(path, where, f"field {key!r}: longer than {MAX_TEXT} characters")
    return value.strip()


def _ttl(value: object, path: Path) -> timedelta:
    if not isinstance(value, str):
        raise ConfigError(path, "[auth]", "field 'staff_ttl': must be text like \"12h\"")
    try:
        return parse_ttl(value)
    except InvalidInput as error:
        raise ConfigError(path, "[auth]", f"field 'staff_ttl': {error.message}") from None


def _addresses(value: object, path: Path) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ConfigError(path, "[media]", "field 'ice_addresses': must be a list of addresses")
    for address in value:
        try:
            ip_address(address)
        except (TypeError, ValueError):
            raise ConfigError(
                path, "[media]", f"field 'ice_addresses': {address!r} is not an IP address"
            ) from None
    return tuple(value)
