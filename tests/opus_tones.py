"""Real Opus for the tests of the programme mix: tones encoded by libopus through PyAV as a
publisher's RTP packets, the mix's output decoded again, and how strong a tone is in it
(Goertzel's algorithm: one frequency's amplitude, no FFT and no numpy)."""

from __future__ import annotations

import fractions
import math
import struct
from collections.abc import Iterable

import av
from aiortc.rtp import RtpPacket

SAMPLE_RATE = 48_000
FULL_SCALE = 32767


def tone_packets(
    hertz: float,
    count: int,
    *,
    amplitude: float = 0.25,
    ssrc: int = 1111,
    first_sequence: int = 0,
    first_timestamp: int = 0,
    frame_ms: int = 20,
) -> list[RtpPacket]:
    """``count`` RTP packets of a sine tone (``amplitude`` of full scale), one Opus packet of
    ``frame_ms`` each, numbered on from ``first_sequence`` and ``first_timestamp``."""
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate = SAMPLE_RATE
    encoder.layout = "mono"
    encoder.format = "s16"
    encoder.bit_rate = 48_000
    encoder.time_base = fractions.Fraction(1, SAMPLE_RATE)
    encoder.options = {"frame_duration": str(frame_ms)}
    samples = SAMPLE_RATE * frame_ms // 1000
    packets = []
    for index in range(count):
        frame = av.AudioFrame(format="s16", layout="mono", samples=samples)
        frame.planes[0].update(_sine(hertz, amplitude, index * samples, samples))
        frame.sample_rate = SAMPLE_RATE
        frame.pts = index * samples
        frame.time_base = encoder.time_base
        for encoded in encoder.encode(frame):
            packets.append(
                RtpPacket(
                    payload_type=111,
                    sequence_number=(first_sequence + len(packets)) & 0xFFFF,
                    timestamp=(first_timestamp + len(packets) * samples) & 0xFFFFFFFF,
                    ssrc=ssrc,
                    payload=bytes(encoded),
                )
            )
    assert len(packets) == count, "libopus held a frame back"
    return packets


def decoded(payloads: Iterable[bytes]) -> list[int]:
    """The mono int16 samples a receiver decodes from these Opus payloads, in this order."""
    decoder = av.CodecContext.create("libopus", "r")
    decoder.sample_rate = SAMPLE_RATE
    decoder.layout = "mono"
    samples: list[int] = []
    for payload in payloads:
        for frame in decoder.decode(av.Packet(payload)):
            samples.extend(memoryview(frame.planes[0])[: frame.samples * 2].cast("h"))
    return samples


def amplitude(samples: list[int], hertz: float) -> float:
    """The amplitude of the ``hertz`` tone in ``samples``, as a share of full scale."""
    step = 2 * math.cos(2 * math.pi * hertz / SAMPLE_RATE)
    before = earlier = 0.0
    for sample in samples:
        before, earlier = sample + step * before - earlier, before
    power = before * before + earlier * earlier - step * before * earlier
    return 2 * math.sqrt(max(power, 0.0)) / len(samples) / FULL_SCALE


def floats(pcm: bytes) -> list[float]:
    return list(memoryview(pcm).cast("f"))


def _sine(hertz: float, share: float, start: int, count: int) -> bytes:
    return struct.pack(
        f"<{count}h",
        *(
            round(share * FULL_SCALE * math.sin(2 * math.pi * hertz * (start + n) / SAMPLE_RATE))
            for n in range(count)
        ),
    )
