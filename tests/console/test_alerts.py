"""Each alert raised after its condition has held for its time, and cleared once it has been
gone for the clearing time; a flicker raises nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from scheduler.timetable import RoomState
from server.config import AlertSettings
from server.console.alerts import AlertBook, AlertCode, RoomFacts

SETTINGS = AlertSettings()  # 10 s without a picture, 5%, 150 kbps, 30 s silent, 5 min
START = datetime(2021, 6, 14, 14, 0, tzinfo=UTC)


def track(kind: str, **figures: Any) -> dict[str, Any]:
    base = {
        "id": "src1",
        "name": "Hall",
        "role": "technician",
        "on_stage": True,
        "kind": kind,
        "bitrate_kbps": 2000.0 if kind == "video" else 40.0,
        "loss_pct": 0.0,
        "since_packet_s": 0.02,
        "level_dbov": -20 if kind == "audio" else None,
    }
    return base | figures


def live(*publishers: dict[str, Any], state: RoomState = RoomState.LIVE, **kw: Any) -> RoomFacts:
    facts = RoomFacts(
        room="welcome",
        title="Welcome",
        state=state,
        starts_at=START,
        ends_at=START + timedelta(minutes=45),
        audio_only=False,
        health={"room": "welcome", "publishers": list(publishers)} if publishers else None,
    )
    return replace(facts, **kw)


class Run:
    """An alert book fed the same facts second by second."""

    def __init__(self, settings: AlertSettings = SETTINGS) -> None:
        self.book = AlertBook(settings)
        self.at = 0.0
        self.book.evaluate([], START, self.at)  # the feed's first round, with no room yet
        self.log: list[tuple[float, str, bool, str | None]] = []

    def seconds(self, count: int, facts: RoomFacts, now: datetime = START) -> None:
        for _ in range(count):
            self.at += 1
            for alert in self.book.evaluate([facts], now, self.at):
                self.log.append((self.at, alert.code.value, alert.active, alert.source))

    def codes(self) -> list[tuple[str, bool]]:
        return [(code, active) for _, code, active, _ in self.log]


HEALTHY = (track("video"), track("audio"))


def test_a_healthy_live_room_raises_nothing() -> None:
    run = Run()
    run.seconds(120, live(*HEALTHY))
    assert run.log == [] and run.book.active() == []


def test_no_picture_for_ten_seconds_and_back() -> None:
    run = Run()
    run.seconds(3, live(*HEALTHY))
    run.seconds(9, live(track("video", since_packet_s=3.0), track("audio")))
    assert run.log == []  # 9 s: not yet
    run.seconds(2, live(track("video", since_packet_s=12.0), track("audio")))
    assert run.codes() == [("no_feed", True)]
    [alert] = run.book.active()
    assert alert.level.value == "critical" and "Welcome" in alert.text
    run.seconds(4, live(*HEALTHY))
    assert run.codes() == [("no_feed", True)]  # back for 4 s: still up
    run.seconds(1, live(*HEALTHY))
    assert run.codes() == [("no_feed", True), ("no_feed", False)]
    assert run.book.active() == []


def test_a_room_with_no_source_at_all_has_no_picture_and_sound_only_items_need_none() -> None:
    run = Run()
    run.seconds(10, live())
    assert run.codes() == [("no_feed", True)]
    quiet = Run()
    quiet.seconds(30, live(track("audio"), audio_only=True))
    assert quiet.log == []


def test_a_flicker_raises_nothing() -> None:
    run = Run()
    for _ in range(5):
        run.seconds(8, live(track("video", since_packet_s=9.0)))
        run.seconds(1, live(*HEALTHY))
    assert not any(code == "no_feed" for code, _ in run.codes())


def test_loss_per_source_and_kind() -> None:
    run = Run()
    lossy = track("video", loss_pct=8.0)
    run.seconds(2, live(lossy, track("audio")))
    assert run.log == []
    run.seconds(1, live(lossy, track("audio")))
    assert [(code, source) for _, code, _, source in run.log] == [("packet_loss", "src1:video")]
    assert "8%" in run.book.active()[0].text
    run.seconds(5, live(*HEALTHY))
    assert run.codes()[-1] == ("packet_loss", False)


def test_low_bitrate_on_stage_only() -> None:
    run = Run()
    run.seconds(5, live(track("video", bitrate_kbps=90.0), track("audio")))
    assert run.codes() == [("low_bitrate", True)]
    backstage = Run()
    backstage.seconds(
        10, live(*HEALTHY, track("video", id="p2", bitrate_kbps=90.0, on_stage=False))
    )
    assert backstage.log == []


def test_a_dead_microphone_after_thirty_seconds() -> None:
    run = Run()
    run.seconds(29, live(track("video"), track("audio", level_dbov=-90)))
    assert run.log == []
    run.seconds(1, live(track("video"), track("audio", level_dbov=None)))
    assert run.codes() == [("silent_audio", True)]
    run.seconds(5, live(*HEALTHY))
    assert run.codes() == [("silent_audio", True), ("silent_audio", False)]


def test_an_overrun_is_raised_at_once_and_clears_when_it_ends() -> None:
    run = Run()
    over = START + timedelta(minutes=47)
    run.seconds(1, live(*HEALTHY), now=over)
    assert run.codes() == [("overrun", True)] and "2 min" in run.book.active()[0].text
    run.seconds(5, live(*HEALTHY, state=RoomState.ENDED), now=over)
    assert run.codes() == [("overrun", True), ("overrun", False)]


def test_nobody_publishing_five_minutes_before_the_start() -> None:
    run = Run()
    lobby = live(state=RoomState.LOBBY)
    run.seconds(3, lobby, now=START - timedelta(minutes=6))
    assert run.log == []
    run.seconds(1, lobby, now=START - timedelta(minutes=4))
    assert run.codes() == [("no_publisher_soon", True)]
    assert "4 min" in run.book.active()[0].text
    run.seconds(5, live(*HEALTHY, state=RoomState.LOBBY), now=START - timedelta(minutes=3))
    assert run.codes()[-1] == ("no_publisher_soon", False)


def test_the_times_come_from_the_settings() -> None:
    run = Run(AlertSettings(no_video_seconds=2, clear_seconds=1))
    run.seconds(2, live())
    run.seconds(1, live(*HEALTHY))
    assert run.codes() == [("no_feed", True), ("no_feed", False)]


def test_alert_payload_is_the_contracts() -> None:
    run = Run()
    run.seconds(10, live())
    assert run.book.active()[0].payload() == {
        "room": "welcome",
        "code": AlertCode.NO_FEED.value,
        "level": "critical",
        "text": "No picture on stage in Welcome",
        "active": True,
        "source": None,
    }
