"""What attendees meet first, in headless Chromium against a real rehearsing server: every
time in the reader's own zone beside Vienna's, labelled; the agenda opening at today; the
watch page leading on to the next item.

Screenshots of the agenda and watch pages at desktop and phone widths go to
/tmp/plenary-shots/reader-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import DESKTOP, PHONE, OpenPage
from tests.serverproc import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path("/tmp/plenary-shots")
DAY_S = 24 * 3600
# The welcome item runs 14:00-14:45 and the keynote follows at once.
WELCOME_S = 45 * 60
# Long enough for a room's end to reach the page and the page to move, short enough to fail.
LEAD_ON_MS = 20_000

StartServer = Callable[..., ServerProcess]


def shoot(page: Page, name: str, *, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"reader-{name}.png"), full_page=full_page)


def test_a_reader_in_new_york_sees_both_times_labelled(
    rehearsal_server: ServerProcess, open_page: OpenPage
) -> None:
    page = open_page(rehearsal_server.url, timezone_id="America/New_York", locale="en-US")

    expect(page.locator("#zone-note")).to_have_text(
        "Times are Vienna time (CEST), with your own time (New York) beside it."
    )
    expect(page.locator("#up-next .summary-time")).to_have_text(
        "14:00–14:45 Vienna time (08:00–08:45 your time)"
    )
    expect(page.locator("#item-keynote .room-state .badge")).to_have_text(
        "Opens 14:30 Vienna time (08:30 your time)"
    )
    shoot(page, "agenda-new-york-desktop")

    token = rehearsal_server.token("attendee", "Ana")
    watch = open_page(
        f"{rehearsal_server.url}/watch/keynote#token={token}",
        timezone_id="America/New_York",
        locale="en-US",
    )
    expect(watch.locator("#item-times")).to_have_text(
        "14:45–15:30 Vienna time (08:45–09:30 your time)"
    )
    expect(watch.locator("#room-badge")).to_have_text("Opens 14:30 Vienna time (08:30 your time)")
    expect(watch.locator("#media-status")).to_have_text(
        "Starts at 14:45 Vienna time (08:45 your time);"
        " the room opens at 14:30 Vienna time (08:30 your time)"
    )

    speaker = rehearsal_server.token("speaker", "Sam", rooms=("keynote",))
    speak = open_page(
        f"{rehearsal_server.url}/speak/keynote#token={speaker}",
        timezone_id="America/New_York",
        locale="en-US",
    )
    expect(speak.locator("#item-times")).to_have_text(
        "14:45–15:30 Vienna time (08:45–09:30 your time)"
    )
    expect(speak.locator("#air-hint")).to_have_text(
        "You can go on air from 14:30 Vienna time (08:30 your time), when the lobby opens."
        " The item starts at 14:45 Vienna time (08:45 your time)."
    )


def test_a_reader_in_vienna_sees_one_time_labelled(
    rehearsal_server: ServerProcess, open_page: OpenPage
) -> None:
    page = open_page(rehearsal_server.url, timezone_id="Europe/Vienna")
    expect(page.locator("#zone-note")).to_have_text("Times are Vienna time (CEST).")
    expect(page.locator("#item-keynote .room-state .badge")).to_have_text("Opens 14:30 Vienna time")
    expect(page.locator("#up-next .summary-time")).to_have_text("14:00–14:45 Vienna time")
    expect(page.locator("body")).not_to_contain_text("your time")


def test_an_ended_room_leads_on_to_the_next_by_itself(
    start_server: StartServer, open_page: OpenPage
) -> None:
    # The welcome item is live and ends a few seconds from now; the keynote's lobby is open.
    server = start_server(lead_seconds=-(WELCOME_S - 6))
    covered = server.token("attendee", "Ana", rooms=("welcome", "keynote"))
    limited = server.token("attendee", "Ben", rooms=("welcome",))
    page = open_page(f"{server.url}/watch/welcome#token={covered}")
    stays = open_page(f"{server.url}/watch/welcome#token={limited}", viewport=PHONE)
    expect(page.locator("#item-title")).to_have_text("Welcoming Remarks")

    expect(page).to_have_url(f"{server.url}/watch/keynote", timeout=LEAD_ON_MS)
    expect(page.locator("#item-title")).to_have_text("Keynote Address")

    expect(stays.locator("#waiting-big")).to_have_text("This item has ended", timeout=LEAD_ON_MS)
    expect(stays.locator("#waiting-next")).to_contain_text("Next: Keynote Address")
    expect(stays.locator("#waiting-small")).to_contain_text(
        "Your access link does not include the next item"
    )
    expect(stays).to_have_url(f"{server.url}/watch/welcome")
    shoot(stays, "watch-ended-phone")


def test_the_watch_page_shows_the_items_description(
    rehearsal_server: ServerProcess, open_page: OpenPage
) -> None:
    token = rehearsal_server.token("attendee", "Ana")
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = open_page(f"{rehearsal_server.url}/watch/panel-1#token={token}", viewport=viewport)
        about = page.locator("#item-about")
        expect(about.locator("summary")).to_have_text("About this panel")
        about.locator("summary").click()
        expect(about).to_contain_text("Palermo Protocol")
        expect(page.locator("#waiting-big")).to_have_text(re.compile(r"^Starts in "))
        shoot(page, f"watch-{label}")


def test_the_agenda_opens_at_today_on_a_phone(
    start_server: StartServer, open_page: OpenPage
) -> None:
    # Agenda time is day 3, a minute before its first item.
    server = start_server(lead_seconds=60 - 2 * DAY_S)
    page = open_page(server.url, viewport=PHONE, timezone_id="Asia/Tokyo")
    expect(page.locator("#day-2021-06-16")).to_be_in_viewport()
    expect(page.locator("#item-statement-day-3")).to_be_in_viewport()
    expect(page.locator("#day-2021-06-14")).not_to_be_in_viewport()
    badge = page.locator("#item-closing .room-state .badge")
    expect(badge).to_have_text("Opens 15:45 Vienna time (22:45 your time)")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), "wider than a phone"
    expect(page.locator("#item-welcome .room-state .badge")).to_have_text("Ended")
    shoot(page, "agenda-day-3-phone", full_page=False)  # what the reader sees first
    desktop = open_page(server.url, viewport=DESKTOP)
    expect(desktop.locator("#item-statement-day-3")).to_be_in_viewport()
    shoot(desktop, "agenda-day-3-desktop", full_page=False)
