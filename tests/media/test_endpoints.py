"""WHIP and WHEP over HTTP, tried as an attacker would: every malformed request is a 4xx with a
JSON error and no traceback, and a session answers only to whoever may act on it."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from server.auth.permissions import Role
from server.media.aiortc_internals.ice import restrict_ice
from tests.media.test_relay import ServerFactory, Stage, make_stage
from tests.media_peers import LOOPBACK, Peer

TRICKLE = "application/trickle-ice-sdpfrag"


@pytest.fixture
async def stage(tmp_path: Path, aiohttp_server: ServerFactory) -> AsyncIterator[Stage]:
    stage = await make_stage(tmp_path, aiohttp_server)
    yield stage
    for peer in stage.peers:
        await peer.close()


async def send(
    stage: Stage,
    method: str,
    path: str,
    token: str,
    body: bytes = b"",
    content_type: str = TRICKLE,
    **headers: str,
) -> tuple[int, dict[str, Any]]:
    """The status and the JSON error (empty for any other answer) of one request."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type, **headers}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, stage.base + path, data=body, headers=headers) as response,
    ):
        if response.content_type != "application/json":
            return response.status, {}
        return response.status, await response.json()


async def trickling_speaker(stage: Stage) -> Peer:
    """A publisher whose offer carries no candidates and does not say it has them all, so that
    the relay takes what it trickles; its own candidates are left for the test to send."""
    peer = Peer(RTCPeerConnection(), stage.base, stage.token(Role.SPEAKER))
    stage.peers.append(peer)
    peer.pc.addTrack(AudioStreamTrack())
    peer.pc.addTrack(VideoStreamTrack())
    restrict_ice(peer.pc, LOOPBACK)
    await peer.pc.setLocalDescription(await peer.pc.createOffer())
    offer = re.sub(r"a=(candidate:.*|end-of-candidates)\r\n", "", peer.pc.localDescription.sdp)
    headers = {"Authorization": f"Bearer {peer.token}", "Content-Type": "application/sdp"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(stage.base + "/whip/welcome", data=offer, headers=headers) as response,
    ):
        assert response.status == 201, await response.text()
        peer.answer = await response.text()
        peer.location = response.headers["Location"]
    await peer.pc.setRemoteDescription(RTCSessionDescription(peer.answer, "answer"))
    return peer


def ice_credentials(peer: Peer) -> str:
    """The fragment lines that name the ICE session the peer offered."""
    sdp = peer.pc.localDescription.sdp
    ufrag = re.search(r"a=ice-ufrag:(\S+)", sdp)
    pwd = re.search(r"a=ice-pwd:(\S+)", sdp)
    assert ufrag and pwd
    return f"a=ice-ufrag:{ufrag[1]}\r\na=ice-pwd:{pwd[1]}\r\n"


def remote_candidates(stage: Stage, peer: Peer) -> set[str]:
    """``ADDRESS PORT TRANSPORT`` of each candidate the relay's ICE agent holds for the peer."""
    session = stage.relay.session(peer.location.rsplit("/", 1)[1])
    transport = session.pc.getTransceivers()[0].receiver.transport.transport
    return {f"{c.ip} {c.port} {c.protocol}" for c in transport.getRemoteCandidates()}


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    assert "Traceback" not in caplog.text
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


async def test_a_malformed_trickle_is_a_400_and_logs_no_traceback(
    stage: Stage, caplog: pytest.LogCaptureFixture
) -> None:
    speaker = await stage.publish()
    await speaker.connected()
    many = "".join(f"a=candidate:{i} 1 udp 1 127.0.0.1 {9000 + i} typ host\r\n" for i in range(300))
    malformed = [
        "a=candidate:x",
        "a=candidate:1 1 udp 1 127.0.0.1 5000",
        "a=candidate:1 1 udp 1 127.0.0.1 70000 typ host",
        "a=candidate:1 1 udp 1 127.0.0.1 -1 typ host",
        "a=candidate:1 0 udp 1 127.0.0.1 5000 typ host",
        "a=candidate:1 1 udp 1 127.0.0.1 5000 typ host raddr 1.2.3.4 rport x",
        "a=candidate:1 1 udp 1 127.0.0.1 5000 typ host\x00",
        "a=mid:0\r\na=candidate:1 1 udp 1 127.0.0.1 5000 xtyp host",
        "a=mid:99\r\na=candidate:1 1 udp 1 127.0.0.1 5000 typ host",
        many,
    ]
    with caplog.at_level(logging.INFO):
        for body in [text.encode() for text in malformed] + [b"a=candidate:\xff\xfe"]:
            status, error = await send(stage, "PATCH", speaker.location, speaker.token, body)
            assert (status, error.get("error")) == (400, "bad_sdp"), (body[:50], error)
            assert error["message"]
        status, error = await send(
            stage, "PATCH", speaker.location, speaker.token, b"a=x\r\n" * 100_000
        )
        assert (status, error.get("error")) == (413, "too_large")
    no_tracebacks(caplog)
    assert stage.relay.peer_connections == 1  # the session goes on
    assert speaker.pc.connectionState == "connected"


