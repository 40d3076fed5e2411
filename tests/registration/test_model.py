"""Registration rules without a server: the form, the statuses, who may decide what."""

from __future__ import annotations

from typing import Any

import pytest

from server.errors import InvalidInput
from server.registration.model import (
    DECIDABLE,
    OUTCOME,
    Decision,
    FieldError,
    RegistrationForm,
    RegistrationStatus,
    new_registration_id,
    new_subject,
)

GOOD = {"name": "  Ana Pérez ", "email": " Ana@Example.org ", "consent": True}


def test_a_good_form_is_trimmed_and_keeps_its_case() -> None:
    form = RegistrationForm.parse(GOOD)
    assert (form.name, form.email, form.affiliation) == ("Ana Pérez", "Ana@Example.org", "")
    assert form.email_key == "ana@example.org"


@pytest.mark.parametrize(
    "email", ["a@b.co", "first.last+tag@sub.example.org", "ü@exämple.de", "o'brien@example.ie"]
)
def test_real_addresses_pass(email: str) -> None:
    assert RegistrationForm.parse({**GOOD, "email": email}).email == email


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**GOOD, "email": "a@b"}, "email"),
        ({**GOOD, "email": "a@.org"}, "email"),
        ({**GOOD, "email": "a@b..org"}, "email"),
        ({**GOOD, "email": "a\x00@b.org"}, "email"),
        ({**GOOD, "name": "A\u0000"}, "name"),
        ({**GOOD, "name": "A\u2066B"}, "name"),
        ({**GOOD, "affiliation": None}, None),
        ({**GOOD, "consent": 1}, "consent"),
    ],
)
def test_bad_fields_are_named(body: dict[str, Any], field: str | None) -> None:
    if field is None:
        assert RegistrationForm.parse(body).affiliation == ""  # null means none given
        return
    with pytest.raises(FieldError) as caught:
        RegistrationForm.parse(body)
    assert caught.value.field == field
    assert caught.value.as_dict()["field"] == field


def test_not_an_object() -> None:
    with pytest.raises(InvalidInput):
        RegistrationForm.parse(["name"])


def test_joiners_and_direction_marks_are_part_of_names() -> None:
    for name in ("राम\u200dकुमार", "می\u200cخواهم", "\u200fسارا"):
        assert RegistrationForm.parse({**GOOD, "name": name}).name == name.strip()


def test_decisions_apply_only_where_they_make_sense() -> None:
    assert RegistrationStatus.WITHDRAWN not in DECIDABLE[Decision.APPROVE]
    assert RegistrationStatus.REVOKED not in DECIDABLE[Decision.APPROVE]
    assert RegistrationStatus.APPROVED in DECIDABLE[Decision.REJECT]
    assert OUTCOME[Decision.APPROVE] is RegistrationStatus.APPROVED


def test_ids_are_opaque_and_unique() -> None:
    subjects = {new_subject() for _ in range(1000)}
    assert len(subjects) == 1000
    assert all(s.startswith("a_") and "@" not in s for s in subjects)
    assert new_registration_id() != new_registration_id()


# Each blank alone was accepted; one letter or digit of any script, in any width, is a name.
BLANK_AND_NAMED = [
    ("\u200d", "\u200dA"),  # a zero-width joiner
    ("\u200c\u200e", "\u200c\u200eZ"),
    ("\u3164", "\u3164李"),  # Hangul filler: a letter by category that draws nothing
    ("\u3164\u3164 \u3164", "\u3164 Ａｎａ"),  # a full-width name is still a name
    ("\uffa0", "\uffa0Ω"),  # half-width Hangul filler
    ("\u115f\u1160", "\u115f\u1160٣"),  # an Arabic-Indic digit
    ("\u2800", "R2\u2800D2"),  # braille blank
    ("\u2800\u200d\u3164", "\u2800\u200d\u3164ह"),
    ("\u0301\u034f", "e\u0301\u034f"),  # marks with nothing to mark, then with an e
    ("\ufe0f", "x\ufe0f"),  # a variation selector
]


@pytest.mark.parametrize(("blank", "named"), BLANK_AND_NAMED)
def test_names_of_only_fillers_and_blanks_are_refused(blank: str, named: str) -> None:
    with pytest.raises(FieldError) as caught:
        RegistrationForm.parse({**GOOD, "name": blank})
    assert caught.value.field == "name"
    assert RegistrationForm.parse({**GOOD, "name": named}).name == named.strip()
