"""What questions keep: each question, its votes, the one pinned per room, and how each room's
speakers' queue is sorted.

Votes stay exact however many arrive at once: a vote is a row that the (question, voter) key
lets exist once, and the question's count moves in the same transaction only when that row
was really added or removed; nothing is read, changed and written back. Every change that
depends on the question's present state takes the decision (a pure check from the model)
inside the transaction, on the row as it is then.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import Delete, Insert, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.errors import Conflict
from server.questions.model import DEFAULT_ORDER, Question, QuestionStatus, QueueOrder
from server.store.models import QuestionOrderRow, QuestionRow, VoteRow

# Change = (the question before, the question after)
Change = tuple[Question, Question]
Check = Callable[[Question], None]
Transform = Callable[[Question], Question]


class QuestionRecords:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add(self, run: str, question: Question) -> None:
        async with self._sessions.begin() as session:
            session.add(_row(run, question))

    async def get(self, run: str, question_id: str) -> Question | None:
        async with self._sessions() as session:
            row = await session.get(QuestionRow, question_id)
            return _question(row) if row is not None and row.run == run else None

    async def in_room(self, run: str, room: str) -> list[Question]:
        """The room's questions, oldest first."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(QuestionRow)
                .where(QuestionRow.run == run, QuestionRow.room == room)
                .order_by(QuestionRow.created_at, QuestionRow.id)
            )
            return [_question(row) for row in rows]

    async def latest_by(self, run: str, room: str, asker: str) -> Question | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(QuestionRow)
                .where(QuestionRow.run == run, QuestionRow.room == room, QuestionRow.asker == asker)
                .order_by(QuestionRow.created_at.desc(), QuestionRow.id.desc())
                .limit(1)
            )
            return _question(row) if row is not None else None

    async def voted(self, run: str, voter: str) -> dict[str, str]:
        """The questions ``voter`` has voted for: question id to room."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(QuestionRow.id, QuestionRow.room)
                .join(VoteRow, VoteRow.question_id == QuestionRow.id)
                .where(VoteRow.voter == voter, QuestionRow.run == run)
            )
            return {question_id: room for question_id, room in rows}

    async def vote(
        self, run: str, question_id: str, voter: str, up: bool, check: Check
    ) -> tuple[Question, bool] | None:
        """Add (``up``) or take back ``voter``'s vote; the question after it and whether
        anything changed (a second vote changes nothing), or None if there is no question."""
        async with self._sessions.begin() as session:
            row = await session.get(QuestionRow, question_id, with_for_update=True)
            if row is None or row.run != run:
                return None
            question = _question(row)
            check(question)
            changed = await session.scalar(_vote_statement(session, question_id, voter, up))
            if changed is None:
                return question, False
            votes = await session.scalar(
                update(QuestionRow)
                .where(QuestionRow.id == question_id)
                .values(votes=QuestionRow.votes + (1 if up else -1))
                .returning(QuestionRow.votes)
                .execution_options(synchronize_session=False)
            )
            return replace(question, votes=int(votes or 0)), True

    async def change(
        self, run: str, question_id: str, check: Check, transform: Transform
    ) -> Change | None:
        """``transform`` applied to the question as it is now, once ``check`` allows it."""
        async with self._sessions.begin() as session:
            row = await session.get(QuestionRow, question_id, with_for_update=True)
            if row is None or row.run != run:
                return None
            before = _question(row)
            check(before)
            after = transform(before)
            _write(row, after)
            return before, after

    async def pin(self, run: str, question_id: str, pin: bool, check: Check) -> list[Change]:
        """Pin or unpin one question; pinning unpins the room's other. Every change, the
        asked-for question's first; empty if there is no such question."""
        try:
            return await self._pin(run, question_id, pin, check)
        except IntegrityError:
            # Another question of the room was pinned in a transaction beside this one.
            raise Conflict("another question was pinned at the same moment") from None

    async def _pin(self, run: str, question_id: str, pin: bool, check: Check) -> list[Change]:
        async with self._sessions.begin() as session:
            row = await session.get(QuestionRow, question_id, with_for_update=True)
            if row is None or row.run != run:
                return []
            before = _question(row)
            check(before)
            changes = []
            if pin:
                others = await session.scalars(
                    select(QuestionRow)
                    .where(
                        QuestionRow.run == run,
                        QuestionRow.room == row.room,
                        QuestionRow.pinned.is_(True),
                        QuestionRow.id != question_id,
                    )
                    .with_for_update()
                )
                for other in others:
                    changes.append(_unpinned(other))
                await session.flush()  # unpinned before the new pin meets the unique index
            row.pinned = pin
            return [(before, _question(row)), *changes]

    async def delete(self, run: str, question_id: str, check: Check) -> Question | None:
        """Remove the question and its votes; what it was, or None if there was none."""
        async with self._sessions.begin() as session:
            row = await session.get(QuestionRow, question_id, with_for_update=True)
            if row is None or row.run != run:
                return None
            question = _question(row)
            check(question)
            await session.execute(delete(VoteRow).where(VoteRow.question_id == question_id))
            await session.delete(row)
            return question

    async def forget_asker(self, sub: str) -> list[tuple[str, Change]]:
        """``sub`` leaves the event: their questions stay as anonymous text, and their votes
        stay counted under voters that stand for nobody. Each changed question with its run."""
        async with self._sessions.begin() as session:
            rows = list(
                await session.scalars(
                    select(QuestionRow).where(QuestionRow.asker == sub).with_for_update()
                )
            )
            changes = []
            for row in rows:
                before = _question(row)
                row.asker, row.author = None, None
                changes.append((row.run, (before, _question(row))))
            voted = await session.scalars(select(VoteRow.question_id).where(VoteRow.voter == sub))
            for question_id in list(voted):
                # A voter of its own for each vote: nothing ties them together afterwards.
                await session.execute(
                    update(VoteRow)
                    .where(VoteRow.question_id == question_id, VoteRow.voter == sub)
                    .values(voter="gone:" + secrets.token_urlsafe(16))
                )
            return changes

    async def order(self, run: str, room: str) -> QueueOrder:
        """How the room's speakers' queue is sorted: as last chosen, or the default."""
        async with self._sessions() as session:
            row = await session.get(QuestionOrderRow, (run, room))
            return QueueOrder(row.by) if row is not None else DEFAULT_ORDER

    async def set_order(self, run: str, room: str, order: QueueOrder) -> None:
        """One statement, so two moderators choosing at once leave the later choice."""
        async with self._sessions.begin() as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            statement = insert(QuestionOrderRow).values(run=run, room=room, by=order.value)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["run", "room"], set_={"by": order.value}
                )
            )

    async def export(self, run: str, room: str) -> list[Question]:
        return await self.in_room(run, room)


