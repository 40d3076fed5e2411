"""Stream health on the technician page in headless Chromium: a remote panelist (Chromium's
fake camera and microphone on /speak) brought on stage shows its bitrate, frame rate and
sound level under its name, the room's alert clears, and when the panelist's feed stops the
"no picture" alert comes back at the top of the page. The multiview decodes the room's picture
once asked for.

Screenshots go to /tmp/plenary-shots/ (technician-health*).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

from server.auth.permissions import Role
from tests.conftest import OpenPage
from tests.media.test_stage_browser import BACKSTAGE, MEDIA_MS, ON_STAGE, source_row
from tests.serverproc import CONFIG, ServerProcess, utc_in
from tests.web.test_pages_browser import shoot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LAPTOP = {"width": 1366, "height": 768}
NO_PICTURE = "No picture on stage in Welcoming Remarks"


def quick_alerts(folder: Path) -> Path:
    """The bundled config with alerts that raise after a second and clear after one."""
    path = folder / "quick-alerts.toml"
    text = CONFIG.read_text(encoding="utf-8")
    path.write_text(text + "\n[alerts]\nno_video_seconds = 1\nclear_seconds = 1\n", "utf-8")
    return path


def test_a_panelists_health_then_the_alert_when_the_feed_stops(
    start_server: Callable[..., ServerProcess], open_page: OpenPage, tmp_path: Path
) -> None:
    # Five minutes into the welcome, and nobody publishing: the room has no picture.
    server = start_server(rehearse=utc_in(-300), config=quick_alerts(tmp_path))
    technician = open_page(
        f"{server.url}/technician#token={server.token(Role.TECHNICIAN, 'Tess')}", viewport=LAPTOP
    )
    alerts = technician.locator("#alerts .alert")
    expect(alerts).to_have_text([re.compile(f"Critical\\s*{NO_PICTURE}")], timeout=10_000)

    speaker = open_page(f"{server.url}/speak/welcome#token={server.token(Role.SPEAKER, 'Ana')}")
    speaker.click("#go-live")
    expect(speaker.locator("#air-status")).to_have_text(BACKSTAGE, timeout=MEDIA_MS)
    ana = source_row(technician, "welcome", "Ana")
    health = ana.locator(".source-health")
    expect(health.locator(".health-row").first).to_contain_text(
        re.compile(r"Picture\s*[\d,]+ kbps · \d+ fps · \d+\.\d% lost"), timeout=MEDIA_MS
    )
    expect(health.locator(".health-grade")).to_have_text(re.compile("Excellent|Good"))
    expect(technician.locator("#room-welcome .card-facts")).to_contain_text("Viewers receive")

    ana.get_by_role("button", name="Bring on stage").click()
    expect(speaker.locator("#air-status")).to_have_text(ON_STAGE, timeout=MEDIA_MS)
    expect(alerts).to_have_count(0, timeout=10_000)  # a picture on stage: cleared
    expect(technician.locator("#alerts .alerts-empty")).to_have_text("No alerts.")
    kbps = ana.locator(".health-row").first.locator(".health-figures")
    rates = [int(re.sub(r"\D", "", kbps.inner_text().split(" kbps")[0]))]
    assert rates[0] > 30  # Chromium's fake camera: some hundreds of kbps
    chart = ana.locator(".health-chart-line")
    expect(chart).to_have_attribute("d", re.compile(r"^M[\d.]+,[\d.]+ L"))
    # The multiview: the welcome's picture, decoded, once asked for.
    technician.get_by_role("button", name="Show the pictures").click()
    thumb = technician.locator('#multiview .thumb[data-room="welcome"] video')
    technician.wait_for_function(
        "video => video.getVideoPlaybackQuality().totalVideoFrames > 10",
        arg=thumb.element_handle(timeout=MEDIA_MS),
        timeout=MEDIA_MS,
    )
    shoot(technician, "technician-health")

    speaker.close()  # the panelist's feed stops
    expect(alerts).to_have_text([re.compile(f"Critical\\s*{NO_PICTURE}")], timeout=15_000)
    expect(source_row(technician, "welcome", "Ana")).to_have_count(0)
    shoot(technician, "technician-health-alert")
