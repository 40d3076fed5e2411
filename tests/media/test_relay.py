"""The relay with real aiortc peers on loopback: WHIP in, WHEP out, nothing decoded."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import fields, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiortc.rtp import RtcpByePacket, RtcpSdesPacket, RtcpSrPacket

from scheduler.timetable import OverrideAction
from server.auth.permissions import Role
from server.config import Config
from server.media import fanout
from server.media.forwarder import Forwarder
from server.store import Actor
from server.web import appkeys
from server.web.app import create_app
from tests.helpers import bundled_config, fast_rehearsal, settings
from tests.media.test_ice_servers import SECRET, STUN, TURN, assert_minted_for
from tests.media_peers import Peer, SignallingError, publisher, record_rtcp, viewer
from tests.metrics import scrape
from tests.rooms.test_live import clock_in_welcome

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]
CONFIG_KEYS = {field.name for field in fields(Config)}
TURN_LINK = (
    r'<(?P<url>[^>]+)>; rel="ice-server"; username="(?P<username>[^"]+)"; '
    r'credential="(?P<credential>[^"]+)"; credential-type="password"'
)
TECH = Actor("u_t", "Tess")


class Stage:
    def __init__(self, app: web.Application, server: TestServer) -> None:
        self.app = app
        self.base = str(server.make_url("")).rstrip("/")
        self.peers: list[Peer] = []

    @property
    def relay(self) -> Any:
        return self.app[appkeys.RELAY]

    def token(self, role: Role, rooms: tuple[str, ...] = ("*",)) -> str:
        return self.app[appkeys.TOKENS].issue(role=role, name=f"A {role.value}", rooms=rooms)

    async def publish(self, room: str = "welcome", role: Role = Role.TECHNICIAN, **kw: Any) -> Peer:
        """A publisher: by default the hall encoder, which goes on stage when it connects."""
        peer = await publisher(self.base, room, self.token(role), **kw)
        self.peers.append(peer)
        return peer

    async def watch(self, room: str = "welcome", role: Role = Role.ATTENDEE, **kw: Any) -> Peer:
        peer = await viewer(self.base, room, self.token(role), **kw)
        self.peers.append(peer)
        return peer

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        async with (
            aiohttp.ClientSession() as http,
            http.post(self.base + path, data=body, headers=headers) as response,
        ):
            return response.status, await response.json(content_type=None)


# Tuesday 13:50 in Vienna: the opening statement's lobby (an audio-only item) is open, and a
# technician may start it now.
IN_STATEMENT_LOBBY = 24 * 60 - 10


async def make_stage(
    tmp_path: Path,
    aiohttp_server: ServerFactory,
    *,
    minutes_in: float = 10,
    loop: str | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Stage:
    """A server a few minutes into the welcoming remarks, sending through ``loop`` (a key of
    ``LOOP_SETTINGS``); ``overrides`` change the config's fields (``max_viewers``,
    ``ice_servers``, ``connect_within_seconds``)."""
    unknown = set(overrides) - CONFIG_KEYS
    assert not unknown, f"not fields of Config: {unknown}"
    config = replace(bundled_config(), **overrides)
    base = settings(tmp_path, clock_in_welcome(minutes_in), config)
    app = create_app(
        replace(
            base,
            ice_addresses=("127.0.0.1",),
            **(LOOP_SETTINGS[loop] if loop else {}),
            environ=environ or {},
        )
    )
    return Stage(app, await aiohttp_server(app))


@pytest.fixture(params=["c", "c-libsrtp", "python"])
def fanout_loop(request: pytest.FixtureRequest) -> str:
    """Run a test with the relay's C loop (server/media/_fanout.c) and its own AES-GCM, with the
    C loop calling libsrtp, and with the loop's Python twin: the ``stage`` is made for it."""
    if request.param != "python" and not fanout.C_LOOP_BUILT:
        if os.environ.get("CI") == "true":
            pytest.fail("the C loop was not built: CI must install gcc and python3-dev")
        pytest.skip("the C loop was not built here (no C compiler at install)")
    return str(request.param)


