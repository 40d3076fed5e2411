"""The ``plenary`` command as a user runs it: real subprocesses, real files."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import subprocess
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from scheduler.clock import SystemClock, wall_now
from scheduler.timetable import RoomState
from server.auth.keys import KeyRing
from server.auth.permissions import Role
from server.auth.tokens import TokenService
from server.cli.serve import _banner, room_open_or_next
from tests.helpers import bundled_config
from tests.serverproc import CONFIG, PLENARY, ServerProcess


def plenary(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PLENARY), *args], capture_output=True, text=True, timeout=60, cwd=cwd, env=env
    )


def broken_config(tmp_path: Path, old: str, new: str) -> Path:
    text = CONFIG.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "event.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'timezone = "Europe/Vienna"',
            'timezone = "Europe/Vienn"',
            "[event]: field 'timezone': unknown time zone 'Europe/Vienn'",
        ),
        (
            'end = "14:45"\nkind = "remarks"',
            'kind = "remarks"',
            "item 'welcome': field 'end': is required",
        ),
        (
            'start = "14:45"',
            'start = "14:30"',
            "item 'keynote': field 'start': overlaps 'welcome', which ends at 14:45",
        ),
        (
            'kind = "keynote"',
            'kind = "speech"',
            "item 'keynote': field 'kind': unknown kind 'speech'",
        ),
        ('end = "16:30"', 'end = "15:30"', "item 'closing': field 'end': must be after the start"),
        ('name = "21st', "name = 21st", "TOML"),
        ("lobby_minutes = 15", 'lobby_minutes = "soon"', "[event]: field 'lobby_minutes'"),
        (
            'issuer = "plenary"',
            'issuer = "plenary"\nissuers = 2',
            "[auth]: unknown field 'issuers'",
        ),
        ('staff_ttl = "12h"', 'staff_ttl = "forever"', "[auth]: field 'staff_ttl'"),
        ("ice_addresses = []", 'ice_addresses = ["not-an-ip"]', "'not-an-ip' is not an IP address"),
        ('date = "2021-06-15"', 'date = "2021-06-31"', "days[1]: field 'date'"),
    ],
)
@pytest.mark.parametrize(
    "command", [["agenda"], ["token", "issue", "--role", "technician", "--name", "T"]]
)
def test_bad_config_is_one_clear_line(
    tmp_path: Path, old: str, new: str, expected: str, command: list[str]
) -> None:
    path = broken_config(tmp_path, old, new)
    result = plenary(*command, "--config", str(path), "--data", str(tmp_path / "data"))
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"plenary: {path}: ")
    assert expected in result.stderr


def test_serve_refuses_a_bad_config_before_listening(tmp_path: Path) -> None:
    path = broken_config(tmp_path, 'kind = "panel"', 'kind = "workshop"')
    result = plenary("serve", "--config", str(path), "--data", str(tmp_path / "d"), "--port", "1")
    assert result.returncode == 2
    assert "item 'panel-1': field 'kind': unknown kind 'workshop'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("hall", "--ice-address: 'hall' is not an IP address"),
        ("0.0.0.0", "--ice-address: '0.0.0.0' cannot be offered to peers"),
        ("ff02::1", "--ice-address: 'ff02::1' cannot be offered to peers"),
        ("255.255.255.255", "--ice-address: '255.255.255.255' cannot be offered to peers"),
    ],
)
def test_serve_refuses_an_ice_address_it_could_not_offer(
    tmp_path: Path, address: str, expected: str
) -> None:
    """The same rules as the config's ``ice_addresses``."""
    data = str(tmp_path / "d")
    result = plenary("serve", "--data", data, "--port", "1", "--ice-address", address)
    assert result.returncode == 2
    assert result.stderr.startswith(f"plenary: {expected}")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("module", "internal"),
    [
        ("aiortc.rtcdtlstransport", "RTCDtlsTransport._set_role"),
        ("aiortc.rtp", "unwrap_rtx"),  # imported by the relay's own modules as they load
    ],
)
def test_serve_stops_at_start_up_when_an_internal_is_gone(
    tmp_path: Path, module: str, internal: str
) -> None:
    """As after an upgrade that renamed it: Python's sitecustomize hook deletes it before
    plenary starts."""
    (tmp_path / "sitecustomize.py").write_text(f"import {module}\ndel {module}.{internal}\n")
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    result = plenary(
        "serve",
        *("--config", str(CONFIG), "--data", str(tmp_path / "d"), "--port", "1"),
        env={**os.environ, "PYTHONPATH": path},
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("plenary: the media relay cannot run on the aiortc, ")
    assert f"{module}.{internal} is gone" in result.stderr
    assert "reinstall from it" in result.stderr and "requirements.lock" in result.stderr


def test_missing_config_file(tmp_path: Path) -> None:
    result = plenary("agenda", "--config", str(tmp_path / "nope.toml"))
    assert result.returncode == 2
    assert result.stderr == f"plenary: {tmp_path / 'nope.toml'}: file: not found\n"


def test_agenda_prints_the_timetable_with_states(tmp_path: Path) -> None:
    result = plenary(
        "agenda", "--config", str(CONFIG), "--data", str(tmp_path), "--at", "2021-06-15T14:30+02:00"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "Tuesday 15 June 2021" in lines
    assert any("14:05–15:35  live" in line and "panel-2" in line for line in lines)
    assert any("16:00–17:30  ended" in line and "panel-1" in line for line in lines)
    assert any("14:00–14:05  scheduled" in line and "(audio only)" in line for line in lines)
    assert sum("Coffee Break" in line for line in lines) == 3
    assert not list(tmp_path.iterdir())  # reading the agenda creates no state


def test_token_issue_prints_one_verifiable_line(tmp_path: Path) -> None:
    result = plenary(
        "token",
        "issue",
        "--config",
        str(CONFIG),
        "--data",
        str(tmp_path),
        "--role",
        "moderator",
        "--name",
        "Mo Derator",
        "--rooms",
        "panel-1,panel-2",
        "--ttl",
        "2h",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1
    claims = TokenService(KeyRing.open(tmp_path), "plenary", wall_now).verify(result.stdout.strip())
    assert (claims.role.value, claims.name, claims.rooms) == (
        "moderator",
        "Mo Derator",
        ("panel-1", "panel-2"),
    )
    assert 7190 <= (claims.expires_at - claims.issued_at).total_seconds() <= 7200
    assert "@" not in claims.sub


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--role", "king", "--name", "K"], "unknown role 'king'"),
        (["--role", "attendee", "--name", "A", "--rooms", "panel-9"], "no room 'panel-9'"),
        (["--role", "attendee", "--name", "A", "--ttl", "soon"], "ttl must be"),
        (["--role", "attendee", "--name", "   "], "name"),
    ],
)
def test_token_issue_refuses_bad_input(tmp_path: Path, args: list[str], expected: str) -> None:
    result = plenary("token", "issue", "--config", str(CONFIG), "--data", str(tmp_path), *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_keys_rotate_keeps_old_tokens_valid(tmp_path: Path) -> None:
    issue = [
        "token",
        "issue",
        "--config",
        str(CONFIG),
        "--data",
        str(tmp_path),
        "--role",
        "technician",
        "--name",
        "T",
    ]
    old = plenary(*issue).stdout.strip()
    assert plenary("keys", "rotate", "--data", str(tmp_path)).returncode == 0
    new = plenary(*issue).stdout.strip()
    tokens = TokenService(KeyRing.open(tmp_path), "plenary", wall_now)
    assert tokens.verify(old).role.value == tokens.verify(new).role.value == "technician"
    assert old.split(".")[0] != new.split(".")[0]  # another kid in the header


TURN_SECRET_ENV = "PLENARY_TEST_TURN_SECRET"
TURN_SERVER = (
    '[media]\nice_servers = [{urls = ["turn:127.0.0.1:3478?transport=udp"], '
    f'secret_env = "{TURN_SECRET_ENV}"}}]\n'
)


def test_serve_needs_the_turn_secret_in_its_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TURN_SECRET_ENV, raising=False)
    path = broken_config(tmp_path, "[media]\n", TURN_SERVER)
    data = tmp_path / "data"
    result = plenary("serve", "--config", str(path), "--data", str(data), "--port", "1")
    assert result.returncode == 2
    assert result.stderr == (
        f"plenary: {path}: [media] ice_servers[0]: field 'secret_env': the environment "
        f"variable {TURN_SECRET_ENV} is not set; it must hold the TURN server's shared secret\n"
    )
    assert not data.exists()  # refused before anything was made
    # The secret is the server's alone: the other commands do not need it.
    assert plenary("agenda", "--config", str(path), "--data", str(data)).returncode == 0


@pytest.mark.slow
def test_serve_mints_turn_credentials_from_the_secret_in_its_environment(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    start_server: Callable[..., ServerProcess],
) -> None:
    secret = secrets.token_urlsafe(24)
    monkeypatch.setenv(TURN_SECRET_ENV, secret)  # the server's process inherits it
    server = start_server(config=broken_config(tmp_path, "[media]\n", TURN_SERVER))
    token = server.token(Role.ATTENDEE, "Ana")
    request = urllib.request.Request(
        f"{server.url}/api/media/ice-servers", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        body = response.read().decode()
    (turn,) = json.loads(body)["iceServers"]
    expected = hmac.new(secret.encode(), turn["username"].encode(), hashlib.sha1).digest()
    assert base64.b64decode(turn["credential"]) == expected
    server.stop()
    assert secret not in body and secret not in server.log()


def test_the_printed_links_sign_in_every_role_and_the_screens(tmp_path: Path) -> None:
    config = bundled_config()
    banner = _banner(
        config, "http://127.0.0.1:8080", SystemClock(), tmp_path, print_links=True, room="welcome"
    )
    links = {
        match[1]: (match[2], match[3])
        for match in re.finditer(r"^  (\S.*?)\s{2,}(http\S+)#token=(\S+)$", banner, re.M)
    }
    tokens = TokenService(KeyRing.open(tmp_path), config.issuer, wall_now)
    assert set(links) == {role.value for role in Role} | {"hall screen", "Q&A screen"}
    page, token = links["hall screen"]
    assert page == "http://127.0.0.1:8080/hall/welcome"
    assert tokens.verify(token).role is Role.TECHNICIAN
    assert links["technician"][0] == "http://127.0.0.1:8080/technician"
    assert links["Q&A screen"][0] == "http://127.0.0.1:8080/screen/welcome"
    assert links["moderator"][0] == "http://127.0.0.1:8080/moderate/welcome"


def test_the_printed_links_open_the_room_open_now_or_next() -> None:
    timetable = bundled_config().timetable
    rooms = timetable.rooms
    first, second = rooms[0], rooms[1]

    def at(instant: datetime) -> str:
        return room_open_or_next(timetable, timetable.states_at(instant))

    assert at(first.starts_at - timedelta(days=1)) == first.id  # before the event
    assert at(first.starts_at) == first.id  # live
    assert at(first.ends_at) == second.id  # ended: the next, though it is not open yet
    assert at(second.starts_at - timedelta(minutes=5)) == first.id  # live beats a lobby
    after_break = rooms[2]
    assert at(after_break.starts_at - timedelta(minutes=5)) == after_break.id  # its lobby
    assert at(rooms[-1].ends_at + timedelta(hours=1)) == rooms[-1].id  # after the event
    ended_early = {**timetable.states_at(first.starts_at), first.id: RoomState.ENDED}
    assert room_open_or_next(timetable, ended_early) == second.id


def test_plenary_serve_prints_links_to_the_room_after_one_that_has_ended(
    start_server: Callable[..., ServerProcess],
) -> None:
    timetable = bundled_config().timetable
    first, second = timetable.rooms[0], timetable.rooms[1]
    into = (first.ends_at - first.starts_at).total_seconds() + 60  # a minute after its end
    server = start_server(lead_seconds=-into, extra_args=("--print-links",))
    watch = re.search(r"^  attendee\s+(http\S+)#token=", server.log(), re.M)
    assert watch is not None, server.log()
    assert watch[1] == f"{server.url}/watch/{second.id}"
    assert f"{server.url}/moderate/{second.id}#token=" in server.log()
