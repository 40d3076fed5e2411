"""The technician's console in headless Chromium against a real rehearsing server: the running
order, start now and undoing an end, the day's delay, notices that reach the watch page of
their room only, and the page as other roles see it.

Screenshots go to /tmp/plenary-shots/ (technician-console-*).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.conftest import PHONE, OpenPage
from tests.serverproc import ServerProcess
from tests.web.test_pages_browser import card, shoot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LAPTOP = {"width": 1366, "height": 768}
MONDAY = ["welcome", "keynote", "break-mon", "panel-1"]


def line(page: Page, item: str) -> Locator:
    return page.locator(f'#running-order .ro-line[data-item="{item}"]')


def confirm(page: Page, label: str) -> None:
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=label).click()
    expect(dialog).to_be_hidden()


def test_the_running_order_and_a_notice_that_reaches_its_rooms_watch_page_only(
    start_server: Callable[..., ServerProcess], open_page: OpenPage
) -> None:
    server = start_server(lead_seconds=-60)  # the welcome has been live for a minute
    technician = open_page(
        f"{server.url}/technician#token={server.token('technician', 'Tess')}", viewport=LAPTOP
    )
    watch_welcome = open_page(f"{server.url}/watch/welcome#token={server.token('attendee', 'Ana')}")
    watch_keynote = open_page(f"{server.url}/watch/keynote#token={server.token('attendee', 'Ben')}")

    today = technician.locator('#running-order .ro-day[data-today="true"]')
    expect(today.locator("summary")).to_have_text("Monday 14 June · today")
    expect(today.locator(".ro-line")).to_have_count(len(MONDAY))
    assert today.locator(".ro-line").evaluate_all("rows => rows.map(r => r.dataset.item)") == MONDAY
    welcome = line(technician, "welcome")
    expect(welcome.locator(".ro-phase")).to_have_text("Now")
    expect(welcome.locator(".ro-planned")).to_have_text("14:00–14:45")
    expect(welcome.locator(".ro-offset")).to_have_text("on time")
    expect(line(technician, "break-mon").locator(".ro-title")).to_have_text("Coffee Break")
    expect(
        technician.locator('#running-order .ro-day[data-day="2021-06-15"]')
    ).not_to_have_attribute("open", "")
    expect(watch_welcome.locator("#link-status")).to_have_text("live updates")
    expect(watch_keynote.locator("#link-status")).to_have_text("live updates")

    composer = technician.locator("#notice-panel")
    composer.get_by_label("Notice", exact=True).fill("We are restoring the hall feed")
    composer.get_by_label("To", exact=True).select_option(label="Welcoming Remarks")
    composer.get_by_label("Level", exact=True).select_option("warning")
    composer.get_by_role("button", name="Post notice").click()

    expect(composer.locator(".card-done")).to_have_text("Posted to Welcoming Remarks.")
    up = composer.locator(".notice-up")
    expect(up).to_have_count(1)
    expect(up).to_contain_text("We are restoring the hall feed")
    notice = watch_welcome.locator("#notices .notice")
    expect(notice).to_have_text(re.compile("We are restoring the hall feed"))
    expect(notice).to_have_class(re.compile("notice-warning"))
    shoot(technician, "technician-console-laptop")
    shoot(watch_welcome, "technician-console-watch-notice")

    # A notice for every room reaches the keynote's watch page; the welcome's never did.
    composer.get_by_label("Notice", exact=True).fill("Lunch is served at 13:00")
    composer.get_by_label("To", exact=True).select_option(label="Every room")
    composer.get_by_role("button", name="Post notice").click()
    expect(watch_keynote.locator("#notices .notice")).to_have_text(re.compile("Lunch is served"))
    expect(watch_keynote.locator("#notices .notice")).to_have_count(1)
    expect(watch_welcome.locator("#notices .notice")).to_have_count(2)

    # Cleared on the technician page, it comes down on the watch page.
    up.filter(has_text="hall feed").get_by_role("button", name="Clear").click()
    expect(up).to_have_count(1)
    expect(watch_welcome.locator("#notices .notice")).to_have_count(1)
    expect(watch_welcome.locator("#notices")).not_to_contain_text("hall feed")

    # A page that connects while a notice is up gets it.
    late = open_page(f"{server.url}/watch/panel-1#token={server.token('attendee', 'Cy')}")
    expect(late.locator("#notices .notice")).to_have_text(re.compile("Lunch is served"))


def test_start_now_asks_and_keeps_the_length_and_an_end_can_be_undone(
    start_server: Callable[..., ServerProcess], open_page: OpenPage
) -> None:
    server = start_server(lead_seconds=-60)
    page = open_page(f"{server.url}/technician#token={server.token('technician', 'Tess')}")
    keynote, welcome = card(page, "keynote"), card(page, "welcome")
    expect(card(page, "panel-2").get_by_role("button", name="Start now")).to_be_disabled()

    keynote.get_by_role("button", name="Start now").click()
    expect(page.get_by_role("dialog")).to_contain_text("keeps its length of 45 min")
    confirm(page, "Start now")

    expect(keynote.locator(".badge")).to_have_text("Live now")
    # Started a minute or two into the welcome, it keeps its 45 minutes.
    expect(keynote.locator(".time-range")).to_have_text(
        re.compile(r"^14:0\d–14:[45]\d Vienna time$")
    )
    expect(line(page, "keynote").locator(".ro-offset")).to_have_text(re.compile(r"^4\d min ahead$"))

    welcome.get_by_role("button", name="End now").click()
    confirm(page, "End now")
    expect(welcome.locator(".badge")).to_have_text("Ended")
    undo = welcome.get_by_role("button", name="Undo end")
    expect(undo).to_have_text(re.compile(r"^Undo end \(4:\d\d left\)$"))
    undo.click()
    expect(welcome.locator(".badge")).to_have_text("Live now")
    expect(welcome.locator(".card-done")).to_have_text("Reopened: live again.")
    expect(undo).to_be_hidden()
    expect(welcome.locator(".time-range")).to_have_text("14:00–14:45 Vienna time")


def test_delay_the_rest_of_today_moves_the_running_order(
    start_server: Callable[..., ServerProcess], open_page: OpenPage
) -> None:
    server = start_server(lead_seconds=-60)
    page = open_page(f"{server.url}/technician#token={server.token('technician', 'Tess')}")
    form = page.locator("#running-order .delay-form")
    expect(form).to_contain_text("From “Welcoming Remarks” on.")

    form.get_by_label("Delay the rest of today by").fill("10")
    form.get_by_role("button", name="Delay").click()
    expect(page.get_by_role("dialog")).to_contain_text("4 items move")
    confirm(page, "Delay")

    expect(form.locator(".card-done")).to_have_text("The rest of today is 10 minutes later.")
    for item, now in (
        ("welcome", "14:00–14:55"),
        ("keynote", "14:55–15:40"),
        ("panel-1", "16:10–17:40"),
    ):
        expect(line(page, item).locator(".ro-now")).to_have_text(now)
        expect(line(page, item).locator(".ro-offset")).to_have_text("10 min behind")
    expect(card(page, "panel-1").locator(".time-moved")).to_have_text("published 16:00–17:30")
    expect(line(page, "panel-2").locator(".ro-offset")).to_have_text("on time")

    # Pushed past midnight, Monday's last items say which day their times are on.
    for _ in range(2):
        form.get_by_label("Delay the rest of today by").fill("240")
        form.get_by_role("button", name="Delay").click()
        confirm(page, "Delay")
    panel = line(page, "panel-1")
    expect(panel.locator(".ro-now")).to_have_text("00:10–01:40 (Tue 15 Jun)")
    expect(panel.locator(".ro-offset")).to_have_text("490 min behind")
    expect(line(page, "break-mon").locator(".ro-now")).to_have_text("23:40–00:10 (Tue 15 Jun)")
    expect(card(page, "panel-1").locator(".time-range")).to_have_text(
        "00:10–01:40 (Tue 15 Jun) Vienna time"
    )
    expect(page.locator('#running-order .ro-day[data-today="true"] .ro-line')).to_have_count(4)


def test_on_a_phone_today_comes_first(rehearsal_server: ServerProcess, open_page: OpenPage) -> None:
    token = rehearsal_server.token("technician", "Tess")
    page = open_page(f"{rehearsal_server.url}/technician#token={token}", viewport=PHONE)
    expect(page.locator("#running-order .ro-day").first).to_have_attribute("data-today", "true")
    running_order = page.locator("#running-order").bounding_box()
    first_card = page.locator(".card").first.bounding_box()
    assert running_order is not None and first_card is not None
    assert running_order["y"] < first_card["y"]
    shoot(page, "technician-console-phone")
    widths = page.evaluate(
        "({scroll: document.documentElement.scrollWidth,"
        " client: document.documentElement.clientWidth})"
    )
    assert widths["scroll"] <= widths["client"], widths


@pytest.mark.parametrize("role", ["moderator", "attendee", "speaker"])
def test_other_roles_are_told_in_words_that_the_page_is_for_technicians(
    rehearsal_server: ServerProcess, open_page: OpenPage, role: str
) -> None:
    token = rehearsal_server.token(role, "Mo")
    page = open_page(f"{rehearsal_server.url}/technician#token={token}")
    panel = page.locator("#not-technician")
    expect(panel.get_by_role("heading")).to_have_text("This page is for technicians")
    article = "an" if role == "attendee" else "a"
    expect(panel).to_contain_text(f"Yours is {article} {role}’s access link")
    expect(page.locator(".card")).to_have_count(0)
    expect(page.get_by_role("button")).to_have_count(0)
    expect(page.locator("#link-status")).to_have_text("not connected")
    if role == "moderator":
        shoot(page, "technician-console-moderator")


def test_a_room_limited_technician_sees_controls_for_its_rooms_only(
    rehearsal_server: ServerProcess, open_page: OpenPage
) -> None:
    token = rehearsal_server.token("technician", "Tia", rooms=("keynote",))
    page = open_page(f"{rehearsal_server.url}/technician#token={token}")
    expect(card(page, "keynote").get_by_role("button", name="Start now")).to_be_visible()
    expect(card(page, "welcome").locator(".badge")).to_be_visible()
    expect(card(page, "welcome").get_by_role("button")).to_have_count(0)
    rooms = page.locator("#notice-room option")
    expect(rooms).to_have_text(["Keynote Address"])  # no "Every room"
