"""The hybrid stage with real aiortc peers on loopback: a hall encoder and remote panelists
publish, each with a picture of its own size, so what each of a viewer's slots decodes says
whose it is; the stage is moved over Socket.IO as a technician's page would."""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack
from av import AudioFrame, VideoFrame

from scheduler.timetable import OverrideAction
from server.auth.permissions import Role
from server.media.aiortc_internals.ice import restrict_ice
from server.web import appkeys
from tests.helpers import Listener
from tests.media.test_relay import (
    IN_STATEMENT_LOBBY,
    TECH,
    ServerFactory,
    Stage,
    make_stage,
)
from tests.media_peers import LOOPBACK, Peer

HALL, ANNA, BORIS = (320, 240), (160, 120), (240, 160)
MAX_BUNDLE = RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


class Picture(VideoStreamTrack):
    """A plain picture of its own size: the size tells a viewer whose it is."""

    def __init__(self, size: tuple[int, int]) -> None:
        super().__init__()
        self.size = size

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame(width=self.size[0], height=self.size[1])
        for plane in frame.planes:
            plane.update(bytes([128]) * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


class Voice(AudioStreamTrack):
    """A steady tone (speech, as far as audio levels go), or silence."""

    def __init__(self, loud: bool) -> None:
        super().__init__()
        self.loud = loud

    async def recv(self) -> AudioFrame:
        frame = await super().recv()
        if self.loud:
            rate, count = frame.sample_rate, frame.samples
            wave = (int(8000 * math.sin(2 * math.pi * 300 * i / rate)) for i in range(count))
            frame.planes[0].update(b"".join(s.to_bytes(2, "little", signed=True) for s in wave))
        return frame


@dataclass
class Receiver:
    """A viewer that notes, per m-line, how many frames it decoded and of which sizes."""

    peer: Peer
    sizes: list[Counter[tuple[int, int]]] = field(default_factory=list)
    sounds: list[int] = field(default_factory=list)

    def seen(self, slot: int) -> set[tuple[int, int]]:
        return set(self.sizes[slot])

    def frames(self, slot: int) -> int:
        return sum(self.sizes[slot].values())

    async def until(self, slot: int, size: tuple[int, int], count: int = 10) -> None:
        async with asyncio.timeout(15):
            while self.sizes[slot][size] < count:
                await asyncio.sleep(0.02)

    async def until_heard(self, tracks: int, frames: int = 25) -> None:
        async with asyncio.timeout(15):
            while sum(n >= frames for n in self.sounds) < tracks:
                await asyncio.sleep(0.02)


async def publish(
    stage: Stage,
    role: Role,
    name: str,
    size: tuple[int, int] | None,
    loud: bool,
    room: str = "welcome",
    token: str | None = None,
) -> Peer:
    token = token or named_token(stage, role, name)
    peer = Peer(RTCPeerConnection(), stage.base, token)
    peer.pc.addTrack(Voice(loud))
    if size is not None:
        peer.pc.addTrack(Picture(size))
    stage.peers.append(peer)
    await peer.signal(f"/whip/{room}")
    await peer.connected()
    return peer


async def receive(
    stage: Stage, token: str, audio: int = 6, video: int = 4, query: str = "", room: str = "welcome"
) -> Receiver:
    # aiortc leaves a further m-line of a kind on a transport of its own that BUNDLE then
    # drops, unless it bundles everything from the start (browsers do).
    peer = Peer(RTCPeerConnection(MAX_BUNDLE), stage.base, token)
    receiver = Receiver(peer, [Counter() for _ in range(video)], [0] * audio)
    transceivers = [peer.pc.addTransceiver("audio", direction="recvonly") for _ in range(audio)]
    transceivers += [peer.pc.addTransceiver("video", direction="recvonly") for _ in range(video)]

    @peer.pc.on("track")
    def on_track(track: Any) -> None:
        index = next(i for i, t in enumerate(transceivers) if t.receiver.track is track)

        async def pull() -> None:
            try:
                while True:
                    frame = await track.recv()
                    if track.kind == "video":
                        receiver.sizes[index - audio][(frame.width, frame.height)] += 1
                    else:
                        receiver.sounds[index] += 1
            except MediaStreamError:
                pass

        peer._tasks.append(asyncio.ensure_future(pull()))

    stage.peers.append(peer)
    await peer.signal(f"/whep/{room}{query}")
    await peer.connected()
    return receiver


def named_token(stage: Stage, role: Role, name: str) -> str:
    return str(stage.app[appkeys.TOKENS].issue(role=role, name=name, rooms=("*",)))


def source_id(peer: Peer, stage: Stage) -> str:
    session = stage.relay.session(peer.location.rsplit("/", 1)[1])
    return str(session.source_id)


@pytest.fixture
async def stage(tmp_path: Path, aiohttp_server: ServerFactory) -> AsyncIterator[Stage]:
    stage = await make_stage(tmp_path, aiohttp_server)
    yield stage
    for peer in stage.peers:
        await peer.close()


@pytest.fixture
async def technician(stage: Stage) -> AsyncIterator[Listener]:
    listener = await Listener(stage.base, stage.token(Role.TECHNICIAN)).connect()
    yield listener
    await listener.close()


def ask(action: str, source: object, room: str = "welcome") -> dict[str, Any]:
    return {"room": room, "action": action, "source": source}


async def move(listener: Listener, action: str, source: object, room: str = "welcome") -> Any:
    return await listener.call("control", ask(action, source, room))


async def test_viewers_receive_exactly_the_stage_and_follow_it_without_renegotiation(
    stage: Stage, technician: Listener
) -> None:
    hall = await publish(stage, Role.TECHNICIAN, "Hall", HALL, loud=False)
    anna = await publish(stage, Role.SPEAKER, "Anna", ANNA, loud=False)
    await publish(stage, Role.SPEAKER, "Boris", BORIS, loud=False)
    audience = await receive(stage, stage.token(Role.ATTENDEE))
    await audience.until(0, HALL)
    await audience.until_heard(1)
    assert [audience.frames(slot) for slot in (1, 2, 3)] == [0, 0, 0]  # backstage: nothing

    answer = await move(technician, "stage", source_id(anna, stage))
    assert answer["ok"] is True
    await audience.until(1, ANNA)  # the open session follows: no new offer
    await audience.until_heard(2)
    assert audience.peer.pc.connectionState == "connected"
    assert audience.seen(0) == {HALL} and audience.seen(1) == {ANNA}
    assert all(BORIS not in audience.seen(slot) for slot in range(4))  # still backstage

    assert (await move(technician, "backstage", source_id(anna, stage)))["ok"] is True
    await asyncio.sleep(0)  # the stage changed; from here, slot 1 gets nothing more
    stopped_at = audience.frames(1)
    await audience.until(0, HALL, audience.frames(0) + 30)  # two seconds of the hall later
    assert audience.frames(1) - stopped_at <= 2  # at most what was on its way
    assert hall.pc.connectionState == "connected"


async def test_a_new_source_on_a_slot_starts_at_a_keyframe(
    stage: Stage, technician: Listener
) -> None:
    await publish(stage, Role.TECHNICIAN, "Hall", HALL, loud=False)
    anna = await publish(stage, Role.SPEAKER, "Anna", ANNA, loud=False)
    audience = await receive(stage, stage.token(Role.ATTENDEE))
    await audience.until(0, HALL)
    await move(technician, "stage", source_id(anna, stage))
    await audience.until(1, ANNA, 5)
    lane = stage.relay.room_media("welcome").video_lanes[1]
    assert not any(lane.waiting_for_keyframe(viewer) for viewer in lane._viewers)
    assert lane.stats.keyframe_requests >= 1


async def test_a_speakers_return_carries_everyone_but_themselves(
    stage: Stage, technician: Listener
) -> None:
    await publish(stage, Role.TECHNICIAN, "Hall", HALL, loud=False)
    token = named_token(stage, Role.SPEAKER, "Anna")
    anna = await publish(stage, Role.SPEAKER, "Anna", ANNA, loud=True, token=token)
    boris = await publish(stage, Role.SPEAKER, "Boris", BORIS, loud=False)
    for speaker in (anna, boris):
        await move(technician, "stage", source_id(speaker, stage))
    own_return = await receive(stage, token)  # the speak page's WHEP, on the speaker's token
    audience = await receive(stage, stage.token(Role.ATTENDEE))
    for slot, size in enumerate((HALL, ANNA, BORIS)):
        await audience.until(slot, size)
    await own_return.until(0, HALL)
    await own_return.until(2, BORIS)
    await own_return.until_heard(2)
    await audience.until_heard(3)
    assert own_return.frames(1) == 0  # Anna's own slot stays empty for her
    assert sum(n > 0 for n in own_return.sounds) == 2  # and her own voice never comes back


async def test_the_hall_return_carries_the_remote_panelists_only(
    stage: Stage, technician: Listener
) -> None:
    await publish(stage, Role.TECHNICIAN, "Hall", HALL, loud=False)
    anna = await publish(stage, Role.SPEAKER, "Anna", ANNA, loud=False)
    await move(technician, "stage", source_id(anna, stage))
    hall_return = await receive(stage, stage.token(Role.TECHNICIAN), query="?view=remote")
    plain = await receive(stage, stage.token(Role.TECHNICIAN), 1, 1, query="?view=remote")
    await hall_return.until(1, ANNA)
    await plain.until(0, ANNA)
    await hall_return.until_heard(1)
    await asyncio.sleep(0.5)
    assert hall_return.frames(0) == 0 and sum(n > 0 for n in hall_return.sounds) == 1
    assert plain.seen(0) == {ANNA}


async def test_the_active_speaker_follows_the_audio_level(
    stage: Stage, technician: Listener
) -> None:
    await publish(stage, Role.TECHNICIAN, "Hall", HALL, loud=False)
    anna = await publish(stage, Role.SPEAKER, "Anna", ANNA, loud=True)
    boris = await publish(stage, Role.SPEAKER, "Boris", BORIS, loud=False)
    plain = await receive(stage, stage.token(Role.ATTENDEE), 1, 1)  # OBS, whepsrc
    await plain.until(0, HALL)  # nobody on stage speaks yet: the hall
    for speaker in (anna, boris):
        await move(technician, "stage", source_id(speaker, stage))
    speaking = await technician.wait_for(
        lambda event, data: (
            event == "stage" and any(s["name"] == "Anna" and s["speaking"] for s in data["sources"])
        ),
        within=10,
    )
    names = {s["name"]: s["speaking"] for s in speaking["sources"]}
    assert names == {"Hall": False, "Anna": True, "Boris": False}
    await plain.until(0, ANNA)  # the programme's picture went to Anna
    assert BORIS not in plain.seen(0)
    # Its sound is the three on stage mixed, once for every plain player of the room.
    (programme,) = stage.relay.room_media("welcome")._programmes.values()
    assert [source.name for source in programme.heard] == ["Hall", "Anna", "Boris"]
    assert programme.mix is not None and programme.mix.sources == {
        source.id for source in programme.heard
    }
    heard = plain.sounds[0]
    await plain.until_heard(1, heard + 50)  # a second of the mix
    assert programme.audio.source_key == programme.mix_key
    mix = programme.mix
    before = stage.relay.forwarded()
    await plain.peer.close()  # the last plain player leaves: the mix stops
    async with asyncio.timeout(5):
        while stage.relay.room_media("welcome")._programmes or mix.running:
            await asyncio.sleep(0.05)
    after = stage.relay.forwarded()
    for kind in before:  # a counter never goes back
        assert after[kind].packets_out >= before[kind].packets_out > 0
        assert after[kind].bytes_out >= before[kind].bytes_out > 0
        assert after[kind].dropped >= before[kind].dropped


async def test_the_stage_event_and_room_state_say_who_is_where(stage: Stage) -> None:
    attendee = await Listener(stage.base, stage.token(Role.ATTENDEE)).connect()
    moderator = await Listener(stage.base, stage.token(Role.MODERATOR)).connect()
    try:
        hall = await publish(stage, Role.TECHNICIAN, "Hall", HALL, loud=False)
        anna = await publish(stage, Role.SPEAKER, "Anna", ANNA, loud=False)
        both = await moderator.wait_for(
            lambda event, data: event == "stage" and len(data["sources"]) == 2
        )
        assert both["room"] == "welcome"
        by_name = {s["name"]: s for s in both["sources"]}
        assert by_name["Hall"] == {
            "id": source_id(hall, stage),
            "name": "Hall",
            "role": "technician",
            "kinds": ["audio", "video"],
            "on_stage": True,
            "slot": 0,
            "speaking": False,
        }
        assert by_name["Anna"]["on_stage"] is False and by_name["Anna"]["slot"] is None
        # The audience never learns who waits backstage.
        assert all(
            [s["name"] for s in data["sources"]] in (["Hall"], [])
            for data in attendee.received("stage")
        )
        answer = await moderator.call(
            "control", {"room": "welcome", "action": "stage", "source": source_id(anna, stage)}
        )
        assert answer["ok"] and {s["name"]: s["slot"] for s in answer["sources"]} == {
            "Hall": 0,
            "Anna": 1,
        }
        await attendee.wait_for(lambda event, data: event == "stage" and len(data["sources"]) == 2)
        await stage.app[appkeys.ROOMS].override("welcome", OverrideAction.EXTEND, 5, TECH)
        state = await attendee.wait_for(lambda event, data: event == "room_state")
        assert [s["name"] for s in state["sources"]] == ["Hall", "Anna"]
        assert state["slots"] == {"audio": 6, "video": 4}
        log = await stage.app[appkeys.ROOMS].audit_log()
        moved = [entry for entry in log if entry.action == "stage"]
        assert moved and moved[0].detail["name"] == "Anna"
        assert moved[0].actor.name == "A moderator"
    finally:
        await attendee.close()
        await moderator.close()


async def test_bad_stage_requests_change_nothing(stage: Stage, technician: Listener) -> None:
    hall = await publish(stage, Role.TECHNICIAN, "Hall", HALL, loud=False)
    await stage.app[appkeys.ROOMS].override("keynote", OverrideAction.START, 0, TECH)
    elsewhere = await publish(stage, Role.SPEAKER, "Elsewhere", ANNA, loud=False, room="keynote")
    before = stage.relay.stage_payload("welcome", backstage=True)
    attendee = await Listener(stage.base, stage.token(Role.ATTENDEE)).connect()
    scoped = await Listener(stage.base, stage.token(Role.TECHNICIAN, rooms=("keynote",))).connect()
    try:
        hall_id, elsewhere_id = source_id(hall, stage), source_id(elsewhere, stage)
        cases: list[tuple[Listener, dict[str, Any], str]] = [
            (technician, ask("stage", "nobody"), "not_found"),
            (technician, ask("stage", elsewhere_id), "not_found"),  # another room's
            (technician, ask("stage", hall_id), "conflict"),
            (technician, ask("backstage", elsewhere_id, room="keynote"), "conflict"),
            (attendee, ask("backstage", hall_id), "forbidden"),
            (scoped, ask("backstage", hall_id), "forbidden"),
            (technician, {"room": "welcome", "action": "stage"}, "invalid_input"),
            (technician, ask("stage", 7), "invalid_input"),
            (technician, ask("stage", "x" * 65), "invalid_input"),
            (technician, {**ask("stage", "x"), "minutes": 5}, "invalid_input"),
            (technician, ask("end", "x"), "invalid_input"),
            (technician, ask("dance", "x"), "invalid_input"),
            (technician, ask("stage", "x", room="nowhere"), "unknown_room"),
        ]
        for who, payload, code in cases:
            answer = await who.call("control", payload)
            assert (answer["ok"], answer["error"]) == (False, code), payload
            assert answer["message"]
        assert stage.relay.stage_payload("welcome", backstage=True) == before
    finally:
        await attendee.close()
        await scoped.close()


async def test_a_full_stage_is_refused_in_words(
    tmp_path: Path, aiohttp_server: ServerFactory
) -> None:
    stage = await make_stage(tmp_path, aiohttp_server, max_stage_sources=1)
    technician = await Listener(stage.base, stage.token(Role.TECHNICIAN)).connect()
    try:
        await publish(stage, Role.TECHNICIAN, "Hall", HALL, loud=False)
        anna = await publish(stage, Role.SPEAKER, "Anna", None, loud=False)
        answer = await move(technician, "stage", source_id(anna, stage))
        assert (answer["ok"], answer["error"]) == (False, "stage_full")
        assert "full" in answer["message"]
    finally:
        await technician.close()
        for peer in stage.peers:
            await peer.close()


async def test_the_whip_answer_names_the_source_and_views_are_checked(stage: Stage) -> None:
    token = named_token(stage, Role.SPEAKER, "Anna")
    pc = RTCPeerConnection()
    pc.addTrack(Voice(False))
    peer = Peer(pc, stage.base, token)
    stage.peers.append(peer)
    await pc.setLocalDescription(await pc.createOffer())
    headers = {"Content-Type": "application/sdp", "Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http:
        async with http.post(
            stage.base + "/whip/welcome", data=pc.localDescription.sdp, headers=headers
        ) as response:
            assert response.status == 201
            location, named = response.headers["Location"], response.headers["X-Plenary-Source"]
        session = stage.relay.session(location.rsplit("/", 1)[1])
        assert named == session.source_id and named not in location
        for query in ("?view=hall", "?view=", "?view=remote&view=stage", "?view=REMOTE"):
            async with http.post(
                stage.base + "/whep/welcome" + query, data=b"v=0\r\n", headers=headers
            ) as refused:
                body = await refused.json()
                assert (refused.status, body["error"]) == (400, "invalid_input"), query
        async with http.post(
            stage.base + "/whip/welcome?view=remote", data=b"v=0\r\n", headers=headers
        ) as refused:
            assert refused.status == 400
    assert stage.relay.peer_connections == 1  # the refusals opened nothing


@pytest.fixture
async def statement_stage(tmp_path: Path, aiohttp_server: ServerFactory) -> AsyncIterator[Stage]:
    """Tuesday's opening statement, an audio-only item, started from its lobby."""
    stage = await make_stage(tmp_path, aiohttp_server, minutes_in=IN_STATEMENT_LOBBY)
    await stage.app[appkeys.ROOMS].override("statement-day-2", OverrideAction.START, 0, TECH)
    yield stage
    for peer in stage.peers:
        await peer.close()


async def test_an_audio_only_item_carries_no_video_whatever_is_on_stage(
    statement_stage: Stage,
) -> None:
    stage = statement_stage
    room = "statement-day-2"  # auto_stage: the survivor is on stage as soon as they connect
    await publish(stage, Role.TECHNICIAN, "Hall", HALL, loud=False, room=room)
    await publish(stage, Role.SPEAKER, "Survivor", ANNA, loud=True, room=room)
    audience = await receive(stage, stage.token(Role.ATTENDEE), room=room)
    plain = await receive(stage, stage.token(Role.ATTENDEE), 1, 1, room=room)
    await audience.until_heard(2)
    await plain.until_heard(1)
    await audience.until_heard(2, 100)  # two more seconds: any picture would have come too
    assert all(audience.frames(slot) == 0 for slot in range(4)) and plain.frames(0) == 0
    sources = stage.relay.stage_payload(room, backstage=True)
    assert [(s["name"], s["on_stage"], s["kinds"]) for s in sources] == [
        ("Hall", True, ["audio"]),
        ("Survivor", True, ["audio"]),
    ]
    assert "m=video" in audience.peer.answer
    assert all(
        "a=inactive" in section.split("\r\nm=", 1)[0]
        for section in audience.peer.answer.split("m=video")[1:]
    )


async def test_a_publisher_without_audio_levels_is_never_speaking(stage: Stage) -> None:
    """An encoder that does not negotiate RFC 6464 sends no level: quiet, and nothing fails."""
    token = named_token(stage, Role.TECHNICIAN, "Old encoder")
    pc = RTCPeerConnection()
    pc.addTrack(Voice(loud=True))
    pc.addTrack(Picture(HALL))
    stage.peers.append(Peer(pc, stage.base, token))
    restrict_ice(pc, LOOPBACK)
    await pc.setLocalDescription(await pc.createOffer())
    lines = pc.localDescription.sdp.split("\r\n")
    offer = "\r\n".join(line for line in lines if "ssrc-audio-level" not in line)
    headers = {"Content-Type": "application/sdp", "Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(stage.base + "/whip/welcome", data=offer, headers=headers) as response,
    ):
        assert response.status == 201
        answer = await response.text()
    assert "ssrc-audio-level" not in answer
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    audience = await receive(stage, stage.token(Role.ATTENDEE))
    await audience.until(0, HALL)
    await audience.until_heard(1, 100)  # two seconds of a loud tone
    (source,) = stage.relay.stage_payload("welcome", backstage=True)
    assert source["speaking"] is False and source["on_stage"] is True
    assert stage.relay.forwarding_failures.count == 0
