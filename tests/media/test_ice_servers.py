"""The STUN and TURN servers handed to token holders: ``GET /api/media/ice-servers``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from scheduler.clock import wall_now
from server.auth.permissions import Role
from server.auth.tokens import Claims, TokenService
from server.config_fields import ConfigError
from server.config_media import IceServer
from server.media.ice_servers import IceServers, mint_turn_credential
from server.web import appkeys
from server.web.app import create_app
from server.web.pages import ASSET_NAME, CLIENT_DIR
from tests.helpers import Listener, bundled_config, fast_rehearsal, settings

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


# The TURN REST scheme with a known secret, subject and expiry. The expected password was
# computed apart from plenary:
#   printf '%s' USERNAME | openssl dgst -sha1 -hmac SECRET -binary | base64
SECRET = "north-hall-4d1f"
SUBJECT = "a_5f2c9e0b7d41a8e36c10"
MONDAY_2PM = datetime(2021, 6, 14, 14, 0, tzinfo=UTC)  # 1623679200
STUN = IceServer(urls=("stun:turn.example.org:3478",))
TURN = IceServer(
    urls=("turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"),
    secret_env="PLENARY_TURN_SECRET",
)


def test_minting_follows_the_turn_rest_scheme() -> None:
    minted = mint_turn_credential(SECRET, SUBJECT, 1623679200)
    assert minted.username == "1623679200:a_5f2c9e0b7d41a8e36c10"
    assert minted.credential == "677yYpZpG1l1f9Lck40FlbC5y8E="


def claims_until(expires_at: datetime, sub: str = SUBJECT) -> Claims:
    issued = expires_at - timedelta(days=3)
    return Claims(
        sub=sub,
        name="A viewer",
        role=Role.ATTENDEE,
        rooms=("*",),
        jti="j" * 22,
        issued_at=issued,
        not_before=issued,
        expires_at=expires_at,
        issuer="plenary",
    )


def ice_servers_at(now: list[datetime], ttl: timedelta = timedelta(hours=2)) -> IceServers:
    config = replace(bundled_config(), ice_servers=(STUN, TURN), turn_credential_ttl=ttl)
    return IceServers.from_config(config, {"PLENARY_TURN_SECRET": SECRET}, lambda: now[0])


def test_turn_credentials_live_for_the_configured_lifetime() -> None:
    now = [MONDAY_2PM - timedelta(hours=2)]
    stun, turn = ice_servers_at(now).for_holder(claims_until(MONDAY_2PM + timedelta(days=2)))
    assert stun.as_dict() == {"urls": ["stun:turn.example.org:3478"]}
    assert turn.as_dict() == {
        "urls": ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"],
        "username": "1623679200:a_5f2c9e0b7d41a8e36c10",
        "credential": "677yYpZpG1l1f9Lck40FlbC5y8E=",
    }


def test_a_later_request_gets_a_later_credential() -> None:
    now = [MONDAY_2PM]
    servers = ice_servers_at(now, ttl=timedelta(minutes=30))
    claims = claims_until(MONDAY_2PM + timedelta(days=2))
    first = servers.for_holder(claims)[1].credential
    now[0] += timedelta(minutes=10)
    later = servers.for_holder(claims)[1].credential
    assert first is not None and later is not None
    assert first.username == f"{1623679200 + 30 * 60}:{SUBJECT}"
    assert later.username == f"{1623679200 + 40 * 60}:{SUBJECT}"
    assert later.credential != first.credential


def test_turn_credentials_never_outlive_the_token() -> None:
    now = [MONDAY_2PM]
    token_ends = MONDAY_2PM + timedelta(minutes=20, seconds=30)
    minted = ice_servers_at(now).for_holder(claims_until(token_ends))[1].credential
    assert minted is not None
    assert minted.username == f"{1623679200 + 20 * 60 + 30}:{SUBJECT}"


def test_each_token_subject_gets_its_own_credential() -> None:
    servers = ice_servers_at([MONDAY_2PM])
    until = MONDAY_2PM + timedelta(days=1)
    mine = servers.for_holder(claims_until(until))[1].credential
    theirs = servers.for_holder(claims_until(until, sub="u_other"))[1].credential
    assert mine is not None and theirs is not None
    assert theirs.username.endswith(":u_other")
    assert theirs.credential != mine.credential


def test_link_headers_carry_the_credential_on_turn_servers_only() -> None:
    stun, turn = ice_servers_at([MONDAY_2PM - timedelta(hours=2)]).for_holder(
        claims_until(MONDAY_2PM + timedelta(days=1))
    )
    assert stun.link_headers() == ['<stun:turn.example.org:3478>; rel="ice-server"']
    credentials = (
        '; username="1623679200:a_5f2c9e0b7d41a8e36c10"; '
        'credential="677yYpZpG1l1f9Lck40FlbC5y8E="; credential-type="password"'
    )
    assert turn.link_headers() == [
        f'<turn:turn.example.org:3478?transport=udp>; rel="ice-server"{credentials}',
        f'<turns:turn.example.org:5349>; rel="ice-server"{credentials}',
    ]


@pytest.mark.parametrize(
    ("environ", "problem"),
    [({}, "is not set"), ({"PLENARY_TURN_SECRET": ""}, "is empty")],
)
def test_a_turn_secret_missing_from_the_environment_is_a_config_error(
    environ: dict[str, str], problem: str
) -> None:
    config = replace(bundled_config(), ice_servers=(STUN, TURN))
    with pytest.raises(ConfigError) as refused:
        IceServers.from_config(config, environ, wall_now)
    assert str(refused.value) == (
        f"{config.path}: [media] ice_servers[1]: field 'secret_env': the environment variable "
        f"PLENARY_TURN_SECRET {problem}; it must hold the TURN server's shared secret"
    )


@pytest.fixture
async def turn_client(
    tmp_path: Path, aiohttp_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> Client:
    """A server whose config names a STUN and a TURN server, with the TURN secret in its
    environment; everything it logs from its start on is captured."""
    caplog.set_level(logging.DEBUG)
    config = replace(bundled_config(), ice_servers=(STUN, TURN))
    base = settings(tmp_path, fast_rehearsal(config, lead=-60, speed=1.0), config)
    app = create_app(replace(base, environ={"PLENARY_TURN_SECRET": SECRET}))
    return await aiohttp_client(app)


async def test_a_token_holder_gets_turn_credentials_of_its_own(turn_client: Client) -> None:
    assert turn_client.app is not None
    token = turn_client.app[appkeys.TOKENS].issue(role=Role.ATTENDEE, name="Ana")
    sub = turn_client.app[appkeys.TOKENS].verify(token).sub
    before = int(wall_now().timestamp())
    response = await turn_client.get(ICE_SERVERS, headers={"Authorization": f"Bearer {token}"})
    after = int(wall_now().timestamp())
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    stun, turn = (await response.json())["iceServers"]
    assert stun == {"urls": ["stun:turn.example.org:3478"]}
    assert turn["urls"] == list(TURN.urls)
    assert before + 2 * 3600 <= int(turn["username"].split(":")[0]) <= after + 2 * 3600
    assert_minted_for(sub, turn["username"], turn["credential"])
    refused = await turn_client.get(ICE_SERVERS)
    assert refused.status == 401
    assert "turn:" not in await refused.text()


async def test_the_turn_secret_is_in_no_response_page_or_log(
    turn_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    assets = sorted(
        f"/app/{path.name}" for path in CLIENT_DIR.iterdir() if ASSET_NAME.match(path.name)
    )
    paths = [
        "/",
        "/register",
        "/technician",
        "/organizer",
        "/watch/welcome",
        "/speak/welcome",
        "/hall/welcome",
        *assets,
        "/healthz",
        "/metrics",
        "/api/agenda",
        "/api/audit",
        "/api/me",
        "/api/registrations/policy",
        "/.well-known/jwks.json",
        ICE_SERVERS,
    ]
    assert len(assets) > 20
    for role in (None, Role.ATTENDEE, Role.ORGANIZER):
        headers = {} if role is None else bearer(turn_client, role)
        for path in paths:
            response = await turn_client.get(path, headers=headers)
            assert response.status < 500, path
            assert SECRET.encode() not in await response.read(), path
            assert SECRET not in str(response.headers), path
    url = str(turn_client.make_url("")).rstrip("/")
    assert turn_client.app is not None
    token = turn_client.app[appkeys.TOKENS].issue(role=Role.TECHNICIAN, name="Tess")
    listener = await Listener(url, token).connect()
    try:
        await listener.wait_for(lambda event, _: event == "agenda")
        assert SECRET not in repr(listener.events)
    finally:
        await listener.close()
    logged = [
        record.getMessage() for when in ("setup", "call") for record in caplog.get_records(when)
    ]
    assert logged and not any(SECRET in line for line in logged)


def assert_minted_for(sub: str, username: str, credential: str) -> None:
    """``username`` and ``credential`` are what coturn with ``static-auth-secret=SECRET`` accepts
    from the token subject ``sub``, for about the bundled lifetime from now."""
    expiry, subject = username.split(":", 1)
    assert subject == sub
    lifetime = int(expiry) - wall_now().timestamp()
    assert 2 * 3600 - 60 < lifetime <= 2 * 3600
    expected = hmac.new(SECRET.encode(), username.encode(), hashlib.sha1).digest()
    assert base64.b64decode(credential, validate=True) == expected
