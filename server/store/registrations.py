"""What registration keeps: registrations, their join-link letters, the tokens issued for
them, and revocations."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, Update, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.auth.permissions import Role
from server.listeners import tell_each
from server.registration.model import (
    HAS_ACCESS,
    WAITING_MAIL,
    JoinLetter,
    MailStatus,
    NewLetter,
    Registration,
    RegistrationStatus,
    email_key,
)
from server.store.models import IssuedTokenRow, RegistrationRow, RevocationRow

EXPORT_BATCH = 500
Query = TypeVar("Query", bound=Select[Any])

# Told the id of each registration changed here, once its change is committed.
ChangeListener = Callable[[str], Awaitable[None]]


class DuplicateEmail(Exception):
    """Another registration already holds this address, in some letter case."""


class RegistrationRecords:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._change_listeners: list[ChangeListener] = []

    def on_change(self, listener: ChangeListener) -> None:
        """``listener(id)`` after each change this process makes to a registration or its letter."""
        self._change_listeners.append(listener)

    async def _changed(self, ids: Iterable[str]) -> None:
        for registration_id in ids:
            await tell_each(self._change_listeners, registration_id, "registration change")

    async def add(self, registration: Registration, consent_at: datetime) -> None:
        row = RegistrationRow(
            id=registration.id,
            sub=registration.sub,
            name=registration.name,
            email=registration.email,
            email_key=email_key(registration.email),
            affiliation=registration.affiliation,
            status=registration.status.value,
            created_at=registration.created_at,
            consent_at=consent_at,
            decided_at=registration.decided_at,
            decided_by=registration.decided_by,
            mail=registration.mail.value if registration.mail else None,
            mail_due_at=registration.mail_due_at,
        )
        try:
            async with self._sessions.begin() as session:
                session.add(row)
        except IntegrityError:
            raise DuplicateEmail(registration.email) from None
        await self._changed([registration.id])

    async def get(self, registration_id: str) -> Registration | None:
        async with self._sessions() as session:
            row = await session.get(RegistrationRow, registration_id)
            return _registration(row) if row else None

    async def by_sub(self, sub: str) -> Registration | None:
        async with self._sessions() as session:
            row = await session.scalar(select(RegistrationRow).where(RegistrationRow.sub == sub))
            return _registration(row) if row else None

    async def by_email_key(self, key: str) -> Registration | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(RegistrationRow).where(RegistrationRow.email_key == key)
            )
            return _registration(row) if row else None

    async def search(
        self,
        status: RegistrationStatus | None,
        text: str,
        limit: int,
        offset: int,
        ids: tuple[str, ...] = (),
    ) -> tuple[list[Registration], int]:
        """A page of registrations, newest first; with ``ids``, of those only."""
        query = _filtered(select(RegistrationRow), status, text, ids)
        async with self._sessions() as session:
            total = await session.scalar(
                _filtered(select(func.count()).select_from(RegistrationRow), status, text, ids)
            )
            rows = await session.scalars(
                query.order_by(RegistrationRow.created_at.desc(), RegistrationRow.id)
                .limit(limit)
                .offset(offset)
            )
            return [_registration(row) for row in rows], int(total or 0)

    async def export(self) -> AsyncIterator[Registration]:
        """Every registration, oldest first, a batch at a time."""
        offset = 0
        while True:
            async with self._sessions() as session:
                rows = list(
                    await session.scalars(
                        select(RegistrationRow)
                        .order_by(RegistrationRow.created_at, RegistrationRow.id)
                        .limit(EXPORT_BATCH)
                        .offset(offset)
                    )
                )
            for row in rows:
                yield _registration(row)
            if len(rows) < EXPORT_BATCH:
                return
            offset += EXPORT_BATCH

    async def counts(self) -> dict[RegistrationStatus, int]:
        async with self._sessions() as session:
            rows = await session.execute(
                select(RegistrationRow.status, func.count()).group_by(RegistrationRow.status)
            )
            found = {RegistrationStatus(status): int(count) for status, count in rows}
        return {status: found.get(status, 0) for status in RegistrationStatus}

    async def decide(
        self,
        ids: Iterable[str],
        allowed: Iterable[RegistrationStatus],
        outcome: RegistrationStatus,
        at: datetime,
        by: str,
        mail: MailStatus | None,
    ) -> list[Registration]:
        """Move those of ``ids`` whose status is in ``allowed`` to ``outcome``, at once; a
        rejection also revokes every token the registration was given."""
        ids = list(ids)
        async with self._sessions.begin() as session:
            rows = list(
                await session.scalars(
                    select(RegistrationRow)
                    .where(RegistrationRow.id.in_(ids), RegistrationRow.status.in_(list(allowed)))
                    .with_for_update()
                )
            )
            for row in rows:
                row.status, row.decided_at, row.decided_by = outcome.value, at, by
                if mail is MailStatus.QUEUED:
                    _queue_new_letter(row, at)
            if outcome is not RegistrationStatus.APPROVED:
                await _revoke_tokens(session, [row.id for row in rows], at, outcome.value)
            decided = [_registration(row) for row in rows]
        await self._changed(registration.id for registration in decided)
        return decided

    async def close(
        self, registration_id: str, outcome: RegistrationStatus, at: datetime, by: str
    ) -> tuple[Registration | None, list[str]]:
        """Withdraw or revoke one registration and every token it was given, together."""
        async with self._sessions.begin() as session:
            row = await session.get(RegistrationRow, registration_id, with_for_update=True)
            if row is None:
                return None, []
            row.status, row.decided_at, row.decided_by = outcome.value, at, by
            revoked = await _revoke_tokens(session, [row.id], at, outcome.value)
            closed = _registration(row)
        await self._changed([registration_id])
        return closed, revoked

    async def queue_mail(self, registration_id: str, at: datetime) -> Registration | None:
        """A new letter, with a new token, in place of any before it (an organizer's resend)."""
        async with self._sessions.begin() as session:
            row = await session.get(RegistrationRow, registration_id, with_for_update=True)
            if row is None:
                return None
            _queue_new_letter(row, at)
            queued = _registration(row)
        await self._changed([registration_id])
        return queued

    async def due_letters(
        self, now: datetime, limit: int = 50
    ) -> list[tuple[Registration, JoinLetter | None]]:
        """The letters that may be tried now, longest waiting first: waiting and due, or being
        sent by a sender presumed dead. Each comes with its registration as it stands, and the
        letter recorded for it, if one is yet."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(RegistrationRow)
                .where(RegistrationRow.mail.in_(list(WAITING_MAIL)), _due_at() <= now)
                .order_by(_due_at(), RegistrationRow.id)
                .limit(limit)
            )
            return [(_registration(row), _letter(row)) for row in rows]

    async def next_mail_due(self) -> datetime | None:
        """When the next letter waiting is due, perhaps already; None if no letter waits."""
        async with self._sessions() as session:
            found: datetime | None = await session.scalar(
                select(func.min(_due_at())).where(RegistrationRow.mail.in_(list(WAITING_MAIL)))
            )
            return found

    async def claim_letter(
        self, registration_id: str, now: datetime, until: datetime, letter: JoinLetter | NewLetter
    ) -> Registration | None:
        """Take a due letter to send until ``until``: the letter it was found with, or, for a
        registration found without one, a new letter, recorded here with its token in the same
        transaction. None, and nothing changes, if things moved on since: another sender took
        it, a resend replaced its letter, or its registration lost its access."""
        params = {"registration_id": registration_id, "now": now, "until": until}
        if isinstance(letter, NewLetter):
            claim = CLAIM_NEW_LETTER
            new = letter.letter
            params.update(jti=new.jti, token=new.unsigned_token, message_id=new.message_id)
        else:
            claim, params["jti"] = CLAIM_LETTER, letter.jti
        async with self._sessions.begin() as session:
            found = await session.scalars(
                claim, params, execution_options={"synchronize_session": False}
            )
            claimed = found.one_or_none()
            if claimed is None:
                return None
            if isinstance(letter, NewLetter):
                session.add(_issued_token(claimed, letter))
            registration = _registration(claimed)
        await self._changed([registration_id])
        return registration

    async def fail_unsent(self, registration_id: str, reason: str) -> None:
        """A waiting letter that will not be sent, and why."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(RegistrationRow)
                .where(
                    RegistrationRow.id == registration_id,
                    RegistrationRow.mail.in_(list(WAITING_MAIL)),
                )
                .values(
                    mail=MailStatus.FAILED.value, mail_due_at=None, mail_error=f"not sent: {reason}"
                )
            )
        await self._changed([registration_id])

    async def settle_letter(
        self,
        registration_id: str,
        jti: str,
        mail: MailStatus,
        *,
        due_at: datetime | None = None,
        error: str | None = None,
    ) -> bool:
        """What came of sending the letter with token ``jti``. False, and nothing changes, if
        it is no longer being sent or no longer the registration's letter (a resend came)."""
        params = {
            "registration_id": registration_id,
            "jti": jti,
            "outcome": mail.value,
            "due_at": due_at,
            "error": error,
        }
        async with self._sessions.begin() as session:
            result = await session.execute(
                SETTLE_LETTER, params, execution_options={"synchronize_session": False}
            )
            settled = bool(getattr(result, "rowcount", 0))
        if settled:
            await self._changed([registration_id])
        return settled

    async def record_token(
        self,
        jti: str,
        sub: str,
        registration_id: str | None,
        role: str,
        issued_at: datetime,
        expires_at: datetime,
    ) -> None:
        async with self._sessions.begin() as session:
            session.add(
                IssuedTokenRow(
                    jti=jti,
                    sub=sub,
                    registration_id=registration_id,
                    role=role,
                    issued_at=issued_at,
                    expires_at=expires_at,
                )
            )

    async def revoke_token(self, jti: str, at: datetime, reason: str) -> bool:
        """False if it was revoked already."""
        try:
            async with self._sessions.begin() as session:
                session.add(RevocationRow(jti=jti, revoked_at=at, reason=reason))
        except IntegrityError:
            return False
        return True

    async def revocations_after(self, last_id: int) -> tuple[list[str], int]:
        async with self._sessions() as session:
            rows = list(
                await session.execute(
                    select(RevocationRow.id, RevocationRow.jti)
                    .where(RevocationRow.id > last_id)
                    .order_by(RevocationRow.id)
                )
            )
        return [jti for _, jti in rows], max((row_id for row_id, _ in rows), default=last_id)


