"""Who is speaking, from RFC 6464 levels, with hysteresis; pure, with the time passed in."""

from __future__ import annotations

from server.media.speaking import GAP_SECONDS, LOUD_LEVEL, QUIET_SECONDS, SpeakingDetector

PACKET = 0.02  # an Opus packet's 20 ms


def feed(
    detector: SpeakingDetector, level: int | None, start: float, seconds: float
) -> list[float]:
    """Packets of ``level`` every 20 ms; the times at which ``speaking`` changed."""
    changes = []
    steps = round(seconds / PACKET)
    for step in range(steps):
        now = start + step * PACKET
        if detector.hear(level, now):
            changes.append(round(now - start, 3))
    return changes


def test_speech_starts_after_a_moment_and_ends_after_a_second_of_quiet() -> None:
    detector = SpeakingDetector()
    assert feed(detector, 20, 0.0, 0.1) == []  # a click is not speech
    assert not detector.speaking
    changed = feed(detector, 20, 0.1, 1.0)
    assert detector.speaking and changed and changed[0] <= 0.1
    assert feed(detector, 120, 1.1, QUIET_SECONDS - 0.1) == []  # a breath: still speaking
    assert detector.speaking
    assert feed(detector, 120, 2.0, 0.5)  # past the second of quiet
    assert not detector.speaking


def test_a_quiet_room_is_never_speaking() -> None:
    detector = SpeakingDetector()
    assert feed(detector, LOUD_LEVEL + 1, 0.0, 5.0) == []
    assert feed(detector, 127, 5.0, 5.0) == []


def test_short_gaps_do_not_restart_the_run() -> None:
    detector = SpeakingDetector()
    for at in (0.0, 0.05 + GAP_SECONDS / 2, 0.1 + GAP_SECONDS):
        detector.hear(10, at)
    assert detector.speaking


def test_a_source_that_stops_sending_goes_quiet_without_a_packet() -> None:
    detector = SpeakingDetector()
    feed(detector, 10, 0.0, 1.0)
    assert detector.speaking
    assert not detector.expire(1.5)
    assert detector.expire(1.0 + QUIET_SECONDS + 0.1)
    assert not detector.speaking and not detector.expire(10.0)


def test_without_the_extension_or_with_nonsense_nobody_speaks() -> None:
    detector = SpeakingDetector()
    assert feed(detector, None, 0.0, 2.0) == []
    assert feed(detector, -5, 2.0, 1.0) == [] and feed(detector, 500, 3.0, 1.0) == []
    assert not detector.speaking
