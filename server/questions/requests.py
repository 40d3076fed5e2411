"""The question events' payloads, parsed at the edge into frozen value objects.

A raw dict from a socket goes no further than these ``parse`` functions; anything wrong with
it becomes an ``InvalidInput`` naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from server.errors import InvalidInput
from server.payloads import choice, fields, text_field
from server.questions.model import ModerationAction, QueueOrder, question_text

MAX_ROOM = 63
MAX_QUESTION_ID = 64
ORDER_ACTION = "order"  # a room's setting, not a question's: its own request


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


@dataclass(frozen=True)
class OrderRequest:
    """The moderator's choice of how the room's speakers' queue is sorted."""

    room: str
    order: QueueOrder

    @classmethod
    def parse(cls, data: object) -> OrderRequest:
        body = fields(data, {"room", "action", "by"})
        return cls(text_field(body, "room", MAX_ROOM), choice(body, "by", QueueOrder))


def moderation_request(data: object) -> ModerateRequest | OrderRequest:
    """A ``moderate`` payload: the room's order, or an action on one question."""
    if isinstance(data, Mapping) and data.get("action") == ORDER_ACTION:
        return OrderRequest.parse(data)
    return ModerateRequest.parse(data)
