"""Questions over Socket.IO: real python-socketio clients against the real app on loopback,
with a real store (SQLite, and PostgreSQL where it says so)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from server.auth.permissions import Role
from server.questions.service import COUNT_SECONDS
from server.web import appkeys
from server.web.app import create_app
from tests.helpers import Listener, bundled_config, settings
from tests.questions.harness import (
    Hall,
    ServerFactory,
    ask,
    clock_at,
    moderate,
    next_question,
    questions_of,
)

ROLES_BESIDE = (Role.SPEAKER, Role.INTERPRETER, Role.TECHNICIAN)


@pytest.fixture
async def hall(tmp_path: Path, aiohttp_server: ServerFactory) -> AsyncIterator[Hall]:
    app = create_app(settings(tmp_path, clock_at(10)))
    hall = Hall(await aiohttp_server(app), app)
    yield hall
    await hall.close()


async def listing(client: Listener, room: str = "welcome") -> dict[str, dict[str, Any]]:
    answer = await client.call("questions", {"room": room})
    assert answer["ok"] is True, answer
    return {question["id"]: question for question in answer["questions"]}


async def test_the_asker_and_moderators_see_a_new_question_and_nobody_else(hall: Hall) -> None:
    moderator = await hall.join(Role.MODERATOR)
    asker = await hall.join(Role.ATTENDEE, name="Ann")
    others = [await hall.join(role) for role in (Role.ATTENDEE, *ROLES_BESIDE)]
    asked = await ask(asker, "Why <b>now</b>?")
    assert (asked["status"], asked["mine"], asked["author"], asked["votes"]) == (
        "pending",
        True,
        "Ann",
        0,
    )
    seen = await next_question(moderator, lambda q: q["id"] == asked["id"])
    assert {**seen, "mine": True} == asked
    # The first question anyone else hears of is the approved one.
    await moderate(moderator, asked["id"], "approve")
    for other in others:
        first = await next_question(other, lambda q: q["id"] == asked["id"])
        assert (first["status"], first["mine"], first["author"]) == ("approved", False, "Ann")
        assert len(questions_of(other, asked["id"])) == 1


async def test_a_new_question_held_up_is_not_announced_over_a_later_change(
    hall: Hall, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store has the question, but its announcement is held up; a moderator who listed it
    meanwhile approves it. The approval goes out, and the late "pending" never does: what a
    receiver hears last of a question is how it stands."""
    records = hall.app[appkeys.STORE].questions
    stored, go_on = asyncio.Event(), asyncio.Event()
    add_new = records.add_new

    async def held_up(*args: Any) -> Any:
        outcomes = await add_new(*args)
        stored.set()
        await go_on.wait()
        return outcomes

    monkeypatch.setattr(records, "add_new", held_up)
    moderator = await hall.join(Role.MODERATOR)
    asker = await hall.join(Role.ATTENDEE, name="Ann")
    asking = asyncio.create_task(ask(asker, "Held up?"))
    await stored.wait()
    [question_id] = await listing(moderator)
    await moderate(moderator, question_id, "approve")
    go_on.set()
    asked = await asking
    assert asked["status"] == "approved"  # the ack: as the question stands
    await asker.call("questions", {"room": "welcome"})  # anything sent before it has arrived
    await moderator.call("questions", {"room": "welcome"})
    assert [q["status"] for q in questions_of(moderator, question_id)] == ["approved"]
    assert [q["status"] for q in questions_of(asker, question_id)] == ["approved"]


