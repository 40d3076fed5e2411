"""The agenda's "Add to calendar" links, followed in headless Chromium against a real server."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from icalendar import Calendar
from playwright.sync_api import expect

from tests.conftest import PHONE, OpenPage
from tests.serverproc import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path("/tmp/plenary-shots")


def test_each_card_adds_its_item_to_a_calendar(
    rehearsal_server: ServerProcess, open_page: OpenPage
) -> None:
    page = open_page(rehearsal_server.url, accept_downloads=True)
    for item in ("panel-1", "break-mon"):
        link = page.locator(f"#item-{item} .calendar-link")
        expect(link).to_have_text("Add to calendar")
        expect(link).to_have_attribute("href", f"/api/agenda/{item}.ics")
    link = page.locator("#item-panel-1 .calendar-link")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#item-keynote").screenshot(path=str(SHOTS / "calendar-card-desktop.png"))
    expect(link).to_have_attribute(
        "aria-label",
        "Add “Panel 1 – What is ‘Demand’ and why must it be discouraged” to your calendar",
    )
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "panel-1.ics"
    (event,) = Calendar.from_ical(Path(download.value.path()).read_bytes()).walk("VEVENT")
    shown = page.locator("#item-panel-1 .time-range time").first.get_attribute("datetime")
    assert shown is not None
    assert event.decoded("dtstart") == datetime.fromisoformat(shown.replace("Z", "+00:00"))


def test_the_whole_agenda_is_offered_on_a_phone_too(
    rehearsal_server: ServerProcess, open_page: OpenPage
) -> None:
    page = open_page(rehearsal_server.url, viewport=PHONE, accept_downloads=True)
    whole = page.get_by_role("link", name="Add the whole agenda to your calendar")
    expect(whole).to_have_attribute("href", "/api/agenda.ics")
    expect(page.locator("#item-welcome .calendar-link")).to_be_visible()
    page.locator("#item-keynote").screenshot(path=str(SHOTS / "calendar-card-phone.png"))
    with page.expect_download() as download:
        whole.click()
    parsed = Calendar.from_ical(Path(download.value.path()).read_bytes())
    assert len(parsed.walk("VEVENT")) == page.locator(".item").count()
