"""The question events' payloads, parsed at the edge into frozen value objects.

A raw dict from a socket goes no further than these ``parse`` functions; anything wrong with
it becomes an ``InvalidInput`` naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from server.errors import InvalidInput
from server.questions.model import ModerationAction, question_text

MAX_ROOM = 63
MAX_QUESTION_ID = 64


@dataclass(frozen=True)
class AskRequest:
    room: str
    text: str
    anonymous: bool

    @classmethod
    def parse(cls, data: object) -> AskRequest:
        body = _mapping(data, {"room", "text", "anonymous"})
        anonymous = body.get("anonymous", False)
        if not isinstance(anonymous, bool):
            raise InvalidInput("'anonymous' must be true or false")
        return cls(_name(body, "room", MAX_ROOM), question_text(body.get("text")), anonymous)


@dataclass(frozen=True)
class VoteRequest:
    question: str
    up: bool

    @classmethod
    def parse(cls, data: object) -> VoteRequest:
        body = _mapping(data, {"question", "up"})
        up = body.get("up")
        if not isinstance(up, bool):
            raise InvalidInput("'up' is required and must be true or false")
        return cls(_name(body, "question", MAX_QUESTION_ID), up)


@dataclass(frozen=True)
class ListRequest:
    room: str

    @classmethod
    def parse(cls, data: object) -> ListRequest:
        return cls(_name(_mapping(data, {"room"}), "room", MAX_ROOM))


@dataclass(frozen=True)
class ModerateRequest:
    question: str
    action: ModerationAction
    text: str | None

    @classmethod
    def parse(cls, data: object) -> ModerateRequest:
        body = _mapping(data, {"question", "action", "text"})
        action = _action(body.get("action"))
        if action is ModerationAction.EDIT:
            text: str | None = question_text(body.get("text"))
        elif "text" in body:
            raise InvalidInput(f"'text' only goes with 'edit', not {action.value!r}")
        else:
            text = None
        return cls(_name(body, "question", MAX_QUESTION_ID), action, text)


def _mapping(data: object, known: set[str]) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise InvalidInput("the payload must be a JSON object")
    unknown = sorted(str(key)[:40] for key in set(data) - known)
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r}")
    return data


def _name(body: Mapping[str, Any], field: str, limit: int) -> str:
    """A room's or a question's id: short text; whether it exists is the service's to say."""
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field!r} is required and must be text")
    if len(value) > limit:
        raise InvalidInput(f"{field!r} is longer than {limit} characters")
    return value.strip()


def _action(value: object) -> ModerationAction:
    for action in ModerationAction:
        if value == action.value:
            return action
    allowed = ", ".join(action.value for action in ModerationAction)
    shown = repr(value) if isinstance(value, str) and len(value) <= 40 else "that value"
    raise InvalidInput(f"'action' must be one of {allowed}, not {shown}")
