"""Capacity under abuse, with real aiortc peers over real HTTP on loopback: one address cannot
flood the relay with offers, while a hall behind one address still gets in."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.auth.permissions import Role
from tests.media.test_relay import ServerFactory, Stage, make_stage
from tests.media_peers import SignallingError

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
