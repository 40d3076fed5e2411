"""Stream health and alerts from a real aiortc publisher on loopback, to real python-socketio
clients: what a technician sees, what nobody else does, and alerts raised and cleared."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.auth.permissions import Role
from server.config import AlertSettings
from server.web import appkeys
from tests.helpers import Listener
from tests.media.test_relay import ServerFactory, Stage, make_stage
from tests.media_peers import Peer

# Quick to raise and to clear, so the test takes seconds; aiortc's test picture is a plain
# one, a few dozen kbps, which is no fault here.
QUICK = AlertSettings(no_video_seconds=2, loss_seconds=1, clear_seconds=1, low_bitrate_kbps=1)


class Lossy:
    """The network loses every ``every``th video packet the publisher sends, and the publisher
    does not send it again (no retransmission): the relay sees exactly that loss."""

    def __init__(self, peer: Peer, every: int = 8) -> None:
        self.every = every
        self.on = True
        sender = next(t.sender for t in peer.pc.getTransceivers() if t.kind == "video")
        self.ssrc = sender._ssrc.to_bytes(4, "big")
        transport = sender.transport
        send, count = transport._send_rtp, [0]

        async def lossy(data: bytes) -> None:
            if self.on and data[8:12] == self.ssrc:
                count[0] += 1
                if count[0] % self.every == 0:
                    return
            await send(data)

        async def never_again(sequence_number: int) -> None:
            pass

        transport._send_rtp = lossy
        sender._retransmit = never_again  # type: ignore[method-assign]


async def join(stage: Stage, role: Role, rooms: tuple[str, ...] = ("*",)) -> Listener:
    return await Listener(stage.base, stage.token(role, rooms)).connect()


def healths(listener: Listener, room: str = "welcome") -> list[dict[str, Any]]:
    return [h for h in listener.received("health") if h["room"] == room]


async def next_health(listener: Listener, good: Any, within: float = 10.0) -> dict[str, Any]:
    seen = len(listener.received("health"))

    def arrived(event: str, data: Any) -> bool:
        return event == "health" and len(listener.received("health")) > seen and good(data)

    return dict(await listener.wait_for(arrived, within))


def video_of(health: dict[str, Any]) -> dict[str, Any]:
    return next(p for p in health["publishers"] if p["kind"] == "video")


@pytest.fixture
async def stage(tmp_path: Path, aiohttp_server: ServerFactory) -> Stage:
    return await make_stage(tmp_path, aiohttp_server, alerts=QUICK)


async def test_a_technician_sees_each_track_and_the_loss_nobody_else_sees(stage: Stage) -> None:
    technician = await join(stage, Role.TECHNICIAN)
    elsewhere = await join(stage, Role.TECHNICIAN, rooms=("keynote",))
    attendee = await join(stage, Role.ATTENDEE)
    hall = await stage.publish()
    await hall.connected()
    watcher = await stage.watch()
    await watcher.until_frames("video", 10)
    health = await next_health(technician, lambda h: video_of(h)["fps"] and h["viewers"] == 1)
    video = video_of(health)
    audio = next(p for p in health["publishers"] if p["kind"] == "audio")
    assert video["bitrate_kbps"] > 10 and 10 <= video["fps"] <= 40
    assert video["loss_pct"] == 0 and video["since_packet_s"] < 1
    assert video["since_keyframe_s"] is not None and video["grade"] in ("excellent", "good")
    assert audio["bitrate_kbps"] > 5 and audio["fps"] is None
    assert video["id"] == audio["id"] and video["on_stage"] and video["role"] == "technician"
    # The viewer's receiver reports: it loses nothing on loopback.
    health = await next_health(technician, lambda h: h["viewer_loss_pct"] is not None)
    assert (health["viewer_loss_pct"], health["viewers_losing"]) == (0, 0)

    lossy = Lossy(hall, every=8)  # 12.5%
    health = await next_health(technician, lambda h: video_of(h)["loss_pct"] > 5)
    assert 6 < video_of(health)["loss_pct"] < 20 and video_of(health)["grade"] == "poor"
    raised = await technician.wait_for(lambda e, a: e == "alert" and a["code"] == "packet_loss")
    assert (raised["code"], raised["level"], raised["room"]) == (
        "packet_loss",
        "warning",
        "welcome",
    )
    assert raised["source"] == video["id"] + ":video"
    lossy.on = False
    await technician.wait_for(
        lambda e, a: e == "alert" and a["code"] == "packet_loss" and not a["active"]
    )

    # Nobody else heard any of it: their own calls answered after every round above.
    for other in (elsewhere, attendee):
        await other.call("questions", {"room": "keynote"})
        assert healths(other) == [] and other.received("alert") == []
    for peer in (hall, watcher):
        await peer.close()
    for listener in (technician, elsewhere, attendee):
        await listener.close()


async def test_a_feed_that_stops_is_an_alert_a_newcomer_sees_and_the_log_keeps(
    stage: Stage,
) -> None:
    technician = await join(stage, Role.TECHNICIAN)
    hall = await stage.publish()
    await hall.connected()
    await next_health(technician, lambda h: video_of(h)["fps"])
    await hall.close()  # the hall encoder goes away
    raised = await technician.wait_for(lambda e, a: e == "alert" and a["code"] == "no_feed")
    assert raised["active"] and raised["level"] == "critical"
    latecomer = await join(stage, Role.TECHNICIAN)  # sees what is up at once
    on_connect = await latecomer.wait_for(lambda e, a: e == "alert")
    assert (on_connect["code"], on_connect["active"]) == ("no_feed", True)
    log = await stage.app[appkeys.ROOMS].audit_log()
    alerts = [(e.action, e.detail["code"], e.detail["active"]) for e in log if e.action == "alert"]
    assert ("alert", "no_feed", True) in alerts
    await technician.close()
    await latecomer.close()
