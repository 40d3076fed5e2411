"""Durable state behind one interface: overrides, the audit log and last known room states.

SQLAlchemy 2 async; SQLite under ``--data`` is the embedded default. Every record carries the
``run`` it belongs to (the real event, or one rehearsal), so a rehearsal never leaks into the
event and a restarted server finds exactly its own running order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Integer, String, Text, event, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from scheduler.timetable import Override, OverrideAction, RoomState

DATABASE_FILE = "plenary.db"


class UtcDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC everywhere, handed back aware, so SQLite and PostgreSQL agree."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class OverrideRow(Base):
    __tablename__ = "overrides"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run: Mapped[str] = mapped_column(String(120), index=True)
    room: Mapped[str] = mapped_column(String(63))
    action: Mapped[str] = mapped_column(String(16))
    minutes: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class AuditRow(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run: Mapped[str] = mapped_column(String(120), index=True)
    wall_at: Mapped[datetime] = mapped_column(UtcDateTime)
    agenda_at: Mapped[datetime] = mapped_column(UtcDateTime)
    room: Mapped[str | None] = mapped_column(String(63), nullable=True)
    action: Mapped[str] = mapped_column(String(32))
    actor_sub: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(120))
    detail: Mapped[str] = mapped_column(Text, default="{}")


class RoomStateRow(Base):
    __tablename__ = "room_states"
    run: Mapped[str] = mapped_column(String(120), primary_key=True)
    room: Mapped[str] = mapped_column(String(63), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)


@dataclass(frozen=True)
class Actor:
    """Who did something: a token's opaque subject and display name, or the schedule."""

    sub: str
    name: str


SCHEDULE = Actor("schedule", "schedule")


@dataclass(frozen=True)
class AuditEntry:
    wall_at: datetime
    agenda_at: datetime
    room: str | None
    action: str
    actor: Actor
    detail: dict[str, Any]


@dataclass(frozen=True)
class RoomChange:
    room: str
    state: RoomState
    entry: AuditEntry


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def at(cls, url: str) -> Store:
        """A store for ``url``; nothing is touched until ``prepare``."""
        engine = create_async_engine(url)
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return cls(engine)

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> Store:
        return cls.at(f"sqlite+aiosqlite:///{data_dir / DATABASE_FILE}")

    async def prepare(self) -> None:
        async with self._engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)

    async def close(self) -> None:
        await self._engine.dispose()

    async def add_override(self, run: str, override: Override, entry: AuditEntry) -> None:
        """The override and its audit line land together or not at all."""
        async with self._sessions.begin() as session:
            session.add(
                OverrideRow(
                    run=run,
                    room=override.room,
                    action=override.action.value,
                    minutes=override.minutes,
                    at=override.at,
                )
            )
            session.add(_audit_row(run, entry))

    async def overrides(self, run: str) -> list[Override]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(OverrideRow).where(OverrideRow.run == run).order_by(OverrideRow.id)
            )
            return [
                Override(row.room, OverrideAction(row.action), row.at, row.minutes) for row in rows
            ]

    async def record(self, run: str, entry: AuditEntry) -> None:
        async with self._sessions.begin() as session:
            session.add(_audit_row(run, entry))

    async def audit_log(self, run: str, limit: int = 200) -> list[AuditEntry]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(AuditRow)
                .where(AuditRow.run == run)
                .order_by(AuditRow.id.desc())
                .limit(limit)
            )
            return [_audit_entry(row) for row in rows][::-1]

    async def room_states(self, run: str) -> dict[str, RoomState]:
        async with self._sessions() as session:
            rows = await session.scalars(select(RoomStateRow).where(RoomStateRow.run == run))
            return {row.room: RoomState(row.state) for row in rows}

    async def save_transitions(self, run: str, changes: list[RoomChange]) -> None:
        """New room states and the audit lines that explain them, in one transaction."""
        async with self._sessions.begin() as session:
            for change in changes:
                await session.merge(
                    RoomStateRow(
                        run=run,
                        room=change.room,
                        state=change.state.value,
                        changed_at=change.entry.wall_at,
                    )
                )
                session.add(_audit_row(run, change.entry))


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _audit_row(run: str, entry: AuditEntry) -> AuditRow:
    return AuditRow(
        run=run,
        wall_at=entry.wall_at,
        agenda_at=entry.agenda_at,
        room=entry.room,
        action=entry.action,
        actor_sub=entry.actor.sub,
        actor_name=entry.actor.name,
        detail=json.dumps(entry.detail, sort_keys=True),
    )


def _audit_entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        wall_at=row.wall_at,
        agenda_at=row.agenda_at,
        room=row.room,
        action=row.action,
        actor=Actor(row.actor_sub, row.actor_name),
        detail=json.loads(row.detail),
    )
