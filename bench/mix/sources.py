"""The sources of the programme-mix bench: each a tone of its own with a little noise, at a
browser microphone's level, as 20 ms Opus packets of 32 kbps mono (Chrome's default), encoded
once before anything is measured."""

from __future__ import annotations

import fractions
import math
from array import array

import av
from aiortc.rtp import RtpPacket

RATE, SAMPLES = 48_000, 960
BITRATE = 32_000
LEVEL = 3000  # about -20 dBFS: a voice after a browser's automatic gain control


def source_packets(index: int, frames: int) -> list[RtpPacket]:
    """``frames`` packets of source ``index`` (its own tone, SSRC and noise)."""
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = RATE, "mono", "s16"
    encoder.bit_rate = BITRATE
    encoder.time_base = fractions.Fraction(1, RATE)
    hertz = 220 * (index + 2)
    noise = index + 1
    packets: list[RtpPacket] = []
    for frame_index in range(frames):
        samples = array("h")
        for n in range(frame_index * SAMPLES, (frame_index + 1) * SAMPLES):
            noise = (noise * 1103515245 + 12345) & 0x7FFFFFFF
            samples.append(int(LEVEL * math.sin(2 * math.pi * hertz * n / RATE)) + (noise >> 22))
        frame = av.AudioFrame(format="s16", layout="mono", samples=SAMPLES)
        frame.planes[0].update(samples.tobytes())
        frame.sample_rate, frame.pts = RATE, frame_index * SAMPLES
        frame.time_base = encoder.time_base
        for encoded in encoder.encode(frame):
            number = len(packets)
            packets.append(
                RtpPacket(
                    payload_type=111,
                    sequence_number=number & 0xFFFF,
                    timestamp=number * SAMPLES,
                    ssrc=1000 + index,
                    payload=bytes(encoded),
                )
            )
    return packets
