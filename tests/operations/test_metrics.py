"""``/metrics`` scraped over real HTTP and read with prometheus-client's own parser, after real
actions: an aiortc publisher and viewer on loopback, Socket.IO clients asking and voting."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import aiohttp
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)

from server.auth.permissions import Role
from server.console.alerts import AlertCode
from server.web import appkeys
from tests.helpers import Listener
from tests.media.test_relay import ServerFactory, Stage, make_stage
from tests.metrics import Scrape, parse, scrape

STATUSES = ("pending", "approved", "answered", "dismissed")


async def scrape_until(stage: Stage, done: Callable[[Scrape], bool], within: float = 10) -> Scrape:
    """Scrape until ``done`` holds of what the relay says, as a dashboard would see it."""
    async with asyncio.timeout(within):
        while not done(metrics := await scrape(stage.base)):
            await asyncio.sleep(0.05)
    return metrics


async def listener(stage: Stage, role: Role, name: str) -> Listener:
    token = stage.app[appkeys.TOKENS].issue(role=role, name=name, rooms=("*",))
    return await Listener(stage.base, token).connect()


async def test_every_figure_starts_at_zero_and_none_is_shared_between_apps(
    tmp_path: Path, aiohttp_server: ServerFactory
) -> None:
    # Four minutes before the keynote, and nobody publishing for it: an alert at once.
    alerted = await make_stage(tmp_path / "alerted", aiohttp_server, minutes_in=41)
    quiet = await make_stage(tmp_path / "quiet", aiohttp_server)
    raised = await scrape_until(
        alerted, lambda m: m.value("plenary_alerts_total", code="no_publisher_soon") == 1
    )
    assert raised.value("plenary_alerts_total", code="overrun") == 0
    figures = await scrape(quiet.base)
    assert figures.values("plenary_alerts_total", "code") == dict.fromkeys(AlertCode, 0)
    rooms = len(quiet.app[appkeys.ROOMS].timetable.rooms)
    assert figures.values("plenary_rooms", "state") == {
        "scheduled": rooms - 1,
        "lobby": 0,
        "live": 1,
        "ended": 0,
    }
    for status in STATUSES:
        assert figures.value("plenary_questions", room="welcome", status=status) == 0
    assert figures.value("plenary_question_votes", room="welcome") == 0
    for place in ("on_stage", "backstage"):
        assert figures.value("plenary_room_sources", room="welcome", place=place) == 0
    for kind in ("audio", "video"):
        for counter in ("forwarded_packets", "forwarded_bytes", "dropped_packets"):
            assert figures.value(f"plenary_{counter}_total", kind=kind) == 0
    assert figures.value("plenary_socket_clients") == 0


async def test_figures_follow_media_sockets_questions_and_votes(
    tmp_path: Path, aiohttp_server: ServerFactory
) -> None:
    stage = await make_stage(tmp_path, aiohttp_server)
    await stage.publish()  # the hall's encoder: on stage when it connects
    await stage.publish(role=Role.SPEAKER, video=False)  # a speaker: backstage
    audience = await stage.watch()
    people = [
        await listener(stage, Role.ATTENDEE, "Ann"),
        await listener(stage, Role.ATTENDEE, "Ben"),
        await listener(stage, Role.MODERATOR, "Mo"),
    ]
    ann, ben, moderator = people
    try:
        await audience.until_frames("video", 10)
        asked = await ann.call("ask", {"room": "welcome", "text": "Who pays for demand?"})
        pending = await scrape_until(
            stage, lambda m: m.value("plenary_room_publishers", room="welcome") == 2
        )
        assert pending.value("plenary_questions", room="welcome", status="pending") == 1
        assert pending.value("plenary_socket_clients") == 3
        assert pending.value("plenary_room_sources", room="welcome", place="on_stage") == 1
        assert pending.value("plenary_room_sources", room="welcome", place="backstage") == 1
        assert pending.value("plenary_room_viewers", room="welcome") == 1
        packets = pending.value("plenary_forwarded_packets_total", kind="video")
        octets = pending.value("plenary_forwarded_bytes_total", kind="video")
        assert packets >= 10 and 12 * packets < octets < 1500 * packets  # RTP header and more
        question = asked["question"]["id"]
        approved = await moderator.call("moderate", {"question": question, "action": "approve"})
        assert approved["ok"], approved
        assert (await ben.call("vote", {"question": question, "up": True}))["ok"]
        voted = await scrape(stage.base)
        assert voted.value("plenary_questions", room="welcome", status="pending") == 0
        assert voted.value("plenary_questions", room="welcome", status="approved") == 1
        assert voted.value("plenary_question_votes", room="welcome") == 1
        assert voted.value("plenary_forwarded_packets_total", kind="video") > packets
    finally:
        for person in people:
            await person.close()
        for peer in stage.peers:
            await peer.close()
    gone = await scrape_until(stage, lambda m: m.value("plenary_socket_clients") == 0)
    assert gone.value("plenary_questions", room="welcome", status="approved") == 1


async def test_a_scraper_may_ask_for_openmetrics_and_junk_gets_plain_text(
    tmp_path: Path, aiohttp_server: ServerFactory
) -> None:
    stage = await make_stage(tmp_path, aiohttp_server)
    async with aiohttp.ClientSession() as http:
        openmetrics = {"Accept": "application/openmetrics-text; version=1.0.0"}
        async with http.get(stage.base + "/metrics", headers=openmetrics) as response:
            assert response.status == 200
            assert response.content_type == "application/openmetrics-text"
            families = {f.name: f for f in openmetrics_families(await response.text())}
        assert families["plenary_media_stall_seconds"].type == "histogram"
        for junk in ("text/plain; version=abc", "application/openmetrics-text; version=x", "é"):
            async with http.get(stage.base + "/metrics", headers={"Accept": junk}) as response:
                assert response.status == 200, junk
                assert response.content_type == "text/plain"
                assert parse(await response.text()).value("plenary_socket_clients") == 0
