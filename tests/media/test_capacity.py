"""Capacity under abuse, with real aiortc peers over real HTTP on loopback: one person cannot
take every seat, sessions that never connect give theirs back quickly, and one address cannot
flood the relay with offers, while a hall behind one address still gets in."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.auth.permissions import Role
from server.web import appkeys
from tests.media.test_relay import ServerFactory, Stage, make_stage
from tests.media_peers import Peer, SignallingError, publisher, viewer
from tests.metrics import scrape

SDP_HEADERS = {"Content-Type": "application/sdp"}


@asynccontextmanager
async def staged(
    tmp_path: Path, aiohttp_server: ServerFactory, **overrides: Any
) -> AsyncIterator[Stage]:
    stage = await make_stage(tmp_path, aiohttp_server, **overrides)
    try:
        yield stage
    finally:
        for peer in stage.peers:
            await peer.close()


async def relay_until(stage: Stage, done: Callable[[], bool], within: float) -> None:
    """Wait until ``done()`` holds, checked on each change the relay announces (a session
    opened, connected or closed), for at most ``within`` seconds."""
    changed = asyncio.Event()

    async def check(room: str) -> None:
        if done():
            changed.set()

    stage.relay.subscribe(check)
    if not done():
        async with asyncio.timeout(within):
            await changed.wait()


async def watch_as(stage: Stage, token: str) -> Peer:
    peer = await viewer(stage.base, "welcome", token)
    stage.peers.append(peer)
    return peer


async def walk_away(stage: Stage, token: str) -> None:
    """Post an offer and leave before ICE completes, as a tab closed at once would."""
    peer = await viewer(stage.base, "welcome", token)
    await peer.pc.close()


def subject(stage: Stage, token: str) -> str:
    return str(stage.app[appkeys.TOKENS].verify(token).sub)


def sessions_of(stage: Stage, token: str, kind: str = "viewers") -> list[Any]:
    sub = subject(stage, token)
    return [s for s in getattr(stage.relay.room_media("welcome"), kind) if s.owner.sub == sub]


async def test_one_token_flooding_cannot_keep_a_second_attendee_out(
    tmp_path: Path, aiohttp_server: ServerFactory
) -> None:
    async with staged(tmp_path, aiohttp_server, max_viewers_per_room=4) as stage:
        speaker = await stage.publish()
        await speaker.connected()
        flooder = stage.token(Role.ATTENDEE)
        answers: Counter[tuple[int, str]] = Counter()

        async def offer() -> None:
            try:
                await watch_as(stage, flooder)
                answers[201, "answered"] += 1
            except SignallingError as refused:
                answers[refused.status, refused.body["error"]] += 1
                assert int(refused.headers["Retry-After"]) > 0

        for _ in range(10):
            await offer()
        await asyncio.gather(*(offer() for _ in range(40)))
        assert sum(answers.values()) == 50
        assert set(answers) <= {(201, "answered"), (429, "too_many_sessions")}, answers
        assert len(sessions_of(stage, flooder)) <= 3  # a phone, a laptop, a reconnect

        began = asyncio.get_running_loop().time()
        second = await stage.watch()
        await second.until_frames("video", 5)
        assert second.first_frame_at["video"] - began < 5
        assert stage.relay.replaced >= 7


async def test_offers_arriving_together_cannot_overfill_a_room(
    tmp_path: Path, aiohttp_server: ServerFactory
) -> None:
    async with staged(tmp_path, aiohttp_server, max_viewers_per_room=3) as stage:
        tokens = [stage.token(Role.ATTENDEE) for _ in range(12)]
        answers = await asyncio.gather(
            *(watch_as(stage, token) for token in tokens), return_exceptions=True
        )
        admitted = [answer for answer in answers if isinstance(answer, Peer)]
        refused = [answer for answer in answers if isinstance(answer, SignallingError)]
        assert (len(admitted), len(refused)) == (3, 9), answers
        assert {error.status for error in refused} == {503}
        assert stage.relay.viewer_sessions == 3


async def test_a_reload_in_a_full_room_takes_back_the_persons_own_seat(
    tmp_path: Path, aiohttp_server: ServerFactory
) -> None:
    async with staged(tmp_path, aiohttp_server, max_viewers_per_room=2) as stage:
        ana, ben = stage.token(Role.ATTENDEE), stage.token(Role.ATTENDEE)
        before = await watch_as(stage, ana)
        others = await watch_as(stage, ben)
        await before.connected()
        await others.connected()
        with pytest.raises(SignallingError) as full:
            await stage.watch()  # someone new: the room is full
        assert (full.value.status, full.value.body["error"]) == (503, "at_capacity")
        assert full.value.headers["Retry-After"] == "15"
        reloaded = await watch_as(stage, ana)  # Ana reloads before her old session is gone
        await reloaded.connected()
        assert sessions_of(stage, ana) == [stage.relay.session(reloaded.location.split("/")[-1])]
        assert [s.closed for s in sessions_of(stage, ben)] == [False]  # Ben keeps his seat


async def test_a_session_that_never_connects_frees_its_seat_within_its_timeout(
    tmp_path: Path, aiohttp_server: ServerFactory
) -> None:
    async with staged(
        tmp_path, aiohttp_server, max_viewers_per_room=1, connect_within_seconds=1
    ) as stage:
        speaker = await stage.publish()
        await speaker.connected()
        await walk_away(stage, stage.token(Role.ATTENDEE))
        left_at = asyncio.get_running_loop().time()
        with pytest.raises(SignallingError) as held:
            await stage.watch()
        assert held.value.status == 503  # the seat is held while it might still connect
        await relay_until(stage, lambda: stage.relay.viewer_sessions == 0, within=5)
        assert asyncio.get_running_loop().time() - left_at < 2.5
        assert stage.relay.never_connected == 1
        newcomer = await stage.watch()
        await newcomer.until_frames("video", 5)


async def test_only_so_many_viewers_may_be_connecting_at_once(
    tmp_path: Path, aiohttp_server: ServerFactory
) -> None:
    async with staged(tmp_path, aiohttp_server, max_connecting_viewers=2) as stage:
        watching = await stage.watch()
        await watching.connected()  # connected viewers are not counted as connecting
        await walk_away(stage, stage.token(Role.ATTENDEE))
        await walk_away(stage, stage.token(Role.ATTENDEE))
        with pytest.raises(SignallingError) as busy:
            await stage.watch()
        assert (busy.value.status, busy.value.body["error"]) == (503, "busy")
        assert 0 < int(busy.value.headers["Retry-After"]) <= 5
        assert "joining" in busy.value.body["message"]
        assert stage.relay.connecting_viewers() == 2
        speaker = await stage.publish()  # publishers are not held back by viewers connecting
        await speaker.connected()
        metrics = await scrape(stage.base)
        assert metrics.value("plenary_media_refusals_total", reason="busy") == 1


async def test_metrics_count_connecting_sessions_apart_from_viewers(
    tmp_path: Path, aiohttp_server: ServerFactory
) -> None:
    async with staged(tmp_path, aiohttp_server) as stage:
        speaker = await stage.publish()
        audience = await stage.watch()
        await speaker.connected()
        await audience.connected()
        await walk_away(stage, stage.token(Role.ATTENDEE))
        metrics = await scrape(stage.base)
        for name, labels, value in (
            ("plenary_media_sessions", {"direction": "publish", "state": "connected"}, 1),
            ("plenary_media_sessions", {"direction": "publish", "state": "connecting"}, 0),
            ("plenary_media_sessions", {"direction": "watch", "state": "connected"}, 1),
            ("plenary_media_sessions", {"direction": "watch", "state": "connecting"}, 1),
            ("plenary_room_viewers", {"room": "welcome"}, 1),
            ("plenary_room_viewers_connecting", {"room": "welcome"}, 1),
            ("plenary_room_viewers_connecting", {"room": "keynote"}, 0),
        ):
            assert metrics.value(name, **labels) == value, (name, labels)


async def test_a_speaker_reconnecting_again_and_again_replaces_their_oldest_session(
    tmp_path: Path, aiohttp_server: ServerFactory
) -> None:
    async with staged(tmp_path, aiohttp_server) as stage:
        token = stage.token(Role.SPEAKER)
        first = await publisher(stage.base, "welcome", token)
        stage.peers.append(first)
        await first.connected()
        (session,) = sessions_of(stage, token, "publishers")
        await stage.relay.move("welcome", session.source_id, on_stage=True)
        attempts = [first] + [await publisher(stage.base, "welcome", token) for _ in range(3)]
        stage.peers.extend(attempts[1:])
        for peer in attempts[1:]:
            await peer.connected()
        kept = sessions_of(stage, token, "publishers")
        assert [session.path for session in kept] == [peer.location for peer in attempts[1:]]
        media = stage.relay.room_media("welcome")  # the newest is on stage, in their place
        assert [media.source_of(s).on_stage for s in kept] == [False, False, True]
        audience = await stage.watch()
        await audience.until_frames("video", 5)


async def test_offers_from_one_address_past_the_limit_get_429_with_retry_after(
    tmp_path: Path, aiohttp_server: ServerFactory
) -> None:
    async with staged(tmp_path, aiohttp_server, offers_per_address_per_minute=3) as stage:
        for _ in range(3):
            await stage.watch()  # three people, one address
        with pytest.raises(SignallingError) as limited:
            await stage.watch()
        assert (limited.value.status, limited.value.body["error"]) == (429, "too_many_requests")
        assert limited.value.body["message"]
        assert int(limited.value.headers["Retry-After"]) >= 1
        status, body = await stage.post(
            "/whip/welcome", b"v=0\r\n", {**SDP_HEADERS, "Authorization": "Bearer x"}
        )
        assert (status, body["error"]) == (429, "too_many_requests")  # before the token check


async def test_a_hall_behind_one_address_is_not_held_back_by_the_default_limit(
    tmp_path: Path, aiohttp_server: ServerFactory
) -> None:
    """400 people behind one NAT address join at once; the welcome is still in its lobby, so
    each is turned away cheaply (409) after the address limit. A flood past the default burst
    from that address is then limited."""
    async with staged(tmp_path, aiohttp_server, minutes_in=-5) as stage:
        hall = [stage.token(Role.ATTENDEE) for _ in range(400)]

        async def offer(token: str, http: aiohttp.ClientSession) -> tuple[int, Any]:
            headers = {**SDP_HEADERS, "Authorization": f"Bearer {token}"}
            async with http.post(stage.base + "/whep/welcome", data="v=0", headers=headers) as r:
                return r.status, (await r.json(), r.headers.get("Retry-After"))

        async with aiohttp.ClientSession() as http:
            joined = []
            for start in range(0, len(hall), 50):
                joined += await asyncio.gather(*(offer(t, http) for t in hall[start : start + 50]))
            assert Counter(status for status, _ in joined) == {409: 400}
            flood = []
            for _ in range(20):  # 1,000 more from one token, 50 at a time
                flood += await asyncio.gather(*(offer(hall[0], http) for _ in range(50)))
        limited = [answer for status, answer in flood if status == 429]
        assert limited, "the address was never limited"
        body, retry_after = limited[0]
        assert body["error"] == "too_many_requests" and int(retry_after) >= 1
