"""The fan-out bench's baseline server: aiortc's MediaRelay, decoding once, encoding per viewer.

Run as ``python -m bench.fanout.baseline --port P``, pinned to the server core.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from aiohttp import web
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack, convert_timebase
from av.frame import Frame

from bench.common.harness import (
    HOST,
    raise_fd_limit,
)
from bench.fanout.client import new_pc
from bench.fanout.media import VIDEO_BITRATE
from server.media.aiortc_internals.ice import restrict_ice


def keep_publisher_timestamps() -> None:
    """Let the bench match re-encoded frames to published ones, at no cost in CPU.

    A viewer's sender adds a random origin to each RTP timestamp, and aiortc's Opus encoder
    counts from its first packet: here the origin is 0 and Opus keeps the decoded frame's
    timestamp, so a viewer receives the publisher's RTP timestamps. VP8 is encoded at the
    publisher's 1 Mbps instead of aiortc's default 500 kbps (no viewer sends REMB here).
    """
    from aiortc import rtcrtpsender
    from aiortc.codecs import opus, vpx
    from aiortc.utils import random32

    def origin_zero() -> int:
        return 0 if sys._getframe(1).f_code.co_name == "_run_rtp" else random32()

    encode = opus.OpusEncoder.encode

    def encode_in_place(
        self: opus.OpusEncoder, frame: Frame, force_keyframe: bool = False
    ) -> tuple[list[bytes], int]:
        payloads, timestamp = encode(self, frame, force_keyframe)
        if not payloads:
            return payloads, timestamp  # None while the resampler fills, as aiortc's own
        assert frame.pts is not None and frame.time_base is not None  # a decoded frame's
        return payloads, convert_timebase(frame.pts, frame.time_base, opus.TIME_BASE)

    # Both are aiortc's internals, patched where its sender looks them up.
    rtcrtpsender.random32 = origin_zero  # type: ignore[attr-defined]
    opus.OpusEncoder.encode = encode_in_place  # type: ignore[method-assign]
    vpx.DEFAULT_BITRATE = VIDEO_BITRATE


class MediaRelayServer:
    """WHIP in, WHEP out, as aiortc's examples relay: ``relay.subscribe(track)`` per viewer."""

    def __init__(self) -> None:
        self.relay = MediaRelay()
        self.sources: dict[str, MediaStreamTrack] = {}
        self.sessions: dict[str, RTCPeerConnection] = {}
        self.drains: list[asyncio.Task[None]] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_post("/whip/{room}", self.whip)
        app.router.add_post("/whep/{room}", self.whep)
        app.router.add_delete("/{endpoint}/{room}/{session}", self.end)
        app.on_shutdown.append(self.close)
        return app

    async def healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def whip(self, request: web.Request) -> web.Response:
        pc = new_pc()

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind not in self.sources:
                self.sources[track.kind] = track
                # One consumer from the start, as a server that records or monitors would have.
                self.drains.append(asyncio.ensure_future(_drain(self.relay.subscribe(track))))

        await pc.setRemoteDescription(RTCSessionDescription(await request.text(), "offer"))
        return await self._answer(request, pc)

    async def whep(self, request: web.Request) -> web.Response:
        if not self.sources:
            raise web.HTTPConflict(text="nobody is publishing")
        pc = new_pc()
        await pc.setRemoteDescription(RTCSessionDescription(await request.text(), "offer"))
        for transceiver in pc.getTransceivers():
            source = self.sources.get(transceiver.kind)
            if source is not None:
                pc.addTrack(self.relay.subscribe(source))
        return await self._answer(request, pc)

    async def _answer(self, request: web.Request, pc: RTCPeerConnection) -> web.Response:
        restrict_ice(pc, [HOST])
        await pc.setLocalDescription(await pc.createAnswer())
        session = f"s{len(self.sessions)}"
        self.sessions[session] = pc

        @pc.on("connectionstatechange")
        async def changed() -> None:
            if pc.connectionState in ("failed", "closed"):
                self.sessions.pop(session, None)
                await pc.close()

        response = web.Response(status=201, text=pc.localDescription.sdp)
        response.content_type = "application/sdp"
        response.headers["Location"] = f"{request.path}/{session}"
        return response

    async def end(self, request: web.Request) -> web.Response:
        pc = self.sessions.pop(request.match_info["session"], None)
        if pc is None:
            raise web.HTTPNotFound()
        await pc.close()
        return web.Response(text="ended")

    async def close(self, _app: web.Application) -> None:
        for task in self.drains:
            task.cancel()
        for pc in list(self.sessions.values()):
            await pc.close()


async def _drain(track: MediaStreamTrack) -> None:
    with contextlib.suppress(MediaStreamError):
        while True:
            await track.recv()


def baseline_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout.baseline")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    raise_fd_limit()
    keep_publisher_timestamps()
    web.run_app(MediaRelayServer().app(), host=HOST, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    baseline_main(sys.argv[1:])
