"""The technician page's health logic (client_web/health.js), run in headless Chromium as the
page loads it: what it accepts of `health` and `alert`, and the figures in words."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VIDEO = {
    "id": "s1",
    "name": "Hall",
    "role": "technician",
    "on_stage": True,
    "kind": "video",
    "bitrate_kbps": 2480.4,
    "fps": 29.7,
    "loss_pct": 0.42,
    "jitter_ms": 3.2,
    "rtt_ms": 18.0,
    "since_packet_s": 0.01,
    "since_keyframe_s": 4.2,
    "level_dbov": None,
    "packets": 1200,
    "grade": "excellent",
}
AUDIO = {**VIDEO, "kind": "audio", "bitrate_kbps": 41.0, "fps": None, "level_dbov": -30}


@pytest.fixture(scope="module")
def page(module_page: Page) -> Page:
    return module_page


def run(page: Page, body: str, *args: Any) -> Any:
    return page.evaluate(
        f"""async (args) => {{
             const health = await import('/app/health.js');
             {body}
           }}""",
        list(args),
    )


def test_a_health_message_is_read_per_source_and_kind(page: Page) -> None:
    message = {
        "room": "welcome",
        "viewers": 12,
        "viewer_loss_pct": 0.8,
        "viewers_losing": 1,
        "viewer_rtt_ms": 20.5,
        "publishers": [VIDEO, AUDIO, {"id": 7}, "junk", {**VIDEO, "kind": "smell"}],
    }
    parsed = run(
        page,
        """const h = health.parseHealth(args[0]);
           return { room: h.room, ids: [...h.tracks.keys()],
                    kinds: Object.keys(h.tracks.get('s1')).sort(),
                    words: health.viewersWords(h) };""",
        message,
    )
    assert parsed == {
        "room": "welcome",
        "ids": ["s1"],
        "kinds": ["audio", "video"],
        "words": "12 viewers, 0.8% lost (median), 1 losing over 5%",
    }
    assert run(page, "return health.parseHealth(args[0]);", {"no": "room"}) is None


def test_figures_in_words(page: Page) -> None:
    words = run(
        page,
        "return args.map((raw) => health.trackWords(health.parseTrack(raw)));",
        VIDEO,
        AUDIO,
        {**VIDEO, "grade": "lost", "since_packet_s": 12.4},
        {**VIDEO, "since_packet_s": None},
        {**VIDEO, "rtt_ms": None, "since_keyframe_s": None},
    )
    assert words == [
        "2,480 kbps · 30 fps · 0.4% lost · 3 ms jitter · 18 ms round trip · keyframe 4 s ago",
        "41 kbps · 0.4% lost · 3 ms jitter · 18 ms round trip",
        "nothing for 12 s",
        "nothing received yet",
        "2,480 kbps · 30 fps · 0.4% lost · 3 ms jitter",
    ]


def test_grades_levels_and_alerts(page: Page) -> None:
    found = run(
        page,
        """return {
             worse: [health.worseGrade('good', 'poor'), health.worseGrade(null, 'excellent'),
                     health.worseGrade('lost', 'good')],
             fills: [null, -127, -60, -30, 0, 5].map(health.levelFill),
             unknownGrade: health.parseTrack({ id: 'x', kind: 'audio', grade: 'great' }).grade,
             alert: health.parseAlert(args[0]),
             cleared: health.parseAlert({ ...args[0], active: false }).key,
             junk: [null, 3, { room: 'a' }].map(health.parseAlert),
           };""",
        {"room": "welcome", "code": "no_feed", "level": "critical", "text": "No picture",
         "active": True, "source": None},
    )  # fmt: skip
    assert found["worse"] == ["poor", "excellent", "lost"]
    assert found["fills"] == [0, 0, 0, 0.5, 1, 1]
    assert found["unknownGrade"] == "lost"
    assert found["alert"] == {
        "key": "welcome no_feed ",
        "room": "welcome",
        "code": "no_feed",
        "level": "critical",
        "text": "No picture",
        "active": True,
    }
    assert found["cleared"] == found["alert"]["key"] and found["junk"] == [None, None, None]


def test_a_minute_of_bitrate_as_a_chart(page: Page) -> None:
    drawn = run(
        page,
        """const history = new health.BitrateHistory();
           for (let t = 0; t <= 70; t += 10) history.add(t, t === 70 ? 400 : 200);
           return { points: history.points.map((p) => p.at),
                    path: history.path(70, 120, 20),
                    empty: new health.BitrateHistory().path(0, 120, 20) };""",
    )
    assert drawn["points"] == [10, 20, 30, 40, 50, 60, 70]  # the last minute only
    assert drawn["path"].startswith("M0.0,10.0 L20.0,10.0") and drawn["path"].endswith("L120.0,0.0")
    assert drawn["empty"] == ""
