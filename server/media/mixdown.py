"""Summing the sources' PCM into the programme's, and measuring how loud that is.

The sum is FFmpeg's ``amix`` with ``normalize=0``: a plain sum, in float, of one frame from
every source, converted to int16 on the way out, which clips whatever went past full scale.
Summing in C matters: in Python, per sample, six sources took 0.5 ms a frame, more than
decoding and encoding them; ``amix`` takes 0.03 ms (``bench.mix`` has the figures).

Clipping rather than a limiter or amix's own normalising: a panel mostly has one voice at a
time, at a browser's automatic gain well below full scale, so a plain sum is transparent and
leaves every voice at its own level. Normalising would divide everyone's level by the number
of sources, and a limiter would change the level of everything and add its look-ahead to the
delay, for the sake of moments when several people shout at once.
"""

from __future__ import annotations

import fractions
import math
from collections.abc import Sequence

import av

from server.media.mix_input import FRAME_SAMPLES, SAMPLE_RATE

TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
SILENCE_LEVEL = 127  # RFC 6464: -127 dBov, the quietest level there is
FULL_SCALE = 32767


class Mixdown:
    """Sums a frame from each source: as many sources as it was last given, or a graph made
    anew when that number changes (a source joins or leaves the mix)."""

    def __init__(self) -> None:
        # Kept: the filters below live in the graph, and PyAV frees them with it.
        self._graph: av.filter.Graph | None = None
        self._inputs: list[av.filter.context.FilterContext] = []
        self._output: av.filter.context.FilterContext | None = None

    def sum(self, frames: Sequence[bytes], pts: int) -> av.AudioFrame:
        """One frame of mono int16 PCM from ``frames``, each FRAME_SAMPLES of mono float32."""
        if not frames:
            return _frame(bytes(FRAME_SAMPLES * 2), "s16", pts)
        if len(frames) != len(self._inputs) or self._output is None:
            self._build(len(frames))
        assert self._output is not None
        for source, pcm in zip(self._inputs, frames, strict=True):
            source.push(_frame(pcm, "flt", pts))
        summed = self._output.pull()
        assert isinstance(summed, av.AudioFrame)
        return summed

    def _build(self, count: int) -> None:
        graph = self._graph = av.filter.Graph()
        self._inputs = [
            graph.add_abuffer(sample_rate=SAMPLE_RATE, format="flt", layout="mono", channels=1)
            for _ in range(count)
        ]
        mix = graph.add("amix", f"inputs={count}:normalize=0")
        to_int16 = graph.add("aformat", "sample_fmts=s16:channel_layouts=mono")
        self._output = graph.add("abuffersink")
        for index, source in enumerate(self._inputs):
            source.link_to(mix, 0, index)
        mix.link_to(to_int16)
        to_int16.link_to(self._output)
        graph.configure()


def audio_level(frame: av.AudioFrame) -> int:
    """RFC 6464's level of a frame of mono int16: its power in -dBov, 0 (full scale) to 127."""
    samples = memoryview(frame.planes[0])[: frame.samples * 2].cast("h")
    rms = math.hypot(*samples) / math.sqrt(len(samples)) if len(samples) else 0.0
    if rms <= 0:
        return SILENCE_LEVEL
    return min(SILENCE_LEVEL, max(0, round(-20 * math.log10(rms / FULL_SCALE))))


def _frame(pcm: bytes, sample_format: str, pts: int) -> av.AudioFrame:
    frame = av.AudioFrame(format=sample_format, layout="mono", samples=FRAME_SAMPLES)
    frame.planes[0].update(pcm)
    frame.sample_rate = SAMPLE_RATE
    frame.pts = pts
    frame.time_base = TIME_BASE
    return frame
