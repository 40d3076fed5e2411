"""``--demo-feed``: a synthetic hall feed that joins every room from its lobby on.

A test card naming the item, with the agenda clock and a moving bar, and a quiet tone, encoded
once per room by an ordinary aiortc publisher and handed to the relay like any other offer, so
a newcomer sees and hears something without a camera. Audio-only rooms get the tone only.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import math
import struct
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
from server.media.sdp import parse_offer
from server.media.sessions import Direction, MediaSession, Owner
from server.rooms.service import RoomService, RoomUpdate

log = logging.getLogger(__name__)

WIDTH, HEIGHT, FPS = 640, 360, 15
SAMPLE_RATE, SAMPLES = 48_000, 960  # 20 ms of mono audio
TONE_HZ = 440.0
VIDEO_CLOCK = 90_000
OWNER = Owner(
    sub="demo-feed",
    name="Demo hall feed",
    role="technician",
    jti="demo-feed",
    expires_at=datetime.max.replace(tzinfo=UTC),
)


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


class TestCard(_Paced):
    kind = "video"

    def __init__(self, item: AgendaItem, clock: Clock, zone: ZoneInfo) -> None:
        super().__init__(1 / FPS)
        self._item, self._clock, self._zone = item, clock, zone
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
        image = Image.new("RGB", (WIDTH, HEIGHT), (24, 38, 64))
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
        draw.text((24, 100), "Demo hall feed", font=self._small, fill=(200, 210, 230))
        draw.text((24, 135), _fit(self._item.title, 38), font=self._big, fill=(255, 255, 255))
        stamp = self._clock.now().astimezone(self._zone).strftime("%A %d %B %Y, %H:%M:%S")
        draw.text((24, 200), f"{stamp} ({self._zone.key})", font=self._small, fill=(230, 230, 230))
        position = (count * 8) % (WIDTH + 80) - 80
        draw.rectangle([position, 300, position + 80, 330], fill=(240, 180, 40))
        return image


class Tone(_Paced):
    kind = "audio"

    def __init__(self) -> None:
        super().__init__(SAMPLES / SAMPLE_RATE)

    async def recv(self) -> av.AudioFrame:
        count = await self._next()
        start = count * SAMPLES
        # A quiet beep a quarter of a second long, once a second.
        samples = [
            int(3000 * math.sin(2 * math.pi * TONE_HZ * (start + n) / SAMPLE_RATE))
            if (start + n) % SAMPLE_RATE < SAMPLE_RATE // 4
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
        self._feeds: dict[str, tuple[RTCPeerConnection, MediaSession]] = {}

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
        pc = RTCPeerConnection()
        pc.addTrack(Tone())
        if not item.audio_only:
            pc.addTrack(TestCard(item, self._rooms.clock, self._rooms.timetable.zone))
        addresses = self._relay.settings.ice_addresses or ("127.0.0.1",)
        restrict_ice(pc, addresses)
        await pc.setLocalDescription(await pc.createOffer())
        # Its candidates are on this machine, which an offer from outside may name only when
        # they are on loopback and the relay announces loopback only: so they are here.
        on_loopback = all(ip_address(address).is_loopback for address in addresses)
        offer = parse_offer(
            pc.localDescription.sdp.encode(), Direction.PUBLISH, loopback_only=on_loopback
        )
        session = await self._relay.publish(room, item.audio_only, OWNER, offer)
        await pc.setRemoteDescription(RTCSessionDescription(session.answer, "answer"))
        self._feeds[room] = (pc, session)
        session.on_close(lambda _closed: self._forget(room))
        log.info("demo feed publishing into %s", room)

    async def stop(self, room: str) -> None:
        feed = self._feeds.pop(room, None)
        if feed is not None:
            pc, session = feed
            await session.close("the demo feed stopped")
            await pc.close()

    async def close(self) -> None:
        for room in list(self._feeds):
            await self.stop(room)

    async def _forget(self, room: str) -> None:
        feed = self._feeds.pop(room, None)
        if feed is not None:
            await feed[0].close()


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
