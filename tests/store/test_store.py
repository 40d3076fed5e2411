"""The store on SQLite and PostgreSQL alike: records, transactions and migrations."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from scheduler.timetable import Override, OverrideAction, RoomState
from server.registration.model import (
    JoinLetter,
    MailStatus,
    NewLetter,
    Registration,
    RegistrationStatus,
)
from server.store import Actor, AuditEntry, RoomChange, Store
from server.store.database import FIRST_REVISION
from server.store.registrations import DuplicateEmail

AT = datetime(2021, 6, 14, 12, 0, tzinfo=UTC)
TECH = Actor("u_tech", "Tess")


def entry(room: str, action: str = "transition", **detail: object) -> AuditEntry:
    return AuditEntry(
        wall_at=AT, agenda_at=AT, room=room, action=action, actor=TECH, detail=dict(detail)
    )


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    store = Store.at(store_url)
    await store.prepare()
    yield store
    await store.close()


async def test_schema_is_at_the_newest_revision(store: Store) -> None:
    assert await store.revision() is not None
    await store.prepare()  # twice is fine
    assert await store.revision() == await store.revision()


async def test_overrides_round_trip_in_order_and_aware(store: Store) -> None:
    first = Override("welcome", OverrideAction.EXTEND, AT, 10)
    second = Override("welcome", OverrideAction.END, AT + timedelta(minutes=50))
    await store.rooms.add_override("event", first, entry("welcome", "override"))
    await store.rooms.add_override("event", second, entry("welcome", "override"))
    await store.rooms.add_override("rehearsal:a", first, entry("welcome", "override"))
    assert await store.rooms.overrides("event") == [first, second]
    assert (await store.rooms.overrides("event"))[0].at.tzinfo is UTC
    assert await store.rooms.overrides("nobody") == []


async def test_transitions_and_audit(store: Store) -> None:
    await store.rooms.save_transitions(
        "event",
        [
            RoomChange("welcome", RoomState.LIVE, entry("welcome", to="live")),
            RoomChange("keynote", RoomState.LOBBY, entry("keynote", to="lobby")),
        ],
    )
    await store.rooms.save_transitions(
        "event", [RoomChange("welcome", RoomState.ENDED, entry("welcome", to="ended"))]
    )
    assert await store.rooms.room_states("event") == {
        "welcome": RoomState.ENDED,
        "keynote": RoomState.LOBBY,
    }
    log = await store.rooms.audit_log("event")
    assert [(e.room, e.detail["to"]) for e in log] == [
        ("welcome", "live"),
        ("keynote", "lobby"),
        ("welcome", "ended"),
    ]
    assert [e.room for e in await store.rooms.audit_log("event", limit=1)] == ["welcome"]
    assert log[0].actor == TECH and log[0].wall_at == AT


async def test_a_failed_transaction_leaves_nothing(store: Store) -> None:
    too_long = "x" * 200  # longer than the room column allows on PostgreSQL; SQLite is lax
    override = Override("welcome", OverrideAction.START, AT)
    bad_entry = AuditEntry(
        wall_at=AT,
        agenda_at=AT,
        room="welcome",
        action="override",
        actor=TECH,
        detail={"unserialisable": object()},
    )
    with pytest.raises(TypeError):
        await store.rooms.add_override("event", override, bad_entry)
    assert await store.rooms.overrides("event") == []
    assert await store.rooms.audit_log("event") == []
    assert too_long  # kept for the reader: the point is atomicity, not column sizes


async def test_a_database_from_before_migrations_is_upgraded_without_loss(
    store_url: str,
) -> None:
    """The first release created its tables directly; opening it now keeps every row."""
    from server.store.models import AuditRow, Base, OverrideRow, RoomStateRow

    first_release = [OverrideRow.__table__, AuditRow.__table__, RoomStateRow.__table__]
    store = Store.at(store_url)
    async with store.engine.begin() as connection:
        await connection.run_sync(lambda sync: Base.metadata.create_all(sync, tables=first_release))
        await connection.execute(
            text(
                "INSERT INTO overrides (run, room, action, minutes, at) "
                "VALUES ('event', 'welcome', 'extend', 10, '2021-06-14 12:40:00')"
            )
        )
    await store.prepare()
    assert await store.revision() is not None
    assert await store.rooms.overrides("event") == [
        Override("welcome", OverrideAction.EXTEND, AT + timedelta(minutes=40), 10)
    ]
    await store.close()


async def test_every_revision_upgrades_from_the_first_without_loss(store_url: str) -> None:
    from alembic import command

    from server.store.database import alembic_config

    store = Store.at(store_url)
    async with store.engine.begin() as connection:
        await connection.run_sync(
            lambda sync: command.upgrade(alembic_config(sync), FIRST_REVISION)
        )
        await connection.execute(
            text(
                "INSERT INTO audit_log (run, wall_at, agenda_at, room, action, actor_sub, "
                "actor_name, detail) VALUES ('event', '2021-06-14 12:00:00', "
                "'2021-06-14 12:00:00', 'welcome', 'override', 'u_t', 'Tess', '{}')"
            )
        )
    await store.prepare()
    log = await store.rooms.audit_log("event")
    assert [(e.room, e.actor.name) for e in log] == [("welcome", "Tess")]
    await store.close()


def registration(
    n: int, status: RegistrationStatus = RegistrationStatus.PENDING, email: str | None = None
) -> Registration:
    return Registration(
        id=f"r_{n:04d}",
        sub=f"a_{n:04d}",
        name=f"Person {n}",
        email=email or f"p{n}@example.org",
        affiliation="NGO_1 100%",
        status=status,
        created_at=AT + timedelta(seconds=n),
    )


async def test_registrations_refuse_the_same_address_in_any_case(store: Store) -> None:
    records = store.registrations
    await records.add(registration(1, email="Ana@Example.org"), consent_at=AT)
    with pytest.raises(DuplicateEmail):
        await records.add(registration(2, email="ana@EXAMPLE.ORG"), consent_at=AT)
    assert (await records.search(None, "", 10, 0))[1] == 1


async def test_decide_revokes_tokens_of_rejected_registrations(store: Store) -> None:
    records = store.registrations
    for n in range(3):
        await records.add(registration(n), consent_at=AT)
    approved = await records.decide(
        ["r_0000", "r_0001"],
        [RegistrationStatus.PENDING],
        RegistrationStatus.APPROVED,
        AT,
        "Olga",
        MailStatus.QUEUED,
    )
    assert [r.mail for r in approved] == [MailStatus.QUEUED] * 2
    await records.record_token("j" * 22, "a_0000", "r_0000", "attendee", AT, AT)
    await records.record_token("k" * 22, "a_0000", "r_0000", "attendee", AT, AT)
    rejected = await records.decide(
        ["r_0000", "r_0002"],
        [RegistrationStatus.PENDING, RegistrationStatus.APPROVED],
        RegistrationStatus.REJECTED,
        AT,
        "Olga",
        None,
    )
    assert {r.id for r in rejected} == {"r_0000", "r_0002"}
    revoked, last = await records.revocations_after(0)
    assert sorted(revoked) == ["j" * 22, "k" * 22]
    assert await records.revocations_after(last) == ([], last)
    counts = await records.counts()
    assert (counts[RegistrationStatus.APPROVED], counts[RegistrationStatus.REJECTED]) == (1, 2)


async def test_close_withdraws_and_revokes_together(store: Store) -> None:
    records = store.registrations
    await records.add(registration(7, RegistrationStatus.APPROVED), consent_at=AT)
    await records.record_token("t" * 22, "a_0007", "r_0007", "attendee", AT, AT)
    closed, revoked = await records.close("r_0007", RegistrationStatus.WITHDRAWN, AT, "self")
    assert closed is not None and closed.status is RegistrationStatus.WITHDRAWN
    assert revoked == ["t" * 22]
    assert await records.close("r_nope", RegistrationStatus.REVOKED, AT, "x") == (None, [])
    _, again = await records.close("r_0007", RegistrationStatus.REVOKED, AT, "x")
    assert again == []  # revoked once is enough
    assert not await records.revoke_token("t" * 22, AT, "again")


async def test_search_treats_wildcards_as_text(store: Store) -> None:
    records = store.registrations
    for n in range(5):
        await records.add(registration(n), consent_at=AT)
    assert (await records.search(None, "person 3", 10, 0))[1] == 1
    assert (await records.search(None, "100%", 10, 0))[1] == 5
    assert (await records.search(None, "o_1", 10, 0))[1] == 5
    assert (await records.search(None, "O%1", 10, 0))[1] == 0
    found, total = await records.search(RegistrationStatus.PENDING, "", 2, 1)
    assert total == 5 and [r.id for r in found] == ["r_0003", "r_0002"]  # newest first
    exported = [r.id async for r in records.export()]
    assert exported == [f"r_{n:04d}" for n in range(5)]


async def test_queued_mail_is_picked_up_after_a_restart(store_url: str) -> None:
    first = Store.at(store_url)
    await first.prepare()
    await first.registrations.add(registration(1, RegistrationStatus.APPROVED), consent_at=AT)
    await first.registrations.queue_mail("r_0001", AT)
    await first.close()
    second = Store.at(store_url)
    await second.prepare()
    assert await due_ids(second, AT) == ["r_0001"]
    letter = new_letter(1)
    assert await second.registrations.claim_letter("r_0001", AT, AT, letter) is not None
    await second.registrations.settle_letter("r_0001", letter.letter.jti, MailStatus.SENT)
    assert await due_ids(second, AT + timedelta(days=1)) == []
    await second.close()


async def test_stored_addresses_are_renormalised_and_every_row_stays(store_url: str) -> None:
    """Rows as the code before 0003 wrote them: the address as typed, the key case-folded."""
    from alembic import command

    from server.store.database import alembic_config

    before = [
        ("r_1", "ju\u0308rgen@Exa\u0308mple.org"),  # decomposed
        ("r_2", "Jürgen@xn--exmple-cua.org"),  # the same mailbox, registered later
        ("r_3", "a,dup2@example.org"),  # refused now: two addresses in one
        ("r_4", "Ana@Example.ORG"),
        ("r_5", "\u212aelvin@example.org"),  # the Kelvin sign
        ("r_6", "straße@example.org"),
    ]
    store = Store.at(store_url)
    async with store.engine.begin() as connection:
        await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0002"))
        for n, (row_id, email) in enumerate(before):
            await connection.execute(
                text(
                    "INSERT INTO registrations (id, sub, name, email, email_key, affiliation,"
                    " status, created_at, consent_at) VALUES (:id, :sub, 'P', :email, :key, '',"
                    " 'pending', :at, :at)"
                ),
                {
                    "id": row_id,
                    "sub": f"a_{n}",
                    "email": email,
                    "key": email.casefold(),
                    "at": datetime(2021, 6, 14, 12, n),
                },
            )
    await store.prepare()
    records = store.registrations
    stored = {r.id: r.email async for r in records.export()}
    assert stored == {
        "r_1": "jürgen@exämple.org",
        "r_2": "Jürgen@exämple.org",
        "r_3": "a,dup2@example.org",  # kept for an organizer to see; mail to it fails
        "r_4": "Ana@example.org",
        "r_5": "Kelvin@example.org",
        "r_6": "straße@example.org",
    }
    for n, taken in enumerate(["JÜRGEN@exämple.org", "ana@example.org", "kelvin@example.org"]):
        with pytest.raises(DuplicateEmail):
            await records.add(registration(10 + n, email=taken), consent_at=AT)
    await records.add(registration(20, email="strasse@example.org"), consent_at=AT)
    await store.close()


def new_letter(n: int) -> NewLetter:
    """As the sender mints one: a token never recorded counts for nothing."""
    letter = JoinLetter(f"jti{n:019d}", f"header.claims{n}", f"<m{n}@example.org>")
    return NewLetter(letter, issued_at=AT, expires_at=AT + timedelta(days=3))


async def due_ids(store: Store, now: datetime) -> list[str]:
    return [registration.id for registration, _ in await store.registrations.due_letters(now)]


async def issued_jtis(store: Store, registration_id: str) -> list[str]:
    async with store.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT jti FROM issued_tokens WHERE registration_id = :id"),
            {"id": registration_id},
        )
        return sorted(jti for (jti,) in rows)


async def approved(store: Store, n: int) -> str:
    await store.registrations.add(registration(n), consent_at=AT)
    await store.registrations.decide(
        [f"r_{n:04d}"],
        [RegistrationStatus.PENDING],
        RegistrationStatus.APPROVED,
        AT,
        "Olga",
        MailStatus.QUEUED,
    )
    return f"r_{n:04d}"


async def test_a_letter_and_its_token_are_recorded_when_it_is_first_taken(store: Store) -> None:
    records = store.registrations
    rid = await approved(store, 1)
    assert await records.due_letters(AT) == [((await records.get(rid)), None)]
    lease = AT + timedelta(minutes=2)
    new = new_letter(1)
    taken = await records.claim_letter(rid, AT, lease, new)
    assert taken is not None
    assert (taken.mail, taken.mail_attempts, taken.mail_due_at) == (MailStatus.SENDING, 1, lease)
    assert await issued_jtis(store, rid) == [new.letter.jti]
    # Being sent: no other sender takes it until its sender is presumed dead.
    assert await due_ids(store, lease - timedelta(seconds=1)) == []
    assert await records.claim_letter(rid, lease - timedelta(seconds=1), lease, new.letter) is None
    [(found, letter)] = await records.due_letters(lease)
    assert letter == new.letter and found.mail is MailStatus.SENDING
    assert await records.claim_letter(rid, lease, lease, new_letter(2)) is None  # it has one
    again = await records.claim_letter(rid, lease, lease + timedelta(minutes=2), letter)
    assert again is not None and again.mail_attempts == 2
    assert await issued_jtis(store, rid) == [new.letter.jti]


async def test_a_failed_letter_waits_until_it_is_due(store: Store) -> None:
    records = store.registrations
    rid = await approved(store, 1)
    new = new_letter(1)
    assert await records.claim_letter(rid, AT, AT + timedelta(minutes=2), new) is not None
    retry_at = AT + timedelta(seconds=30)
    assert await records.settle_letter(
        rid, new.letter.jti, MailStatus.QUEUED, due_at=retry_at, error="451 try later"
    )
    assert await records.next_mail_due() == retry_at
    assert await due_ids(store, retry_at - timedelta(seconds=1)) == []
    [(waiting, letter)] = await records.due_letters(retry_at)
    assert letter == new.letter
    assert (waiting.mail, waiting.mail_error, waiting.mail_attempts) == (
        MailStatus.QUEUED,
        "451 try later",
        1,
    )
    assert await records.claim_letter(rid, retry_at, retry_at, letter) is not None
    assert await records.settle_letter(rid, letter.jti, MailStatus.SENT)
    sent = await records.get(rid)
    assert sent is not None and (sent.mail, sent.mail_error, sent.mail_due_at) == (
        MailStatus.SENT,
        None,
        None,
    )
    assert await records.next_mail_due() is None and await due_ids(store, retry_at) == []


async def test_a_resend_replaces_the_letter_and_the_old_outcome_is_ignored(store: Store) -> None:
    records = store.registrations
    rid = await approved(store, 1)
    first, second = new_letter(1), new_letter(2)
    assert await records.claim_letter(rid, AT, AT + timedelta(minutes=2), first) is not None
    resent = await records.queue_mail(rid, AT + timedelta(seconds=5))
    assert resent is not None and (resent.mail, resent.mail_attempts) == (MailStatus.QUEUED, 0)
    assert not await records.settle_letter(rid, first.letter.jti, MailStatus.SENT)
    later = AT + timedelta(seconds=5)
    assert await records.due_letters(later) == [(resent, None)]
    assert await records.claim_letter(rid, later, later, first.letter) is None  # replaced
    assert await records.claim_letter(rid, later, later, second) is not None
    assert await issued_jtis(store, rid) == sorted([first.letter.jti, second.letter.jti])


async def test_a_letter_is_not_taken_once_its_registration_lost_access(store: Store) -> None:
    records = store.registrations
    rid = await approved(store, 1)
    await records.close(rid, RegistrationStatus.WITHDRAWN, AT, "the attendee")
    assert await records.claim_letter(rid, AT, AT, new_letter(1)) is None
    assert await issued_jtis(store, rid) == []
    await records.fail_unsent(rid, "the registration was withdrawn before its turn")
    failed = await records.get(rid)
    assert failed is not None and failed.mail is MailStatus.FAILED
    assert failed.mail_error == "not sent: the registration was withdrawn before its turn"
    assert await due_ids(store, AT) == []


async def test_two_senders_taking_the_same_letter_at_once_make_one_token(store: Store) -> None:
    records = store.registrations
    rid = await approved(store, 1)
    letters = [new_letter(n) for n in range(4)]
    claims = await asyncio.gather(
        *(records.claim_letter(rid, AT, AT + timedelta(minutes=2), letter) for letter in letters)
    )
    assert sum(claim is not None for claim in claims) == 1
    assert len(await issued_jtis(store, rid)) == 1


async def test_registrations_from_revision_0003_keep_their_mail(store_url: str) -> None:
    from alembic import command

    from server.store.database import alembic_config

    store = Store.at(store_url)
    async with store.engine.begin() as connection:
        await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0003"))
        for n, mail in enumerate(["queued", "sent", "outbox", "failed", None]):
            await connection.execute(
                text(
                    "INSERT INTO registrations (id, sub, name, email, email_key, affiliation, "
                    "status, created_at, consent_at, decided_at, decided_by, mail) VALUES "
                    "(:id, :sub, 'P', :email, :email, '', 'approved', '2021-06-14 12:00:00', "
                    "'2021-06-14 12:00:00', '2021-06-14 12:05:00', 'Olga', :mail)"
                ),
                {"id": f"r_{n}", "sub": f"a_{n}", "email": f"p{n}@example.org", "mail": mail},
            )
    await store.prepare()
    records = store.registrations
    found = {r.id: r for r in (await records.search(None, "", 10, 0))[0]}
    assert {rid: r.mail for rid, r in found.items()} == {
        "r_0": MailStatus.QUEUED,
        "r_1": MailStatus.SENT,
        "r_2": MailStatus.OUTBOX,
        "r_3": MailStatus.FAILED,
        "r_4": None,
    }
    assert {r.mail_attempts for r in found.values()} == {0}
    due = AT + timedelta(minutes=5)
    assert found["r_0"].mail_due_at == due  # due since its approval
    assert await records.due_letters(due) == [(found["r_0"], None)]
    claimed = await records.claim_letter("r_0", due, due, new_letter(1))
    assert claimed is not None and claimed.mail is MailStatus.SENDING
    await store.close()
