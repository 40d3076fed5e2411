"""When the store cannot write (a full disk) or cannot be reached (PostgreSQL stopped), every
request that needs it is refused in words, the health check says what failed, nothing is
logged as a crash, and all of it works again by itself once the store does: no restart."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from scheduler.clock import RehearsalClock, wall_now
from server.auth.access_watch import INTERVAL_SECONDS
from server.auth.permissions import Role
from server.web import appkeys
from server.web.app import Settings, create_app
from tests.helpers import Listener, bundled_config
from tests.pg import PostgresServer
from tests.small_disk import SmallDisk

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[..., Awaitable[Client]]
FULL_DISK = "database or disk is full"
REFUSED = "cannot connect to the database: Connection refused"


class Site:
    """The app on loopback, with a technician connected over Socket.IO."""

    def __init__(self, client: Client, technician: Listener) -> None:
        self.client = client
        self.technician = technician
        self.signups = 0

    async def sign_up(self) -> tuple[int, dict[str, Any], str | None]:
        self.signups += 1
        body = {"name": "Ana", "email": f"ana{self.signups}@example.org", "consent": True}
        response = await self.client.post("/api/registrations", json=body)
        return response.status, await response.json(), response.headers.get("Retry-After")

    async def extend(self) -> dict[str, Any]:
        answer: dict[str, Any] = await self.technician.call(
            "control", {"room": "welcome", "action": "extend", "minutes": 5}
        )
        return answer

    async def health(self) -> tuple[int, dict[str, Any]]:
        response = await self.client.get("/healthz")
        return response.status, await response.json()


async def open_site(data_dir: Path, aiohttp_client: ClientFactory, store_url: str = "") -> Site:
    first = bundled_config().timetable.items[0].starts_at
    clock = RehearsalClock(first, wall_now() - timedelta(minutes=10), 1.0)  # in the welcome
    config = dataclasses.replace(bundled_config(), store_url=store_url)
    app = create_app(Settings(config=config, data_dir=data_dir, clock=clock, run="test"))
    client = await aiohttp_client(app)
    token = app[appkeys.TOKENS].issue(role=Role.TECHNICIAN, name="Tess", rooms=("*",))
    technician = await Listener(str(client.make_url("")).rstrip("/"), token).connect()
    return Site(client, technician)


async def refused_everywhere(site: Site, reason: str) -> float:
    """Seconds the sign-up took to be refused."""
    started = time.monotonic()
    status, body, retry_after = await site.sign_up()
    took = time.monotonic() - started
    assert (status, body["error"], retry_after) == (503, "store_unavailable", "10")
    assert body["message"] == "the server cannot save anything just now; please try again shortly"
    answer = await site.extend()
    assert answer == {"ok": False, "error": "store_unavailable", "message": body["message"]}
    status, health = await site.health()
    assert (status, health["status"]) == (503, "failing")
    assert health["store"]["status"] == "failing" and health["store"]["error"] == reason
    return took


async def works_everywhere(site: Site) -> float:
    """Seconds the sign-up took to be saved."""
    status, health = await site.health()
    assert (status, health["status"], health["store"]) == (200, "ok", {"status": "ok"})
    started = time.monotonic()
    assert (await site.sign_up())[0] == 201
    took = time.monotonic() - started
    answer = await site.extend()
    assert answer["ok"] and answer["room"]["state"] == "live", answer
    return took


def report(reason: str, refused: float, saved: float) -> None:
    print(f"\n{reason}: refused in {refused * 1000:.0f} ms; then saved in {saved * 1000:.0f} ms")


@pytest.fixture
def no_crash_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.WARNING)
    yield
    records = caplog.get_records("call")
    crashes = [record for record in records if record.levelno >= logging.ERROR]
    assert crashes == [], [record.getMessage() for record in crashes]
    warnings = [record.getMessage() for record in records]
    assert any(line.startswith("the store is failing: ") for line in warnings), warnings
    assert any(line.startswith("the store works again") for line in warnings), warnings


@pytest.fixture
async def site_on_small_disk(
    small_disk: SmallDisk, aiohttp_client: ClientFactory
) -> AsyncIterator[Site]:
    site = await open_site(small_disk.path / "data", aiohttp_client)
    yield site
    await site.technician.close()


@pytest.mark.usefixtures("no_crash_logged")
async def test_a_full_disk_refuses_in_words_and_recovers(
    small_disk: SmallDisk, site_on_small_disk: Site
) -> None:
    site = site_on_small_disk
    await works_everywhere(site)
    small_disk.fill()
    refused = await refused_everywhere(site, FULL_DISK)
    small_disk.free()
    report(FULL_DISK, refused, await works_everywhere(site))


@pytest.mark.usefixtures("no_crash_logged")
async def test_postgresql_stopped_refuses_in_words_and_recovers(
    private_postgres: PostgresServer, tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    site = await open_site(tmp_path / "data", aiohttp_client, private_postgres.create_database())
    try:
        await works_everywhere(site)
        private_postgres.halt()
        refused = await refused_everywhere(site, REFUSED)
        # Long enough for the access watch, which reads revocations every second, to meet the
        # outage: it must wait for the store in silence, not log a traceback every second.
        await asyncio.sleep(2 * INTERVAL_SECONDS)
        private_postgres.resume()
        report(REFUSED, refused, await works_everywhere(site))
    finally:
        await site.technician.close()
