"""The question events' payloads, parsed at the edge into frozen value objects.

A raw dict from a socket goes no further than these ``parse`` functions; anything wrong with
it becomes an ``InvalidInput`` naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.errors import InvalidInput
from server.payloads import choice, fields, text_field
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
        body = fields(data, {"room", "text", "anonymous"})
        anonymous = body.get("anonymous", False)
        if not isinstance(anonymous, bool):
            raise InvalidInput("'anonymous' must be true or false")
        return cls(text_field(body, "room", MAX_ROOM), question_text(body.get("text")), anonymous)


@dataclass(frozen=True)
class VoteRequest:
    question: str
    up: bool

    @classmethod
    def parse(cls, data: object) -> VoteRequest:
        body = fields(data, {"question", "up"})
        up = body.get("up")
        if not isinstance(up, bool):
            raise InvalidInput("'up' is required and must be true or false")
        return cls(text_field(body, "question", MAX_QUESTION_ID), up)


@dataclass(frozen=True)
class ListRequest:
    room: str

    @classmethod
    def parse(cls, data: object) -> ListRequest:
        return cls(text_field(fields(data, {"room"}), "room", MAX_ROOM))


@dataclass(frozen=True)
class ModerateRequest:
    question: str
    action: ModerationAction
    text: str | None

    @classmethod
    def parse(cls, data: object) -> ModerateRequest:
        body = fields(data, {"question", "action", "text"})
        action = choice(body, "action", ModerationAction)
        if action is ModerationAction.EDIT:
            text: str | None = question_text(body.get("text"))
        elif "text" in body:
            raise InvalidInput(f"'text' only goes with 'edit', not {action.value!r}")
        else:
            text = None
        return cls(text_field(body, "question", MAX_QUESTION_ID), action, text)
