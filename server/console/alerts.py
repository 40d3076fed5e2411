"""Alerts for technicians: what is wrong in a room, raised before attendees notice and cleared
when it has been right again for a while, so that a flicker does not flood the page.

Every second ``AlertBook.evaluate`` is given what each room looks like (``RoomFacts``: its
state, its times, and its ``health`` message) and answers the alerts that started or cleared.
A condition must hold for its time (``AlertSettings``) before its alert starts, and be gone
for ``clear_seconds`` before it clears.

Pure, with the time passed in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from scheduler.timetable import RoomState
from server.config import AlertSettings

QUIET_DBOV = -60  # louder than a quiet room: someone at a microphone


class AlertCode(StrEnum):
    NO_FEED = "no_feed"
    PACKET_LOSS = "packet_loss"
    LOW_BITRATE = "low_bitrate"
    SILENT_AUDIO = "silent_audio"
    OVERRUN = "overrun"
    NO_PUBLISHER_SOON = "no_publisher_soon"


class Level(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True)
class RoomFacts:
    """A room as the alerts see it at one moment."""

    room: str
    title: str
    state: RoomState
    starts_at: datetime
    ends_at: datetime
    audio_only: bool
    health: dict[str, Any] | None  # the room's ``health`` message; None: no source at all


@dataclass(frozen=True)
class Alert:
    room: str
    code: AlertCode
    level: Level
    text: str
    active: bool
    source: str | None = None  # the source it is about, if one

    def payload(self) -> dict[str, Any]:
        return {
            "room": self.room,
            "code": self.code.value,
            "level": self.level.value,
            "text": self.text,
            "active": self.active,
            "source": self.source,
        }


Key = tuple[str, AlertCode, str | None]


@dataclass(frozen=True)
class _Condition:
    """A condition that holds now, with what its alert would say."""

    key: Key
    level: Level
    text: str
    raise_after: float


@dataclass
class _Watch:
    """One condition's hysteresis: since when it holds, or since when it has not."""

    holding_since: float | None = None
    absent_since: float | None = None
    alert: Alert | None = None  # while raised


@dataclass
class AlertBook:
    settings: AlertSettings
    _watches: dict[Key, _Watch] = field(default_factory=dict)
    _last_at: float | None = None  # the evaluation before: a change seen now began after it

    def active(self, room: str | None = None) -> list[Alert]:
        """The raised alerts (of ``room``, or all), oldest first."""
        return [
            w.alert
            for w in self._watches.values()
            if w.alert is not None and (room is None or w.alert.room == room)
        ]

    def evaluate(self, rooms: list[RoomFacts], now: datetime, at: float) -> list[Alert]:
        """The alerts that started (``active``) or cleared, at wall time ``now`` and
        monotonic time ``at``."""
        holding = {c.key: c for facts in rooms for c in self._conditions(facts, now)}
        began = at if self._last_at is None else self._last_at
        self._last_at = at
        changes: list[Alert] = []
        for key, condition in holding.items():
            watch = self._watches.setdefault(key, _Watch())
            watch.absent_since = None
            if watch.holding_since is None:
                watch.holding_since = began
            if watch.alert is None and at - watch.holding_since >= condition.raise_after:
                room, code, source = key
                watch.alert = Alert(room, code, condition.level, condition.text, True, source)
                changes.append(watch.alert)
        for key in [k for k in self._watches if k not in holding]:
            watch = self._watches[key]
            watch.holding_since = None
            if watch.alert is None:
                del self._watches[key]
                continue
            if watch.absent_since is None:
                watch.absent_since = began
            if at - watch.absent_since >= self.settings.clear_seconds:
                changes.append(_cleared(watch.alert))
                del self._watches[key]
        return changes

    def _conditions(self, facts: RoomFacts, now: datetime) -> Iterator[_Condition]:
        s = self.settings
        room, title = facts.room, facts.title
        publishers = facts.health["publishers"] if facts.health else []
        if facts.state is RoomState.LIVE:
            if now > facts.ends_at:
                minutes = int((now - facts.ends_at) / timedelta(minutes=1))
                text = f"{title} is running over its end ({minutes} min)"
                yield _Condition((room, AlertCode.OVERRUN, None), Level.WARNING, text, 0.0)
            pictures = [
                p for p in publishers if p["kind"] == "video" and p["on_stage"] and _flowing(p)
            ]
            if not facts.audio_only and not pictures:
                text = f"No picture on stage in {title}"
                key = (room, AlertCode.NO_FEED, None)
                yield _Condition(key, Level.CRITICAL, text, s.no_video_seconds)
        elif facts.state in (RoomState.SCHEDULED, RoomState.LOBBY):
            starts_in = facts.starts_at - now
            if not publishers and timedelta(0) <= starts_in <= timedelta(minutes=s.soon_minutes):
                minutes = max(1, round(starts_in / timedelta(minutes=1)))
                text = f"{title} starts in {minutes} min and nobody is publishing"
                key = (room, AlertCode.NO_PUBLISHER_SOON, None)
                yield _Condition(key, Level.WARNING, text, 0.0)
        if facts.state is RoomState.ENDED:
            return
        for p in publishers:
            yield from self._source_conditions(room, p)

    def _source_conditions(self, room: str, p: dict[str, Any]) -> Iterator[_Condition]:
        s = self.settings
        who = f"{p['name']} ({'picture' if p['kind'] == 'video' else 'sound'})"
        if p["loss_pct"] > s.loss_pct and _flowing(p):
            text = f"{who} is losing {p['loss_pct']:.0f}% of its packets"
            key = (room, AlertCode.PACKET_LOSS, p["id"] + ":" + p["kind"])
            yield _Condition(key, Level.WARNING, text, s.loss_seconds)
        if not p["on_stage"]:
            return  # backstage: checking a camera is not a fault
        if p["kind"] == "video" and _flowing(p) and p["bitrate_kbps"] < s.low_bitrate_kbps:
            text = f"{who} is at {p['bitrate_kbps']:.0f} kbps"
            key = (room, AlertCode.LOW_BITRATE, p["id"])
            yield _Condition(key, Level.WARNING, text, s.low_bitrate_seconds)
        level = p.get("level_dbov")
        if p["kind"] == "audio" and (level is None or level < QUIET_DBOV):
            text = f"Nothing to hear from {p['name']}: is the microphone on?"
            key = (room, AlertCode.SILENT_AUDIO, p["id"])
            yield _Condition(key, Level.WARNING, text, s.silent_seconds)


def _flowing(publisher: dict[str, Any]) -> bool:
    """Packets arrived within the last second or so."""
    since = publisher["since_packet_s"]
    return since is not None and since < 1.5


def _cleared(alert: Alert) -> Alert:
    return Alert(alert.room, alert.code, alert.level, alert.text, False, alert.source)
