"""One source's sound on its way into the programme mix: a small jitter buffer.

``add`` runs on the media path, so it only checks the packet and files it by sequence number.
``take``, once per 20 ms frame of the mix, decodes the packets filed, in sequence order and
only as many as that frame needs, and hands back the frame as float PCM. A packet that is
still missing when its turn comes is lost: its time is silence, and it is dropped if it comes
later. A source that sends nothing (Opus DTX, a muted microphone) is silence too.

What is buffered, decoded and not, stays within about 100 ms: a burst or a source that sends
too fast loses its oldest packets, and a source whose buffer stayed fuller than it had to for
a whole second is trimmed, so that a burst does not leave it behind the others for good.
"""

from __future__ import annotations

from dataclasses import dataclass

import av
from aiortc.rtp import RtpPacket

SAMPLE_RATE = 48_000
FRAME_SAMPLES = 960  # 20 ms, one frame of the mix
SAMPLE_BYTES = 4  # mono float32
FRAME_BYTES = FRAME_SAMPLES * SAMPLE_BYTES
MAX_BUFFERED_SAMPLES = 4_800  # 100 ms
TRIM_WINDOW_FRAMES = 50  # a second of frames, over which the fewest samples left are watched
TRIM_ABOVE_SAMPLES = 1_920  # 40 ms never needed in a whole window: the buffer is trimmed...
TRIM_TO_SAMPLES = 960  # ...to leave 20 ms of cushion against jitter
MAX_MISORDER = 100  # packets (2 s of 20 ms frames) behind the newest: the stream started again
MAX_OPUS_SAMPLES = 5_760  # 120 ms, the longest an Opus packet may last (RFC 6716, 3.2.5)
# Samples per frame at 48 kHz by the top bits of the TOC byte (RFC 6716, 3.1): SILK's
# configurations 0-11 last 10, 20, 40 or 60 ms, hybrid 12-15 10 or 20 ms, CELT 16-31 2.5, 5,
# 10 or 20 ms.
_FRAME_SIZES = (480, 960, 1920, 2880) * 3 + (480, 960) * 2 + (120, 240, 480, 960) * 4


@dataclass
class MixCounters:
    """What a mix took in, and what it had to drop or make up, since it was made."""

    received: int = 0  # packets filed
    duplicates: int = 0
    late: int = 0  # came after their turn, or after a later packet was decoded
    overflowed: int = 0  # the oldest of a source's packets, dropped to stay within 100 ms
    unreadable: int = 0  # not an Opus packet, or not one the decoder could read
    restarts: int = 0  # a source's stream began again: a new SSRC, or numbers far back
    trimmed_samples: int = 0  # dropped from sources' buffers that stayed too full
    frames: int = 0  # packets of the mix emitted
    skipped_frames: int = 0  # not made at all: the event loop was held up for too long
    failures: int = 0  # frames whose making or emitting raised


@dataclass(frozen=True)
class _Filed:
    timestamp: int
    samples: int
    payload: bytes


def opus_samples(payload: bytes) -> int | None:
    """How many samples at 48 kHz an Opus packet holds, from its TOC byte; None if it is not
    an Opus packet (RFC 6716, 3.1 and 3.2.5)."""
    if not payload:
        return None
    toc = payload[0]
    code = toc & 0x3
    if code == 0:
        frames = 1
    elif code < 3:
        frames = 2
    elif len(payload) < 2:
        return None
    else:
        frames = payload[1] & 0x3F
    samples = _FRAME_SIZES[toc >> 3] * frames
    return samples if 0 < samples <= MAX_OPUS_SAMPLES else None


def opus_decoder() -> av.AudioCodecContext:
    decoder = av.CodecContext.create("libopus", "r")
    decoder.sample_rate = SAMPLE_RATE
    decoder.layout = "mono"  # libopus mixes a stereo packet down itself
    decoder.options = {"request_sample_fmt": "flt"}  # what the summing takes, unconverted
    return decoder


