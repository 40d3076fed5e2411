"""How an address is written into a letter: as an address, never as an encoded-word, and
never at all when it is not one (through a real SMTP server and the outbox)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.config import MailSettings, SmtpSecurity
from server.registration.mail import Letter, OutboxMailer, SmtpMailer, compose
from server.registration.model import MailStatus
from tests.smtp import SmtpServer

SENDER = "plenary <plenary@localhost>"


def headers(letter: Letter) -> list[bytes]:
    return bytes(compose(letter, SENDER)).split(b"\n\n", 1)[0].split(b"\n")


def test_a_domain_beyond_ascii_is_written_by_its_ascii_name() -> None:
    lines = headers(Letter(to="Ana@Exämple.org", subject="Your join link", text="Hello"))
    assert b"To: Ana@xn--exmple-cua.org" in lines
    assert all(line.isascii() for line in lines)  # no SMTPUTF8 needed for this one


def test_an_address_beyond_ascii_is_written_in_utf8_itself() -> None:
    letter = Letter(to="ju\u0308rgen@exa\u0308mple.org", subject="Ihr Link", text="Hallo")
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
TWO_IN_ONE = Letter(to="a,dup2@example.org", subject="Your join link", text="a link")


async def test_smtp_sends_nothing_to_an_address_on_file_that_is_not_one(
    smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    settings = MailSettings(
        sender=SENDER, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security=SmtpSecurity.NONE
    )
    with caplog.at_level(logging.WARNING):
        assert await SmtpMailer(settings).send(TWO_IN_ONE) is MailStatus.FAILED
    assert "invalid characters before the @-sign" in caplog.text
    assert "dup2" not in caplog.text  # the log never names a recipient
    sent = await SmtpMailer(settings).send(Letter(to="ana@example.org", subject="s", text="t"))
    assert sent is MailStatus.SENT
    assert [envelope.rcpt_tos for envelope in smtp.inbox.envelopes] == [("ana@example.org",)]


async def test_the_outbox_writes_nothing_for_an_address_on_file_that_is_not_one(
    tmp_path: Path,
) -> None:
    outbox = OutboxMailer(MailSettings(sender=SENDER), tmp_path)
    assert await outbox.send(TWO_IN_ONE) is MailStatus.FAILED
    assert not await asyncio.to_thread(letters_in, outbox.folder)
