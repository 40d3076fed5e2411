"""The moderator chooses how the speakers' queue is sorted: stored per room, sent to everyone
in the room, and refused to anyone else or for anything but a known order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from server.auth.permissions import Role
from server.errors import Forbidden, InvalidInput
from server.questions.model import QueueOrder, Viewer, check_ordering
from server.questions.requests import (
    ModerateRequest,
    OrderRequest,
    moderation_request,
)
from server.web import appkeys
from server.web.app import create_app
from tests.helpers import Listener, bundled_config, settings
from tests.questions.harness import Hall, ServerFactory, clock_at


def test_only_moderators_choose_the_order() -> None:
    check_ordering(Viewer("u_mod", moderates=True))
    with pytest.raises(Forbidden):
        check_ordering(Viewer("u_ann", moderates=False))


def test_an_order_payload_is_its_own_request() -> None:
    assert moderation_request({"room": "welcome", "action": "order", "by": "time"}) == (
        OrderRequest("welcome", QueueOrder.TIME)
    )
    assert isinstance(moderation_request({"question": "q_1", "action": "pin"}), ModerateRequest)


@pytest.mark.parametrize(
    "payload",
    [
        {"room": "welcome", "action": "order"},
        {"room": "welcome", "action": "order", "by": "random"},
        {"room": "welcome", "action": "order", "by": ["votes"]},
        {"room": "welcome", "action": "order", "by": 1},
        {"room": "welcome", "action": "order", "by": None},
        {"room": ["welcome"], "action": "order", "by": "votes"},
        {"room": 7, "action": "order", "by": "votes"},
        {"action": "order", "by": "votes"},
        {"room": "welcome", "action": "order", "by": "votes", "question": "q_1"},
    ],
)
def test_bad_order_payloads(payload: Any) -> None:
    with pytest.raises(InvalidInput):
        moderation_request(payload)


@pytest.fixture
async def hall(tmp_path: Path, aiohttp_server: ServerFactory) -> AsyncIterator[Hall]:
    app = create_app(settings(tmp_path, clock_at(10)))
    hall = Hall(await aiohttp_server(app), app)
    yield hall
    await hall.close()


async def order_of(client: Listener, room: str = "welcome") -> str:
    answer = await client.call("questions", {"room": room})
    assert answer["ok"], answer
    return str(answer["order"])


async def choose(client: Listener, by: Any, room: Any = "welcome") -> dict[str, Any]:
    return dict(await client.call("moderate", {"room": room, "action": "order", "by": by}))


async def test_votes_first_until_a_moderator_chooses(hall: Hall) -> None:
    speaker = await hall.join(Role.SPEAKER)
    assert await order_of(speaker) == "votes"


async def test_the_choice_reaches_every_receiver_of_the_room(hall: Hall) -> None:
    moderator = await hall.join(Role.MODERATOR, sub="u_mod")
    speaker = await hall.join(Role.SPEAKER, rooms=("welcome",))
    attendee = await hall.join(Role.ATTENDEE)
    elsewhere = await hall.join(Role.SPEAKER, rooms=("keynote",))
    assert await choose(moderator, "time") == {"ok": True, "room": "welcome", "order": "time"}
    for client in (speaker, attendee, moderator):
        event = await client.wait_for(lambda name, _: name == "question_order")
        assert event == {"room": "welcome", "order": "time"}
    assert await order_of(speaker) == "time"
    assert await order_of(elsewhere, "keynote") == "votes"
    await choose(moderator, "votes", room="keynote")  # proves the keynote speaker hears it
    await elsewhere.wait_for(lambda name, body: name == "question_order")
    assert elsewhere.received("question_order") == [{"room": "keynote", "order": "votes"}]
    log = await hall.app[appkeys.ROOMS].audit_log()
    chosen = [(e.room, e.actor.sub, e.detail) for e in log if e.action == "question_order"]
    assert sorted(chosen) == [
        ("keynote", "u_mod", {"by": "votes"}),
        ("welcome", "u_mod", {"by": "time"}),
    ]


@pytest.mark.parametrize(
    ("role", "rooms", "payload", "code"),
    [
        (Role.ATTENDEE, ("*",), {"room": "welcome", "by": "time"}, "forbidden"),
        (Role.SPEAKER, ("*",), {"room": "welcome", "by": "time"}, "forbidden"),
        (Role.MODERATOR, ("keynote",), {"room": "welcome", "by": "time"}, "forbidden"),
        (Role.MODERATOR, ("*",), {"room": "nowhere", "by": "time"}, "unknown_room"),
        (Role.MODERATOR, ("*",), {"room": "welcome", "by": "newest"}, "invalid_input"),
        (Role.MODERATOR, ("*",), {"room": "welcome", "by": True}, "invalid_input"),
        (Role.MODERATOR, ("*",), {"room": "welcome", "by": {"votes": 1}}, "invalid_input"),
        (Role.MODERATOR, ("*",), {"room": 3, "by": "time"}, "invalid_input"),
        (Role.MODERATOR, ("*",), {"room": "welcome"}, "invalid_input"),
    ],
)
async def test_refused_choices_change_nothing(
    hall: Hall, role: Role, rooms: tuple[str, ...], payload: dict[str, Any], code: str
) -> None:
    watcher = await hall.join(Role.MODERATOR, sub="u_watch")
    client = await hall.join(role, rooms=rooms)
    answer = await client.call("moderate", {"action": "order", **payload})
    assert answer["ok"] is False and answer["error"] == code, answer
    # The next good choice is the first the room hears of: the refused one sent nothing.
    await choose(watcher, "votes")
    await watcher.wait_for(lambda name, _: name == "question_order")
    assert watcher.received("question_order") == [{"room": "welcome", "order": "votes"}]
    log = await hall.app[appkeys.ROOMS].audit_log()
    assert [e.actor.sub for e in log if e.action == "question_order"] == ["u_watch"]


async def test_no_token_no_choice(hall: Hall) -> None:
    anonymous = await hall.join()
    answer = await choose(anonymous, "time")
    assert answer["ok"] is False and answer["error"] == "forbidden"


async def test_a_restart_keeps_the_choice(
    tmp_path: Path, aiohttp_server: ServerFactory, store_url: str
) -> None:
    config = replace(bundled_config(), store_url=store_url)
    app = create_app(settings(tmp_path, clock_at(10), config))
    first = Hall(await aiohttp_server(app), app)
    moderator_token = first.token(Role.MODERATOR)
    moderator = await first.join_with(moderator_token)
    assert (await choose(moderator, "time"))["ok"]
    assert (await choose(moderator, "votes"))["ok"]  # a second choice replaces the first
    assert (await choose(moderator, "time", room="keynote"))["ok"]
    await first.close()
    await first.server.close()

    app = create_app(settings(tmp_path, clock_at(10), config))
    second = Hall(await aiohttp_server(app), app)
    try:
        speaker = await second.join(Role.SPEAKER)
        assert (await order_of(speaker), await order_of(speaker, "keynote")) == ("votes", "time")
    finally:
        await second.close()