LOOP_SETTINGS = {
    "c": {"c_loop": True, "own_gcm": True},
    "c-libsrtp": {"c_loop": True, "own_gcm": False},
    "python": {"c_loop": False},
}


def fed(stage: Stage, kind: str, room: str = "welcome") -> Forwarder:
    """The one forwarder of ``kind`` with viewers: with one source on stage and plain players
    watching, the programme's."""
    media = stage.relay.room_media(room)
    found = [f for f in media.forwarders() if f.kind == kind and f.viewers]
    assert len(found) == 1, found
    return found[0]


def srtp_in_use(stage: Stage, room: str = "welcome") -> set[str]:
    """What encrypts for the C loop, per viewer stream: GcmSender, LibsrtpSender, or NoneType
    for the Python loop (which goes through libsrtp)."""
    media = stage.relay.room_media(room)
    return {
        type(viewer._srtp).__name__
        for forwarder in media.forwarders()
        for viewer in forwarder._viewers
    }


def fanouts_in_use(stage: Stage, room: str = "welcome") -> set[str]:
    media = stage.relay.room_media(room)
    return {
        type(copy.fanout).__name__
        for forwarder in media.forwarders()
        for plan in forwarder._plans.values()
        for copy in plan
    }


@pytest.fixture
async def stage(
    tmp_path: Path, aiohttp_server: ServerFactory, request: pytest.FixtureRequest
) -> AsyncIterator[Stage]:
    loop = request.getfixturevalue("fanout_loop") if "fanout_loop" in request.fixturenames else None
    stage = await make_stage(tmp_path, aiohttp_server, loop=loop)
    yield stage
    for peer in stage.peers:
        await peer.close()


async def test_a_viewer_decodes_what_a_publisher_sends(stage: Stage, fanout_loop: str) -> None:
    speaker = await stage.publish()
    await speaker.connected()
    audience = await stage.watch()
    await audience.until_frames("video", 30)
    await audience.until_frames("audio", 30)
    assert fed(stage, "video").stats.packets_out > 0 and fed(stage, "audio").stats.packets_out > 0
    assert stage.relay.counts("welcome") == (1, 1)
    assert fanouts_in_use(stage) == {"PythonFanout" if fanout_loop == "python" else "Fanout"}
    loops = {"c": "GcmSender", "c-libsrtp": "LibsrtpSender", "python": "NoneType"}
    assert srtp_in_use(stage) == {loops[fanout_loop]}
    assert "a=setup:passive" in speaker.answer  # aiortc is the DTLS server
    metrics = await scrape(stage.base)
    assert metrics.value("plenary_media_sessions", direction="publish", state="connected") == 1
    assert metrics.value("plenary_media_sessions", direction="watch", state="connected") == 1
    assert metrics.value("plenary_room_viewers", room="welcome") == 1
    assert metrics.value("plenary_forwarded_packets_total", kind="video") > 0


async def test_a_new_viewer_sees_a_picture_within_a_second(stage: Stage) -> None:
    speaker = await stage.publish()
    await speaker.connected()
    await asyncio.sleep(2)  # well past the publisher's first keyframe
    audience = await stage.watch()
    await audience.connected()
    connected_at = asyncio.get_running_loop().time()
    await audience.until_frames("video", 1, within=5)  # and it does decode into a picture
    assert audience.first_frame_at["keyframe"] - connected_at < 1.0
    assert fed(stage, "video").stats.keyframe_requests >= 1


async def test_video_reaches_a_new_viewer_from_a_keyframe_on(
    stage: Stage, fanout_loop: str
) -> None:
    speaker = await stage.publish()
    await speaker.connected()
    await asyncio.sleep(1.5)  # the publisher is between keyframes
    audience = [await stage.watch(), await stage.watch()]
    for peer in audience:
        await peer.until_frames("video", 5)
        assert peer.first_video_starts_keyframe is True  # nothing its decoder cannot use
    video = fed(stage, "video")
    assert not any(video.waiting_for_keyframe(output) for output in video._viewers)


