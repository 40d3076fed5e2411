"""Client-to-server Socket.IO payloads, parsed at the edge: pure."""

from __future__ import annotations

import pytest

from server.errors import InvalidInput
from server.rooms.commands import MAX_NOTICE, NoticeLevel, NoticeRequest


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
