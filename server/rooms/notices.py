"""The notices technicians put up ("We are restoring the hall feed"): to one room or to every
room, each up until someone clears it. Pure: kept in memory, no I/O; the channel
(``notice_channel.py``) sends them, and a restart takes every notice down.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from server.errors import Conflict, NotFound
from server.rooms.commands import NoticeLevel, NoticeRequest

# Notices up at once across the event: more would bury the page they are shown on.
MAX_NOTICES = 20


@dataclass(frozen=True)
class Notice:
    id: str
    text: str
    level: NoticeLevel
    room: str | None  # None: every room
    by: str
    posted_at: datetime

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "level": self.level.value,
            "room": self.room,
            "active": True,
        }

    def taken_down(self) -> dict[str, Any]:
        return {"id": self.id, "room": self.room, "active": False}

    def reaches(self, room: str) -> bool:
        """Whether the notice is shown in ``room``."""
        return self.room is None or self.room == room


class NoticeBoard:
    def __init__(self, limit: int = MAX_NOTICES) -> None:
        self._limit = limit
        self._notices: dict[str, Notice] = {}

    def post(self, request: NoticeRequest, by: str, at: datetime) -> Notice:
        if len(self._notices) >= self._limit:
            raise Conflict(f"{self._limit} notices are up already; clear one first")
        notice = Notice(secrets.token_hex(6), request.text, request.level, request.room, by, at)
        self._notices[notice.id] = notice
        return notice

    def find(self, notice_id: str) -> Notice:
        notice = self._notices.get(notice_id)
        if notice is None:
            raise NotFound("there is no such notice up; it may have been cleared already")
        return notice

    def clear(self, notice_id: str) -> Notice:
        return self._notices.pop(self.find(notice_id).id)

    def up(self) -> list[Notice]:
        """Every notice up, oldest first."""
        return list(self._notices.values())