async def test_viewers_get_sender_reports_at_libwebrtcs_pace(stage: Stage) -> None:
    """What lets a browser keep sound and picture in step: each stream's RTCP sender reports,
    with its CNAME, sent by the relay's own schedule, video about every second and audio
    about every five; their wall-clock and RTP times agree; the round trip is measured from
    the viewer's receiver reports; and a BYE ends each stream when the room ends."""
    speaker = await stage.publish()
    await speaker.connected()
    audience = await stage.watch()
    rtcp = record_rtcp(audience)
    await audience.until_frames("video", 1)
    await asyncio.sleep(3.5)
    audio, video = fed(stage, "audio"), fed(stage, "video")
    streams = {"audio": (audio, 48000), "video": (video, 90000)}
    reports = {}
    for kind, (forwarder, _) in streams.items():
        reports[kind] = [
            (at, packet, packets)
            for at, packets in rtcp
            for packet in packets
            if isinstance(packet, RtcpSrPacket) and packet.ssrc == forwarder.ssrc
        ]
    assert 3 <= len(reports["video"]) <= 10, reports["video"]
    assert 1 <= len(reports["audio"]) <= 2, reports["audio"]
    for kind, (forwarder, clock_rate) in streams.items():
        times = [at for at, _, _ in reports[kind]]
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert all(gap > (2.4 if kind == "audio" else 0.4) for gap in gaps), (kind, gaps)
        for _, _, compound in reports[kind]:  # the CNAME comes with each report
            sdes = [p for p in compound if isinstance(p, RtcpSdesPacket)]
            assert [chunk.ssrc for p in sdes for chunk in p.chunks] == [forwarder.ssrc]
            assert sdes[0].chunks[0].items[0][0] == 1 and sdes[0].chunks[0].items[0][1]
        for (_, earlier, _), (_, later, _) in itertools.pairwise(reports[kind]):
            first, then = earlier.sender_info, later.sender_info
            wall_clock = (then.ntp_timestamp - first.ntp_timestamp) / 2**32
            rtp_clock = ((then.rtp_timestamp - first.rtp_timestamp) % 2**32) / clock_rate
            assert wall_clock > 0.4 and abs(wall_clock - rtp_clock) < 0.1, kind
            assert then.packet_count > first.packet_count > 0
            assert then.octet_count > first.octet_count
    sender = video._viewers[0].sender
    async with asyncio.timeout(10):  # the viewer's receiver reports answer a sender report
        while True:
            stats = [
                s for s in (await sender.getStats()).values() if s.type == "remote-inbound-rtp"
            ]
            if stats and stats[0].roundTripTime is not None:
                break
            await asyncio.sleep(0.2)
    assert 0 < stats[0].roundTripTime < 1.0
    await stage.app[appkeys.ROOMS].override("welcome", OverrideAction.END, 0, TECH)
    async with asyncio.timeout(5):
        while {audio.ssrc, video.ssrc} - {
            source for _, packets in rtcp for p in packets
            if isinstance(p, RtcpByePacket) for source in p.sources
        }:  # fmt: skip
            await asyncio.sleep(0.05)


async def test_a_returning_publisher_reaches_viewers_already_there(
    stage: Stage, fanout_loop: str
) -> None:
    first = await stage.publish(role=Role.TECHNICIAN)
    audience = await stage.watch()
    await audience.until_frames("video", 10)
    await first.close()
    async with asyncio.timeout(10):  # the relay has seen the encoder go
        while stage.relay.counts("welcome") != (0, 1):
            await asyncio.sleep(0.05)
    before = audience.frames["video"]
    second = await stage.publish(role=Role.TECHNICIAN)  # the encoder reconnecting
    await second.connected()
    await audience.until_frames("video", before + 30, within=10)
    assert audience.pc.connectionState == "connected"  # the viewer never reconnected
    assert fed(stage, "video").stats.source_switches >= 2


