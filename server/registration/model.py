"""Registrations of remote attendees: what a sign-up must contain and how its status moves.

Pure: no I/O. ``RegistrationForm.parse`` checks a sign-up body field by field; the
status rules say which decisions apply to which registrations.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from server.errors import InvalidInput
from server.letters import has_letter_or_digit
from server.registration.address import AddressError, EmailAddress
from server.text import has_invisible

MAX_NAME = 120
MAX_EMAIL = 254  # RFC 5321's limit; email-validator checks every form of it, in bytes
MAX_AFFILIATION = 200
FORM_FIELDS = frozenset({"name", "email", "affiliation", "consent"})


class RegistrationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"  # the attendee deleted it
    REVOKED = "revoked"  # an organizer took access back


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class MailStatus(StrEnum):
    QUEUED = "queued"  # waiting for its first try, or for the next after a failure
    SENDING = "sending"  # a sender has it; if that sender dies, it is tried again
    SENT = "sent"
    OUTBOX = "outbox"  # written to DATA/outbox/: no SMTP server is configured
    FAILED = "failed"  # given up: refused for good, tried too often, or access ended first


WAITING_MAIL = frozenset({MailStatus.QUEUED, MailStatus.SENDING})


# Which statuses each decision may be taken from; anything else is left as it is.
DECIDABLE: Mapping[Decision, frozenset[RegistrationStatus]] = {
    Decision.APPROVE: frozenset({RegistrationStatus.PENDING, RegistrationStatus.REJECTED}),
    Decision.REJECT: frozenset({RegistrationStatus.PENDING, RegistrationStatus.APPROVED}),
}
OUTCOME = {
    Decision.APPROVE: RegistrationStatus.APPROVED,
    Decision.REJECT: RegistrationStatus.REJECTED,
}
HAS_ACCESS = frozenset({RegistrationStatus.APPROVED})


class FieldError(InvalidInput):
    """A bad field of a body, named so a form can show the message beside it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field

    def as_dict(self) -> dict[str, str]:
        return {**super().as_dict(), "field": self.field}


@dataclass(frozen=True)
class RegistrationForm:
    name: str
    address: EmailAddress
    affiliation: str

    @property
    def email(self) -> str:
        return str(self.address)

    @property
    def email_key(self) -> str:
        return self.address.key

    @classmethod
    def parse(cls, body: object) -> RegistrationForm:
        if not isinstance(body, Mapping):
            raise InvalidInput("the body must be a JSON object")
        unknown = sorted(set(body) - FORM_FIELDS)
        if unknown:
            raise FieldError(unknown[0], f"unknown field {unknown[0]!r}")
        if body.get("consent") is not True:
            raise FieldError("consent", "please agree to the privacy notice to register")
        return cls(
            name=_name(body),
            address=_email(body.get("email")),
            affiliation=_text(body, "affiliation", MAX_AFFILIATION, required=False),
        )


def parse_link_request(body: object) -> EmailAddress:
    """``{"email"}``: the address someone asks their join link to be mailed to again."""
    if not isinstance(body, Mapping):
        raise InvalidInput('the body must be a JSON object: {"email": "you@example.org"}')
    unknown = sorted(set(body) - {"email"})
    if unknown:
        raise FieldError(unknown[0], f"unknown field {unknown[0]!r}")
    return _email(body.get("email"))


@dataclass(frozen=True)
class Registration:
    id: str
    sub: str
    name: str
    email: str
    affiliation: str
    status: RegistrationStatus
    created_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    mail: MailStatus | None = None
    mail_attempts: int = 0
    # Waiting: when it is next tried. Being sent: when its sender is presumed dead.
    mail_due_at: datetime | None = None
    mail_error: str | None = None  # why the last try failed

    @property
    def has_access(self) -> bool:
        return self.status in HAS_ACCESS


@dataclass(frozen=True)
class JoinLetter:
    """What makes a join-link letter the same letter however often it is sent: its token,
    kept without its signature (signed again to send, it is the same token), and its
    Message-ID. Recorded before the first try; only an organizer's resend makes a new one."""

    jti: str
    unsigned_token: str
    message_id: str


@dataclass(frozen=True)
class NewLetter:
    letter: JoinLetter
    issued_at: datetime
    expires_at: datetime


def email_key(address: str) -> str:
    """One mailbox, however its address is spelled, is one registration."""
    return EmailAddress.parse(address).key


def new_registration_id() -> str:
    return "r_" + secrets.token_hex(10)


def new_subject() -> str:
    """The opaque ``sub`` of an attendee's tokens: nothing about the person is in it."""
    return "a_" + secrets.token_hex(10)


def _name(body: Mapping[str, object]) -> str:
    name = _text(body, "name", MAX_NAME, required=True)
    if not has_letter_or_digit(name):
        raise FieldError("name", "name must have a letter or digit, not only blanks or symbols")
    return name


def _text(body: Mapping[str, object], field: str, limit: int, *, required: bool) -> str:
    value = body.get(field, None if required else "")
    if value is None and not required:
        value = ""
    if not isinstance(value, str):
        raise FieldError(field, f"{field} must be text")
    value = value.strip()
    if required and not value:
        raise FieldError(field, f"{field} is required")
    if len(value) > limit:
        raise FieldError(field, f"{field} is longer than {limit} characters")
    if has_invisible(value):
        raise FieldError(field, f"{field} contains control or invisible formatting characters")
    return value


def _email(value: object) -> EmailAddress:
    if not isinstance(value, str) or not value.strip():
        raise FieldError("email", "email is required")
    value = value.strip()
    if len(value) > MAX_EMAIL:
        raise FieldError("email", "that e-mail address is too long")
    try:
        return EmailAddress.parse(value)
    except AddressError as error:
        raise FieldError("email", str(error)) from None
