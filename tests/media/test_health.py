"""A track's health from its packets alone: RFC 3550's loss and jitter, bitrate, frames,
keyframes, audio levels, and the grade a technician sees."""

from __future__ import annotations

import pytest

from server.media.health import Grade, Limits, TrackHealth, grade, viewers_health

LIMITS = Limits()
VIDEO_RATE, AUDIO_RATE = 90000, 48000


def steady_video(
    track: TrackHealth, seconds: int, start: float = 0.0, lose_every: int = 0, first: int = 0
) -> float:
    """30 frames a second of 3 packets each, every 20th frame a keyframe, 1,000 bytes a
    packet; every ``lose_every``th packet lost on the way. The time of the last one."""
    now = start
    sequence = first
    for frame in range(30 * seconds):
        now = start + frame / 30
        for part in range(3):
            sequence += 1
            if lose_every and sequence % lose_every == 0:
                continue
            keyframe = part == 0 and frame % 20 == 0
            track.packet(sequence % 65536, frame * 3000, part == 2, 1000, now, keyframe)
    return now


def test_a_clean_picture_is_excellent_with_its_rate_and_frames() -> None:
    track = TrackHealth("video", VIDEO_RATE, 0.0)
    last = steady_video(track, 2)
    figures = track.sample(2.0, rtt_ms=12.0, limits=LIMITS)
    assert figures.bitrate_kbps == pytest.approx(90 * 8, rel=0.01)  # 90 kB a second
    assert figures.fps == pytest.approx(30, abs=0.5)
    assert figures.loss_pct == 0 and figures.jitter_ms == pytest.approx(0, abs=0.01)
    assert figures.since_packet_s == pytest.approx(2.0 - last, abs=0.01)
    assert figures.since_keyframe_s == pytest.approx(2.0 - 40 / 30, abs=0.01)
    assert (figures.level_dbov, figures.rtt_ms, figures.grade) == (None, 12.0, Grade.EXCELLENT)


def test_loss_is_counted_per_sample_and_grades_poor() -> None:
    track = TrackHealth("video", VIDEO_RATE, 0.0)
    steady_video(track, 1, lose_every=7)  # 12 of 90, the last one received
    first = track.sample(1.0, None, LIMITS)
    assert first.loss_pct == pytest.approx(100 * 12 / 90, abs=0.01)
    assert first.grade is Grade.POOR
    steady_video(track, 1, start=1.0, first=90)
    second = track.sample(2.0, None, LIMITS)  # the next second lost nothing
    assert second.loss_pct == 0 and second.grade is Grade.EXCELLENT


def test_sequence_numbers_wrap_without_loss_and_a_restart_is_not_loss() -> None:
    track = TrackHealth("video", VIDEO_RATE, 0.0)
    steady_video(track, 1, first=65500)  # wraps past 65535
    assert track.sample(1.0, None, LIMITS).loss_pct == 0
    steady_video(track, 1, start=1.0, first=20000)  # the publisher started again
    assert track.sample(2.0, None, LIMITS).loss_pct == 0


def test_late_and_repeated_packets_are_not_loss() -> None:
    track = TrackHealth("audio", AUDIO_RATE, 0.0)
    for sequence in (1, 2, 4, 3, 3, 5):
        track.packet(sequence, sequence * 960, True, 100, sequence / 50)
    assert track.sample(1.0, None, LIMITS).loss_pct == 0


def test_jitter_follows_rfc_3550() -> None:
    """Packets 20 ms apart in media time arriving alternately 10 ms early and late: the
    interarrival difference is 20 ms each time, and J converges on it (J += (D - J) / 16)."""
    track = TrackHealth("audio", AUDIO_RATE, 0.0)
    for n in range(400):
        arrival = n * 0.02 + (0.01 if n % 2 else -0.01)
        track.packet(n, n * 960, True, 100, arrival)
    assert track.sample(8.0, None, LIMITS).jitter_ms == pytest.approx(20, abs=0.1)


def test_the_loudest_level_of_the_sample_and_none_without_one() -> None:
    track = TrackHealth("audio", AUDIO_RATE, 0.0)
    for n, level in enumerate((90, 35, 127, 60)):
        track.packet(n, n * 960, True, 100, n / 50, level=level)
    assert track.sample(1.0, None, LIMITS).level_dbov == -35
    track.packet(9, 9 * 960, True, 100, 1.5)
    assert track.sample(2.0, None, LIMITS).level_dbov is None
    assert track.sample(2.0, None, LIMITS).fps is None  # sound has no frames


def test_a_track_without_packets_is_lost() -> None:
    track = TrackHealth("video", VIDEO_RATE, 0.0)
    assert track.sample(1.0, None, LIMITS).grade is Grade.LOST
    steady_video(track, 1)
    assert track.sample(1.0, None, LIMITS).grade is Grade.EXCELLENT
    assert track.sample(1.0 + LIMITS.lost_after + 0.1, None, LIMITS).grade is Grade.LOST


@pytest.mark.parametrize(
    ("loss", "jitter", "rtt", "expected"),
    [
        (0.0, 5.0, 50.0, Grade.EXCELLENT),
        (1.0, 5.0, None, Grade.GOOD),
        (0.0, 25.0, None, Grade.GOOD),
        (0.0, 5.0, 250.0, Grade.GOOD),
        (5.0, 0.0, None, Grade.POOR),
        (0.0, 60.0, None, Grade.POOR),
        (0.0, 0.0, 450.0, Grade.POOR),
    ],
)
def test_grades(loss: float, jitter: float, rtt: float | None, expected: Grade) -> None:
    assert grade(loss, jitter, rtt, 0.1, LIMITS) is expected


def test_viewers_as_their_reports_tell() -> None:
    reports = [(0.0, 20.0), (1.0, None), (12.0, 40.0), (6.0, 30.0), (0.5, 25.0)]
    assert viewers_health(reports, LIMITS) == {
        "viewer_loss_pct": 1.0,
        "viewers_losing": 2,
        "viewer_rtt_ms": 30.0,
    }
    assert viewers_health([], LIMITS) == {
        "viewer_loss_pct": None,
        "viewers_losing": 0,
        "viewer_rtt_ms": None,
    }
