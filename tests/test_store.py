"""The store on SQLite and PostgreSQL alike: records, transactions and migrations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from scheduler.timetable import Override, OverrideAction, RoomState
from server.store import Actor, AuditEntry, RoomChange, Store
from server.store.database import FIRST_REVISION

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
