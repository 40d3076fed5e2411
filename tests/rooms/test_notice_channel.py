"""Notices over Socket.IO, with real python-socketio clients against the real app on loopback:
a notice reaches exactly the clients of its room, comes down when cleared, is handed to those
who connect while it is up, and anything else is refused with nothing changed."""

from __future__ import annotations

from typing import Any

import pytest

from server.auth.permissions import Role
from server.web import appkeys
from tests.helpers import Listener
from tests.rooms import test_live
from tests.rooms.test_live import Harness

harness = test_live.harness  # the same live server and its listeners, as a fixture here


def notice_saying(text: str) -> Any:
    return lambda event, data: event == "notice" and data.get("text") == text


def taken_down(notice_id: str) -> Any:
    return lambda event, data: (
        event == "notice"
        and data
        == {
            "id": notice_id,
            "room": data.get("room"),
            "active": False,
        }
    )


async def heard_before(listener: Listener, marker: str) -> list[str]:
    """The texts of the notices ``listener`` heard before the one saying ``marker``, which is
    sent to everyone after the others: what it has not heard by then, it never will."""
    await listener.wait_for(notice_saying(marker))
    texts = [data.get("text") for data in listener.received("notice")]
    return texts[: texts.index(marker)]


async def post(sender: Listener, **notice: Any) -> dict[str, Any]:
    answer = await sender.call("notice", notice)
    assert answer["ok"] is True, answer
    notice_payload: dict[str, Any] = answer["notice"]
    return notice_payload


async def test_a_notice_for_a_room_reaches_exactly_the_clients_of_that_room(
    harness: Harness,
) -> None:
    technician = await harness.listen(Role.TECHNICIAN)
    everywhere = await harness.listen(Role.ATTENDEE)
    in_panel = await harness.listen(Role.ATTENDEE, rooms=("panel-1",))
    panel_speaker = await harness.listen(Role.SPEAKER, rooms=("panel-1", "panel-2"))
    elsewhere = await harness.listen(Role.ATTENDEE, rooms=("welcome", "keynote"))
    anonymous = await harness.listen()

    notice = await post(technician, text="Panel 1 starts late", level="warning", room="panel-1")
    await post(technician, text="marker")

    assert notice == {
        "id": notice["id"],
        "text": "Panel 1 starts late",
        "level": "warning",
        "room": "panel-1",
        "active": True,
    }
    for receiver in (technician, everywhere, in_panel, panel_speaker):
        assert await heard_before(receiver, "marker") == ["Panel 1 starts late"]
        assert receiver.received("notice")[0] == notice
    for outsider in (elsewhere, anonymous):
        assert await heard_before(outsider, "marker") == []


async def test_a_cleared_notice_comes_down_where_it_was_shown(harness: Harness) -> None:
    technician = await harness.listen(Role.TECHNICIAN)
    in_panel = await harness.listen(Role.ATTENDEE, rooms=("panel-1",))
    elsewhere = await harness.listen(Role.ATTENDEE, rooms=("welcome",))
    notice = await post(technician, text="Restoring the hall feed", room="panel-1")

    answer = await technician.call("notice", {"id": notice["id"], "action": "clear"})

    assert answer == {
        "ok": True,
        "notice": {"id": notice["id"], "room": "panel-1", "active": False},
    }
    await in_panel.wait_for(taken_down(notice["id"]))
    await post(technician, text="marker")
    await elsewhere.wait_for(notice_saying("marker"))
    assert elsewhere.received("notice") == [elsewhere.received("notice")[-1]]
    assert harness.app[appkeys.NOTICES].up()[0].text == "marker"
    again = await technician.call("notice", {"id": notice["id"], "action": "clear"})
    assert again["error"] == "not_found"


async def test_notices_up_are_handed_to_those_who_connect(harness: Harness) -> None:
    technician = await harness.listen(Role.TECHNICIAN)
    for_all = await post(technician, text="We resume at 15:00")
    for_panel = await post(technician, text="Panel 1 starts late", room="panel-1")
    cleared = await post(technician, text="Gone already", room="panel-1")
    await technician.call("notice", {"id": cleared["id"], "action": "clear"})

    in_panel = await harness.listen(Role.ATTENDEE, rooms=("panel-1",))
    elsewhere = await harness.listen(Role.ATTENDEE, rooms=("welcome",))
    anonymous = await harness.listen()

    for listener, expected in (
        (in_panel, [for_all, for_panel]),
        (elsewhere, [for_all]),
        (anonymous, [for_all]),
    ):
        listed = await listener.wait_for(lambda event, _: event == "notices")
        assert listed == {"notices": expected}


