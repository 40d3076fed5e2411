"""Outgoing mail: over SMTP as configured, or into the outbox folder when none is.

Either way the log says what happened without naming the recipient, and the caller learns
whether the letter was sent or left in the outbox, or why it failed and whether trying again
may help: a 5xx reply to the recipient or the message is final, anything else (4xx replies, a
server that cannot be reached or does not answer in time) may pass later.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
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
MAX_REASON = 300
# Headers in UTF-8 itself (RFC 6532), for a message that needs SMTPUTF8 anyway: an address
# must never become an encoded-word, which is not an address.
UTF8_HEADERS = email.policy.default.clone(utf8=True)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # "text/calendar"
    data: bytes
    params: tuple[tuple[str, str], ...] = ()  # of the Content-Type: ("method", "PUBLISH")


@dataclass(frozen=True)
class Letter:
    to: str
    subject: str
    text: str
    message_id: str  # the same on every attempt: a letter sent again is the same letter
    html: str = ""  # the same words as ``text``; with it, the letter is multipart/alternative
    attachments: tuple[Attachment, ...] = ()


class DeliveryFailed(Exception):
    """The letter did not go out; ``permanent`` if trying again cannot help."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        reason = " ".join(reason.split())
        super().__init__(reason)
        self.reason = reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 1] + "…"
        self.permanent = permanent


class Mailer(Protocol):
    async def send(self, letter: Letter) -> MailStatus:
        """SENT or OUTBOX; DeliveryFailed if the letter did not go out."""
        ...


def new_message_id(sender: str) -> str:
    return make_msgid(domain=sender.rpartition("@")[2].strip("> ") or None)


def compose(letter: Letter, sender: str) -> EmailMessage:
    """Raises ``AddressError`` for an address on file from before addresses were checked."""
    to = EmailAddress.parse(letter.to)
    message = EmailMessage(policy=UTF8_HEADERS if to.needs_smtputf8 else email.policy.default)
    message["From"] = sender
    message["To"] = to.for_header()
    message["Subject"] = letter.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = letter.message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(letter.text)
    if letter.html:
        message.add_alternative(letter.html, subtype="html")
    for attachment in letter.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.data,
            maintype=maintype,
            subtype=subtype,
            filename=attachment.filename,
            params=dict(attachment.params),
        )
    return message


class SmtpMailer:
    def __init__(self, settings: MailSettings) -> None:
        self._settings = settings

    async def send(self, letter: Letter) -> MailStatus:
        settings = self._settings
        password = (
            os.environ.get(settings.smtp_password_env) if settings.smtp_password_env else None
        )
        client = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            use_tls=settings.smtp_security is SmtpSecurity.TLS,
            start_tls=settings.smtp_security is SmtpSecurity.STARTTLS,
            username=settings.smtp_username or None,
            password=password,
            timeout=settings.smtp_timeout,
        )
        try:
            await client.connect()
            await client.send_message(compose(letter, settings.sender))
            with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                await client.quit()  # the letter went out, whatever the answer to this
        except AddressError as error:
            raise unaddressable(error) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            failure = smtp_failure(error)
            log.warning(
                "mail to a registrant failed via %s (%s): %s",
                settings.smtp_host,
                "final" if failure.permanent else "will retry",
                failure.reason.replace(letter.to, "<the registrant>"),
            )
            raise failure from None
        finally:
            # At once, even when cancelled: aiosmtplib.send would first wait for QUIT's answer.
            client.close()
        return MailStatus.SENT


def smtp_failure(error: Exception) -> DeliveryFailed:
    """What went wrong, in words, and whether it is final: a 5xx reply refusing the
    recipient or the message is, and so is a server without SMTPUTF8 for an address beyond
    ASCII. A 5xx to the login or the sender is the server's set-up, which an operator can
    fix, so those letters are tried again too."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused) and error.recipients:
        error = error.recipients[0]
    if isinstance(error, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError):
        return DeliveryFailed(_reply(error), permanent=500 <= error.code < 600)
    if isinstance(error, aiosmtplib.SMTPNotSupported):  # aiosmtplib's word for no SMTPUTF8
        reason = "the mail server does not offer SMTPUTF8, which this address needs"
        return DeliveryFailed(reason, permanent=True)
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return DeliveryFailed(_reply(error), permanent=False)
    if isinstance(error, TimeoutError):
        return DeliveryFailed("the mail server did not answer in time", permanent=False)
    if isinstance(error, aiosmtplib.SMTPConnectError | OSError):
        return DeliveryFailed(f"the mail server could not be reached: {error}", permanent=False)
    return DeliveryFailed(str(error) or type(error).__name__, permanent=False)


def unaddressable(error: AddressError) -> DeliveryFailed:
    """An address on file from before addresses were checked, which no letter can carry."""
    log.warning("mail to a registrant not sent: its address cannot be written: %s", error)
    return DeliveryFailed(f"the address cannot be written in a letter: {error}", permanent=True)


def _reply(error: aiosmtplib.SMTPResponseException) -> str:
    return f"the mail server answered {error.code} {error.message}"


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
            raise unaddressable(error) from None
        except OSError as error:
            log.warning("writing a letter to the outbox failed: %s", error)
            raise DeliveryFailed(
                f"the letter could not be written to the outbox: {error}", permanent=False
            ) from None
        log.info("no SMTP server configured: mail written to %s", path)
        return MailStatus.OUTBOX

    def _write(self, letter: Letter) -> Path:
        """Named after its Message-ID and renamed into place whole, so a letter written again
        after a crash replaces its first copy instead of lying beside it."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = hashlib.sha256(letter.message_id.encode()).hexdigest()[:20]
        path = self.folder / f"{name}.eml"
        message = bytes(compose(letter, self._settings.sender))
        # mkstemp creates the file readable and writable by its owner only (0600).
        descriptor, temp = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(message)
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        return path


def mailer_for(settings: MailSettings, data_dir: Path) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(settings)
    return OutboxMailer(settings, data_dir)
