"""A viewer that may only use a TURN relay watches a room through a real coturn, with the
credentials the server minted for its token; coturn refuses wrong or expired ones."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import pytest
from aioice import stun, turn
from aiortc import RTCIceServer

from scheduler.clock import wall_now
from server.auth.permissions import Role
from server.config_media import IceServer
from server.media.ice_servers import IceServers, TurnCredential
from server.web import appkeys
from tests.coturn import CoturnServer
from tests.helpers import bundled_config
from tests.media.test_ice_servers import claims_until
from tests.media.test_relay import ServerFactory, Stage, fanouts_in_use, make_stage, srtp_in_use
from tests.media_peers import viewer

SECRET_ENV = "PLENARY_TURN_SECRET"


@pytest.fixture
async def stage(
    tmp_path: Path, aiohttp_server: ServerFactory, coturn: CoturnServer, native: ModuleType
) -> AsyncIterator[Stage]:
    """A server in the welcoming remarks, sending through its C loop, that hands out coturn as
    a deployment's config would: the TURN URL in the config, the shared secret in the
    environment."""
    stage = await make_stage(
        tmp_path,
        aiohttp_server,
        loop="c",
        ice_servers=(IceServer(urls=(coturn.url,), secret_env=SECRET_ENV),),
        environ={SECRET_ENV: coturn.secret},
    )
    yield stage
    for peer in stage.peers:
        await peer.close()


async def ice_servers_for(stage: Stage, token: str) -> list[RTCIceServer]:
    """What ``GET /api/media/ice-servers`` hands this token, as aiortc takes it."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            stage.base + "/api/media/ice-servers", headers={"Authorization": f"Bearer {token}"}
        ) as response,
    ):
        assert response.status == 200
        listed = (await response.json())["iceServers"]
    return [RTCIceServer(**server) for server in listed]


def nominated(pc: Any) -> Any:
    """The candidate pair a peer connection's media goes through (one transport: bundled)."""
    connection = pc.getTransceivers()[0].receiver.transport.transport._connection
    return connection._nominated[1]


async def test_a_relay_only_viewer_receives_media_through_coturn(
    stage: Stage, coturn: CoturnServer
) -> None:
    speaker = await stage.publish()
    await speaker.connected()
    token = stage.token(Role.ATTENDEE)
    servers = await ice_servers_for(stage, token)
    assert [server.urls for server in servers] == [[coturn.url]]
    audience = await viewer(stage.base, "welcome", token, relay_through=servers)
    stage.peers.append(audience)
    await audience.until_frames("video", 30, within=20)
    await audience.until_frames("audio", 30)

    # The viewer offered only its relayed address, and its media comes through it.
    offered = re.findall(
        r"a=candidate:\S+ \d+ udp \d+ \S+ \d+ typ (\w+)", audience.pc.localDescription.sdp
    )
    assert offered and set(offered) == {"relay"}
    viewer_pair = nominated(audience.pc)
    assert viewer_pair.local_candidate.type == "relay"
    session = stage.relay.session(audience.location.rsplit("/", 1)[1])
    relay_pair = nominated(session.pc)
    assert relay_pair.remote_candidate.type == "relay"
    relayed_address = (viewer_pair.local_candidate.host, viewer_pair.local_candidate.port)
    assert relay_pair.remote_addr == relayed_address
    assert relayed_address[1] != coturn.port

    # On the relay's side the TURN allocation is just another UDP address: such a viewer goes
    # through the C loop and its own AES-GCM like any other.
    assert fanouts_in_use(stage) == {"Fanout"}
    assert srtp_in_use(stage) == {"GcmSender"}

    # coturn's own account of the allocations for this token's subject.
    sub = stage.app[appkeys.TOKENS].verify(token).sub
    await audience.close()
    usage = await coturn_usage(coturn, sub)
    # Every frame the viewer decoded came in at least one packet from the relay to coturn's
    # relayed address, and from coturn on to the viewer.
    frames = audience.frames["audio"] + audience.frames["video"]
    assert usage["peer_rp"] >= frames and usage["sp"] >= frames, (usage, frames)


async def coturn_usage(coturn: CoturnServer, sub: str, within: float = 10.0) -> dict[str, int]:
    """The traffic coturn counted for the allocations of ``sub`` (one per ICE transport the
    viewer set up before bundling), summed, once the viewer has deleted them all. coturn logs
    each as ``usage: …, username=<EXPIRY:SUB>, rp=…, rb=…, sp=…, sb=…`` for the client's side
    and ``peer usage: …`` for the relayed side."""
    user = rf"<\d+:{re.escape(sub)}>"
    allocated = re.compile(rf"user {user}: incoming packet ALLOCATE processed, success")
    usage = re.compile(rf"session \w+: (peer )?usage: realm=<[^>]*>, username={user}, (.*)")
    async with asyncio.timeout(within):
        while True:
            log = coturn.log()
            counted = usage.findall(log)
            allocations = len(allocated.findall(log))
            if allocations and sum(not peer for peer, _ in counted) == allocations:
                break
            await asyncio.sleep(0.1)
    totals: dict[str, int] = {}
    for peer, counters in counted:
        for name, value in re.findall(r"(\w+)=(\d+)", counters):
            key = f"peer_{name}" if peer else name
            totals[key] = totals.get(key, 0) + int(value)
    return totals


async def allocate(coturn: CoturnServer, credential: TurnCredential) -> tuple[str, int]:
    """A TURN allocation on ``coturn`` with ``credential``: its relayed address."""
    transport, _ = await turn.create_turn_endpoint(
        asyncio.DatagramProtocol,
        server_addr=("127.0.0.1", coturn.port),
        username=credential.username,
        password=credential.credential,
    )
    try:
        address: tuple[str, int] = transport.get_extra_info("sockname")
        return address
    finally:
        transport.close()


def turn_credential(
    coturn: CoturnServer, secret: str, *, sub: str, hours_ago: float = 0
) -> TurnCredential:
    """What the server would mint for a token of ``sub`` if it held ``secret`` and its clock
    read ``hours_ago`` hours ago."""
    then = wall_now() - timedelta(hours=hours_ago)
    config = replace(
        bundled_config(), ice_servers=(IceServer(urls=(coturn.url,), secret_env=SECRET_ENV),)
    )
    servers = IceServers.from_config(config, {SECRET_ENV: secret}, lambda: then)
    (offered,) = servers.for_holder(claims_until(wall_now() + timedelta(days=1), sub=sub))
    assert offered.credential is not None
    return offered.credential


async def test_coturn_refuses_wrong_and_expired_credentials(coturn: CoturnServer) -> None:
    host, _ = await allocate(coturn, turn_credential(coturn, coturn.secret, sub="a_right"))
    assert host == "127.0.0.1"  # the control: what the server mints now is accepted
    wrong_secret = turn_credential(coturn, "not-" + coturn.secret, sub="a_wrong_secret")
    expired = turn_credential(coturn, coturn.secret, hours_ago=3, sub="a_expired")
    tampered = replace(
        turn_credential(coturn, coturn.secret, sub="a_tampered"),
        username=f"{int(wall_now().timestamp()) + 86400 * 30}:a_tampered",
    )
    for refused in (wrong_secret, expired, tampered):
        with pytest.raises(stun.TransactionFailed) as failure:
            await allocate(coturn, refused)
        assert failure.value.response.attributes["ERROR-CODE"][0] == 401, refused
