"""Summing the sources' PCM and the level of the sum (server/media/mixdown.py): a plain sum,
clipped to int16, for any number of sources."""

from __future__ import annotations

import math
import struct

import av
import pytest

from server.media.mix_input import FRAME_SAMPLES
from server.media.mixdown import Mixdown, audio_level


def constant(value: float) -> bytes:
    return struct.pack("<f", value) * FRAME_SAMPLES


def samples(frame: av.AudioFrame) -> list[int]:
    assert (frame.format.name, frame.layout.name, frame.samples) == ("s16", "mono", FRAME_SAMPLES)
    return list(memoryview(frame.planes[0])[: FRAME_SAMPLES * 2].cast("h"))


def int16(values: list[int]) -> av.AudioFrame:
    frame = av.AudioFrame(format="s16", layout="mono", samples=len(values))
    frame.planes[0].update(struct.pack(f"<{len(values)}h", *values))
    return frame


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0.25, 0.25], 16384),  # summed, not averaged
        ([0.1] * 6, round(0.6 * 32768)),
        ([0.5, -0.5, 0.125], 4096),
        ([0.75, 0.75], 32767),  # clipped, not wrapped round
        ([-0.75, -0.75], -32768),
        ([0.9] * 6, 32767),
    ],
)
def test_frames_are_summed_and_clipped(values: list[float], expected: int) -> None:
    summed = Mixdown().sum([constant(value) for value in values], pts=0)
    assert set(samples(summed)) == {expected}


def test_sources_joining_and_leaving_change_the_sum_at_once() -> None:
    mixdown = Mixdown()
    counts = [1, 3, 3, 2, 0, 1]
    sums = [
        set(samples(mixdown.sum([constant(0.125)] * count, pts=index * FRAME_SAMPLES)))
        for index, count in enumerate(counts)
    ]
    assert sums == [{count * 4096} for count in counts]


@pytest.mark.parametrize(
    ("values", "level"),
    [
        ([0] * 960, 127),  # silence
        ([32767, -32767] * 480, 0),  # full scale
        ([round(3277 * math.sin(n / 7)) for n in range(960)], 23),  # a sine of -20 dBFS
        ([1] + [0] * 959, 120),
    ],
)
def test_audio_level_is_minus_dbov(values: list[int], level: int) -> None:
    assert audio_level(int16(values)) == level
