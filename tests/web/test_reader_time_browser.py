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


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"reader-{name}.png"), full_page=True)


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


def test_a_reader_in_vienna_sees_one_time_labelled(
    rehearsal_server: ServerProcess, open_page: OpenPage
) -> None:
    page = open_page(rehearsal_server.url, timezone_id="Europe/Vienna")
    expect(page.locator("#zone-note")).to_have_text("Times are Vienna time (CEST).")
    expect(page.locator("#item-keynote .room-state .badge")).to_have_text("Opens 14:30 Vienna time")
    expect(page.locator("#up-next .summary-time")).to_have_text("14:00–14:45 Vienna time")
    expect(page.locator("body")).not_to_contain_text("your time")