async def test_an_audio_only_room_carries_no_video(
    tmp_path: Path, aiohttp_server: ServerFactory
) -> None:
    stage = await make_stage(tmp_path, aiohttp_server, minutes_in=IN_STATEMENT_LOBBY)
    rooms = stage.app[appkeys.ROOMS]
    await rooms.override("statement-day-2", OverrideAction.START, 0, TECH)
    speaker = await stage.publish("statement-day-2")
    audience = await stage.watch("statement-day-2")
    try:
        await audience.until_frames("audio", 20)
        # Another second of sound: any video sent alongside it would have come too.
        await audience.until_frames("audio", audience.frames["audio"] + 50)
        assert audience.frames["video"] == 0 and not audience.video_payload_types
        for answer in (speaker.answer, audience.answer):
            video = answer.split("m=video", 1)[1]
            assert "a=inactive" in video.split("m=", 1)[0]
        media = stage.relay.room_media("statement-day-2")
        assert [f.kind for f in media.forwarders()].count("video") == 0
    finally:
        await speaker.close()
        await audience.close()


async def test_a_viewer_whose_socket_fails_costs_the_others_nothing(
    stage: Stage, fanout_loop: str
) -> None:
    speaker = await stage.publish()
    await speaker.connected()
    broken, fine = await stage.watch(), await stage.watch()
    reports = record_rtcp(fine)
    await broken.until_frames("video", 5)
    await fine.until_frames("video", 5)
    session = next(s for s in stage.relay._sessions.values() if s.direction == "watch")
    connection = session.pc.getTransceivers()[0].sender.transport.transport._connection
    connection._nominated[1].protocol.transport.close()  # its socket is gone under the relay
    broke_at = asyncio.get_running_loop().time()
    before = fine.frames["video"]
    await fine.until_frames("video", before + 30)
    async with asyncio.timeout(10):
        while stage.relay.counts("welcome") != (1, 1):  # the broken session was closed
            await asyncio.sleep(0.05)
    assert session.closed
    video = fed(stage, "video")
    assert video.viewers == 1
    async with asyncio.timeout(5):  # and its sender reports carry on
        while not any(
            isinstance(packet, RtcpSrPacket) and packet.ssrc == video.ssrc
            for at, packets in reports
            if at > broke_at + 0.1
            for packet in packets
        ):
            await asyncio.sleep(0.05)
    async with aiohttp.ClientSession() as http, http.get(stage.base + "/healthz") as response:
        assert response.status == 200


