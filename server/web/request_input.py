"""Reading requests at the edge: bodies by type, size and syntax, and query parameters,
checked before anything else."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from server.errors import InvalidInput, TooLarge, UnsupportedMediaType

JSON_LIMIT = 8 * 1024
JSON_DEPTH = 16  # no body plenary reads nests deeper than a few levels
INT_DIGITS = 18


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
