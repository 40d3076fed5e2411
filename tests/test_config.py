"""The config file's ``[media]`` STUN and TURN servers: what is accepted and what is refused."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from server.config import ConfigError, IceServer, parse_config
from tests.helpers import bundled_config, bundled_raw
from tests.serverproc import CONFIG

PATH = Path("event.toml")
ICE_0 = "[media] ice_servers[0]"
STUN = {"urls": ["stun:turn.example.org:3478"]}
TURN = {"urls": ["turn:turn.example.org:3478?transport=udp"], "secret_env": "PLENARY_TURN_SECRET"}


def with_media(**media: Any) -> dict[str, Any]:
    raw = bundled_raw()
    raw["media"] = {**raw["media"], **media}
    return raw


def test_the_bundled_config_names_no_turn_server() -> None:
    config = bundled_config()
    assert not any(server.is_turn for server in config.ice_servers)
    assert config.turn_credential_ttl == timedelta(hours=2)


def test_stun_and_turn_servers_are_read() -> None:
    config = parse_config(with_media(ice_servers=[STUN, TURN], turn_credential_ttl="45m"), PATH)
    assert config.ice_servers == (
        IceServer(urls=("stun:turn.example.org:3478",)),
        IceServer(
            urls=("turn:turn.example.org:3478?transport=udp",), secret_env="PLENARY_TURN_SECRET"
        ),
    )
    assert [server.is_turn for server in config.ice_servers] == [False, True]
    assert config.turn_credential_ttl == timedelta(minutes=45)


def test_turns_servers_take_a_secret_too() -> None:
    turns = {"urls": ["turns:turn.example.org:5349"], "secret_env": "TURN_KEY"}
    (server,) = parse_config(with_media(ice_servers=[turns]), PATH).ice_servers
    assert server.is_turn and server.secret_env == "TURN_KEY"


@pytest.mark.parametrize(
    ("media", "where", "problem"),
    [
        (
            {"ice_servers": [{**TURN, "username": "hall", "credential": "s3cret"}]},
            ICE_0,
            "field 'username': a TURN password does not belong in the config file",
        ),
        (
            {"ice_servers": [STUN, {"urls": TURN["urls"], "credential": "s3cret"}]},
            "[media] ice_servers[1]",
            "field 'credential': a TURN password does not belong in the config file",
        ),
        (
            {"ice_servers": [{"urls": TURN["urls"]}]},
            ICE_0,
            "field 'secret_env': a TURN server needs the name of the environment variable",
        ),
        (
            {"ice_servers": [{**STUN, "secret_env": "PLENARY_TURN_SECRET"}]},
            ICE_0,
            "field 'secret_env': only turn: and turns: servers take one",
        ),
        (
            {"ice_servers": [{**TURN, "urls": [*STUN["urls"], *TURN["urls"]]}]},
            ICE_0,
            "field 'urls': stun: and turn: servers go in entries apart",
        ),
        (
            {"ice_servers": [{**TURN, "secret_env": "PLENARY TURN SECRET"}]},
            ICE_0,
            "field 'secret_env': 'PLENARY TURN SECRET' is not an environment variable name",
        ),
        (
            {"ice_servers": [{**TURN, "secret_env": 7}]},
            ICE_0,
            "field 'secret_env': must be non-empty text",
        ),
        (
            {"ice_servers": [{**TURN, "secret_env": ""}]},
            ICE_0,
            "field 'secret_env': a TURN server needs",
        ),
        (
            {"ice_servers": [{**TURN, "realm": "plenary"}]},
            ICE_0,
            "unknown field 'realm'; known: secret_env, urls",
        ),
        (
            {"ice_servers": [{"url": "stun:turn.example.org"}]},
            ICE_0,
            "unknown field 'url'",
        ),
        ({"ice_servers": [{"urls": "stun:turn.example.org"}]}, ICE_0, "urls"),
        ({"ice_servers": [{"urls": []}]}, ICE_0, "field 'urls'"),
        ({"ice_servers": [{"urls": ["https://turn.example.org"]}]}, ICE_0, "field 'urls'"),
        ({"ice_servers": [{"urls": ['turn:a>; rel="x"']}]}, ICE_0, "field 'urls'"),
        ({"ice_servers": [{"urls": [3478]}]}, ICE_0, "field 'urls'"),
        ({"ice_servers": ["stun:turn.example.org"]}, ICE_0, "a table"),
        ({"ice_servers": STUN}, "[media] ice_servers", "must be a list"),
        ({"turn_credential_ttl": 3600}, "[media]", "field 'turn_credential_ttl'"),
        ({"turn_credential_ttl": "forever"}, "[media]", "field 'turn_credential_ttl'"),
        ({"turn_credential_ttl": "0m"}, "[media]", 'from "1m" to "24h"'),
        ({"turn_credential_ttl": "30s"}, "[media]", 'from "1m" to "24h"'),
        ({"turn_credential_ttl": "25h"}, "[media]", 'from "1m" to "24h"'),
        ({"turn_ttl": "2h"}, "[media]", "unknown field 'turn_ttl'"),
    ],
)
def test_bad_ice_servers_are_refused_by_name(
    media: dict[str, Any], where: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config(with_media(**media), PATH)
    message = str(refused.value)
    assert message.startswith(f"{PATH}: {where}"), message
    assert problem in message, message
    assert "s3cret" not in message


def test_the_commented_example_in_the_bundled_config_is_accepted() -> None:
    text = CONFIG.read_text(encoding="utf-8")
    start = text.index("# ice_servers = [")
    end = text.index("\n", text.index("# turn_credential_ttl", start))
    example = "\n".join(line.removeprefix("# ") for line in text[start:end].splitlines())
    config = parse_config(with_media(**tomllib.loads(example)), PATH)
    assert [server.is_turn for server in config.ice_servers] == [False, True]
    assert config.ice_servers[1].secret_env == "PLENARY_TURN_SECRET"
    assert config.turn_credential_ttl == timedelta(hours=2)
