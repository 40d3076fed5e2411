"""The questions of each room: asking, voting, moderating, and who hears of each change.

The socket adapter parses and hands over the caller's claims; this service applies the rules
(``model.py``), stores, and tells its listeners every change as a ``QuestionChange``. Vote
counts are coalesced: however many votes a question gets, its listeners hear of the count at
most ``1 / COUNT_SECONDS`` times a second (the counts that changed go out together), so
thousands of votes do not become millions of messages. Every change is announced as the
question stands in the store when it goes out, one announcement at a time, so the last one
anyone receives is the newest; a new question is announced as asked, unless a later change of
it has gone out already.

Votes and new questions are written in batches (``Batches``): under a burst, one transaction
takes everything that arrived while the one before it was written.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from scheduler.timetable import AgendaItem
from server.auth.permissions import Permission
from server.auth.tokens import Claims
from server.batches import Batches
from server.config import QuestionSettings
from server.errors import Forbidden, NotFound
from server.listeners import tell_each
from server.questions.model import (
    DuplicateQuestion,
    ModerationAction,
    Question,
    QuestionCount,
    QueueOrder,
    RoomClosed,
    Viewer,
    arrival_status,
    check_moderation,
    check_ordering,
    check_pin,
    check_vote,
    is_open,
    is_visible,
    moderated,
    new_question_id,
    same_text,
)
from server.questions.requests import AskRequest, ModerateRequest, OrderRequest, VoteRequest
from server.rooms.service import RoomService
from server.store import Actor
from server.store.questions import NewQuestion, QuestionRecords, Vote, Voted
from server.web.rate_limit import RateLimiter

COUNT_SECONDS = 0.5  # a question's count goes out at most twice a second
# Votes one person may cast (or take back) a minute, and at once: far above any hand's pace,
# low enough that one client toggling in a loop cannot keep the store busy.
VOTES_PER_MINUTE = 600
VOTE_BURST = 100
VOTES_PER_BATCH = 1000
PIN_ACTIONS = {ModerationAction.PIN: True, ModerationAction.UNPIN: False}


@dataclass(frozen=True)
class QuestionChange:
    """A question as it is now, as it was before the change (None: it is new), and whether
    it is gone."""

    question: Question
    before: Question | None
    withdrawn: bool = False


@dataclass(frozen=True)
class OrderChange:
    """A moderator chose how ``room``'s speakers' queue is sorted."""

    room: str
    order: QueueOrder


Listener = Callable[[QuestionChange], Awaitable[None]]
OrderListener = Callable[[OrderChange], Awaitable[None]]


def viewer_for(claims: Claims, room: str) -> Viewer:
    return Viewer(claims.sub, claims.can(Permission.MODERATE) and claims.allows_room(room))


class QuestionService:
    def __init__(
        self,
        settings: QuestionSettings,
        rooms: RoomService,
        records: QuestionRecords,
        wall: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._rooms = rooms
        self._records = records
        self._wall = wall
        self._open_after_end = timedelta(minutes=settings.open_minutes_after_end)
        self._asks = RateLimiter(settings.per_person_per_minute, monotonic)
        self._votes = RateLimiter(VOTES_PER_MINUTE, monotonic, burst=VOTE_BURST)
        self._new_questions: Batches[NewQuestion, Question] = Batches(
            lambda batch: records.add_new(self.run, batch)
        )
        # A burst of votes is a few large transactions rather than many small ones: each
        # costs about as much to run for one vote as for hundreds.
        self._cast_votes: Batches[Vote, Voted] = Batches(
            lambda batch: records.vote(self.run, batch), limit=VOTES_PER_BATCH
        )
        self._announcing = asyncio.Lock()
        self._announced: set[str] = set()  # questions of which a change has gone out
        self._listeners: list[Listener] = []
        self._order_listeners: list[OrderListener] = []
        self._counts_changed: set[str] = set()  # questions whose count is yet to go out
        self._counts_due: asyncio.TimerHandle | None = None
        self._counts_sent = -math.inf  # when the last counts went out, on the loop's clock
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def run(self) -> str:
        return self._rooms.run

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def subscribe_order(self, listener: OrderListener) -> None:
        self._order_listeners.append(listener)

    async def ask(self, claims: Claims, request: AskRequest) -> Question:
        item = self._room_for(claims, request.room)
        self._check_open(item)
        self._asks.check(claims.sub, "questions")
        question = Question(
            id=new_question_id(),
            room=item.id,
            text=request.text,
            status=arrival_status(item.moderated),
            created_at=self._wall(),
            author=None if request.anonymous else claims.name,
            asker=claims.sub,
        )

        def repeats(latest: Question) -> None:
            if same_text(latest.text, request.text):
                raise DuplicateQuestion("you asked this already; your question is in the list")

        await self._new_questions.submit(NewQuestion(question, repeats))
        if await self._announce(QuestionChange(question, None)):
            return question
        return await self._records.get(self.run, question.id) or question  # changed since

    async def vote(self, claims: Claims, request: VoteRequest) -> Question:
        self._votes.check(claims.sub, "votes")

        def allowed(question: Question) -> None:
            self._check_visible(claims, question)
            self._check_open(self._rooms.room(question.room))
            check_vote(question, request.up)

        outcome = await self._cast_votes.submit(
            Vote(request.question, claims.sub, request.up, allowed)
        )
        if outcome is None:
            raise NotFound("there is no such question")
        question, changed = outcome
        if changed:
            self._count_changed(question.id)
        return question

    async def listing(self, claims: Claims, room: str) -> list[tuple[Question, bool]]:
        """Every question of ``room`` the caller may see, oldest first, with their own vote."""
        item = self._room_for(claims, room)
        viewer = viewer_for(claims, item.id)
        questions = await self._records.in_room(self.run, item.id)
        voted = await self._records.voted(self.run, claims.sub)
        return [(q, q.id in voted) for q in questions if is_visible(q, viewer)]

    async def order(self, claims: Claims, room: str) -> QueueOrder:
        """How ``room``'s speakers' queue is sorted, after the pinned question."""
        item = self._room_for(claims, room)
        return await self._records.order(self.run, item.id)

    async def choose_order(self, claims: Claims, request: OrderRequest) -> OrderChange:
        item = self._room_for(claims, request.room)
        check_ordering(viewer_for(claims, item.id))
        await self._records.set_order(self.run, item.id, request.order)
        actor = Actor(claims.sub, claims.name)
        await self._rooms.audit(item.id, "question_order", actor, {"by": request.order.value})
        change = OrderChange(item.id, request.order)
        await tell_each(self._order_listeners, change, "question order")
        return change

    async def counts(self) -> list[QuestionCount]:
        """This run's questions by room and status, with their votes."""
        return await self._records.counts(self.run)

    async def voted_by(self, sub: str) -> dict[str, str]:
        """The questions of this run ``sub`` has voted for: question id to room."""
        return await self._records.voted(self.run, sub)

    async def moderate(self, claims: Claims, request: ModerateRequest) -> QuestionChange:
        """What the action did to the question."""
        question = await self._visible(claims, request.question)
        viewer = viewer_for(claims, question.room)
        action = request.action

        def allowed(now: Question) -> None:
            check_moderation(action, now, viewer)
            if action in PIN_ACTIONS:
                check_pin(now, PIN_ACTIONS[action])

        if action is ModerationAction.WITHDRAW:
            removed = await self._records.delete(self.run, question.id, allowed)
            if removed is None:
                raise NotFound("there is no such question")
            withdrawal = QuestionChange(removed, removed, withdrawn=True)
            await self._announce(withdrawal)
            return withdrawal
        if action in PIN_ACTIONS:
            changes = await self._records.pin(self.run, question.id, PIN_ACTIONS[action], allowed)
        else:
            at = self._wall()
            change = await self._records.change(
                self.run, question.id, allowed, lambda now: moderated(now, action, request.text, at)
            )
            changes = [change] if change is not None else []
        if not changes:
            raise NotFound("there is no such question")
        before, after = changes[0]
        await self._audit(claims, action, before, after)
        for earlier, later in changes:
            await self._announce(QuestionChange(later, earlier))
        return QuestionChange(after, before)

    async def export(self, room: str) -> list[Question]:
        """Every question of ``room``, oldest first: for organizers' reports."""
        return await self._records.in_room(self.run, self._rooms.room(room).id)

    async def forget_asker(self, sub: str) -> None:
        """``sub`` withdrew from the event: their questions stay, as anonymous text."""
        for run, (before, after) in await self._records.forget_asker(sub):
            if run == self.run:
                await self._announce(QuestionChange(after, before))

    async def close(self) -> None:
        await self._new_questions.close()
        await self._cast_votes.close()
        if self._counts_due is not None:
            self._counts_due.cancel()
            self._counts_due = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _room_for(self, claims: Claims, room: str) -> AgendaItem:
        item = self._rooms.room(room)
        if not claims.allows_room(item.id):
            raise Forbidden(f"your access does not include room {item.id!r}")
        return item

    async def _visible(self, claims: Claims, question_id: str) -> Question:
        """The question, if the caller may see it; to anyone else it does not exist."""
        question = await self._records.get(self.run, question_id)
        if question is None:
            raise NotFound("there is no such question")
        self._check_visible(claims, question)
        return question

    @staticmethod
    def _check_visible(claims: Claims, question: Question) -> None:
        if not is_visible(question, viewer_for(claims, question.room)):
            raise NotFound("there is no such question")
        if not claims.allows_room(question.room):
            raise Forbidden(f"your access does not include room {question.room!r}")

    def _check_open(self, item: AgendaItem) -> None:
        now = self._rooms.clock.now()
        if not is_open(self._rooms.state(item.id), item.ends_at, now, self._open_after_end):
            raise RoomClosed(f"room {item.id!r} is not taking questions now")

    async def _audit(
        self, claims: Claims, action: ModerationAction, before: Question, after: Question
    ) -> None:
        detail: dict[str, object] = {"question": after.id}
        if action is ModerationAction.EDIT:
            detail |= {"from": before.text, "to": after.text}
        await self._rooms.audit(
            after.room, f"question_{action.value}", Actor(claims.sub, claims.name), detail
        )

    def _count_changed(self, question_id: str) -> None:
        self._counts_changed.add(question_id)
        if self._counts_due is not None:
            return  # the next announcement will carry this vote too
        loop = asyncio.get_running_loop()
        wait = max(0.0, self._counts_sent + COUNT_SECONDS - loop.time())
        self._counts_due = loop.call_later(wait, self._send_counts)

    def _send_counts(self) -> None:
        self._counts_due = None
        self._counts_sent = asyncio.get_running_loop().time()
        changed, self._counts_changed = self._counts_changed, set()
        task = asyncio.ensure_future(self._announce_counts(changed))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _announce_counts(self, changed: set[str]) -> None:
        """Every changed count at once, with nothing awaited in between: a connection's
        writer then sends them all when it next wakes."""
        async with self._announcing:
            # Those withdrawn meanwhile are not found: their withdrawal was announced.
            for question in await self._records.many(self.run, changed):
                await tell_each(self._listeners, QuestionChange(question, question), "question")

    async def _announce(self, change: QuestionChange) -> bool:
        """Whether it went out: not if a later change of the question has already."""
        async with self._announcing:
            question_id = change.question.id
            if change.before is None:  # new: as asked, unless a later change went out first
                if question_id in self._announced:
                    return False
            elif not change.withdrawn:
                now = await self._records.get(self.run, change.question.id)
                if now is None:
                    return False  # withdrawn meanwhile: that was announced
                change = QuestionChange(now, change.before)
            self._announced.add(question_id)
            await tell_each(self._listeners, change, "question")
            return True