BAD_NOTICES: list[tuple[Any, str]] = [
    (None, "invalid_input"),
    ("We resume", "invalid_input"),
    (["We resume"], "invalid_input"),
    ({}, "invalid_input"),
    ({"text": 5}, "invalid_input"),
    ({"text": "x" * 501}, "invalid_input"),
    ({"text": "hi", "level": "critical"}, "invalid_input"),
    ({"text": "hi", "level": None}, "invalid_input"),
    ({"text": "hi", "extra": 1}, "invalid_input"),
    ({"text": "hi", "room": 5}, "invalid_input"),
    ({"text": "hi", "room": ["panel-1"]}, "invalid_input"),
    ({"text": "hi", "room": "x" * 5000}, "invalid_input"),
    ({"text": "hi", "room": "nowhere"}, "unknown_room"),
    ({"text": "hi", "room": "break-mon"}, "unknown_room"),
    ({"id": "nope", "action": "clear"}, "not_found"),
    ({"id": "nope", "action": "delete"}, "invalid_input"),
    ({"id": 5, "action": "clear"}, "invalid_input"),
    ({"action": "clear"}, "invalid_input"),
    ({"id": "nope", "action": "clear", "text": "hi"}, "invalid_input"),
]


async def test_bad_notices_get_an_error_ack_and_change_nothing(harness: Harness) -> None:
    technician = await harness.listen(Role.TECHNICIAN)
    watcher = await harness.listen(Role.ATTENDEE)
    for payload, code in BAD_NOTICES:
        answer = await technician.call("notice", payload)
        assert answer["ok"] is False, payload
        assert answer["error"] == code, (payload, answer)
        assert answer["message"]
    assert harness.app[appkeys.NOTICES].up() == []
    await post(technician, text="still here")
    assert await heard_before(watcher, "still here") == []


@pytest.mark.parametrize("role", [None, Role.ATTENDEE, Role.SPEAKER, Role.INTERPRETER])
async def test_only_staff_post_or_clear_notices(harness: Harness, role: Role | None) -> None:
    technician = await harness.listen(Role.TECHNICIAN)
    notice = await post(technician, text="Up", room="welcome")
    client = await harness.listen(role)
    for payload in ({"text": "hi"}, {"text": "hi", "room": "welcome"}):
        assert (await client.call("notice", payload))["error"] == "forbidden"
    clear = {"id": notice["id"], "action": "clear"}
    assert (await client.call("notice", clear))["error"] == "forbidden"
    assert [up.id for up in harness.app[appkeys.NOTICES].up()] == [notice["id"]]


async def test_a_room_limited_token_posts_and_clears_only_in_its_rooms(harness: Harness) -> None:
    technician = await harness.listen(Role.TECHNICIAN)
    moderator = await harness.listen(Role.MODERATOR, rooms=("panel-1",))
    for_all = await post(technician, text="For everyone")
    for_welcome = await post(technician, text="For the welcome", room="welcome")

    refusals = [
        {"text": "hi"},  # every room: more than its access
        {"text": "hi", "room": "welcome"},
        {"id": for_all["id"], "action": "clear"},
        {"id": for_welcome["id"], "action": "clear"},
    ]
    for payload in refusals:
        answer = await moderator.call("notice", payload)
        assert answer["error"] == "forbidden", (payload, answer)
    own = await post(moderator, text="Questions open", room="panel-1")
    cleared = await moderator.call("notice", {"id": own["id"], "action": "clear"})
    assert cleared["ok"] is True
    assert [up.text for up in harness.app[appkeys.NOTICES].up()] == [
        "For everyone",
        "For the welcome",
    ]


async def test_notices_and_their_clearing_are_in_the_audit_log(harness: Harness) -> None:
    technician = await harness.listen(Role.TECHNICIAN)
    notice = await post(technician, text="Restoring the feed", level="urgent", room="keynote")
    await technician.call("notice", {"id": notice["id"], "action": "clear"})
    entries = [
        entry
        for entry in await harness.app[appkeys.ROOMS].audit_log()
        if entry.action.startswith("notice")
    ]
    assert [(entry.action, entry.room, entry.actor.name) for entry in entries] == [
        ("notice", "keynote", "A technician"),
        ("notice_cleared", "keynote", "A technician"),
    ]
    assert entries[0].detail == {
        "id": notice["id"],
        "text": "Restoring the feed",
        "level": "urgent",
    }


async def test_no_more_than_twenty_notices_are_up_at_once(harness: Harness) -> None:
    senders = [await harness.listen(Role.TECHNICIAN) for _ in range(5)]
    for n in range(20):
        await post(senders[n % 5], text=f"notice {n}")
    answer = await senders[0].call("notice", {"text": "one too many"})
    assert answer["error"] == "conflict"
    assert "clear one first" in answer["message"]
