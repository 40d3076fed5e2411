"""The hybrid stage in headless Chromium, through the pages people use: a remote panelist on
/speak (Chromium's fake camera and microphone) waits backstage until a technician brings them on
stage from /technician; beside the hall's feed (the demo hall feed) they then reach /watch as a
tile of their own, seen and heard, reach /hall without the hall, and see the hall in their
return. What each page decodes and hears is read from its own peer connection's getStats() and
its <video> elements, as a person would see and hear it.

Screenshots go to /tmp/stage-*.png."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from server.auth.permissions import Role
from tests.conftest import CHROMIUM_ARGS, DESKTOP, PHONE, OpenPage
from tests.serverproc import CONFIG, ServerProcess, utc_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HALL_NAME = "Demo hall feed"
SHOTS = Path("/tmp")
# Connecting, a first keyframe and a stage change each take a few seconds on a busy machine.
MEDIA_MS = 30_000
BACKSTAGE = "Backstage — a technician or moderator will bring you on stage"
ON_STAGE = "On stage — you are live"

# Before any page script: every peer connection the page makes, so the test can ask its stats.
KEEP_PEERS = """
window.plenaryPeers = [];
const PageConnection = window.RTCPeerConnection;
window.RTCPeerConnection = class extends PageConnection {
  constructor(...args) {
    super(...args);
    window.plenaryPeers.push(this);
  }
};
"""

# Said in the console when the browser refuses to start sound without a click.
REFUSED = "plenary test: sound refused"
SAY_REFUSED = f"""
const pagePlay = HTMLMediaElement.prototype.play;
HTMLMediaElement.prototype.play = function () {{
  const started = pagePlay.call(this);
  started.catch((error) => {{
    if (error.name === 'NotAllowedError') console.log('{REFUSED}');
  }});
  return started;
}};
"""

# The tiles a stage view shows, with what each <video> has decoded so far.
TILES = """
(root) => [...document.querySelectorAll(`${root} .tile:not([hidden])`)].map((tile) => {
  const video = tile.querySelector('video');
  const box = tile.getBoundingClientRect();
  return {
    name: tile.querySelector('.tile-name').textContent,
    feature: tile.classList.contains('tile-feature'),
    speaking: tile.dataset.speaking === 'true',
    frames: video.getVideoPlaybackQuality().totalVideoFrames,
    width: video.videoWidth,
    box: {x: box.x, y: box.y, width: box.width, height: box.height},
  };
})
"""

# What the page's receiving connections get: per inbound audio stream, its packets and the
# energy of what was played out; per inbound video stream, its frames decoded.
INBOUND = """
async () => {
  const found = {audio: [], video: [], transceivers: []};
  for (const pc of window.plenaryPeers) {
    if (pc.connectionState === 'closed') continue;
    const receives = pc.getTransceivers().some((t) => t.direction === 'recvonly');
    if (!receives) continue;
    found.transceivers.push(pc.getTransceivers().map((t) => t.receiver.track.kind));
    (await pc.getStats()).forEach((report) => {
      if (report.type !== 'inbound-rtp') return;
      if (report.kind === 'audio') {
        found.audio.push({packets: report.packetsReceived || 0,
                          energy: report.totalAudioEnergy || 0, level: report.audioLevel || 0});
      } else {
        found.video.push({frames: report.framesDecoded || 0});
      }
    });
  }
  return found;
}
"""

# Every <audio> the page plays the stage's sound with.
SOUNDS = """
() => [...document.querySelectorAll('audio.stage-audio')].map((audio) => ({
  paused: audio.paused, muted: audio.muted, volume: audio.volume,
}))
"""


def shoot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"stage-{name}.png"), full_page=True)


def tiles(page: Page, root: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate(TILES, root)
    return found


def inbound(page: Page) -> dict[str, Any]:
    found: dict[str, Any] = page.evaluate(INBOUND)
    return found


def wait_until(
    page: Page, measure: Callable[[], Any], done: Callable[[Any], bool], within_ms: int = MEDIA_MS
) -> Any:
    """``measure()`` every 250 ms until ``done`` says yes; fails with the last measure."""
    last = None
    for _ in range(within_ms // 250):
        last = measure()
        if done(last):
            return last
        page.wait_for_timeout(250)
    raise AssertionError(f"never got there: {last}")


def names_with_frames(found: list[dict[str, Any]], at_least: int) -> list[str]:
    return sorted(tile["name"] for tile in found if tile["frames"] >= at_least)


def heard(found: dict[str, Any]) -> int:
    """How many audio streams arrive and play out with sound in them."""
    return sum(1 for audio in found["audio"] if audio["packets"] > 0 and audio["energy"] > 0)


def source_row(technician: Page, room: str, name: str) -> Locator:
    return technician.locator(f"#room-{room} .source").filter(
        has=technician.locator(".source-name", has_text=re.compile(f"^{re.escape(name)}$"))
    )


def open_with_peers(open_page: OpenPage, url: str, **options: Any) -> Page:
    """A page whose peer connections the test can ask for their stats."""
    page = open_page("about:blank", **options)
    page.add_init_script(KEEP_PEERS)
    page.goto(url)
    return page


def sound_starts(page: Page, button: str) -> None:
    """The page plays the stage's sound: at once if the browser lets it, or after a click on
    ``button`` where the page asks for one (Chromium decides by its autoplay policy)."""
    asks = page.locator(button)
    wait_until(
        page,
        lambda: (asks.is_visible(), page.evaluate(SOUNDS)),
        lambda found: found[0] or (found[1] != [] and all(not a["muted"] for a in found[1])),
    )
    if asks.is_visible():
        # The sound may start by itself meanwhile, and the page take the button away.
        with contextlib.suppress(PlaywrightTimeoutError):
            asks.click(timeout=5_000)
        expect(asks).to_be_hidden()


@pytest.fixture
def live_with_hall(start_server: Callable[..., ServerProcess]) -> ServerProcess:
    """Five minutes into the welcome, with the demo hall feed on its stage."""
    return start_server(rehearse=utc_in(-300), extra_args=("--demo-feed",))


def test_a_remote_panelist_joins_the_hall_on_stage_and_every_page_follows(
    live_with_hall: ServerProcess, open_page: OpenPage
) -> None:
    server = live_with_hall
    technician_token = server.token(Role.TECHNICIAN, "Tess")
    speaker = open_with_peers(
        open_page, f"{server.url}/speak/welcome#token={server.token(Role.SPEAKER, 'Ana')}"
    )
    speaker.click("#go-live")
    expect(speaker.locator("#air-status")).to_have_text(BACKSTAGE, timeout=MEDIA_MS)

    technician = open_page(f"{server.url}/technician#token={technician_token}")
    ana = source_row(technician, "welcome", "Ana")
    hall = source_row(technician, "welcome", HALL_NAME)
    expect(ana.locator(".source-place")).to_have_text("Backstage")
    expect(ana.locator(".source-facts")).to_have_text("Remote speaker · sound and picture")
    expect(hall.locator(".source-place")).to_have_text("On stage")
    expect(hall.locator(".source-facts")).to_have_text("Hall · sound and picture")
    expect(technician.locator("#room-welcome .hall-link")).to_have_attribute(
        "href", f"/hall/welcome#token={technician_token}"
    )

    watcher = open_with_peers(
        open_page, f"{server.url}/watch/welcome#token={server.token(Role.ATTENDEE, 'Wim')}"
    )
    sound_starts(watcher, "#player .sound-on")
    # Backstage is nobody's to see: the watcher has the hall alone, large. Its picture keeps
    # coming while Chromium moves to another ICE pair after connecting (it froze for 15 s when
    # the relay did not follow the move).
    hall_only = wait_until(
        watcher,
        lambda: tiles(watcher, "#player"),
        lambda found: names_with_frames(found, 60) == [HALL_NAME],
        within_ms=10_000,
    )
    assert len(hall_only) == 1

    ana.get_by_role("button", name="Bring on stage").click()
    expect(technician.locator("#room-welcome .card-done")).to_have_text("Ana is on stage.")
    expect(ana.locator(".source-place")).to_have_text("On stage")
    expect(ana.get_by_role("button", name="Send backstage")).to_be_visible()
    expect(speaker.locator("#air-status")).to_have_text(ON_STAGE, timeout=MEDIA_MS)

    # The watcher decodes both pictures, each in its own tile, the hall's large.
    both = wait_until(
        watcher,
        lambda: tiles(watcher, "#player"),
        lambda found: names_with_frames(found, 30) == ["Ana", HALL_NAME],
    )
    assert [tile["name"] for tile in both if tile["feature"]] == [HALL_NAME]
    later = wait_until(
        watcher,
        lambda: tiles(watcher, "#player"),
        lambda found: all(
            tile["frames"] >= before["frames"] + 20
            for tile, before in zip(found, both, strict=True)
        ),
    )
    assert all(tile["width"] > 0 for tile in later)
    # ... and hears both: two audio streams played out with sound in them, unmuted.
    sound = wait_until(watcher, lambda: inbound(watcher), lambda found: heard(found) >= 2)
    assert heard(sound) == 2, sound
    print(
        "\nwatcher: frames decoded per tile",
        {tile["name"]: tile["frames"] for tile in later},
        "audio energy per stream",
        [round(audio["energy"], 4) for audio in sound["audio"] if audio["packets"]],
    )
    assert sound["transceivers"] == [["audio"] * 6 + ["video"] * 4]
    playing = watcher.evaluate(SOUNDS)
    assert len(playing) == 6 and all(not a["paused"] and not a["muted"] for a in playing)
    shoot(watcher, "watch-desktop")

    # The panelist sees and hears the hall in their return, never themselves.
    return_tiles = wait_until(
        speaker,
        lambda: tiles(speaker, "#return-player"),
        lambda found: names_with_frames(found, 20) == [HALL_NAME],
    )
    assert len(return_tiles) == 1
    shoot(speaker, "speak-on-stage")

    # The hall sees and hears the panelist, never itself.
    hall_page = open_with_peers(open_page, f"{server.url}/hall/welcome#token={technician_token}")
    sound_starts(hall_page, "#start-sound")
    remote = wait_until(
        hall_page,
        lambda: tiles(hall_page, "#hall-stage"),
        lambda found: names_with_frames(found, 20) == ["Ana"],
    )
    assert len(remote) == 1
    hall_sound = wait_until(hall_page, lambda: inbound(hall_page), lambda found: heard(found) >= 1)
    assert sum(1 for audio in hall_sound["audio"] if audio["packets"] > 0) == 1, hall_sound
    shoot(hall_page, "hall")
    shoot(technician, "technician")

    # Sent backstage: the tile goes from the watcher and the hall, and the panelist is told.
    ana.get_by_role("button", name="Send backstage").click()
    expect(technician.locator("#room-welcome .card-done")).to_have_text("Ana is backstage.")
    expect(speaker.locator("#air-status")).to_have_text(BACKSTAGE, timeout=MEDIA_MS)
    expect(watcher.locator("#player .tile:not([hidden]) .tile-name")).to_have_text([HALL_NAME])
    expect(hall_page.locator("#hall-stage .stage-empty-big")).to_have_text(
        "No remote panelists on stage"
    )
    shoot(hall_page, "hall-nobody")


def fits_the_width(page: Page) -> None:
    widths = page.evaluate(
        "({scroll: document.documentElement.scrollWidth,"
        " client: document.documentElement.clientWidth})"
    )
    assert widths["scroll"] <= widths["client"], widths


def test_tiles_stack_on_a_phone_sit_beside_the_hall_on_a_desktop_and_go_for_sound_only(
    live_with_hall: ServerProcess, open_page: OpenPage
) -> None:
    server = live_with_hall
    speaker = open_page(
        f"{server.url}/speak/welcome#token={server.token(Role.SPEAKER, 'Ana')}", viewport=PHONE
    )
    speaker.click("#go-live")
    expect(speaker.locator("#air-status")).to_have_text(BACKSTAGE, timeout=MEDIA_MS)
    technician = open_page(
        f"{server.url}/technician#token={server.token(Role.TECHNICIAN, 'T')}", viewport=PHONE
    )
    source_row(technician, "welcome", "Ana").get_by_role("button", name="Bring on stage").click()
    expect(speaker.locator("#air-status")).to_have_text(ON_STAGE, timeout=MEDIA_MS)
    for page, name in ((speaker, "speak-phone"), (technician, "technician-phone")):
        fits_the_width(page)
        shoot(page, name)

    phone = open_page(
        f"{server.url}/watch/welcome#token={server.token(Role.ATTENDEE, 'Pia')}", viewport=PHONE
    )
    found = wait_until(
        phone,
        lambda: tiles(phone, "#player"),
        lambda found: names_with_frames(found, 10) == ["Ana", HALL_NAME],
    )
    hall, ana = sorted(found, key=lambda tile: tile["box"]["y"])
    assert hall["name"] == HALL_NAME, found
    assert ana["box"]["y"] >= hall["box"]["y"] + hall["box"]["height"]
    assert abs(ana["box"]["x"] - hall["box"]["x"]) < 1
    assert abs(ana["box"]["width"] - hall["box"]["width"]) < 1
    fits_the_width(phone)
    shoot(phone, "watch-phone")
    desktop = open_with_peers(
        open_page,
        f"{server.url}/watch/welcome#token={server.token(Role.ATTENDEE, 'Dan')}",
        viewport=DESKTOP,
    )
    side = wait_until(
        desktop,
        lambda: tiles(desktop, "#player"),
        lambda found: names_with_frames(found, 10) == ["Ana", HALL_NAME],
    )
    large, small = sorted(side, key=lambda tile: -tile["box"]["width"])
    assert large["name"] == HALL_NAME and small["box"]["x"] > large["box"]["x"] + 100

    # "Audio only": a new session with the audio slots alone, and who is on stage in words.
    desktop.get_by_label("Audio only (saves data)").check()
    expect(desktop.locator("#player .stage-heard")).to_have_text(
        f"On stage: {HALL_NAME}, Ana", timeout=MEDIA_MS
    )
    expect(desktop.locator("#player .player")).to_have_attribute("data-mode", "audio")
    found = wait_until(
        desktop, lambda: inbound(desktop), lambda found: found["transceivers"] == [["audio"] * 6]
    )
    assert found["video"] == []


def test_an_audio_only_item_offers_no_video_and_names_who_is_on_stage(
    start_server: Callable[..., ServerProcess], open_page: OpenPage
) -> None:
    # A minute into Tuesday's survivor statement, which is audio only.
    server = start_server(rehearse=utc_in(-(24 * 3600 + 60)), extra_args=("--demo-feed",))
    watcher = open_with_peers(
        open_page,
        f"{server.url}/watch/statement-day-2#token={server.token(Role.ATTENDEE, 'Wim')}",
    )
    expect(watcher.locator("#player .stage-heard")).to_contain_text(
        f"On stage: {HALL_NAME}", timeout=MEDIA_MS
    )
    found = wait_until(watcher, lambda: inbound(watcher), lambda found: len(found["audio"]) > 0)
    assert found["transceivers"] == [["audio"] * 6]
    assert found["video"] == []
    expect(watcher.locator("#player .player")).to_have_attribute("data-mode", "audio")
    expect(watcher.locator("#player-audio-only")).to_be_hidden()


def test_a_refusal_to_bring_someone_on_stage_is_shown_in_words(
    start_server: Callable[..., ServerProcess], open_page: OpenPage, tmp_path: Path
) -> None:
    one_place = tmp_path / "one-place.toml"
    text = CONFIG.read_text("utf-8")
    text, made = re.subn(r"^max_stage_sources = \d+$", "max_stage_sources = 1", text, flags=re.M)
    if made == 0:
        text = text.replace("[media]\n", "[media]\nmax_stage_sources = 1\n", 1)
    one_place.write_text(text, encoding="utf-8")
    server = start_server(rehearse=utc_in(-300), config=one_place, extra_args=("--demo-feed",))
    speaker = open_page(f"{server.url}/speak/welcome#token={server.token(Role.SPEAKER, 'Ana')}")
    speaker.click("#go-live")
    expect(speaker.locator("#air-status")).to_have_text(BACKSTAGE, timeout=MEDIA_MS)
    technician = open_page(f"{server.url}/technician#token={server.token(Role.TECHNICIAN, 'T')}")
    ana = source_row(technician, "welcome", "Ana")

    ana.get_by_role("button", name="Bring on stage").click()

    expect(technician.locator("#room-welcome .card-error")).to_have_text(
        "the stage is full: 1 on it at most; send someone backstage first"
    )
    expect(ana.locator(".source-place")).to_have_text("Backstage")
    expect(speaker.locator("#air-status")).to_have_text(BACKSTAGE)
    shoot(technician, "technician-refused")


def test_when_the_browser_blocks_sound_one_click_starts_every_voice(
    live_with_hall: ServerProcess, browser: Browser, chromium_path: Path
) -> None:
    server = live_with_hall
    strict = browser.browser_type.launch(
        executable_path=str(chromium_path),
        args=[*CHROMIUM_ARGS, "--autoplay-policy=user-gesture-required"],
    )
    try:
        context = strict.new_context(viewport=DESKTOP)
        context.add_init_script(KEEP_PEERS + SAY_REFUSED)
        pages = {
            "watch": (
                f"/watch/welcome#token={server.token(Role.ATTENDEE, 'Wim')}",
                "#player .sound-on",
            ),
            "hall": (
                f"/hall/welcome#token={server.token(Role.TECHNICIAN, 'Tess')}",
                "#start-sound",
            ),
        }
        opened: dict[str, Page] = {}
        for name, (path, button) in pages.items():
            page = opened[name] = context.new_page()
            # Nothing may run in the page before the refusal: Playwright's evaluations count as
            # a click to Chromium's autoplay policy.
            with page.expect_console_message(lambda m: m.text == REFUSED, timeout=MEDIA_MS):
                page.goto(f"{server.url}{path}")
            expect(page.locator(button)).to_be_visible()
            muted = page.evaluate(SOUNDS)
            assert muted != [] and all(audio["muted"] for audio in muted), muted
        watcher, hall = opened["watch"], opened["hall"]
        # The picture plays meanwhile, muted.
        wait_until(
            watcher,
            lambda: tiles(watcher, "#player"),
            lambda found: names_with_frames(found, 10) == [HALL_NAME],
        )
        shoot(watcher, "watch-sound-blocked")
        shoot(hall, "hall-sound-blocked")

        watcher.locator("#player .sound-on").click()
        expect(watcher.locator("#player .sound-on")).to_be_hidden()
        expect(watcher.locator("#player .player-mute")).to_have_text("Mute")
        playing = watcher.evaluate(SOUNDS)
        assert len(playing) == 6 and all(not a["paused"] and not a["muted"] for a in playing)
        sound = wait_until(watcher, lambda: inbound(watcher), lambda found: heard(found) >= 1)
        assert heard(sound) == 1, sound  # the hall's tone; the panelists are backstage

        # One volume for every voice: set once, it holds for each of them.
        watcher.locator("#player-volume").fill("40")
        assert {a["volume"] for a in watcher.evaluate(SOUNDS)} == {0.4}
        watcher.locator("#player .player-mute").click()
        assert all(a["muted"] for a in watcher.evaluate(SOUNDS))

        hall.locator("#start-sound").click()
        expect(hall.locator("#start-sound")).to_be_hidden()
        expect(hall.locator("#hall-mute")).to_have_text("Mute")
        assert all(not a["muted"] for a in hall.evaluate(SOUNDS))
    finally:
        strict.close()
