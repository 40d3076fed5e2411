"""The organizers' exports of a room's questions, and what withdrawing a registration does
to its questions."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from server.auth.permissions import Role
from server.registration.model import (
    Registration,
    RegistrationStatus,
    new_registration_id,
    new_subject,
)
from server.web import appkeys
from server.web.app import create_app
from tests.helpers import settings
from tests.questions.harness import Hall, ServerFactory, ask, clock_at, moderate, next_question


@pytest.fixture
async def hall(tmp_path: Path, aiohttp_server: ServerFactory) -> AsyncIterator[Hall]:
    app = create_app(settings(tmp_path, clock_at(10)))
    hall = Hall(await aiohttp_server(app), app)
    yield hall
    await hall.close()


async def get(hall: Hall, path: str, token: str | None) -> tuple[int, str, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.get(hall.url + path, headers=headers) as response,
    ):
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def test_organizers_export_every_question_with_formulas_escaped(hall: Hall) -> None:
    moderator = await hall.join(Role.MODERATOR)
    asker = await hall.join(Role.ATTENDEE, name="Ann")
    formula = await ask(asker, '=HYPERLINK("http://evil.example","click")')
    hidden = await ask(asker, "-2+3 is what?", anonymous=True)
    await moderate(moderator, formula["id"], "approve")
    await moderate(moderator, hidden["id"], "edit", text="@SUM(1) reworded?")
    await moderate(moderator, formula["id"], "answer")
    organizer = hall.token(Role.ORGANIZER)

    status, kind, text = await get(hall, "/api/rooms/welcome/questions.csv", organizer)
    assert (status, kind) == (200, "text/csv; charset=utf-8")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [row["id"] for row in rows] == [formula["id"], hidden["id"]]
    assert rows[0]["text"] == '\'=HYPERLINK("http://evil.example","click")'
    assert (rows[0]["status"], rows[0]["author"], rows[0]["answered_at"] != "") == (
        "answered",
        "Ann",
        True,
    )
    assert (rows[1]["text"], rows[1]["original_text"], rows[1]["author"]) == (
        "'@SUM(1) reworded?",
        "'-2+3 is what?",
        "anonymous",
    )

    status, kind, text = await get(hall, "/api/rooms/welcome/questions.json", organizer)
    assert (status, kind) == (200, "application/json; charset=utf-8")
    body = json.loads(text)
    assert body["room"] == "welcome"
    assert body["questions"][1]["original_text"] == "-2+3 is what?"
    assert set(body["questions"][0]) == {
        "id",
        "status",
        "text",
        "original_text",
        "votes",
        "pinned",
        "author",
        "asked_at",
        "answered_at",
    }


@pytest.mark.parametrize("suffix", ["csv", "json"])
async def test_only_organizers_export(hall: Hall, suffix: str) -> None:
    path = f"/api/rooms/welcome/questions.{suffix}"
    assert (await get(hall, path, None))[0] == 401
    for role in (Role.MODERATOR, Role.TECHNICIAN, Role.ATTENDEE):
        assert (await get(hall, path, hall.token(role)))[0] == 403
    assert (await get(hall, path, hall.token(Role.ORGANIZER, rooms=("panel-1",))))[0] == 403
    status, _, text = await get(
        hall, f"/api/rooms/nowhere/questions.{suffix}", hall.token(Role.ORGANIZER)
    )
    assert status == 404 and '"unknown_room"' in text


async def test_withdrawing_a_registration_leaves_the_questions_anonymous(hall: Hall) -> None:
    store = hall.app[appkeys.STORE]
    registration = Registration(
        id=new_registration_id(),
        sub=new_subject(),
        name="Ann Attendee",
        email="ann@example.org",
        affiliation="",
        status=RegistrationStatus.APPROVED,
        created_at=datetime.now(UTC),
    )
    await store.registrations.add(registration, consent_at=registration.created_at)
    token = hall.token(Role.ATTENDEE, name="Ann Attendee", sub=registration.sub)
    moderator = await hall.join(Role.MODERATOR)
    other = await hall.join(Role.ATTENDEE)
    ann = await hall.join_with(token)
    asked = await ask(ann, "Will my name stay?")
    await moderate(moderator, asked["id"], "approve")
    other_question = await ask(other, "And mine?")
    await moderate(moderator, other_question["id"], "approve")
    assert (await ann.call("vote", {"question": other_question["id"], "up": True}))["ok"]
    await next_question(other, lambda q: q["author"] == "Ann Attendee")

    async with (
        aiohttp.ClientSession() as session,
        session.delete(
            hall.url + "/api/me/registration", headers={"Authorization": f"Bearer {token}"}
        ) as response,
    ):
        assert response.status == 200, await response.text()
    for client in (moderator, other):
        update = await next_question(
            client, lambda q: q["id"] == asked["id"] and q["author"] is None
        )
        assert (update["text"], update["status"]) == ("Will my name stay?", "approved")
    listed = await moderator.call("questions", {"room": "welcome"})
    by_id = {q["id"]: q for q in listed["questions"]}
    assert by_id[asked["id"]]["author"] is None
    assert by_id[other_question["id"]]["votes"] == 1  # the vote stays counted
    kept = await store.questions.get(hall.app[appkeys.ROOMS].run, asked["id"])
    assert kept is not None and (kept.asker, kept.author) == (None, None)
    assert await store.questions.voted(hall.app[appkeys.ROOMS].run, registration.sub) == {}
