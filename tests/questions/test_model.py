"""The questions' pure rules, without a server or a clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from scheduler.timetable import RoomState
from server.errors import Conflict, Forbidden, InvalidInput
from server.questions.model import (
    MAX_TEXT,
    ModerationAction,
    Question,
    QuestionStatus,
    Viewer,
    arrival_status,
    check_moderation,
    check_pin,
    check_vote,
    delivery,
    is_open,
    moderated,
    new_question_id,
    question_text,
    same_text,
    seen_by,
)

AT = datetime(2021, 6, 14, 12, 0, tzinfo=UTC)
ASKER = "u_ann"
QUESTION = Question(
    id="q_1",
    room="welcome",
    text="Why?",
    status=QuestionStatus.PENDING,
    created_at=AT,
    author="Ann",
    asker=ASKER,
)
MODERATOR = Viewer("u_mod", moderates=True)
OWNER = Viewer(ASKER, moderates=False)
OTHER = Viewer("u_bob", moderates=False)  # another attendee, a speaker, a technician
MODERATORS = Viewer(None, moderates=True)
AUDIENCE = Viewer(None, moderates=False)

# Who sees a question in each status: moderator, its asker, anyone else.
VISIBILITY = {
    QuestionStatus.PENDING: (True, True, False),
    QuestionStatus.APPROVED: (True, True, True),
    QuestionStatus.ANSWERED: (True, True, True),
    QuestionStatus.DISMISSED: (True, True, False),
}


@pytest.mark.parametrize("status", list(QuestionStatus))
def test_who_sees_each_status(status: QuestionStatus) -> None:
    question = replace(QUESTION, status=status)
    seen = tuple(seen_by(question, v, False) is not None for v in (MODERATOR, OWNER, OTHER))
    assert seen == VISIBILITY[status]
    assert (seen_by(question, MODERATORS, False) is not None) is True
    assert (seen_by(question, AUDIENCE, False) is not None) is VISIBILITY[status][2]


def test_a_question_as_seen_names_no_subject_and_says_whose_it_is() -> None:
    question = replace(QUESTION, status=QuestionStatus.APPROVED, votes=3)
    own = seen_by(question, OWNER, voted=True)
    other = seen_by(question, OTHER, voted=False)
    assert own is not None and other is not None
    assert set(own) == {
        "id",
        "room",
        "text",
        "status",
        "votes",
        "voted",
        "pinned",
        "author",
        "mine",
        "created_at",
    }
    assert (own["mine"], own["voted"], other["mine"], other["voted"]) == (True, True, False, False)
    assert ASKER not in repr(own) + repr(other)
    assert own["author"] == other["author"] == "Ann"


def test_anonymous_is_anonymous_to_moderators_too() -> None:
    question = replace(QUESTION, author=None)
    for viewer in (MODERATOR, OWNER, MODERATORS):
        shown = seen_by(question, viewer, False)
        assert shown is not None and shown["author"] is None
        assert ASKER not in repr(shown)


def test_delivery_of_a_new_pending_question() -> None:
    assert delivery(QUESTION, None, MODERATORS, False) is not None
    assert delivery(QUESTION, None, AUDIENCE, False) is None  # not even that it exists
    assert delivery(QUESTION, None, OWNER, False)["mine"] is True  # type: ignore[index]


def test_delivery_when_approved_dismissed_and_restored() -> None:
    approved = replace(QUESTION, status=QuestionStatus.APPROVED)
    dismissed = replace(QUESTION, status=QuestionStatus.DISMISSED)
    assert delivery(approved, QUESTION, AUDIENCE, False)["status"] == "approved"  # type: ignore[index]
    gone = {"id": "q_1", "room": "welcome", "status": "withdrawn"}
    assert delivery(dismissed, approved, AUDIENCE, False) == gone
    assert delivery(dismissed, approved, MODERATORS, False)["status"] == "dismissed"  # type: ignore[index]
    assert delivery(dismissed, approved, OWNER, False)["status"] == "dismissed"  # type: ignore[index]
    # Dismissed while pending: the audience never had it, so hears nothing.
    assert delivery(dismissed, QUESTION, AUDIENCE, False) is None
    assert delivery(approved, dismissed, AUDIENCE, False)["status"] == "approved"  # type: ignore[index]


def test_delivery_of_a_withdrawal_to_those_who_had_it() -> None:
    approved = replace(QUESTION, status=QuestionStatus.APPROVED)
    gone = {"id": "q_1", "room": "welcome", "status": "withdrawn"}
    for viewer in (MODERATORS, AUDIENCE, OWNER):
        assert delivery(approved, approved, viewer, False, withdrawn=True) == gone
    assert delivery(QUESTION, QUESTION, AUDIENCE, False, withdrawn=True) is None
    assert delivery(QUESTION, QUESTION, MODERATORS, False, withdrawn=True) == gone


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "x" * (MAX_TEXT + 1),
        "\u202eevil",  # a direction override
        "\u200b\u200b",  # zero-width spaces only
        "\u200d",  # a joiner alone
        "\u2800\u3164",  # blank-looking letters and symbols
        "a\x00b",
        "!!!",
        None,
        42,
        ["Why?"],
        {"text": "Why?"},
    ],
)
def test_bad_text_is_refused(text: object) -> None:
    with pytest.raises(InvalidInput):
        question_text(text)


def test_text_is_kept_as_written_trimmed() -> None:
    script = "<script>alert(1)</script> & <b>bold</b>?"
    assert question_text(f"  {script}\r\n") == script
    assert question_text("Line one\r\nline two") == "Line one\nline two"
    assert question_text("x" * MAX_TEXT) == "x" * MAX_TEXT
    assert (
        question_text("\u0645\u0631\u062d\u0628\u0627\u200f?")
        == "\u0645\u0631\u062d\u0628\u0627\u200f?"
    )


def test_the_same_text_give_or_take_case_width_and_spacing() -> None:
    assert same_text("Why  now?", " why now? ")
    assert same_text("ＷＨＹ?", "why?")
    assert not same_text("Why now?", "Why not?")


@pytest.mark.parametrize(
    ("state", "minutes_after_end", "expected"),
    [
        (RoomState.SCHEDULED, -60, False),
        (RoomState.LOBBY, -50, True),
        (RoomState.LIVE, -10, True),
        (RoomState.ENDED, 0, True),
        (RoomState.ENDED, 14.9, True),
        (RoomState.ENDED, 15, False),
    ],
)
def test_rooms_take_questions_in_the_lobby_live_and_a_while_after(
    state: RoomState, minutes_after_end: float, expected: bool
) -> None:
    now = AT + timedelta(minutes=minutes_after_end)
    assert is_open(state, AT, now, timedelta(minutes=15)) is expected


def test_unmoderated_rooms_approve_on_arrival() -> None:
    assert arrival_status(True) is QuestionStatus.PENDING
    assert arrival_status(False) is QuestionStatus.APPROVED


@pytest.mark.parametrize(
    "action", [a for a in ModerationAction if a is not ModerationAction.WITHDRAW]
)
def test_only_moderators_moderate(action: ModerationAction) -> None:
    check_moderation(action, QUESTION, MODERATOR)
    for viewer in (OWNER, OTHER):
        with pytest.raises(Forbidden):
            check_moderation(action, QUESTION, viewer)


def test_only_the_asker_withdraws() -> None:
    check_moderation(ModerationAction.WITHDRAW, QUESTION, OWNER)
    for viewer in (MODERATOR, OTHER):
        with pytest.raises(Forbidden):
            check_moderation(ModerationAction.WITHDRAW, QUESTION, viewer)
    forgotten = replace(QUESTION, asker=None)
    with pytest.raises(Forbidden):
        check_moderation(ModerationAction.WITHDRAW, forgotten, OWNER)


def test_moderation_changes() -> None:
    later = AT + timedelta(minutes=5)
    approved = moderated(QUESTION, ModerationAction.APPROVE, None, later)
    assert approved.status is QuestionStatus.APPROVED
    pinned = replace(approved, pinned=True)
    answered = moderated(pinned, ModerationAction.ANSWER, None, later)
    assert (answered.status, answered.pinned, answered.answered_at) == (
        QuestionStatus.ANSWERED,
        False,
        later,
    )
    restored = moderated(answered, ModerationAction.APPROVE, None, later)
    assert (restored.status, restored.answered_at) == (QuestionStatus.APPROVED, None)
    dismissed = moderated(pinned, ModerationAction.DISMISS, None, later)
    assert (dismissed.status, dismissed.pinned) == (QuestionStatus.DISMISSED, False)
    edited = moderated(QUESTION, ModerationAction.EDIT, "Why now?", later)
    again = moderated(edited, ModerationAction.EDIT, "Why, now?", later)
    assert (again.text, again.original_text) == ("Why, now?", "Why?")
    with pytest.raises(InvalidInput):
        moderated(QUESTION, ModerationAction.EDIT, None, later)


def test_only_approved_questions_are_pinned_and_take_votes() -> None:
    approved = replace(QUESTION, status=QuestionStatus.APPROVED)
    answered = replace(QUESTION, status=QuestionStatus.ANSWERED)
    check_pin(approved, True)
    check_vote(approved, True)
    check_vote(answered, False)  # a vote may be taken back
    for status in (QuestionStatus.PENDING, QuestionStatus.DISMISSED, QuestionStatus.ANSWERED):
        with pytest.raises(Conflict):
            check_pin(replace(QUESTION, status=status), True)
        with pytest.raises(Conflict):
            check_vote(replace(QUESTION, status=status), True)
    check_pin(QUESTION, False)  # unpinning is always fine


def test_ids_are_random_and_opaque() -> None:
    ids = {new_question_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(one.startswith("q_") and len(one) == 18 for one in ids)
