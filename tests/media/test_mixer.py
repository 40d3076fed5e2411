"""The programme mix (server/media/mixer.py) with real Opus: tones encoded by libopus go in as a
publisher's RTP packets, ``tick`` is driven by hand, and what comes out is decoded again and
searched for each tone (Goertzel). The pacing of its own task runs on a clock turned by hand."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from server.media.mix_input import MAX_BUFFERED_SAMPLES
from server.media.mixer import FRAME_SECONDS, MAX_CATCH_UP_FRAMES, OPUS, Pacer, ProgrammeMix
from tests.fake_viewer import FakeClock
from tests.opus_tones import amplitude, decoded, tone_packets

FRAME = 960
LOW, HIGH, ABSENT = 440.0, 880.0, 660.0
HEARD = 0.15  # each tone is sent at 0.25 of full scale
UNHEARD = 0.02


class Recorder:
    """The relay's side of ``emit``: every packet, checked to be one stream, continuous (or,
    if packets may go missing on the way, with timestamps that follow the numbers)."""

    def __init__(self, continuous: bool = True) -> None:
        self.continuous = continuous
        self.packets: list[RtpPacket] = []
        self.arrived = asyncio.Event()
        self.wanted = 1

    async def __call__(self, packet: RtpPacket, codec: RTCRtpCodecParameters) -> None:
        assert codec == OPUS
        assert (codec.mimeType, codec.clockRate, codec.channels) == ("audio/opus", 48000, 2)
        if self.packets:
            last = self.packets[-1]
            assert packet.ssrc == last.ssrc
            step = (packet.sequence_number - last.sequence_number) & 0xFFFF
            assert step == 1 or (not self.continuous and 0 < step < 10)
            assert packet.timestamp == (last.timestamp + step * FRAME) & 0xFFFFFFFF
        assert packet.payload_type == 111
        vad, level = packet.extensions.audio_level
        assert 0 <= level <= 127
        assert vad == (level <= 50)
        self.packets.append(packet)
        if len(self.packets) >= self.wanted:
            self.arrived.set()

    def pcm(self, first: int, end: int | None = None) -> list[int]:
        """The decoded output from frame ``first`` to ``end``, the decoder having run from
        the first frame (so its state is a real receiver's)."""
        return decoded(packet.payload for packet in self.packets)[first * FRAME : _at(end)]


def _at(frame: int | None) -> int | None:
    return None if frame is None else frame * FRAME


def heard(samples: list[int]) -> dict[float, float]:
    return {hertz: round(amplitude(samples, hertz), 3) for hertz in (LOW, HIGH, ABSENT)}


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def mix(recorder: Recorder) -> Iterator[ProgrammeMix]:
    yield ProgrammeMix(recorder)


async def play(mix: ProgrammeMix, streams: dict[str, list[RtpPacket]], frames: int) -> None:
    """``frames`` ticks, each after one packet of each stream (while it lasts)."""
    for _ in range(frames):
        for source, packets in streams.items():
            if packets:
                mix.push(source, packets.pop(0))
        await mix.tick()


async def test_two_sources_are_both_heard(mix: ProgrammeMix, recorder: Recorder) -> None:
    low, high = tone_packets(LOW, 30, ssrc=1), tone_packets(HIGH, 30, ssrc=2)
    await play(mix, {"hall": low, "remote": high}, 30)
    assert mix.sources == {"hall", "remote"}
    assert len(recorder.packets) == 30
    levels = heard(recorder.pcm(10, 30))
    assert levels[LOW] > HEARD and levels[HIGH] > HEARD, levels
    assert levels[ABSENT] < UNHEARD, levels
    # Two tones of -12 dBFS each: -12 dBov together (their powers add up)
    assert [packet.extensions.audio_level for packet in recorder.packets[10:]] == [(True, 12)] * 20


async def test_a_forgotten_source_drops_out(mix: ProgrammeMix, recorder: Recorder) -> None:
    low, high = tone_packets(LOW, 60, ssrc=1), tone_packets(HIGH, 60, ssrc=2)
    await play(mix, {"hall": low, "remote": high}, 20)
    mix.forget("remote")
    assert mix.sources == {"hall"}
    await play(mix, {"hall": low}, 20)
    before, after = heard(recorder.pcm(5, 20)), heard(recorder.pcm(22, 40))
    assert before[LOW] > HEARD and before[HIGH] > HEARD, before
    assert after[LOW] > HEARD and after[HIGH] < UNHEARD, after


async def test_a_source_that_stops_sending_is_silent_then_heard_again_at_once(
    mix: ProgrammeMix, recorder: Recorder
) -> None:
    low, high = tone_packets(LOW, 80, ssrc=1), tone_packets(HIGH, 80, ssrc=2)
    await play(mix, {"hall": low, "remote": high}, 20)
    await play(mix, {"hall": low}, 20)  # the remote mic is muted: nothing comes
    assert mix.sources == {"hall", "remote"}
    await play(mix, {"hall": low, "remote": high}, 10)  # and unmuted
    quiet, back = heard(recorder.pcm(22, 40)), heard(recorder.pcm(41, 46))
    assert quiet[LOW] > HEARD and quiet[HIGH] < UNHEARD, quiet
    assert back[LOW] > HEARD and back[HIGH] > HEARD, back


async def test_a_source_new_in_the_mix_is_heard_from_its_first_frame(
    mix: ProgrammeMix, recorder: Recorder
) -> None:
    low, high = tone_packets(LOW, 30, ssrc=1), tone_packets(HIGH, 10, ssrc=2)
    await play(mix, {"hall": low}, 20)
    await play(mix, {"hall": low, "remote": high}, 3)
    alone, joined = heard(recorder.pcm(5, 20)), heard(recorder.pcm(20, 23))
    assert alone[HIGH] < UNHEARD, alone
    assert joined[HIGH] > HEARD, joined


async def test_a_mix_of_nothing_is_silence(mix: ProgrammeMix, recorder: Recorder) -> None:
    await play(mix, {}, 10)
    assert len(recorder.packets) == 10
    assert not any(recorder.pcm(0))
    assert {packet.extensions.audio_level for packet in recorder.packets} == {(False, 127)}


async def test_duplicates_and_reordering_change_nothing_that_is_sent(
    recorder: Recorder,
) -> None:
    clean, messy = Recorder(), Recorder()
    for target, shuffled in ((clean, False), (messy, True)):
        mix = ProgrammeMix(target)
        low, high = tone_packets(LOW, 20, ssrc=1), tone_packets(HIGH, 20, ssrc=2)
        for index in range(0, 20, 2):
            for source, packets in (("hall", low), ("remote", high)):
                pair = packets[index : index + 2]
                for packet in reversed(pair) if shuffled else pair:
                    mix.push(source, packet)
                    if shuffled:
                        mix.push(source, packet)
            await mix.tick()
            await mix.tick()
        assert mix.counters.duplicates == (40 if shuffled else 0)
    assert sent(messy) == sent(clean)


def sent(recorder: Recorder) -> list[tuple[bytes, tuple[bool, int]]]:
    return [(packet.payload, packet.extensions.audio_level) for packet in recorder.packets]


async def test_a_lost_packet_is_a_gap_and_the_source_goes_on(
    mix: ProgrammeMix, recorder: Recorder
) -> None:
    low = tone_packets(LOW, 40)
    del low[10]
    await play(mix, {"hall": low}, 39)
    assert mix.counters.received == 39
    assert heard(recorder.pcm(14, 39))[LOW] > HEARD


async def test_numbers_of_a_source_that_cross_two_to_the_sixteen(
    mix: ProgrammeMix, recorder: Recorder
) -> None:
    low = tone_packets(LOW, 40, first_sequence=65520)
    await play(mix, {"hall": low}, 40)
    assert mix.counters.received == 40
    assert mix.counters.late == mix.counters.duplicates == mix.counters.restarts == 0
    assert heard(recorder.pcm(18, 40))[LOW] > HEARD


async def test_a_burst_of_a_thousand_packets_is_bounded(
    mix: ProgrammeMix, recorder: Recorder
) -> None:
    for packet in tone_packets(LOW, 1000):
        mix.push("hall", packet)
        assert mix.buffered("hall") <= MAX_BUFFERED_SAMPLES
    assert mix.counters.overflowed == 995
    await play(mix, {}, 10)
    assert mix.buffered("hall") == 0


async def test_garbage_never_raises_and_is_counted(mix: ProgrammeMix, recorder: Recorder) -> None:
    low = tone_packets(LOW, 30, ssrc=1)
    for index in range(30):
        for payload in (b"", b"\xff", bytes(range(7 + index, 200))):
            mix.push("noise", RtpPacket(payload_type=111, sequence_number=index, payload=payload))
        mix.push("hall", low[index])
        await mix.tick()
    assert mix.counters.unreadable >= 60
    assert len(recorder.packets) == 30
    assert heard(recorder.pcm(10, 30))[LOW] > HEARD


async def test_start_owns_a_task_that_ticks_and_close_ends_it_twice_over(
    mix: ProgrammeMix, recorder: Recorder
) -> None:
    recorder.wanted = 3
    mix.start()
    mix.start()  # one task, not two
    await asyncio.wait_for(recorder.arrived.wait(), 5)
    assert mix.running
    assert [task.get_name() for task in asyncio.all_tasks()].count("programme mix") == 1
    await mix.close()
    assert not mix.running
    assert "programme mix" not in [task.get_name() for task in asyncio.all_tasks()]
    await mix.close()
    sent = len(recorder.packets)
    mix.push("hall", tone_packets(LOW, 1)[0])
    await mix.tick()
    assert len(recorder.packets) == sent
    assert mix.sources == frozenset()
    with pytest.raises(RuntimeError):
        mix.start()


async def test_a_frame_that_fails_is_counted_logged_once_and_the_task_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The second and third packets fail on the relay's side: counted, logged once; the
    fourth follows the first with the numbers and timestamps of the two in between spent."""
    recorder = Recorder(continuous=False)
    calls = 0

    async def emit(packet: RtpPacket, codec: RTCRtpCodecParameters) -> None:
        nonlocal calls
        calls += 1
        if calls in (2, 3):
            raise ConnectionError("the relay's side failed")
        await recorder(packet, codec)

    mix = ProgrammeMix(emit)
    recorder.wanted = 2
    with caplog.at_level(logging.ERROR, logger="server.media.mixer"):
        mix.start()
        try:
            await asyncio.wait_for(recorder.arrived.wait(), 5)
        finally:
            await mix.close()
    assert mix.counters.failures == 2
    first, fourth = recorder.packets[:2]
    assert fourth.sequence_number == (first.sequence_number + 3) & 0xFFFF
    assert [record.exc_info[0] for record in caplog.records if record.exc_info] == [ConnectionError]


# -- pacing --------------------------------------------------------------------------------------


def test_the_pacer_does_not_drift_however_long_frames_take() -> None:
    clock = FakeClock()
    pacer = Pacer(clock)
    pacer.begin()
    began = clock.now
    for index in range(500):
        clock.now += 0.001 + (index % 7) * 0.002  # making the frame takes 1 to 13 ms
        assert pacer.advance() == 0
        clock.now += pacer.wait()  # the sleep, overshooting by up to 2 ms now and then
        clock.now += 0.002 if index % 5 == 0 else 0.0
    assert clock.now - began == pytest.approx(500 * FRAME_SECONDS, abs=0.003)


def test_after_a_hold_up_the_pacer_catches_up_a_little_and_skips_the_rest() -> None:
    clock = FakeClock()
    pacer = Pacer(clock)
    pacer.begin()
    began = clock.now
    clock.now += 0.5  # the event loop was held up for half a second in one frame
    skipped = pacer.advance()
    at_once = 0
    while pacer.wait() == 0:
        at_once += 1
        skipped += pacer.advance()
    assert at_once == MAX_CATCH_UP_FRAMES + 1  # the late ones, and the one due just now
    made = 1 + at_once
    assert made + skipped == round(0.5 / FRAME_SECONDS) + 1
    assert pacer.wait() == pytest.approx(began + (made + skipped) * FRAME_SECONDS - clock.now)
