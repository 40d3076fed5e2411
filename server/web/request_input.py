"""Reading requests at the edge: bodies by type, size and syntax, and query parameters,
checked before anything else."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from server.errors import InvalidInput, TooLarge, UnsupportedMediaType

JSON_LIMIT = 8 * 1024


async def read_json(request: web.Request, limit: int = JSON_LIMIT) -> Any:
    if request.content_type != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"the body is larger than {limit} bytes")
    raw = await request.content.read(limit + 1)
    if len(raw) > limit:
        raise TooLarge(f"the body is larger than {limit} bytes")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidInput(f"the body is not valid JSON ({error})") from None


def query_whole(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """A whole-number query parameter within bounds, or the default when it is absent."""
    value = query.get(name)
    if value is None:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}")
    return int(value)
