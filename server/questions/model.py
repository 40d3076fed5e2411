"""Audience questions: the question, its statuses, and the pure rules about it.

Who may see a question and as what (``seen_by``), what each change delivers to each kind of
receiver (``delivery``), who may do what to it (``check_moderation``, ``moderated``), who
chooses the speakers' queue's order (``check_ordering``), when a room takes questions
(``is_open``) and what a question's text may hold (``question_text``).
Nothing here does I/O or reads a clock.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from scheduler.timetable import RoomState
from server.errors import Conflict, Forbidden, InvalidInput
from server.letters import has_letter_or_digit
from server.text import has_invisible

MAX_TEXT = 500
# A question may run over lines; every other control or invisible character is refused.
LINE_BREAK = frozenset("\n")
WITHDRAWN = "withdrawn"  # on the wire only: the question is gone for that receiver


class QuestionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    ANSWERED = "answered"
    DISMISSED = "dismissed"


# What everyone with access to the room sees: the queue, and what was answered from it.
PUBLIC = frozenset({QuestionStatus.APPROVED, QuestionStatus.ANSWERED})


class ModerationAction(StrEnum):
    APPROVE = "approve"
    DISMISS = "dismiss"
    ANSWER = "answer"
    PIN = "pin"
    UNPIN = "unpin"
    EDIT = "edit"
    WITHDRAW = "withdraw"  # by the asker


class QueueOrder(StrEnum):
    """How the speakers' queue is sorted after the pinned question: the moderator's choice."""

    VOTES = "votes"  # most votes first
    TIME = "time"  # oldest first


DEFAULT_ORDER = QueueOrder.VOTES  # until a moderator chooses


class RoomClosed(Conflict):
    code = "room_closed"


class DuplicateQuestion(Conflict):
    code = "duplicate"


@dataclass(frozen=True)
class Question:
    id: str
    room: str
    text: str
    status: QuestionStatus
    created_at: datetime
    votes: int = 0
    pinned: bool = False
    author: str | None = None  # the asker's name; None when anonymous
    asker: str | None = None  # the asker's token subject: never sent to anyone
    original_text: str | None = None  # as asked, once a moderator has edited it
    answered_at: datetime | None = None

    @property
    def is_public(self) -> bool:
        return self.status in PUBLIC


@dataclass(frozen=True)
class QuestionCount:
    """How many of a room's questions have one status, and the votes they hold (for
    ``/metrics``)."""

    room: str
    status: QuestionStatus
    questions: int
    votes: int


@dataclass(frozen=True)
class Viewer:
    """Who a question is shown to: a token subject (None for a group of receivers, where
    nobody's own question is meant), and whether they moderate the question's room."""

    sub: str | None
    moderates: bool


def new_question_id() -> str:
    """Opaque and unguessable: nothing about the order or number of questions shows."""
    return "q_" + secrets.token_urlsafe(12)


def question_text(value: object) -> str:
    """A question's wording as a person wrote it, or ``InvalidInput``. Markup is kept as
    written: pages show it as text."""
    if not isinstance(value, str):
        raise InvalidInput("'text' is required and must be text")
    text = value.replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInput("'text' must not be empty")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"'text' is longer than {MAX_TEXT} characters")
    if has_invisible(text, LINE_BREAK):
        raise InvalidInput("'text' contains control or invisible formatting characters")
    if not has_letter_or_digit(text):
        raise InvalidInput("'text' must have a letter or digit, not only blanks or symbols")
    return text


def same_text(first: str, second: str) -> bool:
    """Whether two wordings are the same question, give or take case, width and spacing."""
    return _folded(first) == _folded(second)


def _folded(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def is_open(state: RoomState, ends_at: datetime, now: datetime, after: timedelta) -> bool:
    """Questions are taken in the lobby, live, and for ``after`` once the room has ended."""
    if state in (RoomState.LOBBY, RoomState.LIVE):
        return True
    return state is RoomState.ENDED and now < ends_at + after


def arrival_status(moderated: bool) -> QuestionStatus:
    return QuestionStatus.PENDING if moderated else QuestionStatus.APPROVED


def is_visible(question: Question, viewer: Viewer) -> bool:
    return (
        viewer.moderates
        or question.is_public
        or (viewer.sub is not None and viewer.sub == question.asker)
    )


def seen_by(question: Question, viewer: Viewer, voted: bool) -> dict[str, Any] | None:
    """The question as ``viewer`` may see it, or None. The asker's subject never leaves."""
    if not is_visible(question, viewer):
        return None
    return {
        "id": question.id,
        "room": question.room,
        "text": question.text,
        "status": question.status.value,
        "votes": question.votes,
        "voted": voted,
        "pinned": question.pinned,
        "author": question.author,
        "mine": viewer.sub is not None and viewer.sub == question.asker,
        "created_at": question.created_at.isoformat(),
    }


def gone(question_id: str, room: str) -> dict[str, Any]:
    return {"id": question_id, "room": room, "status": WITHDRAWN}


def delivery(
    question: Question,
    before: Question | None,
    viewer: Viewer,
    voted: bool,
    withdrawn: bool = False,
) -> dict[str, Any] | None:
    """What a change of ``question`` (from ``before``; None: it is new) sends ``viewer``: the
    question as they see it, ``gone`` when they saw it before and no longer may, or nothing."""
    was_visible = before is not None and is_visible(before, viewer)
    if withdrawn:
        return gone(question.id, question.room) if was_visible else None
    shown = seen_by(question, viewer, voted)
    if shown is None and was_visible:
        return gone(question.id, question.room)
    return shown


def check_moderation(action: ModerationAction, question: Question, actor: Viewer) -> None:
    """Whether ``actor`` may take ``action`` on ``question``: ``Forbidden`` if not."""
    if action is ModerationAction.WITHDRAW:
        if actor.sub is None or actor.sub != question.asker:
            raise Forbidden("only the person who asked a question may withdraw it")
    elif not actor.moderates:
        raise Forbidden("only this room's moderators may do that")


def check_ordering(actor: Viewer) -> None:
    """Only the room's moderators choose how its speakers' queue is sorted."""
    if not actor.moderates:
        raise Forbidden("only this room's moderators may choose the queue's order")


def moderated(
    question: Question, action: ModerationAction, text: str | None, at: datetime
) -> Question:
    """``question`` after a moderator's ``action`` (not pinning: see ``pinned``)."""
    match action:
        case ModerationAction.APPROVE:  # also restores a dismissed or answered question
            return replace(question, status=QuestionStatus.APPROVED, answered_at=None)
        case ModerationAction.DISMISS:
            return replace(question, status=QuestionStatus.DISMISSED, pinned=False)
        case ModerationAction.ANSWER:
            return replace(question, status=QuestionStatus.ANSWERED, pinned=False, answered_at=at)
        case ModerationAction.EDIT:
            if text is None:
                raise InvalidInput("'edit' needs the new 'text'")
            original = question.original_text or question.text
            return replace(question, text=text, original_text=original)
    raise InvalidInput(f"{action.value!r} is not a change of wording or status")


def check_pin(question: Question, pin: bool) -> None:
    """A pinned question is the one being answered now, shown on the hall's screen: it must
    be one the audience may see."""
    if pin and question.status is not QuestionStatus.APPROVED:
        raise Conflict(f"only an approved question can be pinned; this one is {question.status}")


def check_vote(question: Question, up: bool) -> None:
    """Votes go to the queue; a vote on an answered question may still be taken back."""
    allowed = {QuestionStatus.APPROVED} if up else PUBLIC
    if question.status not in allowed:
        raise Conflict(f"a {question.status.value} question takes no votes")
