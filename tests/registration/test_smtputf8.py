"""Asking the configured SMTP server whether it offers SMTPUTF8: a real aiosmtpd each time."""

from __future__ import annotations

from server.config import MailSettings, SmtpSecurity
from server.registration.smtputf8 import SmtpServerSupport, smtputf8_support_for
from tests.serverproc import free_port
from tests.smtp import SmtpServer


def settings(port: int) -> MailSettings:
    return MailSettings(smtp_host="127.0.0.1", smtp_port=port, smtp_security=SmtpSecurity.NONE)


async def test_the_answer_is_the_servers_ehlo() -> None:
    for offers in (True, False):
        server = SmtpServer(smtputf8=offers).start()
        try:
            assert await SmtpServerSupport(settings(server.port)).offered() is offers
        finally:
            server.stop()


async def test_a_server_that_cannot_be_reached_is_not_a_no() -> None:
    assert await SmtpServerSupport(settings(free_port())).offered() is None


async def test_the_outbox_keeps_any_address() -> None:
    assert await smtputf8_support_for(MailSettings()).offered() is True
