"""What the rooms keep: overrides, the audit log and the last announced state of each room.

Every record carries the ``run`` it belongs to (the real event, or one rehearsal), so a
rehearsal never leaks into the event and a restarted server finds exactly its own running order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduler.timetable import Override, OverrideAction, RoomState
from server.store.models import AuditRow, OverrideRow, RoomStateRow


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


class RoomRecords:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

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
            session.add(audit_row(run, entry))

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
            session.add(audit_row(run, entry))

    async def audit_log(
        self, run: str, limit: int = 200, during: tuple[datetime, datetime] | None = None
    ) -> list[AuditEntry]:
        """The newest ``limit`` entries, oldest first; with ``during``, only those whose agenda
        time is from its start up to (not including) its end."""
        query = select(AuditRow).where(AuditRow.run == run)
        if during is not None:
            query = query.where(AuditRow.agenda_at >= during[0], AuditRow.agenda_at < during[1])
        async with self._sessions() as session:
            rows = await session.scalars(query.order_by(AuditRow.id.desc()).limit(limit))
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
                session.add(audit_row(run, change.entry))


def audit_row(run: str, entry: AuditEntry) -> AuditRow:
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
