"""How an address is written into a letter: as an address, never as an encoded-word, and
never at all when it is not one (through a real SMTP server and the outbox)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.config import MailSettings, SmtpSecurity
from server.registration.mail import (
    DeliveryFailed,
    Letter,
    OutboxMailer,
    SmtpMailer,
    compose,
    new_message_id,
)
from server.registration.model import MailStatus
from tests.smtp import SmtpServer

SENDER = "plenary <plenary@localhost>"


def letter_to(address: str, subject: str = "Your join link", text: str = "a link") -> Letter:
    return Letter(to=address, subject=subject, text=text, message_id=new_message_id(SENDER))


def headers(letter: Letter) -> list[bytes]:
    return bytes(compose(letter, SENDER)).split(b"\n\n", 1)[0].split(b"\n")


def test_a_domain_beyond_ascii_is_written_by_its_ascii_name() -> None:
    lines = headers(letter_to("Ana@Exämple.org"))
    assert b"To: Ana@xn--exmple-cua.org" in lines
    assert all(line.isascii() for line in lines)  # no SMTPUTF8 needed for this one


def test_an_address_beyond_ascii_is_written_in_utf8_itself() -> None:
    letter = letter_to("ju\u0308rgen@exa\u0308mple.org", "Ihr Link", "Hallo")
    assert "To: jürgen@exämple.org".encode() in headers(letter)
    assert compose(letter, SENDER).policy.utf8


def letters_in(folder: Path) -> list[Path]:
    return list(folder.glob("*.eml"))


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(smtputf8=True).start()
    yield server
    server.stop()


# On file from before addresses were checked: "To: a,dup2@…" would go to two people.
TWO_IN_ONE = letter_to("a,dup2@example.org")


async def test_smtp_sends_nothing_to_an_address_on_file_that_is_not_one(
    smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    settings = MailSettings(
        sender=SENDER, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security=SmtpSecurity.NONE
    )
    with caplog.at_level(logging.WARNING), pytest.raises(DeliveryFailed) as failed:
        await SmtpMailer(settings).send(TWO_IN_ONE)
    assert failed.value.permanent  # trying again cannot make it an address
    assert failed.value.reason.startswith("the address cannot be written in a letter")
    assert "invalid characters before the @-sign" in caplog.text
    assert "dup2" not in caplog.text  # the log never names a recipient
    sent = await SmtpMailer(settings).send(letter_to("ana@example.org", "s", "t"))
    assert sent is MailStatus.SENT
    assert [envelope.rcpt_tos for envelope in smtp.inbox.envelopes] == [("ana@example.org",)]


async def test_the_outbox_writes_nothing_for_an_address_on_file_that_is_not_one(
    tmp_path: Path,
) -> None:
    outbox = OutboxMailer(MailSettings(sender=SENDER), tmp_path)
    with pytest.raises(DeliveryFailed) as failed:
        await outbox.send(TWO_IN_ONE)
    assert failed.value.permanent
    assert not await asyncio.to_thread(letters_in, outbox.folder)
