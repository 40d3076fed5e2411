"""The fan-out bench's client processes, both of this file: the publisher's (the publisher,
and the sending half of the direct pair) and the viewers' (the viewers, and the direct pair's
receiving half), each on one event loop.

Each is driven over stdin/stdout, one JSON line a request and a reply (``python -m
bench.fanout.client``), and runs pinned to the client core. The publisher's process writes
its send logs to ``SendRing`` files (ring.py); the viewers' process follows them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from bench.common.harness import (
    HOST,
    raise_fd_limit,
)
from bench.common.percentiles import histogram_summary
from bench.fanout.media import MediaSpec, Reply, Source, encode_audio_loop, encode_video_loop
from bench.fanout.ring import SendRing
from bench.fanout.stage_viewers import StageViewers
from bench.fanout.tap import (
    BIN_SECONDS,
    BINS,
    Pacer,
    PathStats,
    SendLog,
    SocketDrain,
    ViewerCounts,
    Window,
    tap_publisher,
    tap_viewer,
)
from server.media.aiortc_internals.ice import restrict_ice

ROOM = "welcome"
CONNECT_TIMEOUT = 30.0

FORGET_EVERY = 3.0  # send times are kept for 3 to 6 s
DRAIN_SECONDS = 1.0
BACKLOG_SECONDS = 10.0


@dataclass
class Peer:
    pc: RTCPeerConnection
    location: str = ""
    token: str = ""
    counts: ViewerCounts = field(default_factory=ViewerCounts)


class SignallingFailed(Exception):
    pass


def new_pc() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no STUN server: loopback only


async def connected(pc: RTCPeerConnection, within: float = CONNECT_TIMEOUT) -> None:
    async with asyncio.timeout(within):
        while pc.connectionState != "connected":
            if pc.connectionState in ("failed", "closed"):
                raise SignallingFailed(f"connection {pc.connectionState}")
            await asyncio.sleep(0.05)


class Client:
    def __init__(self) -> None:
        self.window = Window()
        self.relay_log = SendLog(self.window)
        self.direct_log = SendLog(self.window)
        self.relay_path = PathStats()
        self.direct_path = PathStats()
        self.source: Source | None = None
        self.publisher: Peer | None = None
        self.direct: list[Peer] = []
        self.viewers: list[Peer] = []
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        self.lags = [0] * (BINS + 1)
        # The viewers', and the direct pair's (for the whole run). Each reads the sends that
        # the publisher's process logged before each pass (relay_log is new each phase).
        self.drain = SocketDrain(lambda: self.relay_log.catch_up())
        self.direct_drain = SocketDrain(lambda: self.direct_log.catch_up())
        self.pacing = 0.0
        self.stage = StageViewers(self.window, self._signal, connected)
        self._forget = asyncio.ensure_future(self._forget_old())
        self._lag = asyncio.ensure_future(self._watch_lag())

    async def _forget_old(self) -> None:
        while True:
            await asyncio.sleep(FORGET_EVERY)
            self.relay_log.forget_old()
            self.direct_log.forget_old()
            self.stage.forget_old()

    async def _watch_lag(self) -> None:
        """How late this loop wakes from a 5 ms sleep: when the instrument itself stalls."""
        while True:
            due = time.perf_counter() + 0.005
            await asyncio.sleep(0.005)
            if self.window.start <= due < self.window.end:
                slot = int((time.perf_counter() - due) / BIN_SECONDS)
                self.lags[slot if slot < BINS else BINS] += 1

    async def start(self, loop_seconds: int, pacing: float, media: Reply | None = None) -> Reply:
        """The publisher's process: the media it sends (``media``: a ``MediaSpec``'s fields;
        by default the single-source stream), encoded once."""
        began = time.process_time()
        spec = MediaSpec(**media) if media else MediaSpec()
        self.source = Source(
            encode_video_loop(loop_seconds, spec),
            encode_audio_loop(loop_seconds, spec),
            loop_seconds,
            spec,
        )
        encode_cpu = time.process_time() - began
        described = self.source.describe()
        kbps = described["video_kbps"] + described["audio_kbps"]
        self.pacing = pacing * kbps * 125 if pacing > 0 else 0.0  # bytes per second
        return {**described, "encode_cpu": encode_cpu, "pacing": pacing}

    def _pacer(self) -> Pacer | None:
        return Pacer(self.pacing) if self.pacing else None

    async def direct_offer(self, ring: str) -> Reply:
        """The direct pair's sending half (the publisher's process): its offer."""
        assert self.source is not None
        sender = new_pc()
        for track in self.source.tracks():
            sender.addTrack(track)
        restrict_ice(sender, [HOST])
        await sender.setLocalDescription(await sender.createOffer())
        self.direct_log.write_to(SendRing.create(Path(ring)))
        self.direct = [Peer(sender)]
        return {"sdp": sender.localDescription.sdp}

    async def direct_answer(self, sdp: str, ring: str) -> Reply:
        """The direct pair's receiving half (the viewers' process): its answer."""
        receiver = new_pc()
        await receiver.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        restrict_ice(receiver, [HOST])
        await receiver.setLocalDescription(await receiver.createAnswer())
        self.direct_log.follow(SendRing.open(Path(ring)))
        viewer = Peer(receiver)
        tap_viewer(
            receiver,
            self.direct_log,
            self.direct_path,
            viewer.counts,
            self.window,
            False,
            self.direct_drain,
        )
        self.direct = [viewer]
        return {"sdp": receiver.localDescription.sdp}

    async def direct_connect(self, sdp: str) -> Reply:
        """The sending half takes the answer and starts sending."""
        sender = self.direct[0].pc
        await sender.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
        tap_publisher(sender, self.direct_log, self._pacer())
        await connected(sender)
        return {}

    async def _signal(self, pc: RTCPeerConnection, url: str, token: str) -> str:
        """Offers, answers; the session's Location."""
        return (await self._signal_for_headers(pc, url, token))["Location"]

    async def _signal_for_headers(
        self, pc: RTCPeerConnection, url: str, token: str
    ) -> dict[str, str]:
        """Offers, answers; the answer's headers (Location, X-Plenary-Source)."""
        restrict_ice(pc, [HOST])
        await pc.setLocalDescription(await pc.createOffer())
        headers = {"Content-Type": "application/sdp", "Authorization": f"Bearer {token}"}
        async with self.http.post(url, data=pc.localDescription.sdp, headers=headers) as response:
            if response.status != 201:
                raise SignallingFailed(f"{response.status}: {(await response.text())[:200]}")
            answer = await response.text()
            headers = {"Location": "", **response.headers}
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        return headers

    async def publish(self, base: str, token: str, ring: str, room: str = ROOM) -> Reply:
        """Publish to ``room``, noting each packet sent in the ring at ``ring`` (a new file)."""
        assert self.source is not None
        self.relay_log = SendLog(self.window)  # a new publisher: new RTP timestamp origins
        self.relay_log.write_to(SendRing.create(Path(ring)))
        pc = new_pc()
        for track in self.source.tracks():
            pc.addTrack(track)
        began = time.perf_counter()
        headers = await self._signal_for_headers(pc, f"{base}/whip/{room}", token)
        tap_publisher(pc, self.relay_log, self._pacer())
        self.publisher = Peer(pc, headers["Location"], token)
        await connected(pc)
        return {
            "seconds": time.perf_counter() - began,
            "source": headers.get("X-Plenary-Source", ""),
        }

    def follow(self, ring: str) -> Reply:
        """The viewers from now on are matched to the publisher writing to ``ring``."""
        self.relay_log = SendLog(self.window)
        self.relay_log.follow(SendRing.open(Path(ring)))
        return {}

    async def watch(
        self, base: str, token: str, total: int, batch: int, frames: bool, room: str = ROOM
    ) -> Reply:
        began, errors = time.perf_counter(), list[str]()
        while len(self.viewers) < total:
            wanted = min(batch, total - len(self.viewers))
            results = await asyncio.gather(
                *(self._viewer(base, token, frames, room) for _ in range(wanted)),
                return_exceptions=True,
            )
            for result in results:
                if isinstance(result, Peer):
                    self.viewers.append(result)
                else:
                    errors.append(f"{type(result).__name__}: {result}")
            if len(errors) > total // 10 + 2:
                break
        gc.collect()
        return {
            "viewers": len(self.viewers),
            "failed": len(errors),
            "errors": sorted(set(errors))[:3],
            "seconds": time.perf_counter() - began,
        }

    async def _viewer(self, base: str, token: str, frames: bool, room: str) -> Peer:
        pc = new_pc()
        pc.addTransceiver("audio", direction="recvonly")
        pc.addTransceiver("video", direction="recvonly")
        try:
            peer = Peer(pc, await self._signal(pc, f"{base}/whep/{room}", token), token)
            tap_viewer(
                pc, self.relay_log, self.relay_path, peer.counts, self.window, frames, self.drain
            )
            await connected(pc)
        except BaseException:
            await pc.close()
            raise
        return peer

    async def settle(self) -> Reply:
        """Collect now, then no more until the window is over: the clients are the instrument,
        so collector pauses are kept out of it. Then wait out what queued up meanwhile."""
        gc.collect()
        gc.disable()
        await asyncio.sleep(DRAIN_SECONDS)
        return {}

    async def measure(self, seconds: float, grace: float) -> Reply:
        try:
            for log in (self.relay_log, self.direct_log):
                log.sent[:] = [0, 0]
                log.frames[:] = [0, 0]
                log.retransmitted = 0
            for path in (self.relay_path, self.direct_path):
                path.reset()
            for peer in [*self.viewers, *self.direct]:
                peer.counts.reset()
            self.lags[:] = [0] * (BINS + 1)
            for drain in (self.drain, self.direct_drain):
                drain.oldest_in_pass = math.inf
            self.stage.reset()
            cpu = time.process_time()
            self.window.open(seconds)
            await asyncio.sleep(seconds)
            cpu = time.process_time() - cpu
            await asyncio.sleep(grace)
            backlog = await self._read_backlog()
            for log in (self.relay_log, self.direct_log):
                log.catch_up()  # the sends of the window's last moments
            self.stage.catch_up()
        finally:
            gc.enable()
        measured = {
            "client_cpu": cpu,
            "sent": self.relay_log.sent,
            "sent_frames": self.relay_log.frames,
            "retransmitted": self.relay_log.retransmitted,
            "direct_sent": self.direct_log.sent,
            "viewers": [peer.counts.row() for peer in self.viewers],
            "direct_viewer": self.direct[0].counts.row(),
            "failed_auth": sum(peer.counts.failed_auth for peer in self.viewers),
            "srtp_errors": self.relay_path.srtp_errors,
            "relay_delay": self.relay_path.summary(),
            "direct_delay": self.direct_path.summary(),
            "states": _count(peer.pc.connectionState for peer in self.viewers),
            "loop_lag": histogram_summary(self.lags, BIN_SECONDS),
            "backlog": backlog,
        }
        if self.stage.logs:  # a stage's viewers: their figures in place of one publisher's
            measured.update(self.stage.figures())
            measured["states"] = _count(self.stage.states())
        return measured

    async def _read_backlog(self) -> float:
        """Waits (up to ``BACKLOG_SECONDS``) until what arrived in the window has been read off
        the sockets, so a busy client does not count its own backlog as lost; returns how
        long it waited."""
        began = time.perf_counter()
        drains = (self.drain, self.direct_drain, self.stage.drain)
        while any(drain.behind(self.window.end) for drain in drains):
            if time.perf_counter() - began > BACKLOG_SECONDS:
                break
            await asyncio.sleep(0.05)
        return time.perf_counter() - began

    async def leave(self, base: str) -> Reply:
        """Every viewer and the publisher end their sessions (DELETE) and close."""
        self.drain.release_all()
        peers = [*self.viewers, *([self.publisher] if self.publisher else [])]
        statuses: list[int | str] = []
        for first in range(0, len(peers), 20):
            statuses += await asyncio.gather(
                *(self._end(base, peer) for peer in peers[first : first + 20])
            )
        self.viewers, self.publisher = [], None
        return {"statuses": _count(statuses)}

    async def leave_stage(self, base: str, plain: bool | None) -> Reply:
        """The stage's viewers (plain players, stage-aware ones, or all) end their sessions."""
        leaving = self.stage.take(plain)
        statuses: list[int | str] = []
        for first in range(0, len(leaving), 20):
            statuses += await asyncio.gather(
                *(
                    self._end(base, Peer(viewer.pc, viewer.location, viewer.token))
                    for viewer in leaving[first : first + 20]
                )
            )
        return {"statuses": _count(statuses)}

    async def _end(self, base: str, peer: Peer) -> int | str:
        status: int | str = "no location"
        if peer.location:
            headers = {"Authorization": f"Bearer {peer.token}"}
            try:
                async with self.http.delete(base + peer.location, headers=headers) as response:
                    status = response.status
            except aiohttp.ClientError as error:
                status = type(error).__name__
        await peer.pc.close()
        return status

    async def close(self) -> None:
        self._forget.cancel()
        self._lag.cancel()
        stage = [viewer.pc for viewer in self.stage.take(None)]
        others = [*self.viewers, *self.direct, *([self.publisher] if self.publisher else [])]
        for pc in [*stage, *(peer.pc for peer in others)]:
            with contextlib.suppress(Exception):
                await pc.close()
        await self.http.close()


