"""One source's jitter buffer in the programme mix (server/media/mix_input.py), fed real Opus.

Decoding is deterministic, so what ``take`` hands back is compared byte for byte with what a
fresh decoder makes of the packets the buffer should have played, in the order it should have
played them, with silence where it should have been silent."""

from __future__ import annotations

import hashlib

import av
import pytest
from aiortc.rtp import RtpPacket

from server.media.mix_input import (
    FRAME_BYTES,
    FRAME_SAMPLES,
    MAX_BUFFERED_SAMPLES,
    SAMPLE_BYTES,
    MixCounters,
    MixInput,
    opus_decoder,
    opus_samples,
)
from tests.opus_tones import tone_packets

Slot = RtpPacket | int  # a packet decoded, or that many samples of silence


def reference(slots: list[Slot]) -> bytes:
    """What the buffer should hand back: these packets through one fresh decoder, in this
    order, with silence where a slot is a number of samples."""
    decoder = opus_decoder()
    pcm = bytearray()
    for slot in slots:
        if isinstance(slot, int):
            pcm += bytes(slot * SAMPLE_BYTES)
            continue
        for frame in decoder.decode(av.Packet(slot.payload)):
            pcm += memoryview(frame.planes[0])[: frame.samples * SAMPLE_BYTES]
    return bytes(pcm)


def frames(pcm: bytes) -> list[str]:
    """PCM told frame by frame: "silence", or a digest of the frame (a failure's diff of the
    whole bytes would take pytest minutes)."""
    return [
        "silence" if not any(frame) else hashlib.sha256(frame).hexdigest()[:12]
        for frame in (pcm[start : start + FRAME_BYTES] for start in range(0, len(pcm), FRAME_BYTES))
    ]


def takes(buffer: MixInput, count: int) -> bytes:
    return b"".join(buffer.take() for _ in range(count))


@pytest.fixture
def counters() -> MixCounters:
    return MixCounters()


@pytest.fixture
def buffer(counters: MixCounters) -> MixInput:
    return MixInput(counters)


@pytest.fixture
def tone() -> list[RtpPacket]:
    return tone_packets(440, 12)


def test_packets_in_order_play_in_order(buffer: MixInput, tone: list[RtpPacket]) -> None:
    played = bytearray()
    for packet in tone:
        buffer.add(packet)
        played += buffer.take()
    assert frames(played) == frames(reference(tone))
    assert any(played)


def test_a_source_that_sends_nothing_is_silence(buffer: MixInput) -> None:
    assert takes(buffer, 5) == bytes(5 * FRAME_BYTES)
    assert buffer.buffered == 0


def test_duplicates_are_dropped_and_counted(
    buffer: MixInput, counters: MixCounters, tone: list[RtpPacket]
) -> None:
    played = bytearray()
    for packet in tone:
        buffer.add(packet)
        buffer.add(packet)  # filed already
        played += buffer.take()
        buffer.add(packet)  # played already
    assert frames(played) == frames(reference(tone))
    assert counters.duplicates == 2 * len(tone)
    assert counters.received == len(tone)


def test_packets_swapped_on_the_way_are_put_back_in_order(
    buffer: MixInput, tone: list[RtpPacket]
) -> None:
    played = bytearray()
    for first, second in zip(tone[::2], tone[1::2], strict=True):
        buffer.add(second)
        buffer.add(first)
        played += takes(buffer, 2)
    assert frames(played) == frames(reference(tone))


def test_a_lost_packet_is_silence_in_its_own_time(
    buffer: MixInput, counters: MixCounters, tone: list[RtpPacket]
) -> None:
    """Packet 4 never comes; packet 5 is there when 4's turn comes (the source was a packet
    ahead), so 4 is given up, its 20 ms are silent, and 5 plays in its own time after."""
    buffer.add(tone[0])
    played = bytearray()
    for index in range(len(tone)):
        if index + 1 < len(tone) and index + 1 != 4:
            buffer.add(tone[index + 1])
        played += buffer.take()
    assert frames(played) == frames(reference([*tone[:4], FRAME_SAMPLES, *tone[5:]]))
    buffer.add(tone[4])  # far too late
    assert counters.late == 1


def test_a_packet_late_for_its_turn_plays_late_and_nothing_is_lost(
    buffer: MixInput, counters: MixCounters, tone: list[RtpPacket]
) -> None:
    """Nothing came in time for packet 4's turn, not even a later one: silence; when 4 comes
    it plays next, and the source stays 20 ms later from then on (the buffer grew)."""
    played = bytearray()
    for index, packet in enumerate(tone):
        if index != 4:
            buffer.add(packet)
        played += buffer.take()
        if index == 4:
            buffer.add(packet)
    played += buffer.take()
    assert frames(played) == frames(reference([*tone[:4], FRAME_SAMPLES, *tone[4:]]))
    assert counters.late == 0


def test_a_pause_in_sending_adds_no_silence_after_it(
    buffer: MixInput, tone: list[RtpPacket]
) -> None:
    """Opus DTX: no packets for a second, numbers consecutive, the timestamp a second on. The
    second was played as silence already; the next packet plays as soon as it comes."""
    resumed = RtpPacket(
        payload_type=111,
        sequence_number=3,
        timestamp=tone[3].timestamp + 48_000,
        ssrc=tone[3].ssrc,
        payload=tone[3].payload,
    )
    played = bytearray()
    for packet in tone[:3]:
        buffer.add(packet)
        played += buffer.take()
    played += takes(buffer, 50)
    buffer.add(resumed)
    played += buffer.take()
    assert frames(played) == frames(reference([*tone[:3], 50 * FRAME_SAMPLES, resumed]))


