"""What text people write may hold: pure."""

from __future__ import annotations

import pytest

from server.text import has_invisible


@pytest.mark.parametrize(
    "text",
    ["a\x00b", "evil\u202emoc.", "\u2066x\u2069", "line\nbreak", "soft\u00adhyphen", "\ufeffbom"],
)
def test_control_and_invisible_formatting_characters_are_found(text: str) -> None:
    assert has_invisible(text)


@pytest.mark.parametrize(
    "text", ["Ada Lovelace", "क्\u200dष", "می\u200cخواهم", "\u200fשלום", "Zoë 🎤"]
)
def test_joiners_marks_and_every_script_are_fine(text: str) -> None:
    assert not has_invisible(text)


def test_allowed_characters_are_let_through() -> None:
    assert not has_invisible("two\nlines", allowed=frozenset("\n"))
