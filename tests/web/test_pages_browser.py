"""The browser pages (client_web/) in headless Chromium against a real rehearsing server.

Screenshots of every page at desktop and phone widths go to /tmp/plenary-shots/.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import DESKTOP, PHONE, OpenPage
from tests.helpers import bundled_raw
from tests.serverproc import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path("/tmp/plenary-shots")
# Long enough for the first room's lobby-to-live change, short enough to fail promptly.
STATE_CHANGE_MS = 15_000


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def agenda_items() -> list[dict[str, Any]]:
    return [item for day in bundled_raw()["days"] for item in day["items"]]


def room_ids() -> list[str]:
    return [item["id"] for item in agenda_items() if item["kind"] != "break"]


def card(page: Page, room: str) -> Any:
    return page.locator(f"#room-{room}")


def test_agenda_lists_three_days_in_vienna_time(
    rehearsal_server: ServerProcess, open_page: OpenPage
) -> None:
    # A reader in New York still sees Vienna times first, with their own time beside them.
    page = open_page(rehearsal_server.url, timezone_id="America/New_York", locale="en-US")

    days = page.locator(".day-heading .day-date")
    expect(days).to_have_text(["Monday 14 June", "Tuesday 15 June", "Wednesday 16 June"])
    expect(page.locator("h1")).to_have_text(bundled_raw()["event"]["name"])
    for item in agenda_items():
        expect(page.locator(f"#item-{item['id']} .item-title")).to_have_text(item["title"])
    welcome = page.locator("#item-welcome")
    expect(welcome.locator(".time-range")).to_have_text("14:00–14:45")
    expect(welcome.locator(".time-zone")).to_have_text("Vienna time")
    expect(welcome.locator(".time-local")).to_have_text("08:00–08:45 your time")
    expect(page.locator("#zone-note")).to_contain_text("Vienna time")
    expect(page.locator("#item-statement-day-2 .badge-audio")).to_have_text("Audio only")
    expect(page.locator("#item-break-mon .badge")).to_have_count(0)
    expect(page.locator("#link-status")).to_have_text("live updates")

    description = page.locator("#item-panel-1 details")
    expect(description.locator("p").first).to_be_hidden()
    description.locator("summary").click()
    expect(description).to_contain_text("Palermo Protocol")


def test_welcome_goes_from_lobby_to_live_without_reload(
    rehearsal_server: ServerProcess, open_page: OpenPage
) -> None:
    page = open_page(rehearsal_server.url)
    badge = page.locator("#item-welcome .room-state .badge")
    expect(badge).to_have_text("Lobby open")
    expect(page.locator("#item-welcome .watch-link")).to_have_text("Open the room")
    expect(page.locator("#item-welcome .countdown")).to_have_text(re.compile(r"^starts in 0:\d\d$"))
    expect(page.locator("#up-next")).to_contain_text("Welcoming Remarks")
    page.evaluate("window.plenaryTestMarker = 'same document'")

    expect(badge).to_have_text("Live now", timeout=STATE_CHANGE_MS)

    assert page.evaluate("window.plenaryTestMarker") == "same document"
    expect(page.locator("#item-welcome .countdown")).to_have_text(
        re.compile(r"^ends in 4[45]:\d\d$")
    )
    expect(page.locator("#on-now")).to_contain_text("Welcoming Remarks")
    expect(page.locator("#up-next")).to_contain_text("Keynote Address")
    expect(page.locator("#item-keynote .room-state .badge")).to_have_text(
        re.compile(r"^Opens 14:30 Vienna time")
    )
    expect(page.locator("#announcer")).to_have_text("Welcoming Remarks: live now.")
    watch = page.locator("#item-welcome .watch-link")
    expect(watch).to_have_text("Watch now")
    expect(watch).to_have_attribute("href", "/watch/welcome")
    expect(page.locator("#item-keynote .watch-link")).to_be_hidden()


def test_technician_extends_the_live_room_and_the_keynote_moves(
    start_server: Callable[..., ServerProcess], open_page: OpenPage
) -> None:
    server = start_server(lead_seconds=-60)  # the welcome has been live for a minute
    token = server.token("technician", "Tess Technician")
    page = open_page(f"{server.url}/technician#token={token}")

    expect(page).to_have_url(f"{server.url}/technician")  # the token left the address bar
    assert page.evaluate("sessionStorage.getItem('plenary.token')") == token
    expect(page.locator(".card")).to_have_count(len(room_ids()))
    welcome, keynote = card(page, "welcome"), card(page, "keynote")
    expect(welcome.locator(".badge")).to_have_text("Live now")
    expect(welcome.get_by_role("button", name="Start now")).to_be_disabled()
    expect(welcome.get_by_role("button", name="End now")).to_be_enabled()
    expect(keynote.get_by_role("button", name="Start now")).to_be_enabled()
    expect(keynote.get_by_role("button", name="End now")).to_be_disabled()
    expect(keynote.locator(".time-range")).to_have_text("14:45–15:30 Vienna time")
    expect(keynote.locator(".time-moved")).to_be_hidden()

    welcome.get_by_role("button", name="Extend +10").click()

    expect(welcome.locator(".card-done")).to_have_text("Extended by 10 minutes.")
    expect(welcome.locator(".time-range")).to_have_text("14:00–14:55 Vienna time")
    expect(welcome.locator(".time-moved")).to_have_text("published 14:00–14:45")
    expect(keynote.locator(".time-range")).to_have_text("14:55–15:40 Vienna time")
    expect(keynote.locator(".time-moved")).to_have_text("published 14:45–15:30")
    expect(welcome.locator(".card-facts")).to_contain_text("Tess Technician")
    shoot(page, "technician-extended-desktop")

    public = open_page(server.url)
    expect(public.locator("#item-keynote .time-range")).to_have_text("14:55–15:40")
    expect(public.locator("#item-keynote .time-moved")).to_have_text("moved from 14:45–15:30")


def test_technician_confirms_before_ending_a_room(
    start_server: Callable[..., ServerProcess], open_page: OpenPage
) -> None:
    server = start_server(lead_seconds=-60)
    page = open_page(f"{server.url}/technician#token={server.token('technician', 'Tess')}")
    welcome = card(page, "welcome")
    expect(welcome.locator(".badge")).to_have_text("Live now")

    welcome.get_by_role("button", name="End now").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("End “Welcoming Remarks” now?")
    shoot(page, "technician-confirm-desktop")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(welcome.locator(".badge")).to_have_text("Live now")

    welcome.get_by_role("button", name="End now").click()
    dialog.get_by_role("button", name="End now").click()
    expect(welcome.locator(".badge")).to_have_text("Ended")
    expect(welcome.get_by_role("button", name="Extend +5")).to_be_disabled()
    expect(welcome.get_by_role("button", name="End now")).to_be_disabled()


def test_technician_page_with_a_garbage_token_says_the_link_is_invalid(
    rehearsal_server: ServerProcess, open_page: OpenPage
) -> None:
    page = open_page(f"{rehearsal_server.url}/technician#token=not-a-token")

    expect(page.get_by_text("Your access link is not valid or has expired")).to_be_visible()
    expect(page.locator(".card")).to_have_count(0)
    assert page.evaluate("sessionStorage.getItem('plenary.token')") is None
    shoot(page, "technician-invalid-desktop")


def test_technician_page_without_a_token_explains_how_to_get_one(
    rehearsal_server: ServerProcess, open_page: OpenPage
) -> None:
    page = open_page(f"{rehearsal_server.url}/technician")

    expect(page.locator("#no-token")).to_contain_text("plenary token issue --role technician")
    expect(page.locator("#link-status")).to_have_text("not connected")
    shoot(page, "technician-no-token-desktop")


@pytest.mark.parametrize("path", ["/", "/technician"])
def test_pages_fit_a_phone_without_horizontal_scrolling(
    rehearsal_server: ServerProcess, open_page: OpenPage, path: str
) -> None:
    token = rehearsal_server.token("technician", "Tess")
    url = f"{rehearsal_server.url}{path}" + (f"#token={token}" if path != "/" else "")
    name = "agenda" if path == "/" else "technician"
    for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = open_page(url, viewport=viewport)
        expect(page.locator(".item, .card").first).to_be_visible()
        expect(page.locator("#link-status")).to_have_text("live updates")
        page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
        shoot(page, f"{name}-{label}")
        widths = page.evaluate(
            "({scroll: document.documentElement.scrollWidth,"
            " client: document.documentElement.clientWidth})"
        )
        assert widths["scroll"] <= widths["client"], f"{path} overflows at {label}: {widths}"
