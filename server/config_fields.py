"""A config table's fields, each read and checked: the wrong type, a value out of range or text
with control characters stops the load with one ``ConfigError`` that names the file, the table
and the field."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from server.text import has_invisible

Choice = TypeVar("Choice", bound=StrEnum)
MAX_TEXT = 300
LINE_BREAKS = frozenset("\n\r\t")


class ConfigError(Exception):
    def __init__(self, path: Path, where: str, problem: str) -> None:
        super().__init__(f"{path}: {where}: {problem}")


def read_table(
    raw: Mapping[str, Any], name: str, path: Path, required: bool = True
) -> dict[str, Any]:
    value = raw.get(name)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(path, f"[{name}]", "missing" if value is None else "must be a table")
    return value


def refuse_unknown(table: Mapping[str, Any], known: set[str], path: Path, where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(
            path, where, f"unknown field {unknown[0]!r}; known: {', '.join(sorted(known))}"
        )


def read_text(
    table: Mapping[str, Any],
    key: str,
    path: Path,
    where: str,
    *,
    required: bool = False,
    default: str = "",
    limit: int = MAX_TEXT,
    multiline: bool = False,
) -> str:
    value = table.get(key, None if required else default)
    if not isinstance(value, str) or (required and not value.strip()):
        raise ConfigError(path, where, f"field {key!r}: must be non-empty text")
    if len(value) > limit:
        raise ConfigError(path, where, f"field {key!r}: longer than {limit} characters")
    value = value.strip()
    # These go into mail headers, HTTP headers and pages: a line break or a direction
    # override in one is a typo or a trick, and would fail there or mislead.
    allowed = LINE_BREAKS if multiline else frozenset()
    if has_invisible(value, allowed):
        raise ConfigError(
            path, where, f"field {key!r}: contains control or invisible formatting characters"
        )
    return value


def read_choice(
    table: Mapping[str, Any],
    key: str,
    path: Path,
    where: str,
    choices: type[Choice],
    default: Choice,
) -> Choice:
    value = table.get(key, default.value)
    for choice in choices:
        if value == choice.value:
            return choice
    allowed = ", ".join(choice.value for choice in choices)
    raise ConfigError(path, where, f"field {key!r}: must be one of {allowed}, not {value!r}")


def read_whole(
    table: Mapping[str, Any], key: str, path: Path, where: str, default: int, low: int, high: int
) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(
            path, where, f"field {key!r}: must be a whole number from {low} to {high}"
        )
    return value


def read_seconds(
    table: Mapping[str, Any], key: str, path: Path, where: str, default: int, low: int, high: int
) -> float:
    return read_number(table, key, path, where, (default, low, high), "a number of seconds")


def read_number(
    table: Mapping[str, Any],
    key: str,
    path: Path,
    where: str,
    bounds: tuple[float, float, float],
    what: str,
) -> float:
    """``table[key]`` (``bounds``: its default, least and most), ``what`` it is, in words."""
    default, low, high = bounds
    value = table.get(key, default)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not low <= value <= high:  # NaN and inf are outside every range
        raise ConfigError(path, where, f"field {key!r}: must be {what} from {low:g} to {high:g}")
    return float(value)
