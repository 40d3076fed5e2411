"""Real aiortc peers for the media tests: a publisher with synthetic tracks and a viewer that
decodes what it receives, both talking WHIP/WHEP over HTTP and ICE on loopback only."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.codecs import is_rtx
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack
from aiortc.rtp import AnyRtcpPacket, RtcpPacket, RtpPacket

from server.media.aiortc_internals.ice import restrict_ice
from server.media.keyframes import starts_keyframe

LOOPBACK = ["127.0.0.1"]


class SignallingError(Exception):
    def __init__(self, status: int, body: Any, headers: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers


@dataclass
class Peer:
    pc: RTCPeerConnection
    base: str
    token: str
    location: str = ""
    answer: str = ""
    links: list[str] = field(default_factory=list)
    frames: dict[str, int] = field(default_factory=lambda: {"audio": 0, "video": 0})
    first_frame_at: dict[str, float] = field(default_factory=dict)
    first_video_starts_keyframe: bool | None = None
    # Host candidates on loopback only. Not for a relay-only peer, which gathers none at all:
    # restricting its gathering would add some.
    host_candidates: bool = True
    video_payload_types: set[int] = field(default_factory=set)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def signal(self, path: str) -> Peer:
        if self.host_candidates:
            restrict_ice(self.pc, LOOPBACK)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        headers = {"Content-Type": "application/sdp", "Authorization": f"Bearer {self.token}"}
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                self.base + path, data=self.pc.localDescription.sdp, headers=headers
            ) as response,
        ):
            if response.status != 201:
                body = await response.json(content_type=None)
                await self.pc.close()
                raise SignallingError(response.status, body, response.headers)
            self.answer = await response.text()
            self.location = response.headers["Location"]
            self.links = list(response.headers.getall("Link", []))
            assert response.headers["ETag"]
        await self.pc.setRemoteDescription(RTCSessionDescription(self.answer, "answer"))
        return self

    async def delete(self) -> int:
        async with (
            aiohttp.ClientSession() as http,
            http.delete(
                self.base + self.location, headers={"Authorization": f"Bearer {self.token}"}
            ) as response,
        ):
            return response.status

    async def connected(self, within: float = 10.0) -> None:
        async with asyncio.timeout(within):
            while self.pc.connectionState != "connected":
                await asyncio.sleep(0.05)

    async def until_frames(self, kind: str, count: int, within: float = 10.0) -> None:
        async with asyncio.timeout(within):
            while self.frames[kind] < count:
                await asyncio.sleep(0.02)

    def video_codecs_received(self) -> set[str]:
        """The names of the codecs whose video packets arrived, mapped through the answer."""
        video = self.answer.split("m=video", 1)[1].split("\r\nm=", 1)[0]
        names = {int(pt): name for pt, name in re.findall(r"a=rtpmap:(\d+) ([^/\s]+)/", video)}
        return {names[pt] for pt in self.video_payload_types}

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.pc.close()


async def publisher(base: str, room: str, token: str, *, video: bool = True) -> Peer:
    peer = Peer(RTCPeerConnection(), base, token)
    peer.pc.addTrack(AudioStreamTrack())
    if video:
        peer.pc.addTrack(VideoStreamTrack())
    return await peer.signal(f"/whip/{room}")


async def viewer(
    base: str,
    room: str,
    token: str,
    *,
    video: bool = True,
    rtx: bool = True,
    relay_through: list[RTCIceServer] | None = None,
) -> Peer:
    """A viewer; ``rtx=False``: one that offers no RTX, so lost video comes again as it was.
    ``relay_through``: TURN servers, the only way its media may come (relay-only ICE)."""
    if relay_through is None:
        peer = Peer(RTCPeerConnection(), base, token)
    else:
        relay_only = RTCConfiguration(
            iceServers=relay_through, iceTransportPolicy=RTCIceTransportPolicy.RELAY
        )
        peer = Peer(RTCPeerConnection(relay_only), base, token, host_candidates=False)
    loop = asyncio.get_running_loop()

    @peer.pc.on("track")
    def on_track(track: Any) -> None:
        async def pull() -> None:
            try:
                while True:
                    await track.recv()
                    peer.frames[track.kind] += 1
                    peer.first_frame_at.setdefault(track.kind, loop.time())
            except MediaStreamError:
                pass

        peer._tasks.append(asyncio.ensure_future(pull()))

    peer.pc.addTransceiver("audio", direction="recvonly")
    if video:
        transceiver = peer.pc.addTransceiver("video", direction="recvonly")
        if not rtx:
            codecs = RTCRtpReceiver.getCapabilities("video").codecs
            transceiver.setCodecPreferences([c for c in codecs if not is_rtx(c)])
        watch_for_keyframes(peer, transceiver.receiver)
    return await peer.signal(f"/whep/{room}")


def watch_for_keyframes(peer: Peer, receiver: Any) -> None:
    """Note when the first VP8 keyframe arrives: from then on the viewer can show a picture,
    however long its own decoder takes on a busy machine. And whether the first video packet
    to arrive began one. And the payload type of every video packet."""
    handle = receiver._handle_rtp_packet

    async def noting(packet: RtpPacket, arrival_time_ms: int) -> None:
        peer.video_payload_types.add(packet.payload_type)
        starts = starts_keyframe("video/vp8", packet.payload)
        if peer.first_video_starts_keyframe is None and packet.payload:
            peer.first_video_starts_keyframe = starts
        if "keyframe" not in peer.first_frame_at and starts:
            peer.first_frame_at["keyframe"] = asyncio.get_running_loop().time()
        await handle(packet, arrival_time_ms)

    receiver._handle_rtp_packet = noting


def record_rtcp(peer: Peer) -> list[tuple[float, list[AnyRtcpPacket]]]:
    """Every RTCP compound packet ``peer`` receives from now on, as (loop time, its packets),
    taken as its DTLS transport hands it on to its receivers."""
    transport = peer.pc.getTransceivers()[0].receiver.transport
    handle = transport._handle_rtcp_data
    received: list[tuple[float, list[AnyRtcpPacket]]] = []

    async def noting(data: bytes) -> None:
        received.append((asyncio.get_running_loop().time(), RtcpPacket.parse(data)))
        await handle(data)

    transport._handle_rtcp_data = noting
    return received
