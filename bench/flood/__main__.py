"""Flood check: one attendee token floods a live room with WHEP offers; how long does a second
attendee take to get in and see a picture?

Starts ``plenary serve`` (the bundled config, ``--demo-feed`` so the room carries a picture,
the welcome remarks live), then:

1. a first attendee watches with nobody flooding: the baseline;
2. one token sends ``--offers`` offers, ``--at-once`` at a time (issue 13's probe: 260, 100 at
   a time): the same real aiortc offer each time, whose peer is gone, as a script posting one
   saved offer would (the server makes a peer connection for each all the same);
3. while the flood runs, a second attendee (another token) watches: the time from its POST to
   its answer, to its connection and to its first decoded video frame;
4. a third attendee, once the flood is over, the same way;
5. how long until every session the flood opened is closed (from ``/metrics``).

    .venv/bin/python -m bench.flood
    .venv/bin/python -m bench.flood --offers 50 --at-once 25
    .venv/bin/python -m bench.flood --server-code ../old-checkout   # another server version

Everything talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription

from bench.common.children import Children
from bench.common.harness import HOST, PLENARY, ROOT, free_port
from server.media.aiortc_internals.ice import restrict_ice
from tests.serverproc import CONFIG, ServerProcess

ROOM = "welcome"
SESSIONS = re.compile(r"^plenary_media_sessions(?:\{[^}]*\})? (\d+)$", re.M)


@dataclass
class Arrival:
    """One attendee's way in, in seconds from its POST."""

    answered: float | None = None
    connected: float | None = None
    first_frame: float | None = None
    refusals: Counter[str] = field(default_factory=Counter)


async def offer_from(pc: RTCPeerConnection) -> str:
    """``pc``'s offer: audio and video to receive, candidates on loopback only."""
    pc.addTransceiver("audio", direction="recvonly")
    pc.addTransceiver("video", direction="recvonly")
    restrict_ice(pc, [HOST])
    await pc.setLocalDescription(await pc.createOffer())
    return str(pc.localDescription.sdp)


async def canned_offer() -> str:
    """A real aiortc offer whose peer is closed at once."""
    pc = RTCPeerConnection()
    sdp = await offer_from(pc)
    await pc.close()
    return sdp


class Refused(Exception):
    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"{status} {code}")


async def watch(url: str, token: str, arrival: Arrival, began: float) -> RTCPeerConnection:
    """A viewer that decodes what it receives, noting when it is answered, when it connects
    and when its first video frame is decoded (seconds after ``began``)."""
    pc = RTCPeerConnection()
    video: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()
    connected = asyncio.Event()

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        if track.kind == "video":
            video.set_result(track)

    @pc.on("connectionstatechange")
    def on_state() -> None:
        if pc.connectionState == "connected":
            connected.set()

    headers = {"Content-Type": "application/sdp", "Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/whep/{ROOM}", data=await offer_from(pc), headers=headers) as response,
    ):
        if response.status != 201:
            await pc.close()
            body = await response.json(content_type=None)
            raise Refused(response.status, body.get("error", "?"))
        answer = await response.text()
    arrival.answered = time.perf_counter() - began
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    await connected.wait()
    arrival.connected = time.perf_counter() - began
    await (await video).recv()
    arrival.first_frame = time.perf_counter() - began
    return pc


async def flood(url: str, token: str, offers: int, at_once: int) -> tuple[Counter[str], float]:
    """The answers to the flood's offers, by status and error code, and when it ended."""
    headers = {"Content-Type": "application/sdp", "Authorization": f"Bearer {token}"}
    answers: Counter[str] = Counter()
    sdp = await canned_offer()
    async with aiohttp.ClientSession() as http:

        async def one() -> None:
            async with http.post(f"{url}/whep/{ROOM}", data=sdp, headers=headers) as response:
                body = await response.json(content_type=None) if response.status != 201 else {}
                answers[f"{response.status} {body.get('error', 'answered')}"] += 1

        for start in range(0, offers, at_once):
            await asyncio.gather(*(one() for _ in range(min(at_once, offers - start))))
    return answers, time.perf_counter()


