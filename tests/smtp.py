"""A real SMTP server (aiosmtpd) on loopback that keeps every message it receives."""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.serverproc import free_port

LINK = re.compile(r"(https?://\S+/#token=[A-Za-z0-9._-]+)")


@dataclass(frozen=True)
class Envelope:
    """What the client said in MAIL FROM and RCPT TO, and the message's bytes as sent."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    smtputf8: bool
    content: bytes


@dataclass
class Inbox:
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Envelope] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        sent = Envelope(
            envelope.mail_from, tuple(envelope.rcpt_tos), envelope.smtp_utf8, envelope.content
        )
        with self.lock:
            self.messages.append(message)
            self.envelopes.append(sent)
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"].casefold() == address.casefold()]

    def wait_for(self, address: str, count: int = 1, within: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(
            f"no mail for {address} within {within} s (have {len(self.to(address))})"
        )


def join_link(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    match = LINK.search(body.get_content())
    assert match, body.get_content()
    return match.group(1)


class SmtpServer:
    def __init__(self, *, smtputf8: bool = False) -> None:
        """``smtputf8``: offer SMTPUTF8 (RFC 6531) in the EHLO answer, for addresses beyond
        ASCII; aiosmtpd does not by default, and neither do many servers."""
        self.inbox = Inbox()
        self.port = free_port()
        self.smtputf8 = smtputf8
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        """(Re)start on the same port; a stopped controller cannot be started again."""
        self._controller = Controller(
            self.inbox, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=self.smtputf8
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