async def test_trickled_candidates_reach_the_relay_as_rfc_9725_has_it(stage: Stage) -> None:
    """Candidates the relay cannot check (TCP, off loopback here, from an earlier ICE session)
    are left out without a word; after end-of-candidates nothing more is taken."""
    speaker = await trickling_speaker(stage)
    own = re.search(r"a=(candidate:.*)\r\n", speaker.pc.localDescription.sdp)
    assert own is not None
    fragment = ice_credentials(speaker) + (
        f"m=audio 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na={own[1]}\r\n"
        "a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0\r\n"
        "a=candidate:2 1 udp 2122260223 ::1 50001 typ host\r\n"
        "a=candidate:3 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active\r\n"
        "a=candidate:4 1 udp 2122260223 127.0.0.1 50002 typ host ufrag earlier\r\n"
        "a=candidate:5 1 udp 2122260223 192.0.2.1 50003 typ host\r\n"
        "a=candidate:6 1 udp 2122260223 c0ffee00-0000-4000-8000-000000000000.local 50004 "
        "typ host\r\n"
    )
    status, _ = await send(stage, "PATCH", speaker.location, speaker.token, fragment.encode())
    assert status == 204
    own_address = " ".join(own[1].split()[4:6])
    assert remote_candidates(stage, speaker) == {
        f"{own_address} udp",
        "127.0.0.1 50000 udp",
        "::1 50001 udp",
    }
    await speaker.connected()
    ended = "a=mid:0\r\na=end-of-candidates\r\n"
    status, _ = await send(stage, "PATCH", speaker.location, speaker.token, ended.encode())
    assert status == 204
    late = "a=candidate:7 1 udp 2122260223 127.0.0.1 50005 typ host"
    status, _ = await send(stage, "PATCH", speaker.location, speaker.token, late.encode())
    assert status == 204
    assert "127.0.0.1 50005 udp" not in remote_candidates(stage, speaker)


async def test_an_ice_restart_is_refused_and_the_session_goes_on(stage: Stage) -> None:
    speaker = await stage.publish()
    await speaker.connected()
    restart = (
        "a=ice-ufrag:ysXw\r\na=ice-pwd:vw5LmwG4y/e6dPP/zAP9Gp5k\r\na=mid:0\r\n"
        "a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n"
    )
    status, error = await send(
        stage, "PATCH", speaker.location, speaker.token, restart.encode(), **{"If-Match": "*"}
    )
    assert (status, error.get("error")) == (422, "ice_restart_not_supported")
    assert "127.0.0.1 50000 udp" not in remote_candidates(stage, speaker)
    assert stage.relay.peer_connections == 1
    assert speaker.pc.connectionState == "connected"


