"""The question events' payloads, parsed at the edge."""

from __future__ import annotations

from typing import Any

import pytest

from server.errors import InvalidInput
from server.questions.model import ModerationAction
from server.questions.requests import AskRequest, ListRequest, ModerateRequest, VoteRequest


def test_good_payloads() -> None:
    assert AskRequest.parse({"room": "welcome", "text": " Why? "}) == AskRequest(
        "welcome", "Why?", False
    )
    assert AskRequest.parse({"room": "welcome", "text": "Why?", "anonymous": True}).anonymous
    assert VoteRequest.parse({"question": "q_1", "up": False}) == VoteRequest("q_1", False)
    assert ListRequest.parse({"room": "welcome"}) == ListRequest("welcome")
    assert ModerateRequest.parse({"question": "q_1", "action": "edit", "text": "Why?"}) == (
        ModerateRequest("q_1", ModerationAction.EDIT, "Why?")
    )
    assert ModerateRequest.parse({"question": "q_1", "action": "pin"}).text is None


@pytest.mark.parametrize(
    ("parse", "payload"),
    [
        (AskRequest.parse, None),
        (AskRequest.parse, "Why?"),
        (AskRequest.parse, ["welcome", "Why?"]),
        (AskRequest.parse, {"room": "welcome"}),
        (AskRequest.parse, {"room": "welcome", "text": 5}),
        (AskRequest.parse, {"room": "welcome", "text": "Why?", "anonymous": "yes"}),
        (AskRequest.parse, {"room": "welcome", "text": "Why?", "anonymous": 1}),
        (AskRequest.parse, {"room": "welcome", "text": "Why?", "author": "Eve"}),
        (AskRequest.parse, {"room": 7, "text": "Why?"}),
        (AskRequest.parse, {"room": "x" * 64, "text": "Why?"}),
        (AskRequest.parse, {"room": {"$ne": 1}, "text": "Why?"}),
        (VoteRequest.parse, {"question": "q_1"}),
        (VoteRequest.parse, {"question": "q_1", "up": 1}),
        (VoteRequest.parse, {"question": "q_1", "up": "true"}),
        (VoteRequest.parse, {"question": ["q_1"], "up": True}),
        (VoteRequest.parse, {"question": "q" * 65, "up": True}),
        (VoteRequest.parse, {"question": "q_1", "up": True, "votes": 1000}),
        (ListRequest.parse, {}),
        (ListRequest.parse, {"room": None}),
        (ModerateRequest.parse, {"question": "q_1"}),
        (ModerateRequest.parse, {"question": "q_1", "action": "delete"}),
        (ModerateRequest.parse, {"question": "q_1", "action": "APPROVE"}),
        (ModerateRequest.parse, {"question": "q_1", "action": "edit"}),
        (ModerateRequest.parse, {"question": "q_1", "action": "edit", "text": "  "}),
        (ModerateRequest.parse, {"question": "q_1", "action": "approve", "text": "Why?"}),
        (ModerateRequest.parse, {"question": "q_1", "action": "approve", "status": "approved"}),
        (ModerateRequest.parse, {"question": "q_1", "action": "approve", "votes": 99}),
    ],
)
def test_bad_payloads_are_refused(parse: Any, payload: object) -> None:
    with pytest.raises(InvalidInput):
        parse(payload)
