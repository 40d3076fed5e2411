"""``--demo-feed``: a synthetic hall feed, and a remote panelist, in every room from its lobby on.

The hall: a test card naming the item, with the agenda clock and a moving bar, and a quiet
beep, on stage as a hall encoder is. The remote panelist: a card of its own and a tone in
phrases (so the speaking outline comes and goes), waiting backstage for a technician to bring
it on, so a newcomer sees the stage change without a camera. Each is encoded once per room by
an ordinary aiortc publisher and handed to the relay like any other offer. Audio-only rooms
get the hall's beep only.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import ip_address
from zoneinfo import ZoneInfo

import av
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from PIL import Image, ImageDraw, ImageFont

from scheduler.clock import Clock
from scheduler.timetable import AgendaItem, RoomState
from server.media.aiortc_internals.ice import restrict_ice
from server.media.relay import Relay
from server.media.room_media import RoomSpec
from server.media.sdp import parse_offer
from server.media.sessions import Direction, MediaSession, Owner
from server.rooms.service import RoomService, RoomUpdate

log = logging.getLogger(__name__)

WIDTH, HEIGHT, FPS = 640, 360, 15
SAMPLE_RATE, SAMPLES = 48_000, 960  # 20 ms of mono audio
TONE_HZ = 440.0
VIDEO_CLOCK = 90_000
PANELIST_TONE_HZ = 660.0
PHRASE_SECONDS = 2  # the panelist's tone: this long on, as long off
NEVER = datetime.max.replace(tzinfo=UTC)
OWNER = Owner(sub="demo-feed", name="Demo hall feed", role="technician", jti="demo-feed",
              expires_at=NEVER)  # fmt: skip
PANELIST = Owner(sub="demo-panelist", name="Demo remote panelist", role="speaker",
                 jti="demo-panelist", expires_at=NEVER)  # fmt: skip


class _Paced(MediaStreamTrack):
    """Yields at a steady rate against the event loop's clock."""

    def __init__(self, period: float) -> None:
        super().__init__()
        self._period = period
        self._count = 0
        self._start: float | None = None

    async def _next(self) -> int:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        self._count += 1
        await asyncio.sleep(max(0.0, self._start + self._count * self._period - loop.time()))
        return self._count


@dataclass(frozen=True)
class Look:
    """What tells the demo's sources apart on screen."""

    label: str
    background: tuple[int, int, int]
    bar: tuple[int, int, int]


HALL_LOOK = Look("Demo hall feed", (24, 38, 64), (240, 180, 40))
PANELIST_LOOK = Look("Demo remote panelist, at home", (58, 30, 60), (90, 200, 140))


class TestCard(_Paced):
    kind = "video"

    def __init__(
        self, item: AgendaItem, clock: Clock, zone: ZoneInfo, look: Look = HALL_LOOK
    ) -> None:
        super().__init__(1 / FPS)
        self._item, self._clock, self._zone, self._look = item, clock, zone, look
        self._big = ImageFont.load_default(size=30)
        self._small = ImageFont.load_default(size=20)

    async def recv(self) -> av.VideoFrame:
        count = await self._next()
        frame: av.VideoFrame = av.VideoFrame.from_image(  # type: ignore[no-untyped-call]
            self._draw(count)
        )
        frame.pts = count * VIDEO_CLOCK // FPS
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        return frame

    def _draw(self, count: int) -> Image.Image:
        image = Image.new("RGB", (WIDTH, HEIGHT), self._look.background)
        draw = ImageDraw.Draw(image)
        bars = [
            (192, 192, 192),
            (192, 192, 0),
            (0, 192, 192),
            (0, 192, 0),
            (192, 0, 192),
            (192, 0, 0),
            (0, 0, 192),
        ]
        width = WIDTH // len(bars)
        for index, colour in enumerate(bars):
            draw.rectangle([index * width, 0, (index + 1) * width, 70], fill=colour)
        draw.text((24, 100), self._look.label, font=self._small, fill=(200, 210, 230))
        draw.text((24, 135), _fit(self._item.title, 38), font=self._big, fill=(255, 255, 255))
        stamp = self._clock.now().astimezone(self._zone).strftime("%A %d %B %Y, %H:%M:%S")
        draw.text((24, 200), f"{stamp} ({self._zone.key})", font=self._small, fill=(230, 230, 230))
        position = (count * 8) % (WIDTH + 80) - 80
        draw.rectangle([position, 300, position + 80, 330], fill=self._look.bar)
        return image