async def arrive(url: str, token: str, give_up: float, peers: list[RTCPeerConnection]) -> Arrival:
    """Watch as a real attendee would: ask again after each refusal, as the watch page does
    (but at once, not after Retry-After, to time the first moment it could get in)."""
    arrival, began = Arrival(), time.perf_counter()
    async with asyncio.timeout(give_up):
        while True:
            try:
                peers.append(await watch(url, token, arrival, began))
                return arrival
            except Refused as refused:
                arrival.refusals[str(refused)] += 1
                await asyncio.sleep(0.1)


def media_sessions(url: str) -> int:
    """Every WHIP and WHEP session open, connected or not (``plenary_media_sessions``, with or
    without its labels, so an older server can be measured too)."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        return sum(int(n) for n in SESSIONS.findall(response.read().decode()))


async def run(options: argparse.Namespace, folder: Path, children: Children) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    port, data = free_port(), folder / "data"
    code = options.server_code.resolve() if options.server_code else ROOT
    config = code / CONFIG.relative_to(ROOT)  # the bundled config of the server measured
    argv = [PLENARY, "serve", "--config", config, "--data", data, "--port", port]
    argv += ["--ice-address", HOST, "--rehearse", start.isoformat(), "--demo-feed"]
    server = children.start("plenary", argv, folder / "plenary.log", env={"PYTHONPATH": str(code)})
    url = f"http://{HOST}:{port}"
    server.wait_healthy(url, poll=0.1)
    tokens = ServerProcess(data_dir=data, rehearse=start, port=port)
    peers: list[RTCPeerConnection] = []
    baseline = await arrive(url, tokens.token("attendee", "First"), options.give_up, peers)
    report("baseline: an attendee, nobody flooding", baseline)
    flood_began = time.perf_counter()
    flooding = asyncio.ensure_future(
        flood(url, tokens.token("attendee", "Flood"), options.offers, options.at_once)
    )
    await asyncio.sleep(options.second_after)
    during = await arrive(url, tokens.token("attendee", "Second"), options.give_up, peers)
    answers, flood_done = await flooding
    after = await arrive(url, tokens.token("attendee", "Third"), options.give_up, peers)
    took = flood_done - flood_began
    print(f"flood: {options.offers} offers, {options.at_once} at a time, in {took:.1f} s")
    print(f"  answers: {dict(answers)}")
    report(f"a second attendee, {options.second_after:g} s into the flood", during)
    report("a third attendee, once the flood was over", after)
    for peer in peers:
        await peer.close()
    for _ in range(int(options.give_up * 10)):
        if media_sessions(url) <= 1:  # the demo feed's publisher
            break
        await asyncio.sleep(0.1)
    freed = time.perf_counter() - flood_done
    print(f"every session of the flood closed {freed:.1f} s after it ended (the others left)")


def report(title: str, arrival: Arrival) -> None:
    def ms(seconds: float | None) -> str:
        return "never" if seconds is None else f"{seconds * 1000:.0f} ms"

    refused = f", refused first: {dict(arrival.refusals)}" if arrival.refusals else ""
    print(
        f"{title}: answered {ms(arrival.answered)}, connected {ms(arrival.connected)}, "
        f"first frame {ms(arrival.first_frame)}{refused}"
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.flood", description=__doc__)
    parser.add_argument("--offers", type=int, default=260)
    parser.add_argument("--at-once", type=int, default=100)
    parser.add_argument("--second-after", type=float, default=0.2, help="seconds into the flood")
    parser.add_argument("--give-up", type=float, default=60.0, help="seconds per attendee")
    parser.add_argument("--server-code", type=Path, help="a checkout whose server/ is run")
    options = parser.parse_args(argv)
    children = Children()
    with tempfile.TemporaryDirectory(prefix="plenary-flood-") as folder:
        try:
            asyncio.run(run(options, Path(folder), children))
        finally:
            children.stop_all()


if __name__ == "__main__":
    main(sys.argv[1:])
