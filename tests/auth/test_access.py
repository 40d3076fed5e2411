"""Access ends when it should: expiry and revocation reach live connections, and a key
rotated by the command is picked up by a running server."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from aiohttp.test_utils import TestServer

from scheduler.clock import wall_now
from server.auth.permissions import Role
from server.web import appkeys
from server.web.app import create_app
from tests.helpers import Listener, bundled_config, fast_rehearsal, settings
from tests.serverproc import CONFIG, PLENARY, ServerProcess, event_config
from tests.smtp import LINK

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


class MovableWall:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return wall_now() + self.offset


async def wait_disconnected(listener: Listener, within: float = 5.0) -> None:
    async with asyncio.timeout(within):
        while listener.client.connected:
            await asyncio.sleep(0.05)


async def test_an_expired_token_is_cut_off_within_5_seconds(
    tmp_path: Path, aiohttp_server: ServerFactory
) -> None:
    from dataclasses import replace

    wall = MovableWall()
    base = settings(tmp_path, fast_rehearsal(bundled_config(), lead=60, speed=1))
    app = create_app(replace(base, wall=wall))
    server = await aiohttp_server(app)
    url = str(server.make_url("")).rstrip("/")
    tokens = app[appkeys.TOKENS]
    short = await Listener(
        url, tokens.issue(role=Role.ATTENDEE, name="Short", ttl=timedelta(minutes=1))
    ).connect()
    long = await Listener(
        url, tokens.issue(role=Role.ATTENDEE, name="Long", ttl=timedelta(hours=1))
    ).connect()
    anonymous = await Listener(url).connect()
    wall.offset = timedelta(minutes=2)
    await wait_disconnected(short)
    # A whole check after the wall moved on ends no one else, and the server still counts them.
    assert await app[appkeys.ACCESS_WATCH].check() == 0
    assert app[appkeys.LIVE].connected == 2
    for listener in (long, anonymous):  # a disconnect sent before this answer would come first
        assert (await listener.call("notice", {}))["ok"] is False  # not theirs to send; answered
        assert listener.client.connected
    for listener in (long, anonymous):
        await listener.close()


def get(url: str, token: str) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def plenary(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(PLENARY), *args], capture_output=True, text=True, timeout=60)


async def test_the_revoke_command_ends_a_live_connection(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server()
    token = server.token(Role.MODERATOR, "Mo")
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    listener = await Listener(server.url, token).connect()
    assert get(f"{server.url}/api/me", token)[0] == 200
    result = await asyncio.to_thread(
        plenary, "token", "revoke", jti, "--config", str(CONFIG), "--data", str(server.data_dir)
    )
    assert result.returncode == 0, result.stderr
    assert "revoked" in result.stderr and result.stdout == ""
    await wait_disconnected(listener)
    status, body = get(f"{server.url}/api/me", token)
    assert (status, body["error"]) == (401, "invalid_token")
    again = await asyncio.to_thread(
        plenary, "token", "revoke", jti, "--config", str(CONFIG), "--data", str(server.data_dir)
    )
    assert again.returncode == 0 and "already" in again.stderr
    bad = await asyncio.to_thread(
        plenary, "token", "revoke", "not a jti", "--data", str(server.data_dir)
    )
    assert bad.returncode == 2


def test_keys_rotated_by_the_command_reach_a_running_server(
    start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    config = event_config(tmp_path, mode="open")
    server = start_server(config=config)
    old = server.token(Role.TECHNICIAN, "Before")
    old_kid = jwt.get_unverified_header(old)["kid"]
    assert plenary("keys", "rotate", "--data", str(server.data_dir)).returncode == 0
    new = plenary(
        "token",
        "issue",
        "--config",
        str(config),
        "--data",
        str(server.data_dir),
        "--role",
        "technician",
        "--name",
        "After",
    ).stdout.strip()
    new_kid = jwt.get_unverified_header(new)["kid"]
    assert new_kid != old_kid
    assert get(f"{server.url}/api/me", new)[0] == 200  # no restart needed
    assert get(f"{server.url}/api/me", old)[0] == 200  # old keys verify until expiry
    with urllib.request.urlopen(f"{server.url}/.well-known/jwks.json", timeout=5) as response:
        kids = [key["kid"] for key in json.load(response)["keys"]]
    assert set(kids) == {old_kid, new_kid}
    # The server's own join links are signed with the new key too.
    body = json.dumps({"name": "Ana", "email": "ana@example.org", "consent": True}).encode()
    request = urllib.request.Request(
        f"{server.url}/api/registrations", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 201
    outbox = server.data_dir / "outbox"
    deadline = time.monotonic() + 5
    while not list(outbox.glob("*.eml")) and time.monotonic() < deadline:
        time.sleep(0.1)
    message = message_from_bytes(next(outbox.glob("*.eml")).read_bytes(), policy=policy.default)
    link = LINK.search(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert link is not None
    assert jwt.get_unverified_header(link.group(1).split("#token=")[1])["kid"] == new_kid
