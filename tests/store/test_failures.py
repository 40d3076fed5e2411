"""A store that cannot write or cannot be reached says so as ``StoreUnavailable``, and works
again by itself once it can: SQLite on a disk that fills up, PostgreSQL stopped mid-test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from scheduler.timetable import RoomState
from server.errors import StoreUnavailable
from server.registration.model import Registration, RegistrationStatus
from server.store import Actor, AuditEntry, RoomChange, Store
from tests.pg import PostgresServer
from tests.small_disk import SmallDisk

AT = datetime(2021, 6, 14, 12, 0, tzinfo=UTC)


def change(state: RoomState = RoomState.LIVE) -> RoomChange:
    entry = AuditEntry(AT, AT, "welcome", "transition", Actor("schedule", "schedule"), {})
    return RoomChange("welcome", state, entry)


def registration(number: int) -> Registration:
    return Registration(
        id=f"r{number}",
        sub=f"a_{number}",
        name="Ana",
        email=f"ana{number}@example.org",
        affiliation="",
        status=RegistrationStatus.PENDING,
        created_at=AT,
    )


@pytest.fixture
async def store_on_small_disk(small_disk: SmallDisk) -> AsyncIterator[Store]:
    store = Store.in_data_dir(small_disk.path)
    await store.prepare()
    yield store
    await store.close()


async def test_a_full_disk_refuses_writes_and_recovers_without_a_restart(
    small_disk: SmallDisk, store_on_small_disk: Store
) -> None:
    store = store_on_small_disk
    await store.registrations.add(registration(1), consent_at=AT)
    assert await store.health.check() is None
    small_disk.fill()
    with pytest.raises(StoreUnavailable) as refused:
        await store.registrations.add(registration(2), consent_at=AT)
    assert refused.value.reason == "database or disk is full"
    assert "ana2@example.org" not in refused.value.reason + refused.value.message
    with pytest.raises(StoreUnavailable):
        await store.rooms.save_transitions("event", [change()])
    failure = await store.health.check()
    assert failure is not None and failure.reason == "database or disk is full"
    assert (await store.registrations.get("r1")) is not None  # reading goes on

    small_disk.free()
    assert await store.health.check() is None
    await store.registrations.add(registration(2), consent_at=AT)
    await store.rooms.save_transitions("event", [change()])
    assert await store.rooms.room_states("event") == {"welcome": RoomState.LIVE}


async def test_a_bug_stays_a_bug(store_on_small_disk: Store) -> None:
    async with store_on_small_disk.engine.connect() as connection:
        with pytest.raises(OperationalError, match="no such table"):
            await connection.execute(text("SELECT * FROM no_such_table"))
    assert await store_on_small_disk.health.check() is None


async def test_postgresql_stopped_is_unavailable_and_comes_back(
    private_postgres: PostgresServer,
) -> None:
    store = Store.at(private_postgres.create_database())
    await store.prepare()
    try:
        await store.registrations.add(registration(1), consent_at=AT)
        private_postgres.halt()
        with pytest.raises(StoreUnavailable) as refused:
            await store.registrations.add(registration(2), consent_at=AT)
        assert refused.value.reason == "cannot connect to the database: Connection refused"
        with pytest.raises(StoreUnavailable):
            await store.registrations.get("r1")
        failure = await store.health.check()
        assert failure is not None and failure.reason == refused.value.reason

        private_postgres.resume()
        assert await store.health.check() is None
        await store.registrations.add(registration(2), consent_at=AT)
        assert (await store.registrations.get("r1")) is not None
    finally:
        await store.close()


async def test_a_query_cancelled_midway_is_cancelled_not_unavailable(tmp_path: Path) -> None:
    # A stopping server cancels its background tasks while they query; a task that got
    # StoreUnavailable in place of its cancellation would take it for a failure and go on.
    store = Store.in_data_dir(tmp_path)
    await store.prepare()
    slow = text(
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 5000000)"
        " SELECT count(*) FROM n"
    )
    async with store.engine.connect() as connection:
        query = asyncio.ensure_future(connection.execute(slow))
        await asyncio.sleep(0.3)  # into the query, which takes about a second here
        query.cancel()
        with pytest.raises(asyncio.CancelledError):
            await query
    assert store.health.failure is None
    await store.close()
