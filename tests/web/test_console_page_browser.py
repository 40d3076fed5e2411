"""The technician page in headless Chromium against a real rehearsing server: today's audit log
beside the rooms (an override and an alert appear in it, in words, with who did them), and
nine rooms live at once on one laptop screen in the compact view, an overrun in red.

Screenshots go to /tmp/plenary-shots/ (technician-log*, technician-nine-rooms*).
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from server.auth.permissions import Role
from tests.conftest import PHONE, OpenPage
from tests.helpers import Listener
from tests.serverproc import CONFIG, ServerProcess
from tests.web.test_health_browser import quick_alerts
from tests.web.test_pages_browser import SHOTS, card, shoot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LAPTOP = {"width": 1366, "height": 768}
NINE = [f"room-{n}" for n in range(1, 10)]
TITLES = [
    "Opening plenary",
    "Keynote: Confronting demand in supply chains",
    "Panel – Forced labour and public procurement",
    "Survivors’ statements",
    "Workshop A: Online forums",
    "Workshop B: Codes of conduct",
    "Workshop C: Due diligence legislation",
    "Regional round table – South-Eastern Europe",
    "Closing remarks",
]


def nine_rooms(folder: Path) -> Path:
    """The bundled config with one day of nine ten-minute rooms, 14:00 to 15:30."""
    text = CONFIG.read_text(encoding="utf-8")
    head = text[: text.index("[[days]]")]
    items = "".join(
        f'\n[[days.items]]\nid = "{room}"\nstart = "{14 + n // 6}:{n % 6}0"\n'
        f'end = "{14 + (n + 1) // 6}:{(n + 1) % 6}0"\nkind = "panel"\ntitle = "{title}"\n'
        for n, (room, title) in enumerate(zip(NINE, TITLES, strict=True))
    )
    path = folder / "nine-rooms.toml"
    path.write_text(f'{head}[[days]]\ndate = "2021-06-14"\n{items}', "utf-8")
    return path


def start_rooms(server: ServerProcess, rooms: list[str]) -> None:
    """Start ``rooms`` now, as a technician's Socket.IO client would (in a thread of its own:
    Playwright's sync API holds this one's event loop)."""

    async def start() -> None:
        listener = await Listener(server.url, server.token(Role.TECHNICIAN, "Tess")).connect()
        try:
            for room in rooms:
                reply = await listener.call("control", {"room": room, "action": "start"})
                assert reply["ok"], reply
        finally:
            await listener.close()

    problems: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(start())
        except BaseException as error:  # handed to the test's thread
            problems.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive() and problems == []


def no_sideways_scroll(page: Page) -> None:
    assert page.viewport_size is not None
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width


def test_the_days_log_shows_an_override_and_an_alert_with_who(
    start_server: Callable[..., ServerProcess], open_page: OpenPage, tmp_path: Path
) -> None:
    server = start_server(lead_seconds=-60, config=quick_alerts(tmp_path))
    page = open_page(
        f"{server.url}/technician#token={server.token(Role.TECHNICIAN, 'Tess Technician')}",
        viewport=LAPTOP,
    )
    log = page.get_by_role("region", name="Today’s log", exact=True)
    expect(log).to_be_visible()
    entries = log.locator(".audit-entry")
    went_live = entries.filter(has_text="Found live").filter(has_text="Welcoming Remarks")
    # The rehearsal began a minute into the welcome: the server found it live as it started.
    expect(went_live).to_contain_text("Found live as the server started")
    expect(went_live).to_contain_text("by the schedule")
    expect(went_live.locator(".audit-time")).to_have_text(re.compile(r"^14:01:\d\d$"))
    expect(page.locator("#audit-log .audit-explain")).to_have_text("Newest first, Vienna time.")

    card(page, "welcome").get_by_role("button", name="Extend +10").click()
    extended = entries.filter(has_text="Extended by 10 minutes")
    expect(extended).to_have_count(1, timeout=6_000)
    expect(extended).to_contain_text("Welcoming Remarks")
    expect(extended).to_contain_text("by Tess Technician")

    # Nobody publishes: the welcome's "no picture" alert goes up, and into the log.
    expect(page.locator("#alerts .alert")).to_have_count(1, timeout=10_000)
    raised = entries.filter(has_text="Alert: No picture on stage in Welcoming Remarks")
    expect(raised).to_have_count(1, timeout=6_000)
    expect(raised).to_contain_text("by the alerts")
    assert "u_" not in log.inner_text()  # never a token's subject
    times = entries.locator(".audit-time").all_inner_texts()
    assert times == sorted(times, reverse=True) and len(times) >= 3  # newest first

    # The log scrolls inside its panel, by keyboard too.
    scroller = log.get_by_role("region", name="Today’s log entries, newest first")
    scroller.focus()
    expect(scroller).to_be_focused()
    assert scroller.evaluate("node => getComputedStyle(node).overflowY") == "auto"
    shoot(page, "technician-log")


def test_nine_live_rooms_on_one_laptop_screen_one_line_each_with_an_overrun_in_red(
    start_server: Callable[..., ServerProcess], open_page: OpenPage, tmp_path: Path
) -> None:
    # Half a minute before the opening's end; the eight others are started at once, so nine
    # are live.
    server = start_server(lead_seconds=-(10 * 60 - 30), config=nine_rooms(tmp_path))
    start_rooms(server, NINE[1:])
    url = f"{server.url}/technician#token={server.token(Role.TECHNICIAN, 'Tess')}"
    page = open_page("about:blank", viewport=LAPTOP)
    page.clock.install()  # time runs as usual until the test jumps it
    page.goto(url)
    expect(page.locator("#rooms .card")).to_have_count(9)
    page.get_by_role("button", name="One line each").click()
    lines = page.locator("#rooms .room-row")
    expect(lines).to_have_count(9)
    expect(lines.locator(".line-badge")).to_have_text(["Live now"] * 9)
    expect(card(page, "room-2").get_by_role("button", name="Extend +5")).to_be_hidden()

    page.reload()  # the choice is remembered
    expect(page.get_by_role("button", name="One line each")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(lines).to_have_count(9)
    opening = card(page, "room-1").locator(".room-row")
    expect(opening.locator(".line-figures")).to_contain_text("nobody publishing")

    # The opening runs over its end, as the page sees it when the schedule is late: the page's
    # clock jumps 2 s past the end, at most 18 s (less than Socket.IO's ping timeout, so the
    # link stays up).
    countdown = opening.locator(".line-countdown")
    expect(countdown).to_have_text(re.compile(r"^ends in 0:(0[3-9]|1[0-6])$"), timeout=30_000)
    left = int(countdown.inner_text().rsplit(":", 1)[1])
    page.clock.fast_forward((left + 2) * 1000)
    expect(countdown).to_have_text("over by 1 min")
    assert countdown.evaluate("node => getComputedStyle(node).color") == "rgb(163, 33, 26)"

    page.locator("#rooms").evaluate("node => node.scrollIntoView()")
    boxes = [lines.nth(n).bounding_box() for n in range(9)]
    assert all(
        box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 768 for box in boxes
    ), boxes
    no_sideways_scroll(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "technician-nine-rooms-laptop.png"))

    # The full card says it too, in red.
    page.get_by_role("button", name="Cards").click()
    opening_card = card(page, "room-1")
    expect(opening_card).to_have_attribute("data-overrun", "true")
    expect(opening_card.locator(".countdown")).to_have_text(re.compile(r"^running 0:\d\d over$"))
    color = opening_card.locator(".countdown").evaluate("node => getComputedStyle(node).color")
    assert color == "rgb(163, 33, 26)"
    expect(card(page, "room-2")).to_have_attribute("data-overrun", "false")

    # A line opens its full card, controls and all.
    page.get_by_role("button", name="One line each").click()
    panel = card(page, "room-2")
    panel.locator(".room-row-button").click()
    expect(panel.locator(".room-row-button")).to_have_attribute("aria-expanded", "true")
    expect(panel.get_by_role("button", name="Extend +5")).to_be_visible()

    phone = open_page(url, viewport=PHONE)
    phone.get_by_role("button", name="One line each").click()
    expect(phone.locator("#rooms .room-row")).to_have_count(9)
    no_sideways_scroll(phone)
    shoot(phone, "technician-nine-rooms-phone")
