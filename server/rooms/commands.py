"""Client-to-server Socket.IO payloads, parsed at the edge into frozen value objects.

A raw dict from a socket never travels past these ``parse`` functions; everything wrong with
it becomes an ``InvalidInput`` naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from scheduler.timetable import MAX_OVERRIDE_MINUTES, OverrideAction
from server.errors import InvalidInput
from server.letters import has_letter_or_digit
from server.payloads import choice, fields, shown, text_field
from server.text import has_invisible

MAX_NOTICE = 500
MAX_NOTICE_ID = 40
MAX_ROOM_ID = 63
DEFAULT_EXTEND_MINUTES = 5
MAX_SOURCE_ID = 64
# The actions that take minutes: extend (5 when not given) and delay (always given).
WITH_MINUTES = (OverrideAction.EXTEND, OverrideAction.DELAY)


class StageAction(StrEnum):
    STAGE = "stage"
    BACKSTAGE = "backstage"


class NoticeLevel(StrEnum):
    INFO = "info"
    WARNING = "warning"
    URGENT = "urgent"


class NoticeAction(StrEnum):
    CLEAR = "clear"


@dataclass(frozen=True)
class ControlRequest:
    room: str
    action: OverrideAction
    minutes: int

    @classmethod
    def parse(cls, data: object) -> ControlRequest | StageRequest:
        """A change of the running order, or (``stage``, ``backstage``) of the stage."""
        body = fields(data, {"room", "action", "minutes", "source"})
        if body.get("action") in StageAction.__members__.values():
            return StageRequest.parse(body)
        if "source" in body:
            raise InvalidInput("'source' only goes with 'stage' and 'backstage'")
        room = text_field(body, "room", MAX_ROOM_ID)
        if body.get("action") not in OverrideAction.__members__.values():
            allowed = ", ".join([*OverrideAction, *StageAction])
            raise InvalidInput(
                f"'action' must be one of {allowed}, not {shown(body.get('action'))}"
            )
        action = OverrideAction(body["action"])
        return cls(room, action, _minutes(body, action))


def _minutes(body: Mapping[str, Any], action: OverrideAction) -> int:
    if action not in WITH_MINUTES:
        if "minutes" in body:
            raise InvalidInput(
                f"'minutes' only goes with 'extend' and 'delay', not {action.value!r}"
            )
        return 0
    if "minutes" not in body and action is OverrideAction.EXTEND:
        return DEFAULT_EXTEND_MINUTES
    minutes = body.get("minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise InvalidInput(f"'minutes' must be a whole number of minutes to {action.value}")
    if not 1 <= minutes <= MAX_OVERRIDE_MINUTES:
        raise InvalidInput(f"'minutes' must be from 1 to {MAX_OVERRIDE_MINUTES}")
    return minutes


@dataclass(frozen=True)
class StageRequest:
    room: str
    action: StageAction
    source: str

    @property
    def on_stage(self) -> bool:
        return self.action is StageAction.STAGE

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> StageRequest:
        if "minutes" in body:
            raise InvalidInput(
                f"'minutes' only goes with 'extend' and 'delay', not {body['action']!r}"
            )
        return cls(
            text_field(body, "room", MAX_ROOM_ID),
            choice(body, "action", StageAction),
            text_field(body, "source", MAX_SOURCE_ID),
        )


@dataclass(frozen=True)
class NoticeRequest:
    """A notice to post: to one room, or (``room`` None) to every room."""

    text: str
    level: NoticeLevel
    room: str | None = None

    @classmethod
    def parse(cls, data: object) -> NoticeRequest | NoticeClear:
        if isinstance(data, Mapping) and "action" in data:
            return NoticeClear.parse(data)
        body = fields(data, {"text", "level", "room"})
        # Shown on every page, to everyone: held to the rules for names.
        text = text_field(body, "text", MAX_NOTICE)
        if has_invisible(text):
            raise InvalidInput("'text' contains control or invisible formatting characters")
        if not has_letter_or_digit(text):
            raise InvalidInput("'text' must have a letter or digit, not only blanks or symbols")
        level = choice(body, "level", NoticeLevel) if "level" in body else NoticeLevel.INFO
        room = None if body.get("room") is None else text_field(body, "room", MAX_ROOM_ID)
        return cls(text, level, room)


@dataclass(frozen=True)
class NoticeClear:
    """Take a notice down."""

    id: str

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> NoticeClear:
        body = fields(data, {"id", "action"})
        choice(body, "action", NoticeAction)
        return cls(text_field(body, "id", MAX_NOTICE_ID))
