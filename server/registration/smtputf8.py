"""Whether mail can carry an address written beyond ASCII before the @ (SMTPUTF8, RFC 6531).

Such an address can only be sent through a server that offers SMTPUTF8 in its EHLO answer;
anything else would mangle it. Registration asks before it accepts one, so that a person is
told at once to give another address instead of waiting for a letter that cannot come.
"""

from __future__ import annotations

import logging
from typing import Protocol

import aiosmtplib

from server.config import MailSettings, SmtpSecurity

log = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 5


class Smtputf8Support(Protocol):
    async def offered(self) -> bool | None:
        """True or False as the mail path answers; None when it cannot be asked now."""
        ...


class SmtpServerSupport:
    """Asks the configured SMTP server: one connection, EHLO, QUIT."""

    def __init__(self, settings: MailSettings) -> None:
        self._settings = settings

    async def offered(self) -> bool | None:
        settings = self._settings
        client = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            use_tls=settings.smtp_security is SmtpSecurity.TLS,
            start_tls=settings.smtp_security is SmtpSecurity.STARTTLS,
            timeout=PROBE_TIMEOUT_SECONDS,
        )
        try:
            async with client:
                await client.ehlo()  # after STARTTLS too: extensions may differ over TLS
                return client.supports_extension("smtputf8")
        except (aiosmtplib.SMTPException, OSError) as error:
            log.warning(
                "could not ask %s whether it offers SMTPUTF8: %s", settings.smtp_host, error
            )
            return None


class OutboxSupport:
    """The outbox keeps each message as SMTPUTF8 would send it."""

    async def offered(self) -> bool:
        return True


def smtputf8_support_for(settings: MailSettings) -> Smtputf8Support:
    if settings.smtp_host:
        return SmtpServerSupport(settings)
    return OutboxSupport()
