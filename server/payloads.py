"""Reading the fields of a Socket.IO payload: a JSON object with known fields, text of a
bounded length, one of a few words. Each refusal names the field, and quotes the client's own
words back only when they are short.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TypeVar

from server.errors import InvalidInput

MAX_SHOWN = 40  # of a client's own words quoted back in a refusal

Choice = TypeVar("Choice", bound=StrEnum)


def fields(data: object, known: set[str]) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise InvalidInput("the payload must be a JSON object")
    if not data.keys() <= known:
        unknown = sorted(set(data) - known)
        raise InvalidInput(f"unknown field {shown(unknown[0])}")
    return data


def text_field(body: Mapping[str, Any], name: str, limit: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name!r} is required and must be text")
    if len(value) > limit:
        raise InvalidInput(f"{name!r} is longer than {limit} characters")
    return value.strip()


def choice(body: Mapping[str, Any], name: str, choices: type[Choice]) -> Choice:
    value = body.get(name)
    for choice in choices:
        if value == choice.value:
            return choice
    allowed = ", ".join(choice.value for choice in choices)
    raise InvalidInput(f"{name!r} must be one of {allowed}, not {shown(value)}")


def shown(value: object) -> str:
    """What the client sent, quoted back only when short: a refusal is no echo chamber."""
    if isinstance(value, str):
        return repr(value) if len(value) <= MAX_SHOWN else f"a text of {len(value)} characters"
    if value is None or isinstance(value, bool | int | float):
        shown = repr(value)
        return shown if len(shown) <= MAX_SHOWN else "a very long number"
    return f"a {type(value).__name__}"