async def test_what_each_role_lists_in_every_state(hall: Hall) -> None:
    moderator = await hall.join(Role.MODERATOR)
    organizer = await hall.join(Role.ORGANIZER)
    asker = await hall.join(Role.ATTENDEE, name="Ann", sub="u_ann")
    other = await hall.join(Role.ATTENDEE, name="Bob")
    beside = [await hall.join(role) for role in ROLES_BESIDE]
    ids = {}
    for status in ("pending", "approved", "answered", "dismissed"):
        ids[status] = (await ask(asker, f"A question to be {status}"))["id"]
    ids["anonymous"] = (await ask(asker, "Asked anonymously", anonymous=True))["id"]
    await moderate(moderator, ids["approved"], "approve")
    await moderate(moderator, ids["anonymous"], "approve")
    await moderate(moderator, ids["answered"], "answer")
    await moderate(moderator, ids["dismissed"], "dismiss")
    everything = set(ids.values())
    public = {ids["approved"], ids["answered"], ids["anonymous"]}
    for staff in (moderator, organizer):
        seen = await listing(staff)
        assert set(seen) == everything
        assert seen[ids["anonymous"]]["author"] is None  # to moderators too
        assert seen[ids["pending"]]["author"] == "Ann"
    own = await listing(asker)
    assert set(own) == everything and all(q["mine"] for q in own.values())
    assert own[ids["anonymous"]]["author"] is None
    for client in (other, *beside):
        seen = await listing(client)
        assert set(seen) == public
        assert not any(q["mine"] for q in seen.values())
    wire = json.dumps([await listing(c) for c in (moderator, organizer, asker, other, *beside)])
    assert "u_ann" not in wire


async def test_a_client_without_a_token_gets_nothing(hall: Hall) -> None:
    moderator = await hall.join(Role.MODERATOR)
    anonymous = await hall.join()
    answer = await anonymous.call("questions", {"room": "welcome"})
    assert answer["error"] == "forbidden"
    assert (await anonymous.call("ask", {"room": "welcome", "text": "Hi?"}))["error"] == (
        "forbidden"
    )
    asked = await ask(await hall.join(Role.ATTENDEE), "Seen by nobody without a token?")
    await moderate(moderator, asked["id"], "approve")
    # A notice sent after the approval arrives after anything the approval sent it.
    technician = await hall.join(Role.TECHNICIAN)
    assert (await technician.call("notice", {"text": "after"}))["ok"]
    await anonymous.wait_for(lambda event, _: event == "notice")
    assert anonymous.received("question") == []


async def test_dismissed_questions_leave_the_audience_and_stay_with_their_asker(
    hall: Hall,
) -> None:
    moderator = await hall.join(Role.MODERATOR)
    asker = await hall.join(Role.ATTENDEE)
    other = await hall.join(Role.ATTENDEE)
    asked = await ask(asker, "Off topic?")
    await moderate(moderator, asked["id"], "approve")
    await next_question(other, lambda q: q["status"] == "approved")
    await moderate(moderator, asked["id"], "dismiss")
    gone = await next_question(other, lambda q: q["status"] == "withdrawn")
    assert gone == {"id": asked["id"], "room": "welcome", "status": "withdrawn"}
    mine = await next_question(asker, lambda q: q["status"] == "dismissed")
    assert mine["mine"] is True
    await next_question(moderator, lambda q: q["status"] == "dismissed")
    assert asked["id"] not in await listing(other)
    await moderate(moderator, asked["id"], "approve")  # restored
    back = await next_question(
        other, lambda q: q["status"] == "approved" and len(questions_of(other, q["id"])) == 3
    )
    assert back["id"] == asked["id"]


