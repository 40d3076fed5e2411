"""Outgoing mail: over SMTP as configured, or into the outbox folder when none is.

Either way the log says what happened without naming the recipient, and the caller learns
whether the letter was sent, left in the outbox, or failed.
"""

from __future__ import annotations

import asyncio
import email.policy
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol

import aiosmtplib

from server.config import MailSettings, SmtpSecurity
from server.registration.address import AddressError, EmailAddress
from server.registration.model import MailStatus

log = logging.getLogger(__name__)

OUTBOX = "outbox"
SMTP_TIMEOUT_SECONDS = 20
# Headers in UTF-8 itself (RFC 6532), for a message that needs SMTPUTF8 anyway: an address
# must never become an encoded-word, which is not an address.
UTF8_HEADERS = email.policy.default.clone(utf8=True)


@dataclass(frozen=True)
class Letter:
    to: str
    subject: str
    text: str


class Mailer(Protocol):
    async def send(self, letter: Letter) -> MailStatus: ...


def compose(letter: Letter, sender: str) -> EmailMessage:
    """Raises ``AddressError`` for an address on file from before addresses were checked."""
    to = EmailAddress.parse(letter.to)
    message = EmailMessage(policy=UTF8_HEADERS if to.needs_smtputf8 else email.policy.default)
    message["From"] = sender
    message["To"] = to.for_header()
    message["Subject"] = letter.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(letter.text)
    return message


class SmtpMailer:
    def __init__(self, settings: MailSettings) -> None:
        self._settings = settings

    async def send(self, letter: Letter) -> MailStatus:
        settings = self._settings
        password = (
            os.environ.get(settings.smtp_password_env) if settings.smtp_password_env else None
        )
        try:
            await aiosmtplib.send(
                compose(letter, settings.sender),
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                use_tls=settings.smtp_security is SmtpSecurity.TLS,
                start_tls=settings.smtp_security is SmtpSecurity.STARTTLS,
                username=settings.smtp_username or None,
                password=password,
                timeout=SMTP_TIMEOUT_SECONDS,
            )
        except (aiosmtplib.SMTPException, OSError, AddressError) as error:
            log.warning("mail to a registrant failed via %s: %s", settings.smtp_host, error)
            return MailStatus.FAILED
        return MailStatus.SENT


class OutboxMailer:
    """No SMTP server configured: each message becomes a file a person can open and forward."""

    def __init__(self, settings: MailSettings, data_dir: Path) -> None:
        self._settings = settings
        self.folder = data_dir / OUTBOX

    async def send(self, letter: Letter) -> MailStatus:
        # Composing and writing take milliseconds each: off the event loop.
        try:
            path = await asyncio.to_thread(self._write, letter)
        except AddressError as error:
            log.warning("mail to a registrant not written: %s", error)
            return MailStatus.FAILED
        log.info("no SMTP server configured: mail written to %s", path)
        return MailStatus.OUTBOX

    def _write(self, letter: Letter) -> Path:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.folder / f"{stamp}-{secrets.token_hex(4)}.eml"
        message = bytes(compose(letter, self._settings.sender))
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(message)
        return path


def mailer_for(settings: MailSettings, data_dir: Path) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(settings)
    return OutboxMailer(settings, data_dir)
