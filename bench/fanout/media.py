"""The published media of the fan-out bench: VP8 and Opus encoded once, looped at their pace.

``MediaSpec`` says what one publisher sends; the default is the single-source bench's stream
(640x360, about 1 Mbps, a tone). The stage's hall and panelists (``STAGE``) differ in size,
bitrate and sound, so that no two publishers ever send the same payload: a viewer tells them
apart by a hash of what it receives.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time
import zlib
from array import array
from dataclasses import asdict, dataclass
from typing import Any

import av
import av.filter
from aiortc.mediastreams import MediaStreamTrack
from av.stream import Stream

WIDTH, HEIGHT, FPS = 640, 360, 30
VIDEO_BITRATE = 1_000_000
AUDIO_BITRATE = 48_000
AUDIO_RATE, AUDIO_SAMPLES = 48_000, 960  # 20 ms packets
TONE, QUIET = 8000, 0  # the tone's amplitude; 0: noise alone, far below speech
Reply = dict[str, Any]


@dataclass(frozen=True)
class MediaSpec:
    """One publisher's stream. ``gap_seconds``: the loop begins with that much near-silence
    before the tone, so the tone's onset, once a loop, can be found in a mix; ``noise_shift``
    sets how loud the noise is (right shift of a 31-bit random number: 21 gives up to 1023)."""

    width: int = WIDTH
    height: int = HEIGHT
    video_bitrate: int = VIDEO_BITRATE
    mirrored: bool = False  # the test pattern flipped: another picture at the same size
    tone_hz: float = 440.0
    amplitude: int = TONE
    gap_seconds: float = 0.0
    noise_shift: int = 21
    noise_seed: int = 1

    def describe(self) -> Reply:
        return asdict(self)


# The stage of issue 14: the hall encoder and two remote panelists (webcams, listening).
HALL = MediaSpec(1280, 720, 2_500_000, tone_hz=330.0, gap_seconds=0.4, noise_shift=25, noise_seed=7)
PANELIST_1 = MediaSpec(640, 360, 600_000, amplitude=QUIET, noise_shift=27, noise_seed=11)
PANELIST_2 = MediaSpec(
    640, 360, 600_000, mirrored=True, amplitude=QUIET, noise_shift=27, noise_seed=13
)
STAGE = {"hall": HALL, "panelist-1": PANELIST_1, "panelist-2": PANELIST_2}


def encode_video_loop(seconds: int, spec: MediaSpec = MediaSpec()) -> list[bytes]:
    """``seconds`` of a moving test pattern as VP8 at the spec's bitrate; one keyframe, first."""
    graph = av.filter.Graph()
    pattern = graph.add("testsrc2", f"size={spec.width}x{spec.height}:rate={FPS}")
    last = pattern
    if spec.mirrored:
        last = graph.add("hflip")
        pattern.link_to(last)
    planar = graph.add("format", "yuv420p")
    sink = graph.add("buffersink")
    last.link_to(planar)
    planar.link_to(sink)
    graph.configure()
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = spec.width, spec.height, "yuv420p"
    encoder.time_base = fractions.Fraction(1, FPS)
    encoder.framerate = fractions.Fraction(FPS)
    encoder.bit_rate = spec.video_bitrate
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


def encode_audio_loop(seconds: int, spec: MediaSpec = MediaSpec()) -> list[bytes]:
    """``seconds`` of a tone with a little noise as 20 ms Opus packets, no two alike; after
    ``gap_seconds`` of noise alone, if the spec asks for a gap."""
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = AUDIO_RATE, "stereo", "s16"
    encoder.bit_rate = AUDIO_BITRATE
    encoder.time_base = fractions.Fraction(1, AUDIO_RATE)
    noise, packets = spec.noise_seed, []
    gap = round(spec.gap_seconds * AUDIO_RATE)
    for index in range(seconds * AUDIO_RATE // AUDIO_SAMPLES):
        samples = array("h")
        for n in range(index * AUDIO_SAMPLES, (index + 1) * AUDIO_SAMPLES):
            noise = (noise * 1103515245 + 12345) & 0x7FFFFFFF
            tone = spec.amplitude * math.sin(2 * math.pi * spec.tone_hz * n / AUDIO_RATE)
            value = (int(tone) if n >= gap else 0) + (noise >> spec.noise_shift)
            samples.extend((value, value))
        frame = av.AudioFrame(format="s16", layout="stereo", samples=AUDIO_SAMPLES)
        frame.planes[0].update(samples.tobytes())
        frame.sample_rate, frame.pts = AUDIO_RATE, index * AUDIO_SAMPLES
        frame.time_base = encoder.time_base
        packets += encoder.encode(frame)
    return [bytes(packet) for packet in packets]


def payload_key_of(payload: bytes) -> int:
    """The key ``tap.payload_key`` gives an RTP packet carrying ``payload``."""
    return zlib.crc32(payload) | len(payload) << 32


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
    spec: MediaSpec = MediaSpec()

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
            "spec": self.spec.describe(),
            "onset_key": self.onset_key(),
        }

    def onset_key(self) -> int | None:
        """The payload key of the audio packet in which the tone starts, if it has a gap."""
        if not self.spec.gap_seconds or not self.spec.amplitude:
            return None
        index = round(self.spec.gap_seconds * AUDIO_RATE) // AUDIO_SAMPLES
        return payload_key_of(self.audio[index])