async def test_votes_once_each_taken_back_and_counted_for_all(hall: Hall) -> None:
    moderator = await hall.join(Role.MODERATOR)
    asker = await hall.join(Role.ATTENDEE)
    token = hall.token(Role.ATTENDEE, sub="u_bob")
    voter, voters_phone = await hall.join_with(token), await hall.join_with(token)
    asked = await ask(asker, "Vote for me?")
    early = {"question": asked["id"], "up": True}
    assert (await voter.call("vote", early))["error"] == "not_found"  # not theirs to see
    assert (await asker.call("vote", early))["error"] == "conflict"  # not in the queue yet
    await moderate(moderator, asked["id"], "approve")
    first = await voter.call("vote", {"question": asked["id"], "up": True})
    again = await voter.call("vote", {"question": asked["id"], "up": True})
    assert (first["question"]["votes"], first["question"]["voted"]) == (1, True)
    assert (again["question"]["votes"], again["question"]["voted"]) == (1, True)
    for client in (moderator, asker):
        counted = await next_question(client, lambda q: q["votes"] == 1)
        assert counted["voted"] is False
    on_phone = await next_question(voters_phone, lambda q: q["votes"] == 1)
    assert on_phone["voted"] is True
    assert (await listing(voters_phone))[asked["id"]]["voted"] is True
    back = await voters_phone.call("vote", {"question": asked["id"], "up": False})
    assert (back["question"]["votes"], back["question"]["voted"]) == (0, False)
    taken_back = await next_question(voter, lambda q: q["votes"] == 0)
    assert taken_back["voted"] is False
    # Each connection heard of each count once: those who voted are skipped in the wider emit.
    for client in (moderator, asker, voter, voters_phone):
        await next_question(client, lambda q: q["votes"] == 0)
        counts = [q["voted"] for q in questions_of(client, asked["id"]) if q["votes"] == 1]
        assert counts == [client in (voter, voters_phone)], counts
    assert (await listing(asker))[asked["id"]]["votes"] == 0


@pytest.fixture
async def any_store_hall(
    tmp_path: Path, aiohttp_server: ServerFactory, store_url: str
) -> AsyncIterator[Hall]:
    config = replace(bundled_config(), store_url=store_url)
    app = create_app(settings(tmp_path, clock_at(10), config))
    hall = Hall(await aiohttp_server(app), app)
    yield hall
    await hall.close()


async def test_200_votes_at_once_from_200_tokens_count_200(any_store_hall: Hall) -> None:
    hall = any_store_hall
    moderator = await hall.join(Role.MODERATOR)
    watcher = await hall.join(Role.ATTENDEE)
    asked = await ask(await hall.join(Role.ATTENDEE), "The popular question?")
    await moderate(moderator, asked["id"], "approve")
    voters = await asyncio.gather(*(hall.join(Role.ATTENDEE) for _ in range(200)))
    began = time.monotonic()
    answers = await asyncio.gather(
        *(voter.call("vote", {"question": asked["id"], "up": True}) for voter in voters),
        *(voter.call("vote", {"question": asked["id"], "up": True}) for voter in voters[:50]),
    )
    assert all(answer["ok"] for answer in answers), [a for a in answers if not a["ok"]][:3]
    final = await next_question(watcher, lambda q: q["votes"] == 200)
    elapsed = time.monotonic() - began
    assert final["voted"] is False
    assert (await listing(moderator))[asked["id"]]["votes"] == 200
    # Coalesced: at most twice a second, not one per vote.
    counts = [q for q in questions_of(watcher, asked["id"]) if q["status"] == "approved"]
    assert 1 <= len(counts) - 1 <= elapsed / COUNT_SECONDS + 1, (len(counts), elapsed)
    assert all(q["votes"] <= 200 for q in counts)


async def test_the_counts_that_changed_go_out_together_twice_a_second_at_most(
    hall: Hall,
) -> None:
    """One wake of each connection's writer for every count that changed, not one each."""
    moderator = await hall.join(Role.MODERATOR)
    watcher = await hall.join(Role.ATTENDEE)
    asker, voter = await hall.join(Role.ATTENDEE), await hall.join(Role.ATTENDEE)
    first, second = await ask(asker, "First?"), await ask(asker, "Second?")
    for question in (first, second):
        await moderate(moderator, question["id"], "approve")
    await voter.call("vote", {"question": first["id"], "up": True})
    await next_question(watcher, lambda q: q["id"] == first["id"] and q["votes"] == 1)
    counted = len(watcher.received("question"))
    began = watcher.events[-1][2]
    for question_id, up in ((second["id"], True), (first["id"], False)):
        assert (await voter.call("vote", {"question": question_id, "up": up}))["ok"]
    async with asyncio.timeout(5):
        while len(watcher.received("question")) < counted + 2:
            await watcher.changed.wait()
            watcher.changed.clear()
    later = [
        (data["id"], data["votes"], at) for event, data, at in watcher.events if event == "question"
    ][counted:]
    assert {(question_id, votes) for question_id, votes, _ in later} == {
        (first["id"], 0),
        (second["id"], 1),
    }
    assert len(later) == 2
    arrived = [(at - began).total_seconds() for _, _, at in later]
    assert min(arrived) >= COUNT_SECONDS - 0.1, arrived  # the second's held for the first's
    assert max(arrived) - min(arrived) < 0.1, arrived


