"""A real SMTP server (aiosmtpd) on loopback that keeps every message it receives, and can
refuse on purpose (any reply to MAIL, RCPT or DATA) or hold a message at DATA."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

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
    messages: list[EmailMessage] = field(default_factory=list)  # accepted
    envelopes: list[Envelope] = field(default_factory=list)  # of those accepted
    # Every message that reached DATA, whether it was then accepted, refused or held.
    arrivals: list[EmailMessage] = field(default_factory=list)
    # Replies to give instead of accepting, by command ("MAIL", "RCPT", "DATA"), in turn.
    refusals: dict[str, list[str]] = field(default_factory=dict)
    # While this is clear, DATA keeps the client waiting for its answer.
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.release.set()

    def refuse_next(self, command: str, *replies: str) -> None:
        with self.lock:
            self.refusals.setdefault(command, []).extend(replies)

    def hold_data(self) -> None:
        self.release.clear()

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if refusal := self._refusal("MAIL"):
            return refusal
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if refusal := self._refusal("RCPT"):
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        sent = Envelope(
            envelope.mail_from, tuple(envelope.rcpt_tos), envelope.smtp_utf8, envelope.content
        )
        with self.lock:
            self.arrivals.append(message)
        while not self.release.is_set():
            await asyncio.sleep(0.02)
        if refusal := self._refusal("DATA"):
            return refusal
        with self.lock:
            self.messages.append(message)
            self.envelopes.append(sent)
        return "250 Message accepted"

    def _refusal(self, command: str) -> str | None:
        with self.lock:
            waiting = self.refusals.get(command)
            return waiting.pop(0) if waiting else None

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


class ClosingController(Controller):
    """aiosmtpd's controller, closing the connections still open when it stops. Python 3.11's
    ``Server.close()`` leaves them open, and a letter's sender cut off by a test's end would
    leave a socket to be reported unclosed in a later test."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sessions: list[SMTP] = []

    def factory(self) -> SMTP:
        session = super().factory()
        self._sessions.append(session)
        return session

    def stop(self, no_assert: bool = False) -> None:
        if self.loop.is_running():
            closed = threading.Event()
            self.loop.call_soon_threadsafe(self._close_sessions, closed)
            closed.wait(5.0)
        super().stop(no_assert)

    def _close_sessions(self, closed: threading.Event) -> None:
        for session in self._sessions:
            if session.transport is not None:
                session.transport.close()
        # After the connection_lost callbacks the closes have just scheduled.
        self.loop.call_soon(closed.set)


class SmtpServer:
    def __init__(self, *, smtputf8: bool = False) -> None:
        """``smtputf8``: offer SMTPUTF8 (RFC 6531) in the EHLO answer, for addresses beyond
        ASCII; aiosmtpd does not by default, and neither do many servers."""
        self.inbox = Inbox()
        self.port = free_port()
        self.smtputf8 = smtputf8
        self._controller: ClosingController | None = None

    def start(self) -> SmtpServer:
        """(Re)start on the same port; a stopped controller cannot be started again."""
        self._controller = ClosingController(
            self.inbox, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=self.smtputf8
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
