"""How each publisher's tracks arrive, from the RTP the relay forwards anyway (nothing decoded):
the figures a technician watches, and a grade of each as LiveKit grades connection quality.

Per track: bitrate, frame rate (video frames end with the marker bit), packet loss and
interarrival jitter as RFC 3550 (appendix A.3 and A.8) counts them, the time since the last
packet and since the last keyframe, and the loudest audio level (RFC 6464) of the last second.
``TrackHealth.packet`` is called for every packet, so it does a few additions and nothing more;
``sample`` turns the counts since the last sample into figures, once a second.

Pure, with the time passed in.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

SEQUENCE_SPAN = 1 << 16
SILENCE_LEVEL = 127  # RFC 6464: -127 dBov, nothing to hear
# A gap in the sequence numbers this large is a restart, not loss (RFC 3550's MAX_DROPOUT).
MAX_DROPOUT = 3000


class Grade(StrEnum):
    """As LiveKit's connection quality: what a technician can act on at a glance."""

    EXCELLENT = "excellent"
    GOOD = "good"
    POOR = "poor"
    LOST = "lost"


@dataclass(frozen=True)
class Limits:
    """Where the grades change. Loss in percent, jitter and round trip in milliseconds,
    silence of packets in seconds."""

    good_loss: float = 1.0
    poor_loss: float = 5.0
    good_jitter: float = 20.0
    poor_jitter: float = 50.0
    good_rtt: float = 200.0
    poor_rtt: float = 400.0
    lost_after: float = 3.0


@dataclass(frozen=True)
class TrackFigures:
    """One track over the last sample's span."""

    kind: str
    bitrate_kbps: float
    fps: float | None  # video only
    loss_pct: float
    jitter_ms: float
    rtt_ms: float | None  # the publisher's round trip, when measured
    since_packet_s: float | None  # None: no packet yet
    since_keyframe_s: float | None  # video only; None: no keyframe yet
    level_dbov: int | None  # audio only: the loudest of the span, -127 (silence) to 0
    packets: int  # in all, since the track began
    grade: Grade

    def payload(self) -> dict[str, Any]:
        return asdict(self)


def grade(
    loss_pct: float,
    jitter_ms: float,
    rtt_ms: float | None,
    since_packet_s: float | None,
    limits: Limits,
) -> Grade:
    if since_packet_s is None or since_packet_s > limits.lost_after:
        return Grade.LOST
    rtt = rtt_ms or 0.0
    if loss_pct >= limits.poor_loss or jitter_ms >= limits.poor_jitter or rtt >= limits.poor_rtt:
        return Grade.POOR
    if loss_pct >= limits.good_loss or jitter_ms >= limits.good_jitter or rtt >= limits.good_rtt:
        return Grade.GOOD
    return Grade.EXCELLENT