async def test_pin_one_per_room_edit_and_answer(hall: Hall) -> None:
    moderator = await hall.join(Role.MODERATOR)
    asker = await hall.join(Role.ATTENDEE)
    speaker = await hall.join(Role.SPEAKER)
    first = await ask(asker, "First?")
    second = await ask(asker, "Second?")
    answer = await moderator.call("moderate", {"question": first["id"], "action": "pin"})
    assert answer["error"] == "conflict"  # pending: the hall may not see it yet
    for question in (first, second):
        await moderate(moderator, question["id"], "approve")
    assert (await moderate(moderator, first["id"], "pin"))["pinned"] is True
    assert (await moderate(moderator, second["id"], "pin"))["pinned"] is True
    unpinned = await next_question(
        speaker,
        lambda q: (
            q["id"] == first["id"]
            and q["pinned"] is False
            and len(questions_of(speaker, first["id"])) == 3
        ),
    )
    assert unpinned["status"] == "approved"
    pinned = [q for q in (await listing(speaker)).values() if q["pinned"]]
    assert [q["id"] for q in pinned] == [second["id"]]
    edited = await moderate(moderator, second["id"], "edit", text="Second, reworded?")
    assert edited["text"] == "Second, reworded?"
    done = await moderate(moderator, second["id"], "answer")
    assert (done["status"], done["pinned"]) == ("answered", False)
    log = await hall.app[appkeys.ROOMS].audit_log()
    edit = next(entry for entry in log if entry.action == "question_edit")
    assert edit.detail == {"question": second["id"], "from": "Second?", "to": "Second, reworded?"}
    assert [e.action for e in log if e.action.startswith("question_")] == [
        "question_approve",
        "question_approve",
        "question_pin",
        "question_pin",
        "question_edit",
        "question_answer",
    ]


async def test_the_asker_withdraws_and_it_is_gone_for_everyone(hall: Hall) -> None:
    moderator = await hall.join(Role.MODERATOR)
    asker = await hall.join(Role.SPEAKER)  # any role that asks may withdraw its own
    other = await hall.join(Role.ATTENDEE)
    asked = await ask(asker, "Never mind?")
    await moderate(moderator, asked["id"], "approve")
    await next_question(other, lambda q: q["id"] == asked["id"])
    for client in (moderator, other):
        answer = await client.call("moderate", {"question": asked["id"], "action": "withdraw"})
        assert answer["error"] == "forbidden"
    gone = await moderate(asker, asked["id"], "withdraw")
    assert gone == {"id": asked["id"], "room": "welcome", "status": "withdrawn"}
    for client in (moderator, other):
        await next_question(client, lambda q: q["status"] == "withdrawn")
        assert asked["id"] not in await listing(client)
    answer = await other.call("vote", {"question": asked["id"], "up": True})
    assert answer["error"] == "not_found"


async def test_an_unmoderated_room_approves_on_arrival(
    tmp_path: Path, aiohttp_server: ServerFactory
) -> None:
    config = bundled_config()
    welcome = replace(config.timetable.item("welcome"), moderated=False)
    items = tuple(welcome if i.id == "welcome" else i for i in config.timetable.items)
    config = replace(config, timetable=replace(config.timetable, items=items))
    app = create_app(settings(tmp_path, clock_at(10), config))
    hall = Hall(await aiohttp_server(app), app)
    try:
        other = await hall.join(Role.ATTENDEE)
        asked = await ask(await hall.join(Role.ATTENDEE), "Straight in?")
        assert asked["status"] == "approved"
        assert (await next_question(other, lambda q: True))["id"] == asked["id"]
    finally:
        await hall.close()
