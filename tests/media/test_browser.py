"""Chromium publishes with its fake camera and microphone; another Chromium watches. What the
watcher's getStats() reports is what a person would see and hear: frames decoded, audio."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Response, expect

from server.auth.permissions import Role
from tests.conftest import OpenPage
from tests.metrics import scrape_now
from tests.serverproc import CONFIG, ServerProcess, utc_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Runs in the page: a WHIP or WHEP client in a dozen lines, as any browser client would be.
SIGNAL = """
async ([endpoint, room, token, publish]) => {
  const pc = new RTCPeerConnection();
  if (publish) {
    const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
    for (const track of stream.getTracks()) pc.addTransceiver(track, {direction: "sendonly"});
  } else {
    pc.addTransceiver("audio", {direction: "recvonly"});
    pc.addTransceiver("video", {direction: "recvonly"});
    const video = document.createElement("video");
    video.muted = true; video.autoplay = true; video.playsInline = true;
    document.body.append(video);
    pc.ontrack = (event) => {
      video.srcObject = event.streams[0] || new MediaStream([event.track]);
    };
  }
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve();
    setTimeout(resolve, 2000);
  });
  const response = await fetch(`/${endpoint}/${room}`, {
    method: "POST", body: pc.localDescription.sdp,
    headers: {"Content-Type": "application/sdp", "Authorization": `Bearer ${token}`},
  });
  if (response.status !== 201) return {status: response.status, body: await response.text()};
  await pc.setRemoteDescription({type: "answer", sdp: await response.text()});
  window.plenaryPeer = pc;
  return {status: 201, location: response.headers.get("Location")};
}
"""

INBOUND = """
async () => {
  const stats = await window.plenaryPeer.getStats();
  const found = {framesDecoded: 0, audioPackets: 0, width: 0,
                 state: window.plenaryPeer.connectionState};
  stats.forEach((report) => {
    if (report.type !== "inbound-rtp") return;
    if (report.kind === "video") {
      found.framesDecoded = report.framesDecoded || 0;
      found.width = report.frameWidth || 0;
    }
    if (report.kind === "audio") found.audioPackets = report.packetsReceived || 0;
  });
  return found;
}
"""


def signal(page: Page, endpoint: str, room: str, token: str) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(SIGNAL, [endpoint, room, token, endpoint == "whip"])
    assert result["status"] == 201, result
    return result


def wait_for_stats(
    page: Page, predicate: Callable[[dict[str, Any]], bool], within_ms: int = 20_000
) -> dict[str, Any]:
    stats: dict[str, Any] = {}
    for _ in range(within_ms // 250):
        stats = page.evaluate(INBOUND)
        if predicate(stats):
            return stats
        page.wait_for_timeout(250)
    raise AssertionError(f"the watcher's stats never got there: {stats}")


def test_chromium_publishes_and_chromium_watches(
    start_server: Callable[..., ServerProcess], open_page: OpenPage
) -> None:
    server = start_server(rehearse=utc_in(-300))  # five minutes into the welcoming remarks
    speaker = open_page(f"{server.url}/")
    signal(speaker, "whip", "welcome", server.token(Role.TECHNICIAN, "Hall encoder"))
    watcher = open_page(f"{server.url}/")
    signal(watcher, "whep", "welcome", server.token(Role.ATTENDEE, "Watcher"))
    stats = wait_for_stats(watcher, lambda s: s["framesDecoded"] > 30 and s["audioPackets"] > 50)
    assert stats["width"] > 0
    assert stats["state"] == "connected"


def test_an_audio_only_statement_reaches_chromium_as_sound_only(
    start_server: Callable[..., ServerProcess], open_page: OpenPage
) -> None:
    # A minute into Tuesday's survivor statement, which is audio only.
    server = start_server(rehearse=utc_in(-(24 * 3600 + 60)))
    speaker = open_page(f"{server.url}/")
    signal(speaker, "whip", "statement-day-2", server.token(Role.SPEAKER, "Survivor"))
    watcher = open_page(f"{server.url}/")
    signal(watcher, "whep", "statement-day-2", server.token(Role.ATTENDEE, "Watcher"))
    stats = wait_for_stats(watcher, lambda s: s["audioPackets"] > 50)
    assert stats["framesDecoded"] == 0


def is_ice_servers(response: Response) -> bool:
    return response.url.endswith("/api/media/ice-servers")


def test_the_watch_and_speak_pages_ask_for_ice_servers_with_their_token(
    start_server: Callable[..., ServerProcess], browser: Browser, open_page: OpenPage
) -> None:
    server = start_server(rehearse=utc_in(-300))  # the welcoming remarks are live
    watcher = server.token(Role.ATTENDEE, "Watcher")
    context = browser.new_context()
    try:
        page = context.new_page()
        with page.expect_response(is_ice_servers, timeout=20_000) as watching:
            page.goto(f"{server.url}/watch/welcome#token={watcher}")
    finally:
        context.close()
    speaker = server.token(Role.SPEAKER, "Speaker")
    studio = open_page(f"{server.url}/speak/welcome#token={speaker}")
    studio.click("#devices-on")
    with studio.expect_response(is_ice_servers, timeout=20_000) as speaking:
        studio.click("#go-live")
    # Going on air again asks again: TURN credentials are minted per request and expire.
    studio.click("#stop")
    with studio.expect_response(is_ice_servers, timeout=20_000) as again:
        studio.click("#go-live")
    for response, token in (
        (watching.value, watcher),
        (speaking.value, speaker),
        (again.value, speaker),
    ):
        assert response.request.headers["authorization"] == f"Bearer {token}"
        assert response.status == 200


def seats_taken(server: ServerProcess, room: str) -> int:
    """Viewers of ``room`` connected or connecting, from /metrics."""
    metrics = scrape_now(server.url)
    return int(
        metrics.value("plenary_room_viewers", room=room)
        + metrics.value("plenary_room_viewers_connecting", room=room)
    )


def config_with(folder: Path, key: str, value: int) -> Path:
    """The bundled config with ``[media] key`` set to ``value``."""
    text = re.sub(rf"^{key} = \d+$", f"{key} = {value}", CONFIG.read_text("utf-8"), flags=re.M)
    path = folder / f"{key}-{value}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_watch_page_says_in_words_that_the_room_is_full_and_keeps_trying(
    start_server: Callable[..., ServerProcess], open_page: OpenPage, tmp_path: Path
) -> None:
    one_seat = config_with(tmp_path, "max_viewers_per_room", 1)
    server = start_server(rehearse=utc_in(-300), config=one_seat)  # the welcome is live
    first = open_page(f"{server.url}/watch/welcome#token={server.token(Role.ATTENDEE, 'Ana')}")
    expect(first.locator("#media-status")).to_have_text(
        "Connected — waiting for the speaker", timeout=20_000
    )
    second = open_page(f"{server.url}/")
    second.clock.install()  # so the test need not sit through the server's Retry-After
    second.goto(f"{server.url}/watch/welcome#token={server.token(Role.ATTENDEE, 'Ben')}")
    expect(second.locator("#waiting-big")).to_have_text("The room is full", timeout=20_000)
    expect(second.locator("#media-status")).to_have_text(
        "The room is full — this page keeps trying"
    )
    small = second.locator("#waiting-small")
    expect(small).to_contain_text("A place frees up as soon as someone leaves.")
    expect(small).to_contain_text(
        re.compile(r"tries again by itself in 1[45] s; there is no need to reload")
    )
    second.clock.fast_forward(5_000)
    expect(small).to_contain_text(re.compile(r"tries again by itself in (9|10) s"))
    first.goto("about:blank")  # Ana leaves: her page ends its session as it goes
    deadline = time.monotonic() + 10
    while seats_taken(server, "welcome") and time.monotonic() < deadline:
        second.wait_for_timeout(100)
    assert seats_taken(server, "welcome") == 0
    second.clock.fast_forward(10_000)
    expect(second.locator("#media-status")).to_have_text(
        "Connected — waiting for the speaker", timeout=20_000
    )


def test_the_watch_page_tells_a_network_held_back_by_the_address_limit_apart(
    start_server: Callable[..., ServerProcess], open_page: OpenPage, tmp_path: Path
) -> None:
    one_offer = config_with(tmp_path, "offers_per_address_per_minute", 1)
    server = start_server(rehearse=utc_in(-300), config=one_offer)
    first = open_page(f"{server.url}/watch/welcome#token={server.token(Role.ATTENDEE, 'Ana')}")
    expect(first.locator("#media-status")).to_have_text(
        "Connected — waiting for the speaker", timeout=20_000
    )
    second = open_page(f"{server.url}/watch/welcome#token={server.token(Role.ATTENDEE, 'Ben')}")
    heading = "Many people are joining from your network"
    expect(second.locator("#waiting-big")).to_have_text(heading, timeout=20_000)
    expect(second.locator("#waiting-small")).to_contain_text(
        re.compile(r"steady pace\. This page tries again by itself in (59|60) s")
    )
