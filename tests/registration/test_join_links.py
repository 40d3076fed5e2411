"""The join-link sender on an injected clock, with a real store (SQLite and PostgreSQL) and a
real SMTP server (aiosmtpd) that fails on purpose and then recovers: the backoff schedule is
walked through without sleeping, and every try of a letter is the same letter."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import text

from scheduler.clock import ManualClock
from server.auth.keys import KeyRing
from server.auth.tokens import TokenService
from server.config import Config, load_config
from server.errors import StoreUnavailable
from server.registration.backoff import Backoff
from server.registration.join_links import JoinLinkSender
from server.registration.mail import SmtpMailer
from server.registration.model import MailStatus, Registration, RegistrationStatus
from server.store import Store
from server.store.registrations import RegistrationRecords
from tests.serverproc import event_config
from tests.smtp import SmtpServer, join_link

BEFORE_THE_EVENT = datetime(2021, 6, 1, 9, 0, tzinfo=UTC)
PUBLIC_URL = "http://plenary.test"
ANA = "ana@example.org"


def approved_registration(
    registration_id: str, sub: str, name: str, email: str, at: datetime
) -> Registration:
    """An approved registration whose join letter is queued at ``at``."""
    return Registration(
        id=registration_id,
        sub=sub,
        name=name,
        email=email,
        affiliation="",
        status=RegistrationStatus.APPROVED,
        created_at=at,
        decided_at=at,
        decided_by="open registration",
        mail=MailStatus.QUEUED,
        mail_due_at=at,
    )


@dataclass
class Bench:
    """One sender, as a server runs it, and what it needs: the test moves the clock."""

    store: Store
    clock: ManualClock
    tokens: TokenService
    revoked: set[str]
    smtp: SmtpServer
    config: Config

    def __post_init__(self) -> None:
        self.sender = self.another_sender()

    def another_sender(
        self, config: Config | None = None, spread: Callable[[], float] = lambda: 0.0
    ) -> JoinLinkSender:
        """A sender, as a server on this store and these keys runs it. Without jitter (spread
        0) every wait is the full one."""
        config = config or self.config
        return JoinLinkSender(
            config,
            self.store.registrations,
            self.tokens,
            SmtpMailer(config.mail),
            self.clock,
            PUBLIC_URL,
            self.clock.now,
            spread=spread,
        )

    async def approved(self, n: int = 1, email: str = ANA) -> str:
        now = self.clock.now()
        registration = approved_registration(f"r_{n:04d}", f"a_{n:04d}", "Ana Pérez", email, now)
        await self.store.registrations.add(registration, consent_at=now)
        return registration.id

    async def registration(self, registration_id: str) -> Registration:
        found = await self.store.registrations.get(registration_id)
        assert found is not None
        return found

    async def tokens_of(self, registration_id: str) -> list[str]:
        async with self.store.engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT jti FROM issued_tokens WHERE registration_id = :id"),
                {"id": registration_id},
            )
            return [jti for (jti,) in rows]

    def advance(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))


@pytest.fixture
async def bench(tmp_path: Path, store_url: str, smtp_server: SmtpServer) -> AsyncIterator[Bench]:
    config = load_config(event_config(tmp_path, mode="open", smtp_port=smtp_server.port))
    store = Store.at(store_url)
    await store.prepare()
    clock = ManualClock(BEFORE_THE_EVENT)
    revoked: set[str] = set()
    keys = KeyRing.open(tmp_path / "data")
    tokens = TokenService(keys, config.issuer, clock.now, is_revoked=revoked.__contains__)
    yield Bench(store, clock, tokens, revoked, smtp_server, config)
    await store.close()


def the_same_letter(messages: list[EmailMessage]) -> tuple[str, str]:
    """The one link and Message-ID that every message carries."""
    links = {join_link(message) for message in messages}
    ids = {message["Message-ID"] for message in messages}
    assert len(links) == 1 and len(ids) == 1, (links, ids)
    return links.pop(), ids.pop()


async def test_a_temporary_failure_is_tried_again_on_schedule_with_the_same_letter(
    bench: Bench,
) -> None:
    inbox = bench.smtp.inbox
    inbox.refuse_next("DATA", "451 4.3.0 Local problem, try again", "421 4.3.2 Shutting down")
    rid = await bench.approved()

    assert await bench.sender.send_due() == 1
    waiting = await bench.registration(rid)
    assert (waiting.mail, waiting.mail_attempts) == (MailStatus.QUEUED, 1)
    assert waiting.mail_error == "the mail server answered 451 4.3.0 Local problem, try again"
    assert waiting.mail_due_at == bench.clock.now() + timedelta(seconds=30)

    bench.advance(seconds=29)
    assert await bench.sender.send_due() == 0  # not before its time
    bench.advance(seconds=1)
    assert await bench.sender.send_due() == 1
    waiting = await bench.registration(rid)
    assert (waiting.mail, waiting.mail_attempts) == (MailStatus.QUEUED, 2)
    assert waiting.mail_due_at == bench.clock.now() + timedelta(minutes=1)

    bench.advance(minutes=1)
    assert await bench.sender.send_due() == 1
    sent = await bench.registration(rid)
    assert (sent.mail, sent.mail_attempts, sent.mail_error, sent.mail_due_at) == (
        MailStatus.SENT,
        3,
        None,
        None,
    )
    assert len(inbox.arrivals) == 3 and len(inbox.messages) == 1
    link, _ = the_same_letter(inbox.arrivals)
    claims = bench.tokens.verify(link.split("#token=", 1)[1])
    assert await bench.tokens_of(rid) == [claims.jti]
    assert link.startswith(f"{PUBLIC_URL}/#token=")


async def test_a_refused_address_fails_at_once_with_the_reason(bench: Bench) -> None:
    bench.smtp.inbox.refuse_next("RCPT", "550 5.1.1 No such user here")
    rid = await bench.approved()
    assert await bench.sender.send_due() == 1
    failed = await bench.registration(rid)
    assert (failed.mail, failed.mail_attempts, failed.mail_due_at) == (MailStatus.FAILED, 1, None)
    assert failed.mail_error == "the mail server answered 550 5.1.1 No such user here"
    bench.advance(hours=4)
    assert await bench.sender.send_due() == 0
    assert await bench.store.registrations.next_mail_due() is None
    assert bench.smtp.inbox.messages == []


async def test_a_server_that_cannot_be_reached_is_waited_for(bench: Bench) -> None:
    bench.smtp.stop()
    rid = await bench.approved()
    assert await bench.sender.send_due() == 1
    waiting = await bench.registration(rid)
    assert waiting.mail is MailStatus.QUEUED
    assert waiting.mail_error is not None
    assert waiting.mail_error.startswith("the mail server could not be reached")
    bench.smtp.start()
    bench.advance(seconds=30)
    assert await bench.sender.send_due() == 1
    assert (await bench.registration(rid)).mail is MailStatus.SENT
    assert len(bench.smtp.inbox.to(ANA)) == 1


async def test_a_letter_is_given_up_after_its_twelfth_try(bench: Bench) -> None:
    bench.smtp.stop()
    rid = await bench.approved()
    started = bench.clock.now()
    for wait in Backoff().schedule():
        assert await bench.sender.send_due() == 1
        assert (await bench.registration(rid)).mail_due_at == bench.clock.now() + wait
        bench.clock.advance(wait)
    assert await bench.sender.send_due() == 1
    given_up = await bench.registration(rid)
    assert (given_up.mail, given_up.mail_attempts) == (MailStatus.FAILED, 12)
    assert given_up.mail_error is not None
    assert given_up.mail_error.endswith("; given up after 12 tries")
    assert bench.clock.now() - started == timedelta(hours=3, minutes=1, seconds=30)
    bench.advance(days=1)
    assert await bench.sender.send_due() == 0


async def test_jitter_spreads_letters_that_failed_together(bench: Bench) -> None:
    spreads = [0.0, 0.5, 0.99]
    sender = bench.another_sender(spread=iter(spreads).__next__)
    bench.smtp.stop()
    ids = [await bench.approved(n, f"p{n}@example.org") for n in range(3)]
    assert await sender.send_due() == 3
    due = [(await bench.registration(rid)).mail_due_at for rid in ids]
    expected = [timedelta(seconds=30) * (1 - 0.2 * spread) for spread in spreads]
    assert sorted(at - bench.clock.now() for at in due if at is not None) == sorted(expected)


async def test_a_sender_that_dies_while_sending_leaves_the_same_letter_to_the_next(
    bench: Bench,
) -> None:
    """The process dies (its task is cancelled) after the server received the message and
    before it answered; the letter is its sender's until the lease ends, twice the SMTP
    timeout, and is then sent again, the same letter, by the next server's sender."""
    inbox = bench.smtp.inbox
    inbox.hold_data()
    rid = await bench.approved()
    dying = asyncio.create_task(bench.sender.send_due())
    async with asyncio.timeout(10):
        while not inbox.arrivals:
            await asyncio.sleep(0.02)
    dying.cancel()
    with pytest.raises(asyncio.CancelledError):
        await dying
    inbox.release.set()
    assert (await bench.registration(rid)).mail is MailStatus.SENDING

    restarted = bench.another_sender()
    bench.advance(seconds=2 * bench.config.mail.smtp_timeout - 1)
    assert await restarted.send_due() == 0  # perhaps it is still being sent
    bench.advance(seconds=1)
    assert await restarted.send_due() == 1
    sent = await bench.registration(rid)
    assert (sent.mail, sent.mail_attempts) == (MailStatus.SENT, 2)
    assert len(inbox.arrivals) == 2
    link, _ = the_same_letter(inbox.arrivals)
    assert await bench.tokens_of(rid) == [bench.tokens.verify(link.split("#token=")[1]).jti]


