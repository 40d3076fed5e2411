"""A real app on loopback with real python-socketio clients, for the questions' tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from scheduler.clock import RehearsalClock, wall_now
from server.auth.permissions import Role
from server.web import appkeys
from tests.helpers import Listener, bundled_config

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


def clock_at(minutes: float) -> RehearsalClock:
    """A real-time rehearsal standing ``minutes`` after the first item's start (14:00 on
    Monday: welcome is live until 14:45, keynote's lobby opens at 14:30)."""
    first = bundled_config().timetable.items[0].starts_at
    return RehearsalClock(first, wall_now() - timedelta(minutes=minutes), 1.0)


class Hall:
    def __init__(self, server: TestServer, app: web.Application) -> None:
        self.server = server
        self.app = app
        self.url = str(server.make_url("")).rstrip("/")
        self.listeners: list[Listener] = []

    def token(
        self,
        role: Role,
        name: str | None = None,
        rooms: tuple[str, ...] = ("*",),
        sub: str | None = None,
    ) -> str:
        return self.app[appkeys.TOKENS].issue(
            role=role, name=name or f"A {role.value}", rooms=rooms, sub=sub
        )

    async def join(self, role: Role | None = None, **kwargs: Any) -> Listener:
        listener = Listener(self.url, self.token(role, **kwargs) if role else None)
        self.listeners.append(await listener.connect())
        return listener

    async def join_with(self, token: str) -> Listener:
        listener = Listener(self.url, token)
        self.listeners.append(await listener.connect())
        return listener

    async def close(self) -> None:
        for listener in self.listeners:
            await listener.close()
        self.listeners.clear()


async def ask(client: Listener, text: str, room: str = "welcome", **extra: Any) -> dict[str, Any]:
    answer = await client.call("ask", {"room": room, "text": text, **extra})
    assert answer["ok"] is True, answer
    return answer["question"]


async def moderate(client: Listener, question: str, action: str, **extra: Any) -> dict[str, Any]:
    answer = await client.call("moderate", {"question": question, "action": action, **extra})
    assert answer["ok"] is True, answer
    return answer["question"]


def questions_of(client: Listener, question_id: str) -> list[dict[str, Any]]:
    return [q for q in client.received("question") if q["id"] == question_id]


async def next_question(client: Listener, predicate: Callable[[dict[str, Any]], bool]) -> Any:
    return await client.wait_for(lambda event, data: event == "question" and predicate(data))
