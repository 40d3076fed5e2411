"""Outgoing mail against a real SMTP server (aiosmtpd) that refuses on purpose, and the outbox."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from server.config import MailSettings, SmtpSecurity
from server.registration.mail import (
    DeliveryFailed,
    Letter,
    OutboxMailer,
    SmtpMailer,
    new_message_id,
)
from server.registration.model import MailStatus
from tests.smtp import SmtpServer

SENDER = "Plenary <plenary@example.org>"
ANA = "ana@example.org"


def letter() -> Letter:
    return Letter(to=ANA, subject="Your join link", text="Hello", message_id=new_message_id(SENDER))


def smtp_mailer(port: int, timeout: int = 10) -> SmtpMailer:
    settings = MailSettings(
        sender=SENDER,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security=SmtpSecurity.NONE,
        smtp_timeout=timeout,
    )
    return SmtpMailer(settings)


async def refusal(mailer: SmtpMailer, sent: Letter) -> DeliveryFailed:
    with pytest.raises(DeliveryFailed) as failed:
        await mailer.send(sent)
    return failed.value


async def test_a_letter_carries_the_message_id_it_was_given(smtp_server: SmtpServer) -> None:
    sent = letter()
    assert sent.message_id.startswith("<") and sent.message_id.endswith("@example.org>")
    assert await smtp_mailer(smtp_server.port).send(sent) is MailStatus.SENT
    assert [m["Message-ID"] for m in smtp_server.inbox.to(ANA)] == [sent.message_id]


@pytest.mark.parametrize(
    ("command", "reply", "permanent"),
    [
        ("RCPT", "550 5.1.1 No such user here", True),
        ("RCPT", "451 4.7.1 Greylisted, please try again later", False),
        ("DATA", "554 5.7.1 Message refused", True),
        ("DATA", "451 4.3.0 Local problem, try again", False),
        ("MAIL", "421 4.3.2 Service shutting down", False),
        # A 5xx to the sender is the server's set-up, which an operator can put right.
        ("MAIL", "553 5.7.1 Sender not allowed", False),
    ],
)
async def test_a_refusal_is_final_only_for_a_5xx_to_the_recipient_or_the_message(
    smtp_server: SmtpServer, command: str, reply: str, permanent: bool
) -> None:
    smtp_server.inbox.refuse_next(command, reply)
    failure = await refusal(smtp_mailer(smtp_server.port), letter())
    assert failure.permanent is permanent
    assert failure.reason == f"the mail server answered {reply}"
    assert smtp_server.inbox.messages == []


async def test_an_address_beyond_ascii_without_smtputf8_is_final(
    smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The server stopped offering SMTPUTF8 since the sign-up asked: never a mangled address."""
    sent = Letter(to="jürgen@example.org", subject="s", text="t", message_id=new_message_id(SENDER))
    with caplog.at_level(logging.WARNING):
        failure = await refusal(smtp_mailer(smtp_server.port), sent)
    assert failure.permanent
    assert failure.reason == "the mail server does not offer SMTPUTF8, which this address needs"
    assert smtp_server.inbox.arrivals == [] and "jürgen" not in caplog.text


async def test_a_server_that_cannot_be_reached_is_worth_trying_again(
    smtp_server: SmtpServer,
) -> None:
    smtp_server.stop()
    failure = await refusal(smtp_mailer(smtp_server.port), letter())
    assert not failure.permanent
    assert failure.reason.startswith("the mail server could not be reached")
    smtp_server.start()
    assert await smtp_mailer(smtp_server.port).send(letter()) is MailStatus.SENT


async def test_a_server_that_does_not_answer_is_given_up_on_in_time(
    smtp_server: SmtpServer,
) -> None:
    smtp_server.inbox.hold_data()
    failure = await refusal(smtp_mailer(smtp_server.port, timeout=1), letter())
    assert (failure.permanent, failure.reason) == (False, "the mail server did not answer in time")
    smtp_server.inbox.release.set()


async def test_the_log_never_names_the_recipient(
    smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    reply = f"550 5.1.1 <{ANA}>: Recipient address rejected"
    smtp_server.inbox.refuse_next("RCPT", reply)
    with caplog.at_level(logging.WARNING):
        failure = await refusal(smtp_mailer(smtp_server.port), letter())
    assert ANA in failure.reason  # organizers see it; the log does not
    assert "550" in caplog.text and ANA not in caplog.text


def test_a_reason_is_one_line_of_bounded_length() -> None:
    failure = DeliveryFailed("first line\r\n  second\tline " + "x" * 1000, permanent=False)
    assert failure.reason.startswith("first line second line x")
    assert len(failure.reason) == 300 and failure.reason.endswith("…")


async def test_the_outbox_keeps_one_file_per_letter_however_often_it_is_written(
    tmp_path: Path,
) -> None:
    mailer = OutboxMailer(MailSettings(sender=SENDER), tmp_path)
    first, other = letter(), letter()
    for sent in (first, first, other):
        assert await mailer.send(sent) is MailStatus.OUTBOX
    files = sorted(mailer.folder.iterdir())
    assert len(files) == 2
    assert {oct(path.stat().st_mode & 0o777) for path in files} == {"0o600"}
    ids = {path.read_bytes().split(b"Message-ID: ")[1].split(b"\n")[0].strip() for path in files}
    assert ids == {first.message_id.encode(), other.message_id.encode()}


async def test_an_outbox_that_cannot_be_written_is_worth_trying_again(tmp_path: Path) -> None:
    (tmp_path / "outbox").write_text("a file where the folder should be")
    mailer = OutboxMailer(MailSettings(sender=SENDER), tmp_path)
    with pytest.raises(DeliveryFailed) as failed:
        await mailer.send(letter())
    assert not failed.value.permanent
    assert failed.value.reason.startswith("the letter could not be written to the outbox")
