"""The STUN and TURN servers handed to token holders: ``GET /api/media/ice-servers``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from scheduler.clock import wall_now
from server.auth.permissions import Role
from server.auth.tokens import TokenService
from server.web import appkeys
from server.web.app import create_app
from tests.helpers import bundled_config, fast_rehearsal, settings

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[..., Awaitable[Client]]
ICE_SERVERS = "/api/media/ice-servers"


@pytest.fixture
async def client(tmp_path: Path, aiohttp_client: ClientFactory) -> Client:
    clock = fast_rehearsal(bundled_config(), lead=-60, speed=1.0)
    return await aiohttp_client(create_app(settings(tmp_path, clock)))


def bearer(client: Client, role: Role) -> dict[str, str]:
    assert client.app is not None
    token = client.app[appkeys.TOKENS].issue(role=role, name=f"A {role.value}")
    return {"Authorization": f"Bearer {token}"}


def expired_bearer(client: Client) -> dict[str, str]:
    """A token of this server's own keys that expired an hour ago."""
    assert client.app is not None
    long_ago = wall_now() - timedelta(hours=2)
    tokens = TokenService(client.app[appkeys.KEYRING], "plenary", lambda: long_ago)
    token = tokens.issue(role=Role.ATTENDEE, name="Late", ttl=timedelta(hours=1))
    return {"Authorization": f"Bearer {token}"}


async def test_ice_servers_refuse_requests_without_a_valid_token(client: Client) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer x.y.z"},
        {"Authorization": "Basic cGxlbmFyeTpwbGVuYXJ5"},
        expired_bearer(client),
    ):
        response = await client.get(ICE_SERVERS, headers=headers)
        assert response.status == 401, headers
        body = await response.json()
        assert body["error"] == "invalid_token" and body["message"], body
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("role", list(Role))
async def test_ice_servers_answer_any_valid_token(client: Client, role: Role) -> None:
    response = await client.get(ICE_SERVERS, headers=bearer(client, role))
    assert response.status == 200
    assert (await response.json()) == {"iceServers": []}  # the bundled config names none
