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
from dataclasses import dataclass, replace
from typing import Any, Literal, cast

from sqlalchemy import Row, Table, bindparam, delete, func, insert, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.errors import Conflict
from server.questions.model import (
    DEFAULT_ORDER,
    Question,
    QuestionCount,
    QuestionStatus,
    QueueOrder,
)
from server.store.models import QuestionOrderRow, QuestionRow, VoteRow

# Change = (the question before, the question after)
Change = tuple[Question, Question]
Check = Callable[[Question], None]
Transform = Callable[[Question], Question]


@dataclass(frozen=True)
class Vote:
    """A vote cast (``up``) or taken back, once ``check`` allows it on the question as it is."""

    question_id: str
    voter: str
    up: bool
    check: Check

    @property
    def key(self) -> tuple[str, str]:
        return self.question_id, self.voter


@dataclass(frozen=True)
class NewQuestion:
    """A question to add, unless ``repeats`` says it repeats its asker's latest in the room."""

    question: Question
    repeats: Callable[[Question], None]  # raises if the asker's latest makes it a repeat


# A vote's outcome: the question after its batch and whether the vote changed anything (a
# second vote changes nothing), or None if there is no such question.
Voted = tuple[Question, bool] | None


class QuestionRecords:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add_new(self, run: str, new: list[NewQuestion]) -> list[Question | Exception]:
        """Each question added in one transaction, unless it repeats its asker's latest in the
        room (earlier ones of the same batch included): then what ``repeats`` raised."""
        async with self._sessions.begin() as session:
            latest = await self._latest_of(session, run, [n.question for n in new])
            outcomes: list[Question | Exception] = []
            for item in new:
                question = item.question
                key = (question.room, question.asker)
                try:
                    if key in latest:
                        item.repeats(latest[key])
                except Exception as error:
                    outcomes.append(error)
                    continue
                latest[key] = question
                outcomes.append(question)
            added = [_values(run, q) for q in outcomes if isinstance(q, Question)]
            if added:  # one statement, the rows as its parameters: no object per row
                await session.execute(insert(_QUESTIONS), added)
            return outcomes

    async def _latest_of(
        self, session: AsyncSession, run: str, questions: list[Question]
    ) -> dict[tuple[str, str | None], Question]:
        """The newest question of each asker of ``questions`` in its room: one row each,
        however many they asked before."""
        askers = {q.asker for q in questions if q.asker is not None}
        rooms = {q.room for q in questions}
        latest: dict[tuple[str, str | None], Question] = {}
        if not askers:
            return latest
        newest_first = func.row_number().over(
            partition_by=(QuestionRow.room, QuestionRow.asker),
            order_by=(QuestionRow.created_at.desc(), QuestionRow.id.desc()),
        )
        ranked = (
            select(QuestionRow.id, newest_first.label("rank"))
            .where(
                QuestionRow.run == run,
                QuestionRow.room.in_(rooms),
                QuestionRow.asker.in_(askers),
            )
            .subquery()
        )
        newest = select(_QUESTIONS).join(ranked, ranked.c.id == _QUESTIONS.c.id)
        rows = await session.execute(newest.where(ranked.c.rank == 1))
        for row in rows:  # plain rows: no object of the session's to make and keep per row
            latest[(row.room, row.asker)] = _question(row)
        return latest

    async def get(self, run: str, question_id: str) -> Question | None:
        found = await self.many(run, {question_id})
        return found[0] if found else None

    async def many(self, run: str, question_ids: set[str]) -> list[Question]:
        """Those of ``question_ids`` there are, in no particular order."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(_QUESTIONS).where(_QUESTIONS.c.id.in_(question_ids), _QUESTIONS.c.run == run)
            )
            return [_question(row) for row in rows]

    async def in_room(self, run: str, room: str) -> list[Question]:
        """The room's questions, oldest first."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(QuestionRow)
                .where(QuestionRow.run == run, QuestionRow.room == room)
                .order_by(QuestionRow.created_at, QuestionRow.id)
            )
            return [_question(row) for row in rows]

    async def voted(self, run: str, voter: str) -> dict[str, str]:
        """The questions ``voter`` has voted for: question id to room."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(QuestionRow.id, QuestionRow.room)
                .join(VoteRow, VoteRow.question_id == QuestionRow.id)
                .where(VoteRow.voter == voter, QuestionRow.run == run)
            )
            return {question_id: room for question_id, room in rows}

    async def vote(self, run: str, votes: list[Vote]) -> list[Voted | Exception]:
        """Every vote of the batch in one transaction, in order; each one's outcome. The
        questions' rows are locked first, so each count moves by exactly the votes added or
        taken back."""
        async with self._sessions.begin() as session:
            rows = await session.scalars(
                select(QuestionRow)
                .where(QuestionRow.id.in_({vote.question_id for vote in votes}))
                .with_for_update()
            )
            questions = {row.id: _question(row) for row in rows if row.run == run}
            verdicts = [_verdict(vote, questions) for vote in votes]
            allowed = [(n, v) for n, v in enumerate(votes) if verdicts[n] is True]
            changed: set[int] = set()  # the votes that added or removed a row
            for turn in _turns(allowed):
                keys = await _cast(session, [vote for _, vote in turn])
                changed |= {n for n, vote in turn if (*vote.key, vote.up) in keys}
            moved: dict[str, int] = {}
            for n in changed:
                vote = votes[n]
                moved[vote.question_id] = moved.get(vote.question_id, 0) + (1 if vote.up else -1)
            await _move_counts(session, moved)
        after = {id: replace(q, votes=q.votes + moved.get(id, 0)) for id, q in questions.items()}
        return [
            (after[vote.question_id], n in changed) if verdict is True else verdict
            for n, (vote, verdict) in enumerate(zip(votes, verdicts, strict=True))
        ]

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

    async def counts(self, run: str) -> list[QuestionCount]:
        """The run's questions counted by room and status, with their votes."""
        votes = func.coalesce(func.sum(QuestionRow.votes), 0)
        async with self._sessions() as session:
            rows = await session.execute(
                select(QuestionRow.room, QuestionRow.status, func.count(), votes)
                .where(QuestionRow.run == run)
                .group_by(QuestionRow.room, QuestionRow.status)
            )
            return [
                QuestionCount(room, QuestionStatus(status), questions, votes)
                for room, status, questions, votes in rows
            ]


