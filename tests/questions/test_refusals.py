"""Every bad question event gets an ack with an error code, and nothing changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.auth.permissions import Role
from server.web import appkeys
from server.web.app import create_app
from tests.helpers import Listener, settings
from tests.questions.harness import Hall, ServerFactory, ask, clock_at, moderate, next_question


def nested(depth: int) -> Any:
    value: Any = "Why?"
    for _ in range(depth):
        value = {"text": value}
    return value


@pytest.fixture
async def hall(tmp_path: Path, aiohttp_server: ServerFactory) -> AsyncIterator[Hall]:
    app = create_app(settings(tmp_path, clock_at(10)))  # welcome live, keynote scheduled
    hall = Hall(await aiohttp_server(app), app)
    yield hall
    await hall.close()


async def room_questions(client: Listener, room: str = "welcome") -> list[dict[str, Any]]:
    answer = await client.call("questions", {"room": room})
    assert answer["ok"], answer
    return list(answer["questions"])


BAD_ASKS: list[tuple[Any, str]] = [
    (None, "invalid_input"),
    ("Why?", "invalid_input"),
    (["welcome", "Why?"], "invalid_input"),
    (42, "invalid_input"),
    ({}, "invalid_input"),
    ({"room": "welcome"}, "invalid_input"),
    ({"room": "welcome", "text": ""}, "invalid_input"),
    ({"room": "welcome", "text": "   \n\t  "}, "invalid_input"),
    ({"room": "welcome", "text": "x" * 501}, "invalid_input"),
    ({"room": "welcome", "text": "x" * 60_000}, "invalid_input"),
    ({"room": "welcome", "text": 12}, "invalid_input"),
    ({"room": "welcome", "text": ["Why?"]}, "invalid_input"),
    ({"room": "welcome", "text": nested(12)}, "invalid_input"),
    ({"room": "welcome", "text": "\u202egnp.exe"}, "invalid_input"),  # a direction override
    ({"room": "welcome", "text": "\u200b\u200b\u200b"}, "invalid_input"),  # zero-width only
    ({"room": "welcome", "text": "\u200d"}, "invalid_input"),
    ({"room": "welcome", "text": "why\x00not"}, "invalid_input"),
    ({"room": "welcome", "text": "Why?", "anonymous": "yes"}, "invalid_input"),
    ({"room": "welcome", "text": "Why?", "status": "approved"}, "invalid_input"),
    ({"room": ["welcome"], "text": "Why?"}, "invalid_input"),
    ({"room": "nowhere", "text": "Why?"}, "unknown_room"),
    ({"room": "break-mon", "text": "Why?"}, "unknown_room"),
    ({"room": "keynote", "text": "Why?"}, "room_closed"),  # scheduled, not yet a lobby
]


async def test_bad_asks_are_refused_and_change_nothing(hall: Hall) -> None:
    moderator = await hall.join(Role.MODERATOR)
    attendee = await hall.join(Role.ATTENDEE)
    for payload, code in BAD_ASKS:
        answer = await attendee.call("ask", payload)
        assert answer["ok"] is False, payload
        assert answer["error"] == code, (str(payload)[:80], answer)
        assert answer["message"]
    assert await room_questions(moderator) == []
    # Still serving, and the first question the moderator hears of is this one.
    good = await ask(attendee, "A good one after all that?")
    assert (await next_question(moderator, lambda q: True))["id"] == good["id"]


async def test_a_deeply_nested_or_huge_payload_is_refused(hall: Hall) -> None:
    attendee = await hall.join(Role.ATTENDEE)
    for event in ("ask", "vote", "questions", "moderate"):
        answer = await attendee.call(event, nested(100))
        assert answer["error"] == "invalid_input", (event, answer)
    big = {"room": "welcome", "text": "y" * 40_000, "pad": ["z" * 1000] * 20}
    assert (await attendee.call("ask", big))["error"] == "invalid_input"
    assert (await attendee.call("questions", {"room": "welcome"}))["ok"]


async def test_bad_votes_and_moderations_are_refused_and_change_nothing(hall: Hall) -> None:
    moderator = await hall.join(Role.MODERATOR)
    asker = await hall.join(Role.ATTENDEE)
    attendee = await hall.join(Role.ATTENDEE)
    speaker = await hall.join(Role.SPEAKER)
    technician = await hall.join(Role.TECHNICIAN)
    pending = await ask(asker, "Still pending?")
    approved = await ask(asker, "Approved?")
    await moderate(moderator, approved["id"], "approve")
    before = await room_questions(moderator)
    refusals: list[tuple[Listener, str, Any, str]] = [
        (attendee, "vote", {"question": approved["id"]}, "invalid_input"),
        (attendee, "vote", {"question": approved["id"], "up": "yes"}, "invalid_input"),
        (attendee, "vote", {"question": approved["id"], "up": 1}, "invalid_input"),
        (attendee, "vote", {"question": "q_nothing", "up": True}, "not_found"),
        (attendee, "vote", {"question": pending["id"], "up": True}, "not_found"),
        (attendee, "vote", [approved["id"], True], "invalid_input"),
        (attendee, "questions", {"room": "nowhere"}, "unknown_room"),
        (attendee, "questions", {"room": 5}, "invalid_input"),
        (attendee, "moderate", {"question": approved["id"], "action": "dismiss"}, "forbidden"),
        (asker, "moderate", {"question": pending["id"], "action": "approve"}, "forbidden"),
        (speaker, "moderate", {"question": approved["id"], "action": "pin"}, "forbidden"),
        (technician, "moderate", {"question": approved["id"], "action": "answer"}, "forbidden"),
        (attendee, "moderate", {"question": pending["id"], "action": "approve"}, "not_found"),
        (moderator, "moderate", {"question": "q_nothing", "action": "approve"}, "not_found"),
        (moderator, "moderate", {"question": approved["id"], "action": "nuke"}, "invalid_input"),
        (moderator, "moderate", {"question": approved["id"], "action": "edit"}, "invalid_input"),
        (
            moderator,
            "moderate",
            {"question": approved["id"], "action": "edit", "text": "\u202eevil"},
            "invalid_input",
        ),
        (
            moderator,
            "moderate",
            {"question": approved["id"], "action": "approve", "votes": 1000},
            "invalid_input",
        ),
        (moderator, "moderate", {"question": pending["id"], "action": "pin"}, "conflict"),
        (moderator, "moderate", {"question": approved["id"], "action": "withdraw"}, "forbidden"),
        (technician, "vote", {"question": approved["id"], "up": True}, "forbidden"),
    ]
    for client, event, payload, code in refusals:
        answer = await client.call(event, payload)
        assert answer["ok"] is False, (event, payload)
        assert answer["error"] == code, (event, payload, answer)
    assert await room_questions(moderator) == before
    assert not [e for e in await hall.app[appkeys.ROOMS].audit_log() if "pin" in e.action]


async def test_a_room_the_token_does_not_cover(hall: Hall) -> None:
    moderator = await hall.join(Role.MODERATOR)
    elsewhere = await hall.join(Role.ATTENDEE, rooms=("panel-1",))
    other_moderator = await hall.join(Role.MODERATOR, rooms=("panel-1",))
    asked = await ask(await hall.join(Role.ATTENDEE), "Only for welcome?")
    await moderate(moderator, asked["id"], "approve")
    for client, event, payload in [
        (elsewhere, "ask", {"room": "welcome", "text": "May I?"}),
        (elsewhere, "questions", {"room": "welcome"}),
        (elsewhere, "vote", {"question": asked["id"], "up": True}),
        (other_moderator, "questions", {"room": "welcome"}),
    ]:
        answer = await client.call(event, payload)
        assert answer["error"] == "forbidden", (event, answer)
    answer = await other_moderator.call("moderate", {"question": asked["id"], "action": "dismiss"})
    assert answer["error"] in ("forbidden", "not_found")
    assert (await room_questions(moderator))[0]["status"] == "approved"
    assert elsewhere.received("question") == other_moderator.received("question") == []


async def test_a_burst_from_one_attendee_is_cut_and_others_still_ask(hall: Hall) -> None:
    moderator = await hall.join(Role.MODERATOR)
    flooder = await hall.join(Role.ATTENDEE)
    answers = [
        await flooder.call("ask", {"room": "welcome", "text": f"Question number {n}?"})
        for n in range(8)
    ]
    assert [answer["ok"] for answer in answers] == [True] * 5 + [False] * 3
    assert {answer["error"] for answer in answers[5:]} == {"too_many_requests"}
    assert len(await room_questions(moderator)) == 5
    await ask(await hall.join(Role.ATTENDEE), "Someone else may?")


async def test_the_same_text_twice_in_a_row_is_refused(hall: Hall) -> None:
    moderator = await hall.join(Role.MODERATOR)
    attendee = await hall.join(Role.ATTENDEE)
    await ask(attendee, "Why now?")
    for again in ("Why now?", "  why  NOW? "):
        answer = await attendee.call("ask", {"room": "welcome", "text": again})
        assert answer["error"] == "duplicate", answer
    assert len(await room_questions(moderator)) == 1
    await ask(await hall.join(Role.ATTENDEE), "Why now?")  # someone else's is theirs
    await ask(attendee, "And why here?")
    assert len(await room_questions(moderator)) == 3


async def test_markup_and_script_are_stored_as_written(hall: Hall) -> None:
    moderator = await hall.join(Role.MODERATOR)
    attendee = await hall.join(Role.ATTENDEE)
    text = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"?'
    asked = await ask(attendee, text)
    assert asked["text"] == text
    assert (await room_questions(moderator))[0]["text"] == text
    assert (await next_question(moderator, lambda q: True))["text"] == text


@pytest.mark.parametrize(
    ("minutes", "open_rooms", "closed_rooms"),
    [
        (10, {"welcome"}, {"keynote", "panel-1"}),  # 14:10
        (35, {"welcome", "keynote"}, {"panel-1"}),  # 14:35: keynote is a lobby
        (59, {"welcome", "keynote"}, {"panel-1"}),  # 14:59: welcome ended 14 minutes ago
        (61, {"keynote"}, {"welcome", "panel-1"}),  # 15:01: 16 minutes ago
    ],
)
async def test_rooms_take_questions_in_the_lobby_live_and_a_while_after(
    tmp_path: Path,
    aiohttp_server: ServerFactory,
    minutes: float,
    open_rooms: set[str],
    closed_rooms: set[str],
) -> None:
    app = create_app(settings(tmp_path, clock_at(minutes)))
    hall = Hall(await aiohttp_server(app), app)
    try:
        attendee = await hall.join(Role.ATTENDEE)
        for room in open_rooms:
            await ask(attendee, f"Open in {room}?", room=room)
        for room in closed_rooms:
            answer = await attendee.call("ask", {"room": room, "text": "Closed?"})
            assert answer["error"] == "room_closed", (room, answer)
    finally:
        await hall.close()
