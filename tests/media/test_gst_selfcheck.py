"""The GStreamer publisher against a minimal WHIP answerer built on aiortc, in this test.

It checks the publisher itself (until the server's WHIP endpoint can be used instead) and shows
why that endpoint must answer a=setup:passive to webrtcbin's a=setup:actpass offer: aiortc as
DTLS client offers only ECDHE-ECDSA suites, webrtcbin's certificate is RSA, and the handshake
ends in "no shared cipher".
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from tests.gstreamer import GstPublisher, publish_with_gstreamer, require_gstreamer

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("gstreamer")]

LOOPBACK = "127.0.0.1"
TOKEN = "selfcheck-token"
WHIP_PATH = "/whip/x"
FRAMES_WANTED = 10
MEDIA_SECONDS = 10.0
FAIL_SECONDS = 8.0
EVENT_SECONDS = 15.0


def gather_on_loopback(connection: Any) -> None:
    """Make one aioice Connection gather host candidates on 127.0.0.1 alone."""
    gather = connection.get_component_candidates

    async def loopback_only(component: int, addresses: list[str], **options: Any) -> Any:
        return await gather(component=component, addresses=[LOOPBACK], **options)

    connection.get_component_candidates = loopback_only


class WhipAnswerer:
    """POST an offer, get an answer and a Location; DELETE that Location. Nothing more."""

    def __init__(self, dtls_setup: str) -> None:
        assert dtls_setup in ("passive", "active")
        self.dtls_setup = dtls_setup
        self.peers: list[RTCPeerConnection] = []
        self.connection_states: list[str] = []
        self.frames: Counter[str] = Counter()
        self.deleted: list[str] = []
        self._consumers: set[asyncio.Task[None]] = set()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(WHIP_PATH, self.post)
        app.router.add_delete(WHIP_PATH + "/{session}", self.delete)
        app.on_cleanup.append(self.close)
        return app

    async def post(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.Response(status=401, text="bad token")
        if request.content_type != "application/sdp":
            return web.Response(status=415, text="want application/sdp")
        offer = RTCSessionDescription(sdp=await request.text(), type="offer")
        peer = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no default STUN server
        self.peers.append(peer)
        peer.on("track", self._consume)
        peer.on("connectionstatechange", lambda: self._record_state(peer))
        await peer.setRemoteDescription(offer)
        self._prepare_transports(peer, actpass="a=setup:actpass" in offer.sdp)
        await peer.setLocalDescription(await peer.createAnswer())
        location = f"{WHIP_PATH}/{uuid.uuid4().hex}"
        answer = peer.localDescription.sdp
        return web.Response(
            status=201, text=answer, content_type="application/sdp", headers={"Location": location}
        )

    async def delete(self, request: web.Request) -> web.Response:
        self.deleted.append(request.match_info["session"])
        return web.Response(status=200)

    async def close(self, _app: web.Application | None = None) -> None:
        for consumer in self._consumers:
            consumer.cancel()
        await asyncio.gather(*self._consumers, return_exceptions=True)
        self._consumers.clear()
        for peer in self.peers:
            await peer.close()

    def _record_state(self, peer: RTCPeerConnection) -> None:
        self.connection_states.append(peer.connectionState)

    def _prepare_transports(self, peer: RTCPeerConnection, actpass: bool) -> None:
        seen: set[int] = set()
        for transceiver in peer.getTransceivers():
            dtls = transceiver.receiver.transport
            if id(dtls) in seen:  # bundled transceivers share one transport
                continue
            seen.add(id(dtls))
            gather_on_loopback(dtls.transport._connection)
            if actpass and self.dtls_setup == "passive":
                dtls._set_role("server")  # answered as a=setup:passive

    def _consume(self, track: MediaStreamTrack) -> None:
        consumer = asyncio.ensure_future(self._count_frames(track))
        self._consumers.add(consumer)

    async def _count_frames(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                await track.recv()
                self.frames[track.kind] += 1
        except MediaStreamError:
            return


def candidate_hosts(sdp: str) -> set[str]:
    """The addresses of the ICE candidates in an SDP (the fifth field of a=candidate)."""
    return {line.split()[4] for line in sdp.splitlines() if line.startswith("a=candidate:")}


async def eventually(condition: Callable[[], bool], within: float) -> bool:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


@pytest.fixture
def gstreamer() -> None:
    require_gstreamer()


@asynccontextmanager
async def whip_endpoint(dtls_setup: str) -> AsyncIterator[tuple[WhipAnswerer, str]]:
    answerer = WhipAnswerer(dtls_setup)
    async with TestServer(answerer.app(), host=LOOPBACK) as server:
        yield answerer, f"http://{LOOPBACK}:{server.port}{WHIP_PATH}"


@asynccontextmanager
async def publishing(url: str, **options: Any) -> AsyncIterator[GstPublisher]:
    """The publisher, stopped off the event loop so that its DELETE can still be answered."""
    with publish_with_gstreamer(url, TOKEN, **options) as publisher:
        try:
            yield publisher
        finally:
            await asyncio.to_thread(publisher.stop)


async def wait_for_event(
    publisher: GstPublisher, event: str, *states: str, within: float = EVENT_SECONDS
) -> Any:
    """The first such event (in one of ``states``, if given), waited for off the event loop."""
    accept = (lambda e: e.get("state") in states) if states else None
    return await asyncio.to_thread(publisher.events.wait_for, event, accept, within)


@pytest.mark.parametrize(("codec", "audio_only"), [("vp8", False), ("h264", False), ("vp8", True)])
async def test_webrtcbin_publishes_to_a_passive_answer(codec: str, audio_only: bool) -> None:
    async with whip_endpoint("passive") as (answerer, url):
        async with publishing(url, codec=codec, audio_only=audio_only) as publisher:
            answer = await wait_for_event(publisher, "answer")
            kinds = ["audio"] if audio_only else ["audio", "video"]
            arrived = await eventually(
                lambda: all(answerer.frames[kind] >= FRAMES_WANTED for kind in kinds),
                MEDIA_SECONDS,
            )
            assert arrived, f"{answerer.frames}\n{publisher.events.describe()}"
            await wait_for_event(publisher, "connection", "connected")
        events = publisher.events
    assert answer["status"] == 201
    assert "a=setup:passive" in answer["sdp"]
    offer = events.wait_for("offer")["sdp"]
    assert "a=setup:actpass" in offer
    assert candidate_hosts(offer) == candidate_hosts(answer["sdp"]) == {LOOPBACK}
    assert publisher.returncode == 0
    assert events.wait_for("delete")["status"] == 200
    assert len(answerer.deleted) == 1
    assert "connected" in events.states("dtls")
    assert answerer.connection_states[-2:] == ["connected", "closed"]  # closed at clean-up
    if audio_only:
        assert answerer.frames["video"] == 0


async def test_an_active_answer_fails_dtls_with_no_shared_cipher() -> None:
    async with whip_endpoint("active") as (answerer, url):
        async with publishing(url) as publisher:
            answer = await wait_for_event(publisher, "answer")
            await wait_for_event(publisher, "ice", "connected", "completed")
            # webrtcbin, the DTLS server here, knows first; its alert may not reach aiortc
            # before the failed publisher tears down, so aiortc is not waited for.
            await wait_for_event(publisher, "dtls", "failed", within=FAIL_SECONDS)
            aiortc_states = list(answerer.connection_states)
        events = publisher.events
    assert "a=setup:active" in answer["sdp"]
    assert "connected" not in aiortc_states
    assert "connected" not in events.states("dtls")
    assert any("no shared cipher" in e["message"] for e in events.all("dtls-error"))
    assert answerer.frames == Counter()


async def test_a_refused_offer_exits_2() -> None:
    async with whip_endpoint("passive") as (answerer, url):
        with publish_with_gstreamer(url, "wrong-token") as publisher:
            error = await asyncio.to_thread(publisher.events.wait_for, "error")
            returncode = await asyncio.to_thread(publisher.stop)
    assert error["status"] == 401
    assert returncode == 2
    assert answerer.peers == []
