"""The pages in headless Chromium never take the server's goodbye as final: through a restart
of a real server (SIGTERM, then a start on the same port and data folder) each says it is
reconnecting and comes back by itself, and a revoked link is told so rather than left hanging."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from scheduler.clock import wall_now
from server.auth.keys import KeyRing
from server.auth.tokens import TokenService
from tests.conftest import OpenPage
from tests.serverproc import PLENARY, ServerProcess, utc_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The first retries come within a few seconds; the server starts in about one.
BACK_MS = 20_000
# The server checks for revoked tokens about once a second; the page asks again within three.
REFUSED_MS = 10_000


def test_every_page_reconnects_after_a_restart_and_shows_what_changes(
    start_server: Callable[..., ServerProcess], open_page: OpenPage
) -> None:
    rehearse = utc_in(10 * 60)  # the welcome's lobby is open; the keynote opens later
    server = start_server(rehearse=rehearse)
    token = server.token("technician", "Tess")
    agenda = open_page(server.url)
    watch = open_page(f"{server.url}/watch/keynote")
    speak = open_page(f"{server.url}/speak/keynote#token={token}")
    technician = open_page(f"{server.url}/technician#token={token}")
    pages = [agenda, watch, speak, technician]
    for page in pages:
        expect(page.locator("#link-status")).to_have_text("live updates")

    began = time.monotonic()
    server.stop()
    stopped = time.monotonic() - began
    for page in pages:
        expect(page.locator("#link-status")).to_have_text("reconnecting…")
    start_server(rehearse=rehearse, port=server.port)
    up = time.monotonic() - began
    for page in pages:
        expect(page.locator("#link-status")).to_have_text("live updates", timeout=BACK_MS)
    back = time.monotonic() - began
    print(
        f"\n{len(pages)} pages: stopped in {stopped:.2f} s, up at {up:.2f} s, back at {back:.2f} s"
    )

    keynote = technician.locator("#room-keynote")
    keynote.get_by_role("button", name="Start now").click()
    technician.get_by_role("dialog").get_by_role("button", name="Start now").click()  # asked first
    expect(keynote.locator(".badge")).to_have_text("Live now")
    expect(agenda.locator("#item-keynote .room-state .badge")).to_have_text("Live now")
    expect(watch.locator("#room-badge")).to_have_text("Live now")
    expect(speak.locator("#room-badge")).to_have_text("Live now")


def test_a_page_whose_token_is_revoked_asks_again_and_is_told(
    rehearsal_server: ServerProcess, open_page: OpenPage
) -> None:
    server = rehearsal_server
    token = server.token("technician", "Tess")
    page = open_page(f"{server.url}/technician#token={token}")
    expect(page.locator("#link-status")).to_have_text("live updates")

    jti = TokenService(KeyRing.open(server.data_dir), "plenary", wall_now).verify(token).jti
    revoke = [str(PLENARY), "token", "revoke", jti, "--data", str(server.data_dir)]
    subprocess.run([*revoke, "--config", str(server.config)], check=True, timeout=60)

    expect(page.get_by_text("Your access link is not valid or has expired")).to_be_visible(
        timeout=REFUSED_MS
    )
    expect(page.locator("#link-problem")).to_be_hidden()


def test_retries_wait_longer_each_time_up_to_a_ceiling_with_jitter(
    rehearsal_server: ServerProcess, open_page: OpenPage
) -> None:
    page = open_page(rehearsal_server.url)
    delays = page.evaluate(
        """import('/app/live.js').then(({ retryDelayMs }) => [0, 1, 2, 3, 4, 20].map(
             (attempt) => [retryDelayMs(attempt, () => 0), retryDelayMs(attempt, () => 1)]))"""
    )
    assert delays == [
        [500, 1500],
        [1000, 3000],
        [2000, 6000],
        [4000, 12000],
        [5000, 15000],
        [5000, 15000],
    ]
