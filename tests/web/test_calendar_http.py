"""``GET /api/agenda.ics`` and ``/api/agenda/{item}.ics`` over HTTP, against the JSON agenda,
with the running order changed through a real Socket.IO ``control``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from aiohttp import ClientSession
from icalendar import Calendar, Event
from yarl import URL

from server.auth.permissions import Role
from tests.rooms import test_live
from tests.rooms.test_live import Harness

harness = test_live.harness  # the same live server and its listeners, as a fixture here


@pytest.fixture
async def http() -> AsyncIterator[ClientSession]:
    async with ClientSession() as session:
        yield session


async def get_json(http: ClientSession, url: str) -> Any:
    async with http.get(url) as response:
        return await response.json()


def by_item(body: bytes) -> dict[str, Event]:
    return {
        str(event["uid"]).split(".", 1)[0]: event
        for event in Calendar.from_ical(body).walk("VEVENT")
    }


def assert_matches_agenda(events: dict[str, Event], agenda: dict[str, Any]) -> None:
    assert list(events) == [item["id"] for item in agenda["items"]]
    for item in agenda["items"]:
        event = events[item["id"]]
        assert event.decoded("dtstart") == datetime.fromisoformat(item["starts_at"]), item["id"]
        assert event.decoded("dtend") == datetime.fromisoformat(item["ends_at"]), item["id"]
        assert str(event["summary"]) == item["title"]


async def test_the_feed_is_the_agenda(harness: Harness, http: ClientSession) -> None:
    async with http.get(f"{harness.url}/api/agenda.ics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
        assert response.headers["Content-Disposition"] == 'attachment; filename="agenda.ics"'
        assert response.headers["Cache-Control"] == "no-cache"
        assert response.headers["ETag"] and response.headers["Last-Modified"]
        body = await response.read()
    agenda = await get_json(http, f"{harness.url}/api/agenda")
    assert_matches_agenda(by_item(body), agenda)
    parsed = Calendar.from_ical(body)
    assert str(parsed.walk("VTIMEZONE")[0]["tzid"]) == agenda["event"]["timezone"]
    # The address attendees are given (the test settings' public URL), not the request's.
    assert str(by_item(body)["panel-1"]["url"]) == "http://127.0.0.1:8080/watch/panel-1"


async def test_a_calendar_that_has_the_feed_gets_304(harness: Harness, http: ClientSession) -> None:
    url = f"{harness.url}/api/agenda.ics"
    async with http.get(url) as response:
        etag = response.headers["ETag"]
    async with http.get(url, headers={"If-None-Match": etag}) as again:
        assert again.status == 304
        assert again.headers["ETag"] == etag
        assert await again.read() == b""
    async with http.get(url, headers={"If-None-Match": '"something-else"'}) as other:
        assert other.status == 200


async def test_a_delay_moves_the_feed_and_raises_sequence(
    harness: Harness, http: ClientSession
) -> None:
    url = f"{harness.url}/api/agenda.ics"
    async with http.get(url) as response:
        etag = response.headers["ETag"]
        before = by_item(await response.read())
    technician = await harness.listen(Role.TECHNICIAN)
    answer = await technician.call("control", {"room": "keynote", "action": "delay", "minutes": 10})
    assert answer["ok"] is True, answer
    async with http.get(url, headers={"If-None-Match": etag}) as response:
        assert response.status == 200  # the tag it held no longer names the feed
        assert response.headers["ETag"] != etag
        after = by_item(await response.read())
    assert_matches_agenda(after, await get_json(http, f"{harness.url}/api/agenda"))
    for item in ("keynote", "break-mon", "panel-1"):
        assert after[item]["sequence"] == before[item]["sequence"] + 1
        assert after[item].decoded("dtstart") > before[item].decoded("dtstart")
        assert "last-modified" in after[item]
    for item in ("welcome", "panel-2"):
        assert after[item]["sequence"] == 0
        assert after[item].decoded("dtstart") == before[item].decoded("dtstart")
    async with http.get(f"{harness.url}/api/agenda/panel-1.ics") as single:
        (event,) = Calendar.from_ical(await single.read()).walk("VEVENT")
    assert event["sequence"] == 1 and event["uid"] == after["panel-1"]["uid"]


@pytest.mark.parametrize("item", ["welcome", "break-mon", "statement-day-2"])
async def test_one_item_for_its_card(harness: Harness, http: ClientSession, item: str) -> None:
    async with http.get(f"{harness.url}/api/agenda/{item}.ics") as response:
        assert response.status == 200
        assert response.content_type == "text/calendar"
        disposition = response.headers["Content-Disposition"]
        assert disposition == f'attachment; filename="{item}.ics"'
        body = await response.read()
    (event,) = Calendar.from_ical(body).walk("VEVENT")
    agenda = await get_json(http, f"{harness.url}/api/agenda")
    listed = next(entry for entry in agenda["items"] if entry["id"] == item)
    assert event.decoded("dtstart") == datetime.fromisoformat(listed["starts_at"])


@pytest.mark.parametrize(
    "path",
    [
        "/api/agenda/nothing.ics",
        "/api/agenda/WELCOME.ics",
        "/api/agenda/w%C3%A9lcome.ics",
        "/api/agenda/%F0%9F%8E%A4.ics",
        "/api/agenda/%FF%FE.ics",
        "/api/agenda/welcome%00.ics",
        "/api/agenda/" + "x" * 4000 + ".ics",
        "/api/agenda/..%2Fagenda.ics",
        "/api/agenda/..%2F..%2Fconfig.toml.ics",
        "/api/agenda/welcome.ics.ics",
        "/api/agenda/.ics",
        "/api/agenda/welcome",
    ],
)
async def test_unknown_items_are_404_in_words(
    harness: Harness, http: ClientSession, path: str
) -> None:
    async with http.get(URL(f"{harness.url}{path}", encoded=True)) as response:
        assert response.status == 404, path
        body = await response.json()
    assert body["error"] in ("unknown_item", "not_found") and body["message"]
    assert len(body["message"]) < 120