class Tone(_Paced):
    """A quiet tone: by default a beep a quarter of a second long, once a second; with
    ``phrases``, on for ``PHRASE_SECONDS`` and off as long, like someone speaking."""

    kind = "audio"

    def __init__(self, hz: float = TONE_HZ, phrases: bool = False) -> None:
        super().__init__(SAMPLES / SAMPLE_RATE)
        self._hz, self._phrases = hz, phrases

    def _sounding(self, sample: int) -> bool:
        if self._phrases:
            return (sample // SAMPLE_RATE) % (2 * PHRASE_SECONDS) < PHRASE_SECONDS
        return sample % SAMPLE_RATE < SAMPLE_RATE // 4

    async def recv(self) -> av.AudioFrame:
        count = await self._next()
        start = count * SAMPLES
        samples = [
            int(3000 * math.sin(2 * math.pi * self._hz * (start + n) / SAMPLE_RATE))
            if self._sounding(start + n)
            else 0
            for n in range(SAMPLES)
        ]
        frame = av.AudioFrame(format="s16", layout="mono", samples=SAMPLES)
        frame.planes[0].update(struct.pack(f"<{SAMPLES}h", *samples))
        frame.sample_rate = SAMPLE_RATE
        frame.pts = start
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        return frame


class DemoFeed:
    def __init__(self, relay: Relay, rooms: RoomService) -> None:
        self._relay = relay
        self._rooms = rooms
        self._feeds: dict[str, list[tuple[RTCPeerConnection, MediaSession]]] = {}

    async def on_room_update(self, update: RoomUpdate) -> None:
        for room in update.rooms:
            state = self._rooms.state(room)
            if state in (RoomState.LOBBY, RoomState.LIVE) and room not in self._feeds:
                await self.start(room)
            elif state is RoomState.ENDED and room in self._feeds:
                await self.stop(room)

    async def start_open_rooms(self) -> None:
        for item in self._rooms.timetable.rooms:
            if self._rooms.state(item.id) in (RoomState.LOBBY, RoomState.LIVE):
                await self.start(item.id)

    async def start(self, room: str) -> None:
        item = self._rooms.room(room)
        clock, zone = self._rooms.clock, self._rooms.timetable.zone
        self._feeds[room] = []
        if item.audio_only:
            await self._publish(item, OWNER, [Tone()])
            return
        await self._publish(item, OWNER, [Tone(), TestCard(item, clock, zone)])
        panelist = [
            Tone(PANELIST_TONE_HZ, phrases=True),
            TestCard(item, clock, zone, PANELIST_LOOK),
        ]
        await self._publish(item, PANELIST, panelist)
        log.info("demo feed publishing into %s", room)

    async def _publish(
        self, item: AgendaItem, owner: Owner, tracks: Sequence[MediaStreamTrack]
    ) -> None:
        room = item.id
        pc = RTCPeerConnection()
        for track in tracks:
            pc.addTrack(track)
        addresses = self._relay.settings.ice_addresses or ("127.0.0.1",)
        restrict_ice(pc, addresses)
        await pc.setLocalDescription(await pc.createOffer())
        # Its candidates are on this machine, which an offer from outside may name only when
        # they are on loopback and the relay announces loopback only: so they are here.
        on_loopback = all(ip_address(address).is_loopback for address in addresses)
        offer = parse_offer(
            pc.localDescription.sdp.encode(), Direction.PUBLISH, loopback_only=on_loopback
        )
        spec = RoomSpec(room, item.audio_only, item.auto_stage)
        session = await self._relay.publish(spec, owner, offer)
        await pc.setRemoteDescription(RTCSessionDescription(session.answer, "answer"))
        self._feeds.setdefault(room, []).append((pc, session))
        session.on_close(lambda closed: self._forget(room, closed))

    async def stop(self, room: str) -> None:
        for pc, session in self._feeds.pop(room, []):
            await session.close("the demo feed stopped")
            await pc.close()

    async def close(self) -> None:
        for room in list(self._feeds):
            await self.stop(room)

    async def _forget(self, room: str, closed: MediaSession) -> None:
        feeds = self._feeds.get(room, [])
        for pc, session in list(feeds):
            if session is closed:
                feeds.remove((pc, session))
                await pc.close()
        if not feeds:
            self._feeds.pop(room, None)


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