async def _revoke_tokens(
    session: AsyncSession, registration_ids: list[str], at: datetime, reason: str
) -> list[str]:
    if not registration_ids:
        return []
    jtis = list(
        await session.scalars(
            select(IssuedTokenRow.jti).where(IssuedTokenRow.registration_id.in_(registration_ids))
        )
    )
    already = (
        set(await session.scalars(select(RevocationRow.jti).where(RevocationRow.jti.in_(jtis))))
        if jtis
        else set()
    )
    fresh = [jti for jti in jtis if jti not in already]
    session.add_all(RevocationRow(jti=jti, revoked_at=at, reason=reason) for jti in fresh)
    return fresh


def _queue_new_letter(row: RegistrationRow, at: datetime) -> None:
    row.mail, row.mail_due_at = MailStatus.QUEUED.value, at
    row.mail_attempts, row.mail_error = 0, None
    row.letter_jti = row.letter_token = row.letter_message_id = None


def _due_at() -> Any:
    """When a waiting letter is due; one queued with no time set is due at once."""
    return func.coalesce(RegistrationRow.mail_due_at, RegistrationRow.created_at)


def _letter(row: RegistrationRow) -> JoinLetter | None:
    if row.letter_jti is None or row.letter_token is None or row.letter_message_id is None:
        return None
    return JoinLetter(row.letter_jti, row.letter_token, row.letter_message_id)


