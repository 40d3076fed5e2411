"""The technician page's pure logic (client_web/runningorder.js, and the date of times past
midnight in clock.js), run in headless Chromium as the pages load them."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MINUTE = 60_000
# Monday 14 June 2021, 14:00 in Vienna, in epoch milliseconds.
T14 = 1_623_672_000_000


def at(minutes: float) -> int:
    """Monday 14:00 in Vienna plus ``minutes``."""
    return T14 + int(minutes * MINUTE)


def item(
    item_id: str,
    start: float,
    end: float,
    *,
    state: str | None = "scheduled",
    moved: float = 0,
    day: str = "2021-06-14",
    reopen_until: int | None = None,
) -> dict[str, Any]:
    """An item as timetable.js parses it: planned from ``start`` to ``end`` (minutes after
    14:00), now ``moved`` minutes later; ``state`` None for a break."""
    room = None
    if state is not None:
        room = {"id": item_id, "state": state, "reopenUntil": reopen_until}
    return {
        "id": item_id,
        "title": f"Title of {item_id}",
        "day": day,
        "startsAt": at(start + moved),
        "endsAt": at(end + moved),
        "scheduledStartsAt": at(start),
        "scheduledEndsAt": at(end),
        "room": room,
    }


@pytest.fixture(scope="module")
def page(module_page: Page) -> Page:
    return module_page


def call(page: Page, function: str, *args: Any) -> Any:
    return page.evaluate(
        """async ([name, args]) => {
             const module = await import('/app/runningorder.js');
             return module[name](...args);
           }""",
        [function, list(args)],
    )


@pytest.mark.parametrize(
    ("offset", "words"),
    [
        (0, {"text": "on time", "tone": "on-time"}),
        (29_000, {"text": "on time", "tone": "on-time"}),
        (10 * MINUTE, {"text": "10 min behind", "tone": "behind"}),
        (-3 * MINUTE - 10_000, {"text": "3 min ahead", "tone": "ahead"}),
    ],
)
def test_offset_in_words(page: Page, offset: int, words: dict[str, str]) -> None:
    assert call(page, "offsetWords", offset) == words


def test_offset_is_by_the_start_before_an_item_begins_and_by_the_end_after(page: Page) -> None:
    later = item("keynote", 45, 90, moved=10)
    assert call(page, "offsetOf", later, at(20)) == 10 * MINUTE
    live_longer = {**item("welcome", 0, 45), "endsAt": at(55), "room": {"state": "live"}}
    assert call(page, "offsetOf", live_longer, at(20)) == 10 * MINUTE
    ended_early = {**item("welcome", 0, 45, state="ended"), "endsAt": at(30)}
    assert call(page, "offsetOf", ended_early, at(40)) == -15 * MINUTE
    coffee = item("break", 90, 120, state=None, moved=5)
    assert call(page, "phaseOf", coffee, at(100)) == "now"
    assert call(page, "offsetOf", coffee, at(100)) == 5 * MINUTE


def test_today_comes_first(page: Page) -> None:
    days = [{"day": d, "items": []} for d in ("2021-06-14", "2021-06-15", "2021-06-16")]
    ordered = call(page, "todayFirst", days, "2021-06-15")
    assert [day["day"] for day in ordered] == ["2021-06-15", "2021-06-14", "2021-06-16"]
    assert call(page, "todayFirst", days, "2021-06-20") == days


def test_the_delay_starts_from_todays_first_room_not_ended(page: Page) -> None:
    items = [
        item("welcome", 0, 45, state="ended"),
        item("keynote", 45, 90, state="live"),
        item("break", 90, 120, state=None),
        item("panel", 120, 210),
        item("tuesday", 0, 45, day="2021-06-15"),
    ]
    anchor = call(page, "delayAnchor", items, "2021-06-14")
    assert anchor["id"] == "keynote"
    moved = call(page, "delayedBy", items, anchor, at(60))
    assert [found["id"] for found in moved] == ["keynote", "break", "panel"]
    assert call(page, "delayAnchor", items[:1], "2021-06-14") is None
    assert call(page, "delayAnchor", items, "2021-06-16") is None


@pytest.mark.parametrize(
    ("state", "day", "can"),
    [
        ("scheduled", "2021-06-14", True),
        ("lobby", "2021-06-13", True),  # its lobby opened before midnight
        ("scheduled", "2021-06-15", False),
        ("live", "2021-06-14", False),
        ("ended", "2021-06-14", False),
    ],
)
def test_which_rooms_may_start_now(page: Page, state: str, day: str, can: bool) -> None:
    assert call(page, "canStartNow", item("a", 0, 45, state=state, day=day), "2021-06-14") is can


def test_an_end_may_be_undone_until_its_deadline(page: Page) -> None:
    ended = item("a", 0, 45, state="ended", reopen_until=at(35))
    assert call(page, "canReopen", ended, at(34)) is True
    assert call(page, "canReopen", ended, at(35)) is False
    assert call(page, "canReopen", item("a", 0, 45, state="ended"), at(30)) is False


@pytest.mark.parametrize(
    ("minutes", "words"), [(5, "5 min"), (45, "45 min"), (60, "1 h"), (90, "1 h 30 min")]
)
def test_length_in_words(page: Page, minutes: int, words: str) -> None:
    assert call(page, "lengthWords", minutes * MINUTE) == words


@pytest.mark.parametrize(
    ("start", "end", "shown"),
    [
        ("2021-06-14T14:00:00+02:00", "2021-06-14T14:45:00+02:00", "14:00–14:45"),
        ("2021-06-14T23:30:00+02:00", "2021-06-15T00:15:00+02:00", "23:30–00:15 (Tue 15 Jun)"),
        ("2021-06-15T00:10:00+02:00", "2021-06-15T00:55:00+02:00", "00:10–00:55 (Tue 15 Jun)"),
    ],
)
def test_times_past_midnight_show_their_date(page: Page, start: str, end: str, shown: str) -> None:
    written = page.evaluate(
        """async ([start, end]) => {
             const { ZoneFormat } = await import('/app/clock.js');
             const vienna = new ZoneFormat('Europe/Vienna');
             return vienna.rangeOnDay(Date.parse(start), Date.parse(end), '2021-06-14');
           }""",
        [start, end],
    )
    assert written == shown
