"""Sends each approved registrant a personal join link, in the background, on its own schedule.

A registration to be mailed is marked ``queued`` in the same transaction that approves it. The
sender takes a due letter in one transaction that marks it as being sent and, the first time,
records the letter itself: the token's jti (so revoking the registration revokes it), the token
without its signature, and the Message-ID. Every later try, after a failure or a crash, sends
that same letter: the token signed again is the same token, so the link is the same. Only an
organizer's resend makes a new letter, with a new token.

A letter that fails for a reason that may pass (a 4xx, a server down or silent) is tried again
with backoff (``backoff.py``); one refused for good (a 5xx to the address or the message), or
tried too often, is marked failed with its reason, which organizers see. While a letter is being
sent it is its sender's for twice the SMTP timeout; if the sender dies (a kill -9), the letter is
due again after that, and is sent by whichever server sharing the store gets to it first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from scheduler.clock import Clock
from server.auth.permissions import Role
from server.auth.tokens import TokenService, without_signature
from server.background import BackgroundTask
from server.config import Config
from server.errors import InvalidInput, InvalidToken
from server.registration.backoff import Backoff
from server.registration.join_letter import join_letter
from server.registration.mail import DeliveryFailed, Mailer, new_message_id
from server.registration.model import JoinLetter, MailStatus, NewLetter, Registration
from server.store.registrations import RegistrationRecords

log = logging.getLogger(__name__)

BATCH = 50
# A letter being sent is its sender's for this many SMTP timeouts; then it is presumed lost.
LEASE_TIMEOUTS = 2
# The store is looked at this often even with nothing due here: another server sharing it may
# have died while sending, or its letters may wait for a sender.
IDLE_SECONDS = 60.0
PAUSE_AFTER_ERROR_SECONDS = 10.0
PAUSE_WHEN_STUCK_SECONDS = 1.0


class JoinLinkSender:
    def __init__(
        self,
        config: Config,
        records: RegistrationRecords,
        tokens: TokenService,
        mailer: Mailer,
        clock: Clock,
        public_url: str,
        wall: Callable[[], datetime],
        backoff: Backoff | None = None,
        spread: Callable[[], float] | None = None,
        calendar: Callable[[], bytes] | None = None,
    ) -> None:
        """``calendar``: the agenda as iCalendar, as the letter is written, for its attachment."""
        self._config = config
        self._records = records
        self._tokens = tokens
        self._mailer = mailer
        self._clock = clock
        self._public_url = public_url
        self._wall = wall
        self._backoff = backoff or Backoff()
        self._spread = spread or random.Random().random  # where each wait falls in its jitter
        self._calendar = calendar
        self._timeout = config.mail.smtp_timeout
        self._wanted = asyncio.Event()
        self._task = BackgroundTask("join-link-sender", self._run)

    def wake(self) -> None:
        self._wanted.set()

    def start(self) -> None:
        self._task.start()
        self.wake()  # whatever a previous run left waiting

    async def stop(self) -> None:
        await self._task.stop()

    async def send_due(self) -> int:
        """Try every letter due now, once; how many were tried."""
        tried, seen = 0, set[str]()
        while due := [
            (registration, letter)
            for registration, letter in await self._records.due_letters(self._wall(), BATCH)
            if registration.id not in seen
        ]:
            for registration, letter in due:
                seen.add(registration.id)
                tried += await self._try(registration, letter)
        return tried

    async def _run(self) -> None:
        while True:
            try:
                tried = await self.send_due()
                wait = await self._until_next_due()
                if not tried:  # something due that could not be taken: never spin on it
                    wait = max(wait, PAUSE_WHEN_STUCK_SECONDS)
            except Exception:
                if _stopping():
                    raise asyncio.CancelledError from None
                log.exception("sending join links failed; trying again shortly")
                wait = PAUSE_AFTER_ERROR_SECONDS
            await self._sleep(wait)

    async def _sleep(self, seconds: float) -> None:
        """Until ``seconds`` have passed or ``wake()`` is called, whichever comes first."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wanted.wait()
        self._wanted.clear()

    async def _until_next_due(self) -> float:
        due = await self._records.next_mail_due()
        if due is None:
            return IDLE_SECONDS
        return min(max((due - self._wall()).total_seconds(), 0.0), IDLE_SECONDS)

    async def _try(self, registration: Registration, found: JoinLetter | None) -> int:
        """Claim the letter, send it, record what came of it; 0 if it was not tried."""
        if not registration.has_access:  # rejected, withdrawn or revoked before its turn came
            reason = f"the registration was {registration.status.value} before its turn"
            await self._records.fail_unsent(registration.id, reason)
            return 0
        letter = found or await self._new_letter(registration)
        if letter is None:
            return 0
        now = self._wall()
        until = now + timedelta(seconds=LEASE_TIMEOUTS * self._timeout)
        claimed = await self._records.claim_letter(registration.id, now, until, letter)
        if claimed is None:  # another sender, a resend or a decision came first
            return 0
        sent = letter.letter if isinstance(letter, NewLetter) else letter
        try:
            status = await self._deliver(claimed, sent)
        except DeliveryFailed as failure:
            await self._failed(claimed, sent, failure)
        else:
            await self._records.settle_letter(claimed.id, sent.jti, status)
        return 1

    async def _new_letter(self, registration: Registration) -> NewLetter | None:
        """A letter with a new token, for a registration that has none yet. It counts only
        once ``claim_letter`` has recorded it; a token never recorded is never sent. None,
        and the letter fails unsent with the reason, if no link can be made."""
        until = self._clock.to_wall(self._config.timetable.access_ends_at())
        try:
            token, claims = self._tokens.mint(
                role=Role.ATTENDEE, name=registration.name, sub=registration.sub, expires_at=until
            )
        except InvalidInput as error:  # its access would already have ended, say
            await self._records.fail_unsent(registration.id, f"no link: {error.message}")
            return None
        message_id = new_message_id(self._config.mail.sender)
        letter = JoinLetter(claims.jti, without_signature(token), message_id)
        return NewLetter(letter, claims.issued_at, claims.expires_at)

    async def _deliver(self, registration: Registration, letter: JoinLetter) -> MailStatus:
        try:
            token = self._tokens.sign_again(letter.unsigned_token)
        except InvalidToken as error:
            reason = f"its join link no longer works ({error.message})"
            raise DeliveryFailed(reason, permanent=True) from None
        link = f"{self._public_url}/#token={token}"
        until = self._clock.to_wall(self._config.timetable.access_ends_at())
        calendar = self._calendar() if self._calendar is not None else None
        composed = join_letter(
            self._config, registration, link, self._days(), until, letter.message_id, calendar
        )
        try:
            # The whole conversation, not only each command: the letter's lease must outlast it.
            async with asyncio.timeout(self._timeout):
                return await self._mailer.send(composed)
        except TimeoutError:
            raise DeliveryFailed(
                "the mail server did not answer in time", permanent=False
            ) from None
        except DeliveryFailed:
            raise
        except Exception as error:  # one letter's fault must not hold up the others
            log.exception("sending a join link failed unexpectedly")
            raise DeliveryFailed(f"unexpected error: {error!r}", permanent=False) from None

    def _days(self) -> list[tuple[datetime, datetime]]:
        """When each day of the event begins and ends, on the wall (a rehearsal's own days)."""
        to_wall = self._clock.to_wall
        return [
            (to_wall(items[0].starts_at), to_wall(max(item.ends_at for item in items)))
            for _, items in self._config.timetable.days()
        ]

    async def _failed(
        self, registration: Registration, letter: JoinLetter, failure: DeliveryFailed
    ) -> None:
        tries = registration.mail_attempts
        wait = None if failure.permanent else self._backoff.wait_after(tries, self._spread())
        if wait is None:
            reason = failure.reason
            if not failure.permanent:
                reason = f"{reason}; given up after {tries} tries"
            log.warning("a join link could not be delivered, and will not be tried again")
            await self._records.settle_letter(
                registration.id, letter.jti, MailStatus.FAILED, error=reason
            )
            return
        await self._records.settle_letter(
            registration.id,
            letter.jti,
            MailStatus.QUEUED,
            due_at=self._wall() + wait,
            error=failure.reason,
        )


def _stopping() -> bool:
    """Whether this task was asked to stop: a cancellation that reached the database driver
    can come back as another error, and must still end the task."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
