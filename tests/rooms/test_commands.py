"""Client-to-server Socket.IO payloads, parsed at the edge: pure."""

from __future__ import annotations

import pytest

from scheduler.timetable import OverrideAction
from server.errors import InvalidInput
from server.rooms.commands import (
    MAX_NOTICE,
    ControlRequest,
    NoticeClear,
    NoticeLevel,
    NoticeRequest,
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("We resume\x00 at 3", "control or invisible"),
        ("Room \u202eevil", "control or invisible"),
        ("two\nlines", "control or invisible"),
        ("\u200d", "letter or digit"),
        ("\u3164\u3164", "letter or digit"),
        ("\u2800", "letter or digit"),
        ("\u200b", "control or invisible"),
        ("!!! ⚠", "letter or digit"),
        ("   ", "required"),
        ("x" * (MAX_NOTICE + 1), "longer than"),
    ],
)
def test_notices_follow_the_rules_for_names(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        NoticeRequest.parse({"text": text, "level": "info"})


def test_a_notice_in_any_script_with_its_joiners() -> None:
    notice = NoticeRequest.parse({"text": " क्\u200dष: we resume at 15:00 ", "level": "urgent"})
    assert notice == NoticeRequest("क्\u200dष: we resume at 15:00", NoticeLevel.URGENT)
    assert NoticeRequest.parse({"text": "x" * MAX_NOTICE}).level is NoticeLevel.INFO


def test_control_delay_and_reopen() -> None:
    delay = ControlRequest.parse({"room": "welcome", "action": "delay", "minutes": 240})
    assert delay == ControlRequest("welcome", OverrideAction.DELAY, 240)
    reopen = ControlRequest.parse({"room": "welcome", "action": "reopen"})
    assert reopen == ControlRequest("welcome", OverrideAction.REOPEN, 0)
    assert ControlRequest.parse({"room": "w", "action": "extend"}).minutes == 5


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"room": "w", "action": "delay"}, "whole number of minutes to delay"),
        ({"room": "w", "action": "delay", "minutes": 0}, "from 1 to 240"),
        ({"room": "w", "action": "delay", "minutes": 1.0}, "whole number"),
        ({"room": "w", "action": "reopen", "minutes": 1}, "only goes with 'extend' and 'delay'"),
        ({"room": "w", "action": "stage", "source": "s", "minutes": 1}, "only goes with"),
    ],
)
def test_control_minutes_go_with_extend_and_delay_only(
    payload: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        ControlRequest.parse(payload)


def test_a_notice_for_one_room_or_every_room() -> None:
    assert NoticeRequest.parse({"text": "hi", "room": "panel-1"}).room == "panel-1"
    assert NoticeRequest.parse({"text": "hi", "room": None}).room is None
    assert NoticeRequest.parse({"text": "hi"}).room is None
    assert NoticeRequest.parse({"id": "abc", "action": "clear"}) == NoticeClear("abc")


@pytest.mark.parametrize(
    "payload",
    [
        {"text": "hi", "room": ""},
        {"text": "hi", "room": 5},
        {"text": "hi", "room": "x" * 64},
        {"text": "hi", "level": "critical"},
        {"id": "abc", "action": "delete"},
        {"id": "abc", "action": "clear", "text": "hi"},
        {"action": "clear"},
        {"id": ["abc"], "action": "clear"},
        {"id": "x" * 41, "action": "clear"},
    ],
)
def test_notice_payloads_of_the_wrong_shape(payload: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        NoticeRequest.parse(payload)