async def test_without_openssls_aes_gcm_libsrtp_encrypts(
    stage: Stage, native: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An OpenSSL that will not set up AES-GCM (a FIPS build, say) costs speed, not media."""

    class Refused:
        def __init__(self, key: bytes, salt: bytes) -> None:
            raise RuntimeError("OpenSSL could not set up AES-GCM")

    monkeypatch.setattr(native, "GcmSender", Refused)
    speaker = await stage.publish()
    await speaker.connected()
    audience = await stage.watch()
    await audience.until_frames("video", 10)
    await audience.until_frames("audio", 10)
    assert srtp_in_use(stage) == {"LibsrtpSender"}


@pytest.mark.parametrize("rtx", [True, False], ids=["rtx", "no-rtx"])
async def test_the_relay_retransmits_what_a_viewer_missed(
    stage: Stage, fanout_loop: str, rtx: bool
) -> None:
    """With RTX the copy comes on its own stream; without, as it was, through what encrypted
    it the first time (the C loop's AES-GCM: one stream, numbered in one place)."""
    speaker = await stage.publish()
    await speaker.connected()
    audience = await stage.watch(rtx=rtx)
    await audience.until_frames("video", 5)
    session = next(s for s in stage.relay._sessions.values() if s.direction == "watch")
    output = next(o for o in session.outputs if o.sender.kind == "video")
    video_type = output.parameters.codecs[0].payloadType
    rtx_types = {c.payloadType for c in output.parameters.codecs if c.mimeType.endswith("/rtx")}
    dropped: list[int] = []
    lost: dict[int, bytes] = {}  # what the network lost, as it was on the wire
    retransmitted: list[int] = []
    resent: list[bytes] = []
    retransmit = output.sender._retransmit

    def lossy(deliver: Any) -> Any:
        def received(data: bytes, addr: Any) -> None:
            # The network loses a few of the relay's video packets on the way to the viewer.
            is_rtp = 127 < data[0] < 192 and not 191 < data[1] < 224
            sequence = int.from_bytes(data[2:4], "big")
            if is_rtp and data[1] & 0x7F in rtx_types:
                resent.append(data)
            elif is_rtp and data[1] & 0x7F == video_type and sequence in dropped:
                resent.append(data)  # again, the same packet
            elif is_rtp and data[1] & 0x7F == video_type and sequence % 7 == 0 and len(dropped) < 3:
                dropped.append(sequence)
                lost[sequence] = data
                return
            deliver(data, addr)

        return received

    async def counted(sequence_number: int) -> None:
        retransmitted.append(sequence_number)
        await retransmit(sequence_number)

    connection = audience.pc.getTransceivers()[0].receiver.transport.transport._connection
    for protocol in connection._protocols:  # media is bundled: one ICE connection
        protocol.datagram_received = lossy(protocol.datagram_received)
    output.sender._retransmit = counted  # type: ignore[method-assign]
    async with asyncio.timeout(10):
        while not set(dropped) <= set(retransmitted) or len(dropped) < 3:
            await asyncio.sleep(0.05)
        while len(resent) < len(dropped):  # the copies kept for the profile went out again
            await asyncio.sleep(0.05)
    assert set(dropped) <= set(retransmitted)
    assert bool(rtx_types) == rtx and len(resent) >= 3
    if not rtx:  # encrypted again to the very same bytes: one index, one packet
        assert all(copy == lost[int.from_bytes(copy[2:4], "big")] for copy in resent)


async def test_staff_in_the_lobby_attendees_only_when_live(
    tmp_path: Path, aiohttp_server: ServerFactory
) -> None:
    stage = await make_stage(tmp_path, aiohttp_server, minutes_in=-5)  # welcome in its lobby
    try:
        with pytest.raises(SignallingError) as refused:
            await stage.watch(role=Role.ATTENDEE)
        assert (refused.value.status, refused.value.body["error"]) == (409, "room_not_open")
        hall = await stage.publish()  # publishers from the lobby on
        moderator = await stage.watch(role=Role.MODERATOR)  # lobby watchers too
        await moderator.until_frames("video", 5)
        with pytest.raises(SignallingError) as early:
            await stage.publish("keynote")  # keynote is still only scheduled
        assert early.value.status == 409
        assert hall.location.startswith("/whip/welcome/")
    finally:
        for peer in stage.peers:
            await peer.close()


async def test_who_may_publish_and_watch(stage: Stage) -> None:
    for role in (Role.ATTENDEE, Role.MODERATOR):
        with pytest.raises(SignallingError) as refused:
            await stage.publish(role=role)
        assert (refused.value.status, refused.value.body["error"]) == (403, "forbidden")
    with pytest.raises(SignallingError) as elsewhere:
        await publisher(stage.base, "welcome", stage.token(Role.SPEAKER, rooms=("panel-1",)))
    assert elsewhere.value.status == 403
    with pytest.raises(SignallingError) as unknown:
        await stage.watch("nowhere")
    assert (unknown.value.status, unknown.value.body["error"]) == (404, "unknown_room")
    with pytest.raises(SignallingError) as ticketless:
        await viewer(stage.base, "welcome", "not-a-token")
    assert (ticketless.value.status, ticketless.value.body["error"]) == (401, "invalid_token")
    assert stage.relay.peer_connections == 0


async def test_bad_offers_get_clear_errors_and_leak_nothing(stage: Stage) -> None:
    good = await stage.publish()
    await good.connected()
    audience = await stage.watch()
    auth = {"Authorization": f"Bearer {stage.token(Role.SPEAKER)}"}
    sdp = {**auth, "Content-Type": "application/sdp"}
    cases = [
        (b"v=0\r\n", sdp, 400, "bad_sdp"),
        (b"hello", sdp, 400, "bad_sdp"),
        (b"\xff\xfe", sdp, 400, "bad_sdp"),
        (b"v=0\r\n" + b"a=x\r\n" * 20000, sdp, 413, "too_large"),
        (
            good.pc.localDescription.sdp.encode(),
            {**auth, "Content-Type": "text/plain"},
            415,
            "unsupported_media_type",
        ),
        (_without_codecs(good.pc.localDescription.sdp).encode(), sdp, 400, "no_common_codec"),
    ]
    for body, headers, status, code in cases:
        got_status, got = await stage.post("/whip/welcome", body, headers)
        assert got_status == status, (body[:30], got)
        assert got["message"]
        assert got["error"] == code
    assert stage.relay.peer_connections == 2  # only the two good sessions
    frames = audience.frames["video"]
    await audience.until_frames("video", frames + 15)  # and they kept going


def _without_codecs(sdp: str) -> str:
    """An offer whose only codecs are ones the relay does not forward."""
    lines = []
    for line in sdp.splitlines():
        if line.startswith("m=audio"):
            line = " ".join(line.split()[:3]) + " 0"
        elif line.startswith("m=video"):
            line = " ".join(line.split()[:3]) + " 34"
        elif line.startswith(("a=rtpmap", "a=fmtp", "a=rtcp-fb")):
            continue
        lines.append(line)
    audio = lines.index(next(x for x in lines if x.startswith("m=audio")))
    lines.insert(audio + 1, "a=rtpmap:0 PCMU/8000")
    video = lines.index(next(x for x in lines if x.startswith("m=video")))
    lines.insert(video + 1, "a=rtpmap:34 H263/90000")
    return "\r\n".join(lines) + "\r\n"


async def test_delete_and_trickle(stage: Stage) -> None:
    speaker = await stage.publish()
    await speaker.connected()
    async with aiohttp.ClientSession() as http:
        auth = {"Authorization": f"Bearer {stage.token(Role.SPEAKER)}"}
        credentials = re.findall(r"a=ice-(?:ufrag|pwd):\S+\r\n", speaker.pc.localDescription.sdp)
        fragment = (
            "".join(credentials[:2]) + "a=mid:0\r\n"
            "a=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host\r\n"
        )
        own = {"Authorization": f"Bearer {speaker.token}"}
        async with http.patch(
            stage.base + speaker.location,
            data=fragment,
            headers={**own, "Content-Type": "application/trickle-ice-sdpfrag"},
        ) as response:
            assert response.status == 204
        async with http.patch(
            stage.base + speaker.location,
            data=fragment,
            headers={**own, "Content-Type": "text/plain"},
        ) as response:
            assert response.status == 415
        async with http.delete(stage.base + speaker.location, headers=auth) as response:
            assert response.status == 403  # someone else's session
        async with http.delete(stage.base + "/whip/welcome/nope", headers=own) as response:
            assert response.status == 404
    assert await speaker.delete() == 200
    assert stage.relay.peer_connections == 0
    assert await speaker.delete() == 404


async def test_sessions_that_never_connect_are_cleaned_up(
    tmp_path: Path, aiohttp_server: ServerFactory
) -> None:
    stage = await make_stage(tmp_path, aiohttp_server, connect_within_seconds=1.5)
    peer = await stage.publish()
    await peer.pc.close()  # walks away before ICE completes
    assert stage.relay.peer_connections == 1
    async with asyncio.timeout(10):
        while stage.relay.peer_connections:
            await asyncio.sleep(0.05)


async def test_ending_the_room_closes_its_sessions(stage: Stage) -> None:
    speaker = await stage.publish()
    audience = await stage.watch()
    await audience.until_frames("video", 5)
    await stage.app[appkeys.ROOMS].override("welcome", OverrideAction.END, 0, TECH)
    assert stage.relay.peer_connections == 0
    # The relay shuts each DTLS session down (close_notify), so both peers close cleanly:
    # neither waits for a consent timeout to call it failed.
    async with asyncio.timeout(10):
        while (speaker.pc.connectionState, audience.pc.connectionState) != ("closed", "closed"):
            await asyncio.sleep(0.05)


async def test_capacity_gives_503_with_retry_after(
    tmp_path: Path, aiohttp_server: ServerFactory
) -> None:
    stage = await make_stage(tmp_path, aiohttp_server, max_viewers_per_room=1)
    try:
        await stage.watch()
        with pytest.raises(SignallingError) as full:
            await stage.watch()
        assert (full.value.status, full.value.body["error"]) == (503, "at_capacity")
        assert int(full.value.headers["Retry-After"]) > 0
        assert stage.relay.peer_connections == 1
    finally:
        for peer in stage.peers:
            await peer.close()


async def test_rehearsal_speed_does_not_matter_to_media(
    tmp_path: Path, aiohttp_server: ServerFactory
) -> None:
    app = create_app(
        replace(
            settings(tmp_path, fast_rehearsal(bundled_config(), lead=-1)),
            ice_addresses=("127.0.0.1",),
        )
    )
    stage = Stage(app, await aiohttp_server(app))
    assert stage.relay.settings.loopback_only


async def test_the_demo_feed_is_watchable(tmp_path: Path, aiohttp_server: ServerFactory) -> None:
    base = settings(tmp_path, clock_in_welcome(10))
    app = create_app(replace(base, ice_addresses=("127.0.0.1",), demo_feed=True))
    stage = Stage(app, await aiohttp_server(app))
    audience = await stage.watch()
    try:
        await audience.until_frames("video", 15, within=15)
        await audience.until_frames("audio", 25)
        async with asyncio.timeout(10):  # the remote panelist connects beside the hall
            while stage.relay.counts("welcome") != (2, 1):
                await asyncio.sleep(0.05)
        sources = stage.relay.stage_payload("welcome", backstage=True)
        assert [(s["name"], s["on_stage"], s["slot"]) for s in sources] == [
            ("Demo hall feed", True, 0),
            ("Demo remote panelist", False, None),  # waiting for a technician to bring it on
        ]
    finally:
        await audience.close()


async def test_whep_answers_name_the_ice_servers_with_credentials_for_the_viewer(
    tmp_path: Path, aiohttp_server: ServerFactory
) -> None:
    stage = await make_stage(
        tmp_path,
        aiohttp_server,
        ice_servers=(STUN, TURN),
        environ={"PLENARY_TURN_SECRET": SECRET},
    )
    token = stage.token(Role.ATTENDEE)
    sub = stage.app[appkeys.TOKENS].verify(token).sub
    peer = await viewer(stage.base, "welcome", token)
    await peer.close()
    async with aiohttp.ClientSession() as http:
        async with http.get(
            stage.base + "/api/media/ice-servers", headers={"Authorization": f"Bearer {token}"}
        ) as response:
            listed = (await response.json())["iceServers"]
        async with http.patch(
            stage.base + "/whep/welcome/nope",
            data="a=mid:0\r\n",
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/trickle-ice-sdpfrag",
            },
        ) as response:
            assert response.status == 404
    assert [server["urls"] for server in listed] == [list(STUN.urls), list(TURN.urls)]
    assert_minted_for(sub, listed[1]["username"], listed[1]["credential"])
    # The Link headers of the WHEP answer name the same servers (RFC 9725 section 4.6), with
    # credentials minted for the same token when it posted its offer.
    assert peer.links[0] == f'<{STUN.urls[0]}>; rel="ice-server"'
    turn_links = [re.fullmatch(TURN_LINK, link) for link in peer.links[1:]]
    assert [match and match["url"] for match in turn_links] == list(TURN.urls)
    for match in turn_links:
        assert match is not None
        assert_minted_for(sub, match["username"], match["credential"])
    assert SECRET not in peer.answer + "".join(peer.links)
