"""The programme mix: the sound of several sources as one Opus stream, for plain WHEP players.

A player with one audio m-line (OBS, GStreamer's whepsrc) cannot take each on-stage source on
a slot of its own, so the relay feeds it one stream that mixes them. The relay keeps one
``ProgrammeMix`` per room and distinct set of sources mixed (a player whose subject publishes
hears everyone but itself) and hands it every Opus packet of those sources (``push``). Every
20 ms the mix takes the next 20 ms of each source from its jitter buffer (mix_input.py), sums
them (mixdown.py), encodes the sum once and emits one packet, which the relay forwards to each
of its players as it forwards any publisher's. Nothing here is done per viewer.

The packets it emits form a stream of its own: one random SSRC, sequence numbers one apart,
timestamps 960 apart from a random start, and the RFC 6464 audio level of the mix.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import secrets
import time
from collections.abc import Awaitable, Callable

import av
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from server.background import BackgroundTask
from server.media.mix_input import FRAME_SAMPLES, SAMPLE_RATE, MixCounters, MixInput
from server.media.mixdown import Mixdown, audio_level

log = logging.getLogger(__name__)

PAYLOAD_TYPE = 111  # the relay rewrites it for each viewer anyway
OPUS = RTCRtpCodecParameters(
    mimeType="audio/opus", clockRate=48000, channels=2, payloadType=PAYLOAD_TYPE
)
FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE
BITRATE = 64_000  # mono: speech, and the hall's applause and music between
MAX_CATCH_UP_FRAMES = 5  # a loop held up longer skips frames rather than send them in a burst
VOICE_LEVEL = 50  # louder than -50 dBov: the V flag of RFC 6464 is set

Emit = Callable[[RtpPacket, RTCRtpCodecParameters], Awaitable[None]]


class ProgrammeMix:
    """One Opus stream mixed from the Opus streams of several sources."""

    def __init__(self, emit: Emit, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._emit = emit
        self._pacer = Pacer(clock)
        self.counters = MixCounters()
        self._inputs: dict[str, MixInput] = {}
        self._mixdown = Mixdown()
        self._encoder = opus_encoder()
        self._ssrc = 1 + secrets.randbelow(0xFFFFFFFF)  # never 0, which some stacks refuse
        self._sequence = secrets.randbits(16)
        self._timestamp = secrets.randbits(32)
        self._made = 0  # frames mixed: the encoder's clock
        self._logged: set[type[Exception]] = set()
        self._task = BackgroundTask("programme mix", self._run)
        self._closed = False

    @property
    def sources(self) -> frozenset[str]:
        """Those it mixes: every source pushed and not forgotten since."""
        return frozenset(self._inputs)

    @property
    def running(self) -> bool:
        """Whether its task is ticking (``start``, not yet ``close``)."""
        return self._task.running

    def buffered(self, source: str) -> int:
        """Samples of ``source`` waiting to be mixed, decoded or not; 0 for one not mixed."""
        found = self._inputs.get(source)
        return 0 if found is None else found.buffered

    def push(self, source: str, packet: RtpPacket) -> None:
        """An Opus RTP packet (48 kHz RTP clock, as aiortc's RTCRtpReceiver hands it, payload
        one Opus packet) of source ``source``, which joins the mix if it is new."""
        if self._closed:
            return
        found = self._inputs.get(source)
        if found is None:
            found = self._inputs[source] = MixInput(self.counters)
        found.add(packet)

    def forget(self, source: str) -> None:
        """The source left the mix: its buffer and decoder go."""
        self._inputs.pop(source, None)

    async def tick(self) -> None:
        """Mixes the next 20 ms from what each source has buffered, encodes it and emits it."""
        if self._closed:
            return
        # The frame's 20 ms are taken first, so that a frame that fails leaves its gap in
        # the timestamps, as a lost one does, and the next comes in its own time.
        timestamp, pts = self._timestamp, self._made * FRAME_SAMPLES
        self._timestamp = (timestamp + FRAME_SAMPLES) & 0xFFFFFFFF
        self._made += 1
        mixed = self._mixdown.sum([found.take() for found in self._inputs.values()], pts)
        level = audio_level(mixed)
        mixed.pts = pts  # the encoder's own count, whatever the graph made of it
        for encoded in self._encoder.encode(mixed):
            await self._emit(self._packet(bytes(encoded), timestamp, level), OPUS)

    def start(self) -> None:
        """Ticks every 20 ms from now on, in a task of its own, until ``close``."""
        if self._closed:
            raise RuntimeError("a closed programme mix does not start again")
        self._task.start()

    async def close(self) -> None:
        self._closed = True
        await self._task.stop()
        self._inputs.clear()

    def _packet(self, payload: bytes, timestamp: int, level: int) -> RtpPacket:
        packet = RtpPacket(
            payload_type=PAYLOAD_TYPE,
            marker=1 if self.counters.frames == 0 else 0,  # RFC 7587: a talkspurt begins
            sequence_number=self._sequence,
            timestamp=timestamp,
            ssrc=self._ssrc,
            payload=payload,
        )
        packet.extensions.audio_level = (level <= VOICE_LEVEL, level)
        self._sequence = (self._sequence + 1) & 0xFFFF
        self.counters.frames += 1
        return packet

    async def _run(self) -> None:
        self._pacer.begin()
        while True:
            await self._tick_counted()
            skipped = self._pacer.advance()
            if skipped:
                self.counters.skipped_frames += skipped
                self._timestamp = (self._timestamp + skipped * FRAME_SAMPLES) & 0xFFFFFFFF
            await asyncio.sleep(self._pacer.wait())

    async def _tick_counted(self) -> None:
        """A tick whose failure is counted, and logged once per type, and the mix goes on."""
        try:
            await self.tick()
        except Exception as error:
            self.counters.failures += 1
            if type(error) not in self._logged:
                self._logged.add(type(error))
                log.error(
                    "the programme mix failed a frame; it goes on, and further %s are counted",
                    type(error).__name__,
                    exc_info=error,
                )


class Pacer:
    """When the next frame is due: at fixed steps of 20 ms from the first, so that the time
    taken making frames never adds up into drift; after a hold-up the frames missed are made
    at once, up to MAX_CATCH_UP_FRAMES of them, and any more are skipped."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._due = 0.0

    def begin(self) -> None:
        self._due = self._clock()

    def advance(self) -> int:
        """One frame was made: moves on to the next; returns how many frames to skip."""
        self._due += FRAME_SECONDS
        behind = int((self._clock() - self._due) / FRAME_SECONDS)
        skipped = max(0, behind - MAX_CATCH_UP_FRAMES)
        self._due += skipped * FRAME_SECONDS
        return skipped

    def wait(self) -> float:
        """Seconds until the next frame is due; 0 if it is due already."""
        return max(0.0, self._due - self._clock())


def opus_encoder() -> av.AudioCodecContext:
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate = SAMPLE_RATE
    encoder.layout = "mono"
    encoder.format = "s16"
    encoder.bit_rate = BITRATE
    encoder.time_base = fractions.Fraction(1, SAMPLE_RATE)
    encoder.options = {"application": "audio"}
    return encoder
