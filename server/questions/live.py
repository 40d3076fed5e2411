"""The Socket.IO adapter of questions: ``ask``, ``vote``, ``questions`` and ``moderate`` in,
``question`` out to exactly the receivers allowed to see each change, and ``question_order``
(how the room's speakers' queue is sorted, a moderator's choice) to everyone in the room.

Receivers are grouped in Socket.IO rooms, joined on connect, so that one change is a handful
of emits whatever the audience's size, each encoded once:
- per room, its moderators and its audience (everyone else whose token covers it);
- per question, those of each group who voted for it (their copy says ``voted: true``);
- per token subject, their own connections (a question's asker sees it as theirs).
The members of the narrower rooms are skipped in the wider ones, so nobody hears a change
twice. What each receives is decided by ``model.delivery``; nobody is sent an asker's subject
or who voted.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from server.auth.permissions import Permission
from server.auth.tokens import Claims, require
from server.errors import Forbidden
from server.questions.model import Question, Viewer, delivery, gone, seen_by
from server.questions.requests import (
    AskRequest,
    ListRequest,
    OrderRequest,
    VoteRequest,
    moderation_request,
)
from server.questions.service import OrderChange, QuestionChange, QuestionService, viewer_for
from server.rooms.live import LiveChannel
from server.rooms.service import RoomService

NAMESPACE = "/"
EVENT = "question"
ORDER_EVENT = "question_order"
GROUPS = (True, False)  # moderators, then the audience


def group_room(room: str, moderates: bool) -> str:
    return f"questions:{room}:{'moderators' if moderates else 'audience'}"


def voters_room(question_id: str, moderates: bool) -> str:
    return f"votes:{question_id}:{'moderators' if moderates else 'audience'}"


def subject_room(sub: str) -> str:
    return f"subject:{sub}"


class SkippedSids(list[str]):
    """Connections an emit passes over. python-socketio takes a list and asks ``in`` of it
    once per receiver; a set behind it keeps that constant for a thousand receivers."""

    def __init__(self, sids: Iterable[str]) -> None:
        self._set = frozenset(sids)
        super().__init__(self._set)

    def __contains__(self, sid: object) -> bool:
        return sid in self._set


class QuestionChannel:
    def __init__(self, live: LiveChannel, questions: QuestionService, rooms: RoomService) -> None:
        self._live = live
        self._sio = live.sio
        self._questions = questions
        self._rooms = rooms
        live.on_connect(self._join)
        live.on_event("ask", self._ask)
        live.on_event("vote", self._vote)
        live.on_event("questions", self._list)
        live.on_event("moderate", self._moderate)
        questions.subscribe(self.deliver)
        questions.subscribe_order(self.deliver_order)

    async def deliver(self, change: QuestionChange) -> None:
        question = change.question
        own = self._sids(subject_room(question.asker)) if question.asker else set()
        voters = {m: self._sids(voters_room(question.id, m)) for m in GROUPS}
        skipped = SkippedSids(own | voters[True] | voters[False])
        for moderates in GROUPS:
            group = Viewer(None, moderates)
            await self._emit(
                delivery(question, change.before, group, False, change.withdrawn),
                group_room(question.room, moderates),
                skipped,
            )
            if voters[moderates]:  # a payload encoded for nobody is not encoded at all
                await self._emit(
                    delivery(question, change.before, group, True, change.withdrawn),
                    voters_room(question.id, moderates),
                    SkippedSids(own),
                )
        for sid in own:
            await self._deliver_own(sid, change, voted=any(sid in voters[m] for m in GROUPS))
        if change.withdrawn:
            for moderates in GROUPS:
                await self._sio.close_room(voters_room(question.id, moderates))

    async def deliver_order(self, change: OrderChange) -> None:
        payload = {"room": change.room, "order": change.order.value}
        for moderates in GROUPS:
            await self._sio.emit(ORDER_EVENT, payload, to=group_room(change.room, moderates))

    async def _deliver_own(self, sid: str, change: QuestionChange, voted: bool) -> None:
        claims = self._live.claims(sid)
        if claims is None or not claims.allows_room(change.question.room):
            return
        viewer = viewer_for(claims, change.question.room)
        payload = delivery(change.question, change.before, viewer, voted, change.withdrawn)
        await self._emit(payload, sid, SkippedSids(()))

    async def _emit(self, payload: dict[str, Any] | None, to: str, skip: SkippedSids) -> None:
        if payload is not None:
            await self._sio.emit(EVENT, payload, to=to, skip_sid=skip)

    def _sids(self, room: str) -> set[str]:
        return {sid for sid, _ in self._sio.manager.get_participants(NAMESPACE, room)}

    async def _join(self, sid: str, claims: Claims) -> None:
        """A client's rooms: its groups first (no I/O), then the questions it voted for."""
        await self._sio.enter_room(sid, subject_room(claims.sub))
        for item in self._rooms.timetable.rooms:
            if claims.allows_room(item.id):
                moderates = viewer_for(claims, item.id).moderates
                await self._sio.enter_room(sid, group_room(item.id, moderates))
        for question_id, room in (await self._questions.voted_by(claims.sub)).items():
            if claims.allows_room(room):
                moderates = viewer_for(claims, room).moderates
                await self._sio.enter_room(sid, voters_room(question_id, moderates))

    async def _ask(self, claims: Claims | None, data: Any) -> dict[str, Any]:
        request = AskRequest.parse(data)
        claims = require(claims, Permission.ASK)
        question = await self._questions.ask(claims, request)
        return {"ok": True, "question": _seen(question, claims, voted=False)}

    async def _vote(self, claims: Claims | None, data: Any) -> dict[str, Any]:
        request = VoteRequest.parse(data)
        claims = require(claims, Permission.VOTE)
        question = await self._questions.vote(claims, request)
        await self._mark_voted(claims.sub, question.id, question.room, request.up)
        return {"ok": True, "question": _seen(question, claims, voted=request.up)}

    async def _list(self, claims: Claims | None, data: Any) -> dict[str, Any]:
        request = ListRequest.parse(data)
        if claims is None:
            raise Forbidden("sign in with an access token to see questions")
        listing = await self._questions.listing(claims, request.room)
        order = await self._questions.order(claims, request.room)
        return {
            "ok": True,
            "questions": [_seen(q, claims, voted) for q, voted in listing],
            "order": order.value,
        }

    async def _moderate(self, claims: Claims | None, data: Any) -> dict[str, Any]:
        request = moderation_request(data)
        if claims is None:
            raise Forbidden("sign in with an access token to do that")
        if isinstance(request, OrderRequest):
            chosen = await self._questions.choose_order(claims, request)
            return {"ok": True, "room": chosen.room, "order": chosen.order.value}
        change = await self._questions.moderate(claims, request)
        question = change.question
        if change.withdrawn:
            return {"ok": True, "question": gone(question.id, question.room)}
        voted = any(
            sid in self._sids(voters_room(question.id, m))
            for sid in self._sids(subject_room(claims.sub))
            for m in GROUPS
        )
        return {"ok": True, "question": _seen(question, claims, voted)}

    async def _mark_voted(self, sub: str, question_id: str, room: str, up: bool) -> None:
        """Every connection of the voter joins (or leaves) the question's voters."""
        for sid in self._sids(subject_room(sub)):
            claims = self._live.claims(sid)
            if claims is None or not claims.allows_room(room):
                continue
            voters = voters_room(question_id, viewer_for(claims, room).moderates)
            if up:
                await self._sio.enter_room(sid, voters)
            else:
                await self._sio.leave_room(sid, voters)


def _seen(question: Question, claims: Claims, voted: bool) -> dict[str, Any] | None:
    return seen_by(question, viewer_for(claims, question.room), voted)