async def test_a_session_answers_only_at_its_own_location(stage: Stage) -> None:
    """The Location names the session's kind and room as well as its id: DELETE or PATCH on
    /whip/… of a WHEP session, or in another room, finds nothing."""
    speaker = await stage.publish()
    audience = await stage.watch()
    whep_id = audience.location.rsplit("/", 1)[1]
    whip_id = speaker.location.rsplit("/", 1)[1]
    elsewhere = [
        (f"/whip/welcome/{whep_id}", audience.token),
        (f"/whep/welcome/{whip_id}", speaker.token),
        (f"/whep/keynote/{whep_id}", audience.token),
    ]
    for path, token in elsewhere:
        for method in ("PATCH", "DELETE"):
            status, error = await send(stage, method, path, token, b"a=end-of-candidates")
            assert (status, error.get("error")) == (404, "not_found"), (method, path)
    assert stage.relay.peer_connections == 2
    for method in ("GET", "PUT", "POST"):
        status, error = await send(stage, method, audience.location, audience.token)
        assert (status, error.get("error")) == (405, "method_not_allowed"), method
    assert await audience.delete() == 200
    for method in ("PATCH", "DELETE"):  # and once it has ended, it is gone
        status, error = await send(stage, method, audience.location, audience.token, b"")
        assert (status, error.get("error")) == (404, "not_found")


async def test_only_the_owner_and_staff_of_its_room_may_end_or_trickle_a_session(
    stage: Stage,
) -> None:
    speaker = await stage.publish()
    audience = await stage.watch()
    outsiders = [
        stage.token(Role.TECHNICIAN, rooms=("keynote",)),  # staff, but of another room
        stage.token(Role.ORGANIZER, rooms=("keynote",)),
        stage.token(Role.ATTENDEE),  # someone else in the same room
        stage.token(Role.SPEAKER),
        stage.token(Role.MODERATOR),  # may not control rooms
    ]
    for token in outsiders:
        for peer in (speaker, audience):
            for method in ("PATCH", "DELETE"):
                status, error = await send(stage, method, peer.location, token, b"")
                assert (status, error.get("error")) == (403, "forbidden"), (method, peer.location)
                assert error["message"]
    assert stage.relay.peer_connections == 2
    technician = stage.token(Role.TECHNICIAN, rooms=("welcome",))
    status, _ = await send(stage, "PATCH", audience.location, technician, b"a=end-of-candidates")
    assert status == 204
    assert (await send(stage, "DELETE", audience.location, technician))[0] == 200
    assert await speaker.delete() == 200  # its owner
    assert stage.relay.peer_connections == 0


async def test_a_trickle_for_another_entity_tag_is_412(stage: Stage) -> None:
    """RFC 9725 section 4.3.1: If-Match is compared with the session's ETag, strongly."""
    speaker = await trickling_speaker(stage)
    etag = stage.relay.session(speaker.location.rsplit("/", 1)[1]).etag
    ports = range(50000, 50100)
    port = iter(ports)

    def trickled() -> set[str]:  # not the peer-reflexive one, once the speaker is connected
        return {c for c in remote_candidates(stage, speaker) if int(c.split()[1]) in ports}

    async def trickle(if_match: str | None = None) -> tuple[int, str | None]:
        line = f"a=candidate:1 1 udp 2122260223 127.0.0.1 {next(port)} typ host"
        headers = {} if if_match is None else {"If-Match": if_match}
        status, error = await send(
            stage, "PATCH", speaker.location, speaker.token, line.encode(), **headers
        )
        return status, error.get("error")

    for stale in ('"0123456789abcdef"', f"W/{etag}", etag.strip('"'), "garbage"):
        assert await trickle(stale) == (412, "precondition_failed"), stale
    assert trickled() == set()
    for matching in (etag, f'"0123456789abcdef", {etag}', "*"):
        assert await trickle(matching) == (204, None), matching
    assert await trickle() == (204, None)  # without If-Match, as clients before RFC 9725
    assert len(trickled()) == 4


async def aiortc_offer(*audio_codecs: str, video: bool = True) -> str:
    """What an aiortc publisher offers: a microphone (with only ``audio_codecs``, if named)
    and a camera, host candidates on loopback."""
    pc = RTCPeerConnection()
    microphone = pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
    if audio_codecs:
        capabilities = RTCRtpSender.getCapabilities("audio").codecs
        microphone.setCodecPreferences([c for c in capabilities if c.name in audio_codecs])
    if video:
        pc.addTrack(VideoStreamTrack())
    return await offer_from(pc)


async def offer_from(pc: RTCPeerConnection) -> str:
    """The offer of ``pc``, with host candidates on loopback; ``pc`` is closed."""
    restrict_ice(pc, LOOPBACK)
    await pc.setLocalDescription(await pc.createOffer())
    await pc.close()
    return str(pc.localDescription.sdp)