def _vote_statement(session: AsyncSession, question_id: str, voter: str, up: bool) -> Any:
    """The vote row added (if it is not there) or removed (if it is), returning its key only
    when it really was."""
    if not up:
        removal: Delete = delete(VoteRow).where(
            VoteRow.question_id == question_id, VoteRow.voter == voter
        )
        return removal.returning(VoteRow.voter)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    addition: Insert = insert(VoteRow).values(question_id=question_id, voter=voter)
    return addition.on_conflict_do_nothing().returning(VoteRow.voter)  # type: ignore[attr-defined]


def _unpinned(row: QuestionRow) -> Change:
    before = _question(row)
    row.pinned = False
    return before, _question(row)


def _row(run: str, question: Question) -> QuestionRow:
    row = QuestionRow(id=question.id, run=run, room=question.room, created_at=question.created_at)
    _write(row, question)
    return row


def _write(row: QuestionRow, question: Question) -> None:
    row.text = question.text
    row.original_text = question.original_text
    row.status = question.status.value
    row.votes = question.votes
    row.pinned = question.pinned
    row.author = question.author
    row.asker = question.asker
    row.answered_at = question.answered_at


def _question(row: QuestionRow) -> Question:
    return Question(
        id=row.id,
        room=row.room,
        text=row.text,
        status=QuestionStatus(row.status),
        created_at=row.created_at,
        votes=row.votes,
        pinned=row.pinned,
        author=row.author,
        asker=row.asker,
        original_text=row.original_text,
        answered_at=row.answered_at,
    )
