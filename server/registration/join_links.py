"""Sends each approved registrant a personal join link, in the background.

A registration to be mailed is marked ``queued`` in the same transaction that approves it, so
a crash loses nothing: the sender picks queued registrations up again at start-up. The token is
minted at sending time, recorded against the registration (so revoking the registration revokes
it), and travels in the link's fragment, which browsers never send to a server or a log.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from scheduler.clock import Clock
from server.auth.permissions import Role
from server.auth.tokens import TokenService
from server.background import BackgroundTask
from server.config import Config
from server.registration.mail import DeliveryFailed, Letter, Mailer, new_message_id
from server.registration.model import MailStatus, Registration
from server.store.registrations import RegistrationRecords

log = logging.getLogger(__name__)


class JoinLinkSender:
    def __init__(
        self,
        config: Config,
        records: RegistrationRecords,
        tokens: TokenService,
        mailer: Mailer,
        clock: Clock,
        public_url: str,
    ) -> None:
        self._config = config
        self._records = records
        self._tokens = tokens
        self._mailer = mailer
        self._clock = clock
        self._public_url = public_url
        self._wanted = asyncio.Event()
        self._task = BackgroundTask("join-link-sender", self._run)

    def wake(self) -> None:
        self._wanted.set()

    def start(self) -> None:
        self._task.start()
        self.wake()  # whatever a previous run left queued

    async def stop(self) -> None:
        await self._task.stop()

    async def send_queued(self) -> int:
        sent = 0
        while batch := await self._records.queued_mail():
            for registration in batch:
                await self._send(registration)
                sent += 1
        return sent

    async def _run(self) -> None:
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            try:
                await self.send_queued()
            except Exception:
                log.exception("sending join links failed; will retry on the next wake-up")

    async def _send(self, registration: Registration) -> None:
        if not registration.has_access:  # rejected or withdrawn before its turn came
            await self._records.set_mail(registration.id, MailStatus.FAILED)
            return
        until = self._clock.to_wall(self._config.timetable.access_ends_at())
        token, claims = self._tokens.mint(
            role=Role.ATTENDEE, name=registration.name, sub=registration.sub, expires_at=until
        )
        await self._records.record_token(
            claims.jti, claims.sub, registration.id, Role.ATTENDEE.value, claims.issued_at, until
        )
        link = f"{self._public_url}/#token={token}"
        starts = self._clock.to_wall(self._config.timetable.items[0].starts_at)
        letter = join_letter(self._config, registration, link, starts, until)
        try:
            status = await self._mailer.send(letter)
        except DeliveryFailed:
            status = MailStatus.FAILED
        await self._records.set_mail(registration.id, status)


def join_letter(
    config: Config, registration: Registration, link: str, starts: datetime, until: datetime
) -> Letter:
    event = config.event
    zone = config.timetable.zone
    first_day = starts.astimezone(zone)
    text = "\n".join(
        [
            f"Dear {registration.name},",
            "",
            f"you are registered to follow {event.name} online.",
            f"{event.theme}" if event.theme else "",
            "",
            "Your personal join link (it signs you in; please do not share it):",
            "",
            link,
            "",
            f"The conference begins on {first_day:%A %d %B %Y} at {first_day:%H:%M} "
            f"({zone.key} time). Your link works until {until.astimezone(zone):%d %B %Y}.",
            "",
            'To delete your registration, open the link and choose "Delete my registration";',
            "the link stops working at once.",
        ]
    )
    return Letter(
        to=registration.email,
        subject=f"Your join link: {event.name}",
        text=text,
        message_id=new_message_id(config.mail.sender),
    )