async def offer_of(*sections: tuple[str, str]) -> str:
    """An offer with one section of each (kind, direction)."""
    pc = RTCPeerConnection()
    for kind, direction in sections:
        pc.addTransceiver(kind, direction=direction)
    return await offer_from(pc)


async def test_offers_that_could_never_carry_media_are_refused_at_the_edge(
    stage: Stage, caplog: pytest.LogCaptureFixture
) -> None:
    good = await aiortc_offer()
    broken = {
        "no fingerprint": re.sub(r"a=fingerprint:.*\r\n", "", good),
        "passive": re.sub(r"a=setup:actpass", "a=setup:passive", good),
        "no bundle": re.sub(r"a=group:BUNDLE.*\r\n", "", good),
        "no rtcp-mux": re.sub(r"a=rtcp-mux\r\n", "", good),
        "a bad candidate": good.replace("a=mid:0", "a=mid:0\r\na=candidate:x"),
        "payload type 300": re.sub(r"(m=audio \d+ \S+) ", r"\1 300 ", good),
        "fmtp of no codec": good.replace("a=mid:0", "a=mid:0\r\na=fmtp:55 x=1"),
    }
    token = stage.token(Role.SPEAKER)
    with caplog.at_level(logging.INFO):
        for name, text in broken.items():
            status, error = await send(
                stage, "POST", "/whip/welcome", token, text.encode(), "application/sdp"
            )
            assert (status, error.get("error")) == (400, "bad_sdp"), (name, error)
            assert error["message"]
        assert stage.relay.peer_connections == 0
        status, _ = await send(
            stage, "POST", "/whip/welcome", token, good.encode(), "application/sdp"
        )
        assert status == 201
    no_tracebacks(caplog)


async def test_an_offer_is_answered_with_the_codecs_the_relay_forwards_only(stage: Stage) -> None:
    """The README promises no_common_codec for PCMU and PCMA only, and it was answered."""
    token = stage.token(Role.SPEAKER)
    old_phone = await aiortc_offer("PCMU", "PCMA", video=False)
    status, error = await send(
        stage, "POST", "/whip/welcome", token, old_phone.encode(), "application/sdp"
    )
    assert (status, error.get("error")) == (400, "no_common_codec")
    assert "PCMA, PCMU" in error["message"]
    assert stage.relay.peer_connections == 0
    speaker = await stage.publish()  # it offers G722, PCMU and PCMA too, after Opus
    assert re.findall(r"a=rtpmap:\d+ ([^/]+)/", speaker.answer) == [
        "opus",
        "VP8",
        "rtx",
        "H264",
        "rtx",
        "H264",
        "rtx",
    ]


async def test_an_offer_must_carry_media_the_endpoints_way(stage: Stage) -> None:
    """A WHIP offer that only receives, or one with every section inactive, was answered with
    nothing to carry, as if it lacked a codec. A viewer's sections are its slots: each video
    section its own slot of the stage, never the same picture twice."""
    speaker = await stage.publish()
    await speaker.connected()
    refused = [
        ("/whip/welcome", [("audio", "sendonly"), ("video", "sendonly"), ("video", "sendonly")]),
        ("/whip/welcome", [("audio", "recvonly"), ("video", "recvonly")]),
        ("/whep/welcome", [("audio", "sendonly"), ("video", "sendonly")]),
        ("/whep/welcome", [("audio", "inactive"), ("video", "inactive")]),
        ("/whep/welcome", [("audio", "recvonly")] + [("video", "recvonly")] * 16),
    ]
    token = stage.token(Role.TECHNICIAN)
    for path, sections in refused:
        text = await offer_of(*sections)
        status, error = await send(stage, "POST", path, token, text.encode(), "application/sdp")
        assert (status, error.get("error")) == (400, "bad_sdp"), (path, sections)
        assert error["message"]
    assert stage.relay.peer_connections == 1
    slots = await offer_of(("audio", "recvonly"), ("video", "recvonly"), ("video", "recvonly"))
    status, _ = await send(stage, "POST", "/whep/welcome", token, slots.encode(), "application/sdp")
    assert status == 201
    media = stage.relay.room_media("welcome")
    assert [lane.viewers for lane in media.video_lanes] == [1, 1, 0, 0]  # two slots, one each