class TrackHealth:
    """One publisher's track: counts kept per packet, figures made per sample."""

    def __init__(self, kind: str, clock_rate: int, now: float) -> None:
        self.kind = kind
        self.clock_rate = clock_rate
        self.packets = 0
        self.bytes = 0
        self.frames = 0
        self.last_packet_at: float | None = None
        self.last_keyframe_at: float | None = None
        self.loudest: int = SILENCE_LEVEL + 1  # of the span; above 127: no level heard
        self._jitter = 0.0  # in RTP clock units, as RFC 3550 keeps it
        self._transit: float | None = None
        self._highest: int | None = None  # extended: sequence number plus wraps
        self._received = 0  # since the first packet, for RFC 3550's expected/lost
        self._base: int | None = None
        self._marked = True  # the packet before ended a frame: the next one starts one
        self._sampled = _Mark(now, 0, 0, 0, 0, 0)

    @property
    def starts_frame(self) -> bool:
        """Whether the next packet is a frame's first: only that one can start a keyframe."""
        return self._marked

    def packet(
        self,
        sequence: int,
        timestamp: int,
        marker: bool,
        size: int,
        now: float,
        keyframe: bool = False,
        level: int | None = None,
    ) -> None:
        self.packets += 1
        self.bytes += size
        self.last_packet_at = now
        if keyframe:
            self.last_keyframe_at = now
        if marker:
            self.frames += 1
        self._marked = marker
        if level is not None and level < self.loudest:
            self.loudest = level
        self._count_sequence(sequence)
        transit = now * self.clock_rate - timestamp
        if self._transit is not None:
            # RFC 3550 A.8; the RTP timestamp wraps, so the difference is taken modulo 2^32.
            difference = abs((transit - self._transit + 2**31) % 2**32 - 2**31)
            self._jitter += (difference - self._jitter) / 16
        self._transit = transit

    def _count_sequence(self, sequence: int) -> None:
        if self._highest is None:
            self._highest = self._base = sequence
            self._received = 1
            return
        delta = (sequence - self._highest) % SEQUENCE_SPAN
        if delta == 0 or delta >= SEQUENCE_SPAN - MAX_DROPOUT:
            self._received += 1  # a duplicate or a late one: counted, not the highest
            return
        if delta > MAX_DROPOUT:  # the publisher started again: counted from here
            self._highest = self._base = sequence
            self._received = 1
            self._sampled = self._sampled.restarted()
            return
        self._highest += delta
        self._received += 1

    def sample(self, now: float, rtt_ms: float | None, limits: Limits) -> TrackFigures:
        """The figures since the last sample; the next sample counts from here."""
        mark = _Mark(now, self.packets, self.bytes, self.frames, self._expected, self._received)
        span = max(now - self._sampled.at, 1e-3)
        expected = mark.expected - self._sampled.expected
        received = mark.received - self._sampled.received
        loss = max(0.0, 100.0 * (expected - received) / expected) if expected > 0 else 0.0
        since_packet = None if self.last_packet_at is None else now - self.last_packet_at
        jitter_ms = 1000.0 * self._jitter / self.clock_rate
        video = self.kind == "video"
        figures = TrackFigures(
            kind=self.kind,
            bitrate_kbps=round((mark.bytes - self._sampled.bytes) * 8 / span / 1000, 1),
            fps=round((mark.frames - self._sampled.frames) / span, 1) if video else None,
            loss_pct=round(loss, 2),
            jitter_ms=round(jitter_ms, 2),
            rtt_ms=None if rtt_ms is None else round(rtt_ms, 1),
            since_packet_s=None if since_packet is None else round(since_packet, 2),
            since_keyframe_s=_since(now, self.last_keyframe_at) if video else None,
            level_dbov=_level(self.loudest) if not video else None,
            packets=self.packets,
            grade=grade(loss, jitter_ms, rtt_ms, since_packet, limits),
        )
        self._sampled = mark
        self.loudest = SILENCE_LEVEL + 1
        return figures

    @property
    def _expected(self) -> int:
        if self._highest is None or self._base is None:
            return 0
        return self._highest - self._base + 1


@dataclass(frozen=True)
class _Mark:
    """The counts at a sample."""

    at: float
    packets: int
    bytes: int
    frames: int
    expected: int
    received: int

    def restarted(self) -> _Mark:
        """The sequence counts begin again; the others go on."""
        return _Mark(self.at, self.packets, self.bytes, self.frames, 0, 0)


def _since(now: float, at: float | None) -> float | None:
    return None if at is None else round(now - at, 2)


def _level(loudest: int) -> int | None:
    return None if loudest > SILENCE_LEVEL else -loudest


def viewers_health(reports: list[tuple[float, float | None]], limits: Limits) -> dict[str, Any]:
    """The viewers of a room as their receiver reports tell it (one report each, its worst
    stream's): the median loss, how many lose more than a poor grade allows, the median
    round trip."""
    losses = sorted(loss for loss, _ in reports)
    rtts = sorted(rtt for _, rtt in reports if rtt is not None)
    return {
        "viewer_loss_pct": round(_median(losses), 2) if losses else None,
        "viewers_losing": sum(loss >= limits.poor_loss for loss in losses),
        "viewer_rtt_ms": round(_median(rtts), 1) if rtts else None,
    }


def _median(values: list[float]) -> float:
    return values[len(values) // 2]
