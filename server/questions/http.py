"""HTTP adapter of questions: a room's questions exported for the report after the event, as
CSV and JSON, for organizers."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.auth.bearer import require
from server.auth.permissions import Permission
from server.errors import Forbidden
from server.questions.model import Question
from server.web import appkeys
from server.web.spreadsheet import cell, csv_line

COLUMNS = [
    "id",
    "status",
    "text",
    "original_text",
    "votes",
    "pinned",
    "author",
    "asked_at",
    "answered_at",
]
ANONYMOUS = "anonymous"


def export_view(question: Question) -> dict[str, Any]:
    """Everything the report needs; the asker's subject stays behind, as everywhere."""
    return {
        "id": question.id,
        "status": question.status.value,
        "text": question.text,
        "original_text": question.original_text,
        "votes": question.votes,
        "pinned": question.pinned,
        "author": question.author or ANONYMOUS,
        "asked_at": question.created_at.isoformat(),
        "answered_at": question.answered_at.isoformat() if question.answered_at else None,
    }


async def _questions(request: web.Request) -> tuple[str, list[Question]]:
    claims = require(request, Permission.EXPORT_QUESTIONS)
    room = request.app[appkeys.ROOMS].room(request.match_info["room"]).id
    if not claims.allows_room(room):
        raise Forbidden(f"your access does not include room {room!r}")
    return room, await request.app[appkeys.QUESTIONS].export(room)


async def export_json(request: web.Request) -> web.Response:
    room, questions = await _questions(request)
    return web.json_response(
        {"room": room, "questions": [export_view(question) for question in questions]},
        headers={"Cache-Control": "no-store"},
    )


async def export_csv(request: web.Request) -> web.Response:
    room, questions = await _questions(request)
    lines = [csv_line(COLUMNS)]
    for question in questions:
        row = export_view(question)
        lines.append(csv_line([cell(row[column]) for column in COLUMNS]))
    return web.Response(
        body="".join(lines).encode("utf-8-sig"),
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="questions-{room}.csv"',
            "Cache-Control": "no-store",
        },
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/rooms/{room}/questions.csv", export_csv)
    app.router.add_get("/api/rooms/{room}/questions.json", export_json)
