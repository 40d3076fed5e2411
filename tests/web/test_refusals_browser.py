"""A staff page that turns a link away says why in plain words, in headless Chromium against a
real server: a link for other rooms leads to them, a link for another role to the agenda, and a
page opened without a link names the event's contact. The server's own sentences never show.

A screenshot at phone width goes to /tmp/plenary-shots/refusal-speak-other-rooms.png.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

from server.auth.permissions import Role
from tests.conftest import PHONE, OpenPage
from tests.serverproc import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path("/tmp/plenary-shots")
CONTACT = "https://www.osce.org/cthb"  # the bundled config's [event] contact
RAW = "does not include room"


def test_a_link_for_other_rooms_leads_to_them_by_title(
    start_server: Callable[..., ServerProcess], open_page: OpenPage
) -> None:
    server = start_server(lead_seconds=-60)
    speaker = server.token(Role.SPEAKER, "Bo", rooms=("keynote",))
    page = open_page(f"{server.url}/speak/welcome#token={speaker}", viewport=PHONE)
    expect(page.locator("#stop-heading")).to_have_text("Your link is for other rooms")
    link = page.locator("#other-rooms a")
    expect(link).to_have_text("Keynote Address")  # the agenda's title, not the room's id
    expect(link).to_have_attribute("href", "/speak/keynote")
    expect(page.locator("main")).not_to_contain_text(RAW)
    # The questions will not come: their panel says why, and stops saying it is loading them.
    expect(page.locator("#queue-error")).to_be_visible()
    expect(page.locator("#queue-empty")).to_be_hidden()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "refusal-speak-other-rooms.png"), full_page=True)

    technician = server.token(Role.TECHNICIAN, "Cy", rooms=("keynote",))
    hall = open_page(f"{server.url}/hall/welcome#token={technician}")
    expect(hall.locator("#waiting-way #other-rooms a")).to_have_attribute("href", "/hall/keynote")
    expect(hall.locator("#waiting-way")).to_contain_text("Keynote Address")
    expect(hall.locator("body")).not_to_contain_text(RAW)


def test_a_link_for_another_role_leads_to_the_agenda(
    start_server: Callable[..., ServerProcess], open_page: OpenPage
) -> None:
    server = start_server(lead_seconds=-60)
    attendee = server.token(Role.ATTENDEE, "Bo", rooms=("welcome",))
    page = open_page(f"{server.url}/moderate/welcome#token={attendee}")
    expect(page.locator("#stop-heading")).to_have_text("This page is for moderators")
    expect(page.locator("#stop-text")).to_contain_text("an attendee’s")
    expect(page.locator("#stop-way #agenda-link")).to_have_attribute("href", "/")
    expect(page.locator("main")).not_to_contain_text(RAW)

    screen = open_page(f"{server.url}/screen/welcome#token={attendee}")
    expect(screen.locator("#screen-note")).to_contain_text(
        "This page is for technicians and moderators"
    )
    expect(screen.locator("#screen-way #agenda-link")).to_have_attribute("href", "/")


def test_a_page_without_a_link_names_the_contact(
    start_server: Callable[..., ServerProcess], open_page: OpenPage
) -> None:
    server = start_server(lead_seconds=-60)
    for page_name in ("speak", "moderate", "hall", "screen"):
        page = open_page(f"{server.url}/{page_name}/welcome")
        expect(page.locator("a.contact-link")).to_have_attribute("href", CONTACT)
