"""The published media of the fan-out bench: VP8 and Opus encoded once, looped at their pace."""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from array import array
from dataclasses import dataclass
from typing import Any

import av
import av.filter
from aiortc.mediastreams import MediaStreamTrack
from av.stream import Stream

WIDTH, HEIGHT, FPS = 640, 360, 30
VIDEO_BITRATE = 1_000_000
AUDIO_BITRATE = 48_000
AUDIO_RATE, AUDIO_SAMPLES = 48_000, 960  # 20 ms packets
Reply = dict[str, Any]


def encode_video_loop(seconds: int) -> list[bytes]:
    """``seconds`` of a moving test pattern as VP8 at about 1 Mbps; one keyframe, first."""
    graph = av.filter.Graph()
    pattern = graph.add("testsrc2", f"size={WIDTH}x{HEIGHT}:rate={FPS}")
    planar = graph.add("format", "yuv420p")
    sink = graph.add("buffersink")
    pattern.link_to(planar)
    planar.link_to(sink)
    graph.configure()
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    encoder.time_base = fractions.Fraction(1, FPS)
    encoder.framerate = fractions.Fraction(FPS)
    encoder.bit_rate = VIDEO_BITRATE
    encoder.gop_size = seconds * FPS
    encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    packets = []
    for index in range(seconds * FPS):
        frame = sink.pull()
        assert isinstance(frame, av.VideoFrame)
        frame.pict_type = av.video.frame.PictureType.NONE  # testsrc2 marks each frame intra
        frame.pts, frame.time_base = index, encoder.time_base
        packets += encoder.encode(frame)
    packets += encoder.encode(None)
    return [bytes(packet) for packet in packets]


def encode_audio_loop(seconds: int) -> list[bytes]:
    """``seconds`` of a tone with a little noise as 20 ms Opus packets, no two alike."""
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = AUDIO_RATE, "stereo", "s16"
    encoder.bit_rate = AUDIO_BITRATE
    encoder.time_base = fractions.Fraction(1, AUDIO_RATE)
    noise, packets = 1, []
    for index in range(seconds * AUDIO_RATE // AUDIO_SAMPLES):
        samples = array("h")
        for n in range(index * AUDIO_SAMPLES, (index + 1) * AUDIO_SAMPLES):
            noise = (noise * 1103515245 + 12345) & 0x7FFFFFFF
            value = int(8000 * math.sin(2 * math.pi * 440 * n / AUDIO_RATE)) + (noise >> 21)
            samples.extend((value, value))
        frame = av.AudioFrame(format="s16", layout="stereo", samples=AUDIO_SAMPLES)
        frame.planes[0].update(samples.tobytes())
        frame.sample_rate, frame.pts = AUDIO_RATE, index * AUDIO_SAMPLES
        frame.time_base = encoder.time_base
        packets += encoder.encode(frame)
    return [bytes(packet) for packet in packets]


class LoopedTrack(MediaStreamTrack):
    """Pre-encoded packets at their real pace: aiortc packetises them without encoding."""

    def __init__(
        self, kind: str, payloads: list[bytes], interval: float, clock_rate: int, start: float
    ) -> None:
        super().__init__()
        self.kind = kind
        self._payloads = payloads
        self._interval = interval
        self._clock_rate = clock_rate
        self._time_base = fractions.Fraction(1, clock_rate)
        self._start = start
        self._sent = 0

    async def recv(self) -> av.Packet[Stream]:
        index = self._sent
        self._sent += 1
        delay = self._start + index * self._interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        packet = av.Packet(self._payloads[index % len(self._payloads)])
        packet.pts = round(index * self._interval * self._clock_rate)
        packet.time_base = self._time_base
        return packet


@dataclass(frozen=True)
class Source:
    video: list[bytes]
    audio: list[bytes]
    seconds: int

    def tracks(self) -> list[LoopedTrack]:
        start = time.perf_counter() + 0.05
        return [
            LoopedTrack("audio", self.audio, AUDIO_SAMPLES / AUDIO_RATE, AUDIO_RATE, start),
            LoopedTrack("video", self.video, 1 / FPS, 90_000, start),
        ]

    def describe(self) -> Reply:
        return {
            "video_kbps": sum(map(len, self.video)) * 8 / self.seconds / 1000,
            "audio_kbps": sum(map(len, self.audio)) * 8 / self.seconds / 1000,
            "keyframe_bytes": len(self.video[0]),
            "loop_seconds": self.seconds,
        }
