"""From the agenda into the right room, in headless Chromium against a real server that mails
through aiosmtpd: a visitor finds registration (or hears it is closed, and whom to ask), an
attendee joins the live room in one click, a link for other rooms names them, a lost link is
sent again, and an unknown address is a page leading back to the agenda.

Screenshots at desktop and phone widths go to /tmp/plenary-shots/join-*.png.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from server.auth.permissions import Role
from tests.conftest import DESKTOP, PHONE, OpenPage, contrast
from tests.serverproc import ServerProcess, event_config, free_port
from tests.smtp import SmtpServer, join_link

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path("/tmp/plenary-shots")
CONTACT = "https://www.osce.org/cthb"  # the bundled config's [event] contact

StartSite = Callable[..., ServerProcess]


@pytest.fixture
def start_site(
    start_server: Callable[..., ServerProcess], smtp_server: SmtpServer, tmp_path: Path
) -> StartSite:
    """A real server in registration `mode`, mailing to aiosmtpd; the first item starts
    `lead_seconds` from now (negative: it is already live)."""

    def start(mode: str, lead_seconds: float = 8.0) -> ServerProcess:
        port = free_port()
        config = event_config(
            tmp_path, mode=mode, smtp_port=smtp_server.port, public_url=f"http://127.0.0.1:{port}"
        )
        return start_server(config=config, port=port, lead_seconds=lead_seconds)

    return start


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"join-{name}.png"), full_page=True)


def register(server: ServerProcess, email: str) -> None:
    body = {"name": "Ana Pérez", "email": email, "consent": True}
    request = urllib.request.Request(
        f"{server.url}/api/registrations",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 201


def test_a_visitor_goes_from_the_agenda_to_registration(
    start_site: StartSite, open_page: OpenPage
) -> None:
    server = start_site("approval")
    for viewport, size in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page = open_page(server.url, viewport=viewport)
        way_in = page.locator("#way-in")
        expect(way_in).to_be_visible()
        expect(way_in).to_contain_text("Watch online")
        expect(page.locator("#way-in .contact-link")).to_have_attribute("href", CONTACT)
        expect(page.locator("#account-bar")).to_be_hidden()
        page.wait_for_selector(".item")
        shoot(page, f"agenda-{size}")
        page.get_by_role("link", name="Register to attend online").click()
        page.wait_for_url(f"{server.url}/register")
        expect(page.locator("#register-form")).to_be_visible()
        expect(page.locator("#link-again")).to_be_visible()
        shoot(page, f"register-{size}")


def test_closed_registration_says_so_with_the_contact_on_the_agenda_and_the_watch_page(
    start_site: StartSite, open_page: OpenPage
) -> None:
    server = start_site("closed")
    page = open_page(server.url)
    closed = page.locator("#registration-closed")
    expect(closed).to_contain_text("Registration is closed")
    expect(closed.locator("a")).to_have_attribute("href", CONTACT)
    expect(page.get_by_role("link", name="Register to attend online")).to_have_count(0)
    watch = open_page(f"{server.url}/watch/welcome")
    expect(watch.locator("#waiting-big")).to_have_text("This page needs your access link")
    expect(watch.locator("#waiting-actions")).to_contain_text("Registration is closed")
    expect(watch.locator("#waiting-actions a.contact-link")).to_have_attribute("href", CONTACT)


def test_the_watch_page_without_a_link_offers_registration(
    start_site: StartSite, open_page: OpenPage
) -> None:
    server = start_site("open")
    page = open_page(f"{server.url}/watch/welcome")
    expect(page.locator("#waiting-big")).to_have_text("This page needs your access link")
    again = page.locator("#waiting-actions").get_by_role("link", name="E-mail me my link again")
    assert contrast(again) >= 4.5  # readable on the dark stage, not greyed out
    shoot(page, "watch-without-link")
    phone = open_page(f"{server.url}/watch/welcome", viewport=PHONE)
    expect(phone.locator("#waiting-big")).to_have_text("This page needs your access link")
    expect(phone.locator("#waiting-actions .contact-link")).to_be_visible()
    box, heading, contact = (
        phone.locator(selector).bounding_box()
        for selector in ("#waiting", "#waiting-big", "#waiting-actions .contact-link")
    )
    assert box and heading and contact
    assert box["y"] <= heading["y"] and contact["y"] + contact["height"] <= box["y"] + box["height"]
    shoot(phone, "watch-without-link-phone")
    page.locator("#waiting-actions").get_by_role("link", name="Register to attend online").click()
    page.wait_for_url(f"{server.url}/register")
    expect(page.locator("#register-form")).to_be_visible()


def test_a_signed_in_attendee_joins_the_live_room_in_one_click(
    start_site: StartSite, open_page: OpenPage, smtp_server: SmtpServer
) -> None:
    server = start_site("open", lead_seconds=-60)  # the welcome has been live a minute
    register(server, "ana@example.org")
    link = join_link(smtp_server.inbox.wait_for("ana@example.org")[0])
    page = open_page(link)
    expect(page.locator("#signed-in-name")).to_have_text("Ana Pérez")
    expect(page.locator("#way-in")).to_be_hidden()
    join = page.get_by_role("link", name="Join now")
    expect(join).to_be_visible()
    shoot(page, "agenda-signed-in-desktop")
    join.click()
    page.wait_for_url(f"{server.url}/watch/welcome")
    expect(page.locator("#item-title")).not_to_have_text("Loading…")
    expect(page.locator("#media-status")).not_to_have_attribute("data-state", "stopped")
    expect(page.locator("#waiting-big")).not_to_contain_text("access link")


def test_before_the_first_item_the_attendee_sees_what_is_next(
    start_site: StartSite, open_page: OpenPage
) -> None:
    server = start_site("approval", lead_seconds=600)
    token = server.token(Role.ATTENDEE, "Bo", rooms=("keynote",))
    page = open_page(f"{server.url}/#token={token}", timezone_id="America/New_York")
    next_line = page.locator("#join-next")
    expect(next_line).to_contain_text("Next: ")
    # The reader in New York is told the time in Vienna and in their own zone.
    reader_time = re.compile(r"at \d\d:\d\d Vienna time.*\(\d\d:\d\d.* your time\)")
    expect(next_line).to_contain_text(reader_time)
    expect(next_line.locator("a")).to_have_attribute("href", "/watch/keynote")
    expect(page.get_by_role("link", name="Join now")).to_have_count(0)


def test_a_link_for_other_rooms_names_them(start_site: StartSite, open_page: OpenPage) -> None:
    server = start_site("approval", lead_seconds=-60)
    token = server.token(Role.ATTENDEE, "Bo", rooms=("keynote", "panel-1"))
    page = open_page(f"{server.url}/watch/welcome#token={token}")
    expect(page.locator("#waiting-big")).to_have_text("Your link is for other rooms")
    rooms = page.locator("#other-rooms a")
    expect(rooms).to_have_count(2)
    expect(rooms.first).to_have_attribute("href", "/watch/keynote")
    expect(page.locator("main")).not_to_contain_text("does not include room")


def test_a_lost_link_is_sent_again_from_the_register_page(
    start_site: StartSite, open_page: OpenPage, smtp_server: SmtpServer
) -> None:
    server = start_site("open")
    register(server, "ana@example.org")
    first = join_link(smtp_server.inbox.wait_for("ana@example.org")[0])
    page = open_page(f"{server.url}/register#link-again")
    field = page.locator("#link-again-email")
    field.fill("not an address")
    page.get_by_role("button", name="E-mail me my link again").click()
    expect(page.locator("#link-again-error")).to_contain_text("registered with")
    field.fill("nobody@example.org")
    page.get_by_role("button", name="E-mail me my link again").click()
    done = page.locator("#link-again-done")
    expect(done).to_contain_text("If this address has an approved registration")
    unknown_answer = done.text_content()
    field.fill("ana@example.org")
    page.get_by_role("button", name="E-mail me my link again").click()
    expect(done).to_have_text(unknown_answer or "")
    second = join_link(smtp_server.inbox.wait_for("ana@example.org", 2)[-1])
    assert second != first
    for link in (first, second):  # the earlier link still signs in
        signed_in = open_page(link)
        expect(signed_in.locator("#signed-in-name")).to_have_text("Ana Pérez")


def test_registering_twice_leads_to_the_link_again(
    start_site: StartSite, open_page: OpenPage
) -> None:
    server = start_site("approval")
    register(server, "ana@example.org")
    page = open_page(f"{server.url}/register")
    page.locator("#name").fill("Ana Pérez")
    page.locator("#email").fill("ana@example.org")
    page.locator("#consent").check()
    page.locator("#submit").click()
    expect(page.locator("#email-error")).to_contain_text("Already registered?")
    expect(page.locator("#link-again-email")).to_have_value("ana@example.org")
    expect(page.locator("#link-again-email")).to_be_focused()


def test_an_unknown_page_leads_back_to_the_agenda(
    start_site: StartSite, open_page: OpenPage
) -> None:
    server = start_site("approval")
    page = open_page(f"{server.url}/agenda/day-3")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    page.get_by_role("link", name="Go to the agenda").click()
    page.wait_for_url(f"{server.url}/")
    expect(page.locator("#way-in")).to_be_visible()