def test_numbers_go_on_across_two_to_the_sixteen(buffer: MixInput) -> None:
    wrapping = tone_packets(440, 8, first_sequence=65532)
    assert [packet.sequence_number for packet in wrapping[3:6]] == [65535, 0, 1]
    played = bytearray()
    for first, second in zip(wrapping[::2], wrapping[1::2], strict=True):
        buffer.add(second)  # 65535 before 65534, 1 before 0
        buffer.add(first)
        played += takes(buffer, 2)
    assert frames(played) == frames(reference(wrapping))


@pytest.mark.parametrize("frame_ms", [10, 60])
def test_packets_of_other_lengths_are_cut_into_frames(buffer: MixInput, frame_ms: int) -> None:
    packets = tone_packets(440, 6, frame_ms=frame_ms)
    played = bytearray()
    for packet in packets:
        buffer.add(packet)
        while buffer.buffered >= FRAME_SAMPLES:
            played += buffer.take()
    assert frames(played) == frames(reference(packets))


def test_a_new_stream_of_the_source_starts_afresh(
    buffer: MixInput, counters: MixCounters, tone: list[RtpPacket]
) -> None:
    """A new SSRC, or numbers far behind the newest (the sender started again), is a new
    stream: played from its first packet, through a new decoder, not dropped as late."""
    for packet in tone[:6]:
        buffer.add(packet)
        buffer.take()
    again = tone_packets(880, 4, ssrc=tone[0].ssrc, first_sequence=tone[5].sequence_number - 500)
    other = tone_packets(660, 4, ssrc=2222, first_sequence=40_000)
    for stream in (again, other):
        played = bytearray()
        for packet in stream:
            buffer.add(packet)
            played += buffer.take()
        assert frames(played) == frames(reference(stream))
    assert counters.restarts == 2
    assert counters.late == 0


def test_a_burst_keeps_only_the_newest_100_ms(buffer: MixInput, counters: MixCounters) -> None:
    burst = tone_packets(440, 1000)
    for packet in burst:
        buffer.add(packet)
        assert buffer.buffered <= MAX_BUFFERED_SAMPLES
    assert counters.overflowed == 995
    assert frames(takes(buffer, 5)) == frames(reference(burst[-5:]))  # none dropped was decoded
    assert buffer.buffered == 0


def test_a_source_sending_too_fast_stays_within_100_ms(
    buffer: MixInput, counters: MixCounters
) -> None:
    fast = tone_packets(440, 400)
    for first, second in zip(fast[::2], fast[1::2], strict=True):
        buffer.add(first)
        buffer.add(second)
        buffer.take()
        assert buffer.buffered <= MAX_BUFFERED_SAMPLES
    assert counters.overflowed + counters.trimmed_samples // FRAME_SAMPLES >= 190


def test_a_buffer_left_full_by_a_burst_is_trimmed_after_a_second(
    buffer: MixInput, counters: MixCounters
) -> None:
    """Five packets at once, then one per frame: the source lags 80 ms behind where it could
    be. After a second of that, the buffer is cut to leave 20 ms, and then left alone."""
    packets = tone_packets(440, 200)
    for packet in packets[:5]:
        buffer.add(packet)
    after_take = []
    for packet in packets[5:]:
        buffer.add(packet)
        buffer.take()
        after_take.append(buffer.buffered)
    assert after_take[:49] == [4 * FRAME_SAMPLES] * 49
    assert after_take[50:] == [FRAME_SAMPLES] * (len(after_take) - 50)
    assert counters.trimmed_samples == 3 * FRAME_SAMPLES


def test_garbage_is_counted_and_never_raises(
    buffer: MixInput, counters: MixCounters, tone: list[RtpPacket]
) -> None:
    def garbage(sequence: int, payload: bytes) -> RtpPacket:
        return RtpPacket(
            payload_type=111,
            sequence_number=sequence,
            timestamp=tone[sequence].timestamp,
            ssrc=tone[0].ssrc,
            payload=payload,
        )

    buffer.add(garbage(0, b""))  # no TOC byte
    buffer.add(garbage(0, b"\x03"))  # code 3 with no frame count
    buffer.add(garbage(0, b"\x1b\x07"))  # 7 frames of 60 ms: longer than Opus allows
    assert counters.unreadable == 3
    buffer.add(garbage(0, bytes(range(7, 200))))  # a TOC byte, then nothing Opus can read
    assert counters.received == 1
    played = buffer.take()
    assert counters.unreadable == 4
    for packet in tone[1:]:
        buffer.add(packet)
        played += buffer.take()
    assert frames(played) == frames(reference([3840, *tone[1:]])[: len(played)])


@pytest.mark.parametrize(
    ("payload", "samples"),
    [
        (b"\x00", 480),  # SILK, narrowband, 10 ms
        (b"\x08", 960),  # SILK, 20 ms
        (b"\x18", 2880),  # SILK, 60 ms
        (b"\x78", 960),  # hybrid, fullband, 20 ms
        (b"\x80", 120),  # CELT, 2.5 ms
        (b"\xfc", 960),  # CELT, fullband, 20 ms, stereo
        (b"\xfd", 1920),  # two frames of 20 ms
        (b"\xfe\x00", 1920),  # two frames of 20 ms, sized
        (b"\xff\x06", 5760),  # six frames of 20 ms: 120 ms, the most there may be
        (b"\xff\x07", None),
        (b"\xff\x00", None),
        (b"\xff", None),
        (b"", None),
    ],
)
def test_how_long_an_opus_packet_is(payload: bytes, samples: int | None) -> None:
    assert opus_samples(payload) == samples