def _verdict(vote: Vote, questions: dict[str, Question]) -> Literal[True] | Exception | None:
    """True if the vote's check lets it through, else what the check raised; None if there is
    no such question."""
    question = questions.get(vote.question_id)
    if question is None:
        return None
    try:
        vote.check(question)
    except Exception as error:
        return error
    return True


def _turns(votes: list[tuple[int, Vote]]) -> list[list[tuple[int, Vote]]]:
    """The votes in turns, each voter's vote on a question at most once per turn and in the
    order cast: a vote and its taking back in one batch stay in that order."""
    turns: list[list[tuple[int, Vote]]] = []
    last: dict[tuple[str, str], int] = {}
    for numbered in votes:
        key = numbered[1].key
        index = last.get(key, -1) + 1
        if index == len(turns):
            turns.append([])
        turns[index].append(numbered)
        last[key] = index
    return turns


async def _cast(session: AsyncSession, votes: list[Vote]) -> set[tuple[str, str, bool]]:
    """The votes of one turn written: rows added for votes up (if not there) and removed for
    votes taken back (if there); those that really changed, as (question, voter, up). Each is
    one statement compiled once, whatever the batch's size (the rows go as parameters)."""
    changed: set[tuple[str, str, bool]] = set()
    ups = [{"question_id": v.question_id, "voter": v.voter} for v in votes if v.up]
    downs = [vote.key for vote in votes if not vote.up]
    if ups:
        added = await session.execute(_ADDITIONS[session.get_bind().dialect.name], ups)
        changed |= {(question_id, voter, True) for question_id, voter in added}
    if downs:
        removed = await session.execute(_REMOVAL, {"keys": downs})
        changed |= {(question_id, voter, False) for question_id, voter in removed}
    return changed


_VOTES = cast(Table, VoteRow.__table__)
_KEY = (_VOTES.c.question_id, _VOTES.c.voter)
# A vote row added unless it is there, or removed if it is; each returns the keys it changed.
_ADDITIONS = {
    name: dialect.insert(_VOTES).on_conflict_do_nothing().returning(*_KEY)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_REMOVAL = (
    delete(_VOTES).where(tuple_(*_KEY).in_(bindparam("keys", expanding=True))).returning(*_KEY)
)


async def _move_counts(session: AsyncSession, moved: dict[str, int]) -> None:
    """Each question's count moved by its votes' sum: one statement, run once per question."""
    moves = [{"question": question_id, "by": by} for question_id, by in moved.items() if by]
    if not moves:
        return
    table = cast(Table, QuestionRow.__table__)
    statement = (
        update(table)
        .where(table.c.id == bindparam("question"))
        .values(votes=table.c.votes + bindparam("by"))
    )
    await session.execute(statement, moves)


def _unpinned(row: QuestionRow) -> Change:
    before = _question(row)
    row.pinned = False
    return before, _question(row)


_QUESTIONS = cast(Table, QuestionRow.__table__)


def _values(run: str, question: Question) -> dict[str, object]:
    """A new question's row, as the parameters of an insert."""
    return {
        "id": question.id,
        "run": run,
        "room": question.room,
        "created_at": question.created_at,
        "text": question.text,
        "original_text": question.original_text,
        "status": question.status.value,
        "votes": question.votes,
        "pinned": question.pinned,
        "author": question.author,
        "asker": question.asker,
        "answered_at": question.answered_at,
    }


def _write(row: QuestionRow, question: Question) -> None:
    row.text = question.text
    row.original_text = question.original_text
    row.status = question.status.value
    row.votes = question.votes
    row.pinned = question.pinned
    row.author = question.author
    row.asker = question.asker
    row.answered_at = question.answered_at


def _question(row: QuestionRow | Row[Any]) -> Question:
    """From a row of the session's, or a plain one with the same columns."""
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
