"""Registration rules: sign-up by mode, organizers' decisions, withdrawal and revocation.

The adapters (HTTP) parse and authorise; this service decides and stores. Every change of
access is one transaction, and a revoked token stops verifying in this process at once and in
every other process sharing the store within a second (``RevocationList``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime

from server.auth.revocation import RevocationList
from server.config import RegistrationMode, RegistrationSettings
from server.errors import Conflict, Forbidden, NotFound
from server.registration.address import EmailAddress
from server.registration.join_links import JoinLinkSender
from server.registration.model import (
    DECIDABLE,
    OUTCOME,
    WAITING_MAIL,
    Decision,
    FieldError,
    MailStatus,
    Registration,
    RegistrationForm,
    RegistrationStatus,
    new_registration_id,
    new_subject,
)
from server.registration.smtputf8 import Smtputf8Support
from server.store.registrations import DuplicateEmail, RegistrationRecords

NO_SMTPUTF8 = (
    "this event's mail server cannot send to an address with letters beyond ASCII before the"
    " @-sign (it does not offer SMTPUTF8); please register with another address"
)


# Told the token subject of each attendee who withdraws, to forget them (their questions).
WithdrawalListener = Callable[[str], Awaitable[None]]


class RegistrationClosed(Forbidden):
    code = "registration_closed"


class AlreadyRegistered(Conflict):
    code = "already_registered"


class Registrar:
    def __init__(
        self,
        settings: RegistrationSettings,
        records: RegistrationRecords,
        sender: JoinLinkSender,
        revocations: RevocationList,
        smtputf8: Smtputf8Support,
        wall: Callable[[], datetime],
        access_until: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self._records = records
        self._sender = sender
        self._revocations = revocations
        self._smtputf8 = smtputf8
        self._wall = wall
        self._access_until = access_until
        self._withdrawal_listeners: list[WithdrawalListener] = []

    def on_withdrawn(self, listener: WithdrawalListener) -> None:
        self._withdrawal_listeners.append(listener)

    @property
    def mode(self) -> RegistrationMode:
        if self._access_until() <= self._wall():
            return RegistrationMode.CLOSED  # the event is over: access would expire at once
        return self.settings.mode

    async def register(self, form: RegistrationForm) -> Registration:
        mode = self.mode
        if mode is RegistrationMode.CLOSED:
            raise RegistrationClosed("registration for this event is closed")
        # Unknown (the server cannot be reached now) is not a no: the letter waits for it.
        if form.address.needs_smtputf8 and await self._smtputf8.offered() is False:
            raise FieldError("email", NO_SMTPUTF8)
        now = self._wall()
        is_open = mode is RegistrationMode.OPEN
        registration = Registration(
            id=new_registration_id(),
            sub=new_subject(),
            name=form.name,
            email=form.email,
            affiliation=form.affiliation,
            status=RegistrationStatus.APPROVED if is_open else RegistrationStatus.PENDING,
            created_at=now,
            decided_at=now if is_open else None,
            decided_by="open registration" if is_open else None,
            mail=MailStatus.QUEUED if is_open else None,
            mail_due_at=now if is_open else None,
        )
        try:
            await self._records.add(registration, consent_at=now)
        except DuplicateEmail:
            raise AlreadyRegistered("this e-mail address is already registered") from None
        if is_open:
            self._sender.wake()
        return registration

    async def decide(self, ids: list[str], decision: Decision, by: str) -> list[Registration]:
        outcome = OUTCOME[decision]
        mail = MailStatus.QUEUED if outcome is RegistrationStatus.APPROVED else None
        decided = await self._records.decide(
            ids, DECIDABLE[decision], outcome, self._wall(), by, mail
        )
        if mail is not None and decided:
            self._sender.wake()
        else:
            await self._revocations.refresh()
        return decided

    async def revoke(self, registration_id: str, by: str) -> Registration:
        return await self._close(registration_id, RegistrationStatus.REVOKED, by)

    async def withdraw(self, sub: str) -> Registration:
        registration = await self._records.by_sub(sub)
        if registration is None:
            raise NotFound("your access was not given through a registration")
        # Before the close, which revokes the token: if forgetting fails, the attendee can
        # still withdraw again.
        for listener in self._withdrawal_listeners:
            await listener(sub)
        return await self._close(registration.id, RegistrationStatus.WITHDRAWN, "the attendee")

    async def resend(self, registration_id: str) -> Registration:
        registration = await self.get(registration_id)
        if not registration.has_access:
            raise Conflict(
                f"only approved registrations get a link; this one is {registration.status.value}"
            )
        queued = await self._records.queue_mail(registration_id, self._wall())
        self._sender.wake()
        assert queued is not None
        return queued

    async def send_link_again(self, address: EmailAddress) -> bool:
        """Someone asked for the join link of ``address`` again: an approved registration of
        that mailbox gets a new letter, unless one is on its way already. Like an organizer's
        resend it has a new token, and the earlier links keep working. Whether it was sent is
        for the log and the tests, never for the one who asked."""
        registration = await self._records.by_email_key(address.key)
        if registration is None or not registration.has_access or registration.mail in WAITING_MAIL:
            return False
        await self._records.queue_mail(registration.id, self._wall())
        self._sender.wake()
        return True

    async def get(self, registration_id: str) -> Registration:
        registration = await self._records.get(registration_id)
        if registration is None:
            raise NotFound(f"no registration {registration_id!r}")
        return registration

    async def by_sub(self, sub: str) -> Registration | None:
        return await self._records.by_sub(sub)

    async def search(
        self,
        status: RegistrationStatus | None,
        text: str,
        limit: int,
        offset: int,
        ids: tuple[str, ...] = (),
    ) -> tuple[list[Registration], int]:
        return await self._records.search(status, text, limit, offset, ids)

    async def counts(self) -> dict[RegistrationStatus, int]:
        return await self._records.counts()

    def export(self) -> AsyncIterator[Registration]:
        return self._records.export()

    async def _close(
        self, registration_id: str, outcome: RegistrationStatus, by: str
    ) -> Registration:
        registration, revoked = await self._records.close(
            registration_id, outcome, self._wall(), by
        )
        if registration is None:
            raise NotFound(f"no registration {registration_id!r}")
        self._revocations.add(revoked)
        return registration