async def test_a_conversation_that_takes_too_long_is_cut_short_and_tried_again(
    bench: Bench,
) -> None:
    quick = replace(bench.config, mail=replace(bench.config.mail, smtp_timeout=1))
    sender = bench.another_sender(quick)
    bench.smtp.inbox.hold_data()
    rid = await bench.approved()
    assert await sender.send_due() == 1
    bench.smtp.inbox.release.set()
    waiting = await bench.registration(rid)
    assert (waiting.mail, waiting.mail_error) == (
        MailStatus.QUEUED,
        "the mail server did not answer in time",
    )


async def test_a_resend_makes_a_new_letter_and_the_old_link_keeps_working(bench: Bench) -> None:
    inbox = bench.smtp.inbox
    inbox.refuse_next("DATA", "451 4.3.0 try again")
    rid = await bench.approved()
    assert await bench.sender.send_due() == 1
    first_link, first_id = the_same_letter(inbox.arrivals)
    await bench.store.registrations.queue_mail(rid, bench.clock.now())  # the organizer's resend
    assert (await bench.registration(rid)).mail_error is None
    assert await bench.sender.send_due() == 1
    second_link, second_id = the_same_letter(inbox.messages)
    assert (second_link, second_id) != (first_link, first_id)
    assert second_link != first_link and second_id != first_id
    first_token = first_link.split("#token=")[1]
    second_token = second_link.split("#token=")[1]
    assert bench.tokens.verify(first_token).sub == bench.tokens.verify(second_token).sub
    assert len(await bench.tokens_of(rid)) == 2
    bench.advance(minutes=5)
    assert await bench.sender.send_due() == 0  # the first letter's retry died with it


