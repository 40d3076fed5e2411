"""Reading requests at the edge: bodies by type, size and syntax, and query parameters,
checked before anything else."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from aiohttp import web

from server.errors import InvalidInput, TooLarge, UnsupportedMediaType

JSON_LIMIT = 8 * 1024
JSON_DEPTH = 16  # no body plenary reads nests deeper than a few levels
INT_DIGITS = 18
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
FIRST_DATE, LAST_DATE = date(1970, 1, 1), date(9998, 12, 31)


async def read_json(request: web.Request, limit: int = JSON_LIMIT) -> Any:
    if request.content_type != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"the body is larger than {limit} bytes")
    raw = await request.content.read(limit + 1)
    if len(raw) > limit:
        raise TooLarge(f"the body is larger than {limit} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput(f"the body is not valid JSON ({error})") from None
    if _depth(text) > JSON_DEPTH:  # before parsing: Python's parser recurses
        raise InvalidInput(f"the body nests deeper than {JSON_DEPTH} levels")
    try:
        value = json.loads(text, parse_int=_short_int)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"the body is not valid JSON ({error})") from None
    except ValueError as error:  # from _short_int
        raise InvalidInput(f"the body is not acceptable JSON: {error}") from None
    try:  # a "\ud800" escape gives a string that no text encoding, nor the store, can take
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput("the body has a lone surrogate (half a UTF-16 pair) in it") from None
    return value


def _short_int(digits: str) -> int:
    """A JSON integer, if it is one a person could mean: not thousands of digits."""
    if len(digits.lstrip("-")) > INT_DIGITS:
        raise ValueError(f"a number has more than {INT_DIGITS} digits")
    return int(digits)


def _depth(text: str) -> int:
    """How deep arrays and objects nest in valid JSON ``text`` (strings skipped)."""
    deepest = depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def query_whole(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """A whole-number query parameter within bounds, or the default when it is absent."""
    value = query.get(name)
    if value is None:
        return default
    # isdigit() alone takes "²" and "①", which int() refuses.
    if (
        not (value.isascii() and value.isdigit() and len(value) <= 9)
        or not low <= int(value) <= high
    ):
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}")
    return int(value)


def query_date(query: Mapping[str, str], name: str) -> date | None:
    """A calendar date query parameter, ``2021-06-14``, or None when it is absent. Years far
    off (whose midnight no zone can move to UTC) are refused with the malformed ones."""
    value = query.get(name)
    if value is None:
        return None
    problem = f"{name} must be a date from {FIRST_DATE} to {LAST_DATE}, written as YYYY-MM-DD"
    if not ISO_DATE.fullmatch(value):
        raise InvalidInput(problem)
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(problem) from None
    if not FIRST_DATE <= day <= LAST_DATE:
        raise InvalidInput(problem)
    return day