def _issued_token(row: RegistrationRow, new: NewLetter) -> IssuedTokenRow:
    return IssuedTokenRow(
        jti=new.letter.jti,
        sub=row.sub,
        registration_id=row.id,
        role=Role.ATTENDEE.value,
        issued_at=new.issued_at,
        expires_at=new.expires_at,
    )


def _filtered(
    query: Query, status: RegistrationStatus | None, text: str, ids: tuple[str, ...] = ()
) -> Query:
    if ids:
        query = query.where(RegistrationRow.id.in_(ids))
    if status is not None:
        query = query.where(RegistrationRow.status == status.value)
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                *(
                    column.ilike(pattern, escape="\\")
                    for column in (
                        RegistrationRow.name,
                        RegistrationRow.email,
                        RegistrationRow.affiliation,
                    )
                )
            )
        )
    return query


def _registration(row: RegistrationRow) -> Registration:
    return Registration(
        id=row.id,
        sub=row.sub,
        name=row.name,
        email=row.email,
        affiliation=row.affiliation,
        status=RegistrationStatus(row.status),
        created_at=row.created_at,
        decided_at=row.decided_at,
        decided_by=row.decided_by,
        mail=MailStatus(row.mail) if row.mail else None,
        mail_attempts=row.mail_attempts or 0,
        mail_due_at=row.mail_due_at,
        mail_error=row.mail_error,
    )


def _claim(new_letter: bool) -> Update:
    """The UPDATE of ``claim_letter``. It and ``SETTLE_LETTER`` are built once: building
    them for each letter took longer than running them."""
    row = RegistrationRow
    claim = (
        update(row)
        .where(
            row.id == bindparam("registration_id"),
            row.status.in_([status.value for status in HAS_ACCESS]),
            row.mail.in_([mail.value for mail in WAITING_MAIL]),
            _due_at() <= bindparam("now"),
        )
        .values(
            mail=MailStatus.SENDING.value,
            mail_due_at=bindparam("until"),
            mail_attempts=row.mail_attempts + 1,
        )
        .returning(row)
    )
    if new_letter:
        return claim.where(row.letter_jti.is_(None)).values(
            letter_jti=bindparam("jti"),
            letter_token=bindparam("token"),
            letter_message_id=bindparam("message_id"),
        )
    return claim.where(row.letter_jti == bindparam("jti"))


CLAIM_NEW_LETTER = _claim(new_letter=True)
CLAIM_LETTER = _claim(new_letter=False)
SETTLE_LETTER = (
    update(RegistrationRow)
    .where(
        RegistrationRow.id == bindparam("registration_id"),
        RegistrationRow.letter_jti == bindparam("jti"),
        RegistrationRow.mail == MailStatus.SENDING.value,
    )
    .values(
        mail=bindparam("outcome"), mail_due_at=bindparam("due_at"), mail_error=bindparam("error")
    )
)