async def test_a_registration_withdrawn_before_its_turn_gets_no_letter(bench: Bench) -> None:
    rid = await bench.approved()
    await bench.store.registrations.close(
        rid, RegistrationStatus.WITHDRAWN, bench.clock.now(), "the attendee"
    )
    assert await bench.sender.send_due() == 0
    withdrawn = await bench.registration(rid)
    assert withdrawn.mail is MailStatus.FAILED
    assert withdrawn.mail_error == "not sent: the registration was withdrawn before its turn"
    assert bench.smtp.inbox.arrivals == [] and await bench.tokens_of(rid) == []


async def test_a_letter_revoked_while_it_waits_is_not_sent_again(bench: Bench) -> None:
    bench.smtp.inbox.refuse_next("RCPT", "451 4.7.1 Greylisted")
    rid = await bench.approved()
    assert await bench.sender.send_due() == 1
    bench.revoked.update(await bench.tokens_of(rid))  # as `plenary token revoke JTI` would
    bench.advance(seconds=30)
    assert await bench.sender.send_due() == 1
    failed = await bench.registration(rid)
    assert failed.mail is MailStatus.FAILED
    assert failed.mail_error == "its join link no longer works (token revoked)"
    assert bench.smtp.inbox.messages == []


async def test_stopping_the_sender_in_the_middle_of_a_letter_is_prompt(bench: Bench) -> None:
    """A server shutting down does not wait out the SMTP timeout for a letter in flight."""
    bench.smtp.inbox.hold_data()
    rid = await bench.approved()
    bench.sender.start()
    async with asyncio.timeout(10):
        while not bench.smtp.inbox.arrivals:
            await asyncio.sleep(0.02)
    began = time.monotonic()
    await bench.sender.stop()
    assert time.monotonic() - began < 1.0
    bench.smtp.inbox.release.set()
    assert (await bench.registration(rid)).mail is MailStatus.SENDING  # for the next server


class QueryCancelledAsStoreFailure:
    """Stands in for the store when a query cancelled mid-way comes back as another error, as
    the store's failure hooks made of it before 357b8ce (StoreUnavailable "CancelledError")."""

    def __init__(self) -> None:
        self.querying = asyncio.Event()

    async def due_letters(self, now: datetime, limit: int) -> list[object]:
        self.querying.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise StoreUnavailable("CancelledError") from None
        return []


async def test_stopping_ends_the_sender_even_when_a_cancelled_query_says_otherwise(
    tmp_path: Path,
) -> None:
    config = load_config(event_config(tmp_path, mode="open"))
    clock = ManualClock(BEFORE_THE_EVENT)
    store = QueryCancelledAsStoreFailure()
    sender = JoinLinkSender(
        config,
        cast(RegistrationRecords, store),
        TokenService(KeyRing.open(tmp_path / "data"), config.issuer, clock.now),
        SmtpMailer(config.mail),
        clock,
        PUBLIC_URL,
        clock.now,
    )
    sender.start()
    await store.querying.wait()
    stopping = asyncio.create_task(sender.stop())
    done, _ = await asyncio.wait({stopping}, timeout=5)
    assert stopping in done, "the sender went on to its next pass instead of ending"