class MixInput:
    """One source's packets and decoded sound, waiting for the mix's next frame."""

    def __init__(self, counters: MixCounters) -> None:
        self._counters = counters
        self._pcm = bytearray()  # decoded, not yet taken
        self._low = MAX_BUFFERED_SAMPLES  # fewest samples buffered after a take, this window
        self._takes = 0
        self._ssrc: int | None = None
        self._restart(None)

    @property
    def buffered(self) -> int:
        """Samples waiting, decoded or not."""
        return len(self._pcm) // SAMPLE_BYTES + self._filed_samples

    def add(self, packet: RtpPacket) -> None:
        """Files one RTP packet whose payload is one Opus packet."""
        samples = opus_samples(packet.payload)
        if samples is None:
            self._counters.unreadable += 1
            return
        if packet.ssrc != self._ssrc:
            self._restart(packet.ssrc)
        number = self._extend(packet.sequence_number)
        if self._newest is not None and number < self._newest - MAX_MISORDER:
            self._restart(packet.ssrc)
            number = self._extend(packet.sequence_number)
        if number in self._filed or number == self._played:
            self._counters.duplicates += 1
        elif self._played is not None and number < self._played:
            self._counters.late += 1
        else:
            self._file(number, _Filed(packet.timestamp, samples, packet.payload))

    def take(self) -> bytes:
        """The next 20 ms, as mono float32 PCM; silence where there is nothing to play."""
        while len(self._pcm) < FRAME_BYTES and self._filed:
            self._decode(min(self._filed))
        frame = bytes(self._pcm[:FRAME_BYTES])
        del self._pcm[:FRAME_BYTES]
        missing = FRAME_BYTES - len(frame)
        if missing:
            self._owed += missing // SAMPLE_BYTES
            frame += bytes(missing)  # zero bytes are 0.0 in float32
        self._watch_delay()
        return frame

    def _restart(self, ssrc: int | None) -> None:
        """Forgets the stream so far (its packets not yet decoded, its numbering and the
        decoder's state); what was decoded still plays."""
        if ssrc is not None and self._ssrc is not None:
            self._counters.restarts += 1
        self._ssrc = ssrc
        self._decoder = opus_decoder()
        self._filed: dict[int, _Filed] = {}  # by extended sequence number
        self._filed_samples = 0
        self._newest: int | None = None  # the highest extended sequence number filed
        self._played: int | None = None  # the last one decoded, or given up
        self._end: int | None = None  # the RTP timestamp where what was played ends
        self._owed = 0  # samples of silence played since then, for want of anything else

    def _extend(self, sequence: int) -> int:
        """The sequence number counted on past 2^16: the one nearest the newest so far."""
        if self._newest is None:
            return sequence
        step = (sequence - self._newest) & 0xFFFF
        return self._newest + (step - 0x10000 if step >= 0x8000 else step)

    def _file(self, number: int, filed: _Filed) -> None:
        self._counters.received += 1
        self._filed[number] = filed
        self._filed_samples += filed.samples
        self._newest = number if self._newest is None else max(self._newest, number)
        while self.buffered > MAX_BUFFERED_SAMPLES and len(self._filed) > 1:
            self._counters.overflowed += 1
            self._skip(min(self._filed))

    def _skip(self, number: int) -> _Filed:
        """Takes packet ``number`` off the file as if it had been played."""
        filed = self._filed.pop(number)
        self._filed_samples -= filed.samples
        self._played = number
        self._end = (filed.timestamp + filed.samples) & 0xFFFFFFFF
        self._owed = 0
        return filed

    def _decode(self, number: int) -> None:
        end, owed = self._end, self._owed
        filed = self._skip(number)
        if end is not None:  # the time of packets lost before it, less what was silent already
            gap = ((filed.timestamp - end + 0x80000000) & 0xFFFFFFFF) - 0x80000000
            self._silence(min(gap, MAX_BUFFERED_SAMPLES) - owed)
        try:
            frames = self._decoder.decode(av.Packet(filed.payload))
        except av.FFmpegError:
            self._counters.unreadable += 1
            self._silence(filed.samples)
            return
        for frame in frames:
            self._pcm += memoryview(frame.planes[0])[: frame.samples * SAMPLE_BYTES]

    def _silence(self, samples: int) -> None:
        if samples > 0:
            self._pcm += bytes(samples * SAMPLE_BYTES)

    def _watch_delay(self) -> None:
        """Trims a buffer that held more than it needed for a whole second: left so by a
        burst, or by a source whose clock runs faster than the mix's."""
        self._low = min(self._low, self.buffered)
        self._takes += 1
        if self._takes < TRIM_WINDOW_FRAMES:
            return
        if self._low > TRIM_ABOVE_SAMPLES:
            self._trim(self._low - TRIM_TO_SAMPLES)
        self._low = MAX_BUFFERED_SAMPLES
        self._takes = 0

    def _trim(self, samples: int) -> None:
        """Drops about ``samples`` of the oldest: decoded ones first, then whole packets."""
        decoded = min(samples, len(self._pcm) // SAMPLE_BYTES)
        del self._pcm[: decoded * SAMPLE_BYTES]
        dropped = decoded
        while self._filed and dropped + self._filed[min(self._filed)].samples <= samples:
            dropped += self._skip(min(self._filed)).samples
        self._counters.trimmed_samples += dropped
