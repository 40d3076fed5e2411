"""The programme mix's cost: CPU per second of mixed audio for 1, 2, 3 and 6 sources.

In this process, no server and no network: ``ProgrammeMix`` (server/media/mixer.py) is fed
pre-encoded Opus packets, one per source per frame, and ticked as fast as it goes, which is
what the relay does with it, only not spread over real time. Measured beside it, in the same
run and on the same packets:

- ``decode`` and ``encode``: libopus alone, as the mix calls it (each source's packets decoded;
  the mixed frames encoded), the work no mix can avoid;
- ``rest``: the mix minus those two: buffering, summing, the level, the packets;
- ``forward``: parsing and serialising the same packets undecoded (aiortc's ``RtpPacket``):
  what the relay's Python does with a packet before the C loop sends it;
- ``sum: amix`` and ``sum: Python``: summing the decoded frames with FFmpeg's amix, as the mix
  does, and in Python per sample with clipping, the way not taken;
- ``new graph``: the CPU spent once when a source joins or leaves (the summing graph is made
  anew).

Each figure is the median over ``--rounds`` rounds, the steps of a round interleaved.

    .venv/bin/python -m bench.mix
    .venv/bin/python -m bench.mix --seconds 30 --rounds 5 --core 1
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import time
from array import array
from collections.abc import Callable, Coroutine
from typing import Any

import av
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from bench.mix.sources import source_packets
from server.media.mix_input import FRAME_SAMPLES, opus_decoder
from server.media.mixdown import Mixdown
from server.media.mixer import ProgrammeMix, opus_encoder

FRAMES_PER_SECOND = 50
PYTHON_SUM_FRAMES = 100  # the slow way, timed on fewer frames
COLUMNS = ("mix", "decode", "encode", "rest", "forward", "sum: amix", "sum: Python")


def cpu_ms(work: Callable[[], object]) -> float:
    gc.collect()
    began = time.process_time()
    work()
    return (time.process_time() - began) * 1000


async def cpu_ms_async(work: Callable[[], Coroutine[Any, Any, None]]) -> float:
    gc.collect()
    began = time.process_time()
    await work()
    return (time.process_time() - began) * 1000


class Step:
    """Every measurement for one number of sources, on the same packets."""

    def __init__(self, streams: list[list[RtpPacket]]) -> None:
        self.streams = streams
        self.frames = len(streams[0])
        self.decoded = [self._decode(stream) for stream in streams]
        mixdown = Mixdown()
        self.mixed = [
            mixdown.sum([pcm[index] for pcm in self.decoded], index * FRAME_SAMPLES)
            for index in range(self.frames)
        ]

    async def measure(self) -> dict[str, float]:
        """CPU ms per second of audio, and ``new graph`` in ms once."""
        seconds = self.frames / FRAMES_PER_SECOND
        figures = {
            "mix": await self._mix() / seconds,
            "decode": cpu_ms(lambda: [self._decode(stream) for stream in self.streams]) / seconds,
            "encode": cpu_ms(self._encode) / seconds,
            "forward": cpu_ms(self._forward) / seconds,
            "sum: amix": cpu_ms(self._sum_amix) / seconds,
            "sum: Python": cpu_ms(self._sum_python) / (PYTHON_SUM_FRAMES / FRAMES_PER_SECOND),
            "new graph": cpu_ms(self._new_graph),
        }
        figures["rest"] = figures["mix"] - figures["decode"] - figures["encode"]
        return figures

    async def _mix(self) -> float:
        async def emit(packet: RtpPacket, codec: RTCRtpCodecParameters) -> None:
            pass

        mix = ProgrammeMix(emit)
        names = [f"source-{index}" for index in range(len(self.streams))]
        for name, stream in zip(names, self.streams, strict=True):
            mix.push(name, stream[0])
        await mix.tick()  # the first frame makes the summing graph: timed apart (new graph)

        async def frames() -> None:
            for index in range(1, self.frames):
                for name, stream in zip(names, self.streams, strict=True):
                    mix.push(name, stream[index])
                await mix.tick()

        spent = await cpu_ms_async(frames)
        await mix.close()
        return spent * self.frames / (self.frames - 1)

    @staticmethod
    def _decode(stream: list[RtpPacket]) -> list[bytes]:
        decoder = opus_decoder()
        pcm = []
        for packet in stream:
            (frame,) = decoder.decode(av.Packet(packet.payload))
            pcm.append(bytes(memoryview(frame.planes[0])[: frame.samples * 4]))
        return pcm

    def _encode(self) -> None:
        encoder = opus_encoder()
        for index, frame in enumerate(self.mixed):
            frame.pts = index * FRAME_SAMPLES
            encoder.encode(frame)

    def _forward(self) -> None:
        for stream in self.streams:
            for packet in stream:
                RtpPacket.parse(packet.serialize())

    def _sum_amix(self) -> None:
        mixdown = Mixdown()
        mixdown.sum([pcm[0] for pcm in self.decoded], 0)
        for index in range(1, self.frames):
            mixdown.sum([pcm[index] for pcm in self.decoded], index * FRAME_SAMPLES)

    def _sum_python(self) -> None:
        for index in range(PYTHON_SUM_FRAMES):
            sources = [memoryview(pcm[index]).cast("f") for pcm in self.decoded]
            summed = [round(sum(values) * 32768) for values in zip(*sources, strict=True)]
            array("h", [max(-32768, min(32767, value)) for value in summed]).tobytes()

    def _new_graph(self) -> None:
        Mixdown().sum([pcm[0] for pcm in self.decoded], 0)


async def run(counts: list[int], seconds: float, rounds: int) -> dict[int, list[dict[str, float]]]:
    frames = max(PYTHON_SUM_FRAMES, round(seconds * FRAMES_PER_SECOND))
    packets = [source_packets(index, frames) for index in range(max(counts))]
    steps = {count: Step(packets[:count]) for count in counts}
    results: dict[int, list[dict[str, float]]] = {count: [] for count in counts}
    for _ in range(rounds):
        for count in counts:
            results[count].append(await steps[count].measure())
    return results


def report(results: dict[int, list[dict[str, float]]], seconds: float, rounds: int) -> None:
    print(
        f"CPU in ms per second of audio: median of {rounds} rounds of {seconds:g} s "
        f"(libavcodec {'.'.join(map(str, av.library_versions['libavcodec']))})"
    )
    header = ["sources", *COLUMNS, "new graph ms"]
    widths = [max(7, len(name)) for name in header]
    print("  ".join(name.rjust(width) for name, width in zip(header, widths, strict=True)))
    for count, measured in results.items():
        medians = [statistics.median(each[name] for each in measured) for name in COLUMNS]
        medians.append(statistics.median(each["new graph"] for each in measured))
        cells = [str(count), *(f"{value:.2f}" for value in medians)]
        print("  ".join(cell.rjust(width) for cell, width in zip(cells, widths, strict=True)))
    largest = max(results)
    mix = statistics.median(each["mix"] for each in results[largest])
    print(
        f"A room mixing {largest} sources keeps {mix / 10:.1f}% of a core busy, "
        f"for every player of that mix together."
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.mix",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sources", default="1,2,3,6", help="the steps: sources mixed")
    parser.add_argument("--seconds", type=float, default=5.0, help="audio per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--core", type=int, help="pin the bench to this core")
    args = parser.parse_args(argv)
    if args.core is not None:
        os.sched_setaffinity(0, {args.core})
    counts = [int(count) for count in args.sources.split(",")]
    results = asyncio.run(run(counts, args.seconds, args.rounds))
    report(results, args.seconds, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
