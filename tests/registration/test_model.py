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


def test_a_good_form_is_trimmed_and_the_local_part_keeps_its_case() -> None:
    form = RegistrationForm.parse(GOOD)
    assert (form.name, form.email, form.affiliation) == ("Ana Pérez", "Ana@example.org", "")
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


def email_of(address: str) -> RegistrationForm:
    return RegistrationForm.parse({**GOOD, "email": address})


# Each passed the old hand-written check, and each is a trick or not an address mail can use.
NOT_ADDRESSES = [
    "\u202eorg.elpmaxe@moc.evil",  # a bidi override: shown as "ive.com@example.grol"
    "a\u200b@example.org",  # a zero-width space: looks like a@example.org
    "a\u00ad@example.org",  # a soft hyphen, invisible too
    "a@exam\u200bple.org",
    "a@ex\u202eample.org",
    "<dup@example.org>",  # a display form, not an address
    "(c)dup@example.org",  # a comment
    "a,dup2@example.org",  # two addresses in a To: header
    '"dup"@example.org',  # a quoted local part: dup@example.org in disguise
    "a＠b@example.org",  # a full-width at-sign inside the local part
    "a@[127.0.0.1]",  # an IP literal
    "a@1.2.3.4",
    ".a@example.org",
    "a..b@example.org",
    "ａna@example.org",  # a full-width letter, which passes for a plain one
    "ﬁle@example.org",  # a ligature
    "ſam@example.org",  # a long s, which case folding turns into sam@
    "Ⓐ@example.org",
    "\u3164@example.org",  # a Hangul filler: a letter by category that draws nothing
    "\u2800@example.org",  # a braille blank
    "\u115f\u1160@example.org",
    "a@example.local",  # a special-use domain mail from outside never reaches
    "a@" + "ä" * 60 + ".org",  # fits in 66 characters, but its A-label would be 64+ long
    "jürgen@" + ".".join(["ä" * 25] * 6) + ".org",  # 166 characters, but 317 bytes in UTF-8
]


@pytest.mark.parametrize("address", NOT_ADDRESSES)
def test_tricks_and_non_addresses_are_refused(address: str) -> None:
    with pytest.raises(FieldError) as caught:
        email_of(address)
    assert caught.value.field == "email"
    assert address not in caught.value.message  # the reason, without echoing the trick


def test_a_refusal_says_what_is_wrong() -> None:
    with pytest.raises(FieldError, match="RIGHT-TO-LEFT OVERRIDE"):
        email_of("\u202eorg.elpmaxe@moc.evil")
    with pytest.raises(FieldError, match="HANGUL FILLER"):
        email_of("\u3164@example.org")


# Pairs that are one mailbox: the old letter-case key told them apart, so both registered.
SAME_MAILBOX = [
    ("jürgen@exämple.org", "ju\u0308rgen@exa\u0308mple.org"),  # composed and decomposed
    ("jürgen@exämple.org", "JÜRGEN@xn--exmple-cua.org"),  # a U-label and its A-label
    ("ana@example.org", "ana@ｅｘａｍｐｌｅ.org"),  # a full-width domain
    ("ana@sub.example.org", "ana@sub.example\u3002org"),  # an ideographic full stop
    ("ana@exаmple.org", "ana@xn--exmple-4nf.org"),  # a Cyrillic а, and its A-label
]


@pytest.mark.parametrize(("first", "second"), SAME_MAILBOX)
def test_spellings_of_one_mailbox_share_one_key(first: str, second: str) -> None:
    assert email_of(first).email_key == email_of(second).email_key


def test_a_lookalike_domain_is_another_domain() -> None:
    cyrillic = email_of("ana@exаmple.org")
    assert cyrillic.email_key != email_of("ana@example.org").email_key
    assert cyrillic.email_key == "ana@xn--exmple-4nf.org"  # how an organizer can tell


def test_an_address_is_kept_in_its_normal_form() -> None:
    assert email_of("Ju\u0308rgen@EXA\u0308MPLE.org").email == "Jürgen@exämple.org"
    assert email_of("ana@xn--exmple-cua.org").email == "ana@exämple.org"
    assert email_of("ana@ｅｘａｍｐｌｅ.org").email == "ana@example.org"


def test_the_kelvin_sign_is_the_letter_k() -> None:
    """U+212A is canonically K: the address is Kelvin@, whose mailbox gets the link."""
    kelvin = email_of("\u212aelvin@example.org")
    assert kelvin.email == "Kelvin@example.org"
    assert kelvin.email_key == email_of("kelvin@example.org").email_key


def test_sharp_s_and_ss_are_two_mailboxes() -> None:
    """IDNA2008 keeps ß apart from ss, and so does the key (case folding merged them)."""
    assert email_of("straße@example.org").email_key != email_of("strasse@example.org").email_key


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