def _count(values: Any) -> dict[str, int]:
    counted: dict[str, int] = {}
    for value in values:
        counted[str(value)] = counted.get(str(value), 0) + 1
    return counted


async def client_main() -> None:
    raise_fd_limit()
    client = Client()
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    try:
        while line := await stdin.readline():  # EOF: the bench is gone
            request = json.loads(line)
            try:
                reply = await _dispatch(client, request)
            except Exception as error:
                reply = {"error": f"{type(error).__name__}: {error}"}
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()
            if request["op"] == "quit":
                break
    finally:
        await client.close()


async def _dispatch(client: Client, request: Reply) -> Reply:
    op = request["op"]
    if op == "start":
        return await client.start(request["loop_seconds"], request["pacing"], request.get("media"))
    if op == "direct_offer":
        return await client.direct_offer(request["ring"])
    if op == "direct_answer":
        return await client.direct_answer(request["sdp"], request["ring"])
    if op == "direct_connect":
        return await client.direct_connect(request["sdp"])
    if op == "publish":
        room = request.get("room", ROOM)
        return await client.publish(request["base"], request["token"], request["ring"], room)
    if op == "follow":
        return client.follow(request["ring"])
    if op == "watch":
        args = (request["total"], request["batch"], request["frames"], request.get("room", ROOM))
        return await client.watch(request["base"], request["token"], *args)
    if op == "settle":
        return await client.settle()
    if op == "measure":
        return await client.measure(request["seconds"], request["grace"])
    if op == "leave":
        return await client.leave(request["base"])
    if op == "follow_stage":
        return client.stage.follow(request["rings"], request.get("onset"))
    if op == "watch_stage":
        return await client.stage.watch(
            request["base"], request["token"], request["total"], request["batch"],
            request["slots"], request["plain"], request["stride"], request.get("room", ROOM),
        )  # fmt: skip
    if op == "leave_stage":
        return await client.leave_stage(request["base"], request.get("plain"))
    return {}


if __name__ == "__main__":
    asyncio.run(client_main())
