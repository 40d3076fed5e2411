"""The media settings a config may give: the STUN and TURN servers browsers and encoders are
handed (a TURN server by the environment variable holding its shared secret, never a password),
how long a minted TURN credential lasts, and the addresses the relay offers as ICE candidates."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from ipaddress import IPv4Address, ip_address
from pathlib import Path
from typing import Any

from server.auth.tokens import parse_ttl
from server.config_fields import ConfigError, read_text, refuse_unknown
from server.errors import InvalidInput

ENVIRONMENT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")  # of a secret's variable
ICE_SERVER_KEYS = {"urls", "secret_env"}
# A TURN password written here would reach every token holder and work for the whole event, from
# a file that is shipped and copied around; TURN servers get minted credentials instead.
STATIC_CREDENTIAL_KEYS = ("username", "credential")
TURN_SCHEMES = ("turn:", "turns:")
DEFAULT_TURN_CREDENTIAL_TTL = timedelta(hours=2)
TURN_CREDENTIAL_TTL_RANGE = (timedelta(minutes=1), timedelta(days=1))
IPV4_BROADCAST = IPv4Address("255.255.255.255")
ICE_URL = re.compile(
    r"(?P<scheme>stun|turns?):(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)"
    r"(?::(?P<port>[0-9]{1,5}))?(?P<transport>\?transport=(?:udp|tcp))?"
)


@dataclass(frozen=True)
class IceServer:
    """A STUN or TURN server handed to browsers and encoders. A TURN server names the
    environment variable that holds the secret it shares with plenary (coturn's
    ``static-auth-secret``); each token holder gets credentials minted from it
    (``server/media/ice_servers.py``). STUN servers take no credentials."""

    urls: tuple[str, ...]
    secret_env: str = ""  # TURN servers only

    @property
    def is_turn(self) -> bool:
        return bool(self.secret_env)


def read_turn_credential_ttl(media: Mapping[str, Any], path: Path) -> timedelta:
    value = media.get("turn_credential_ttl")
    if value is None:
        return DEFAULT_TURN_CREDENTIAL_TTL
    shortest, longest = TURN_CREDENTIAL_TTL_RANGE
    try:
        ttl = parse_ttl(value) if isinstance(value, str) else None
    except InvalidInput:
        ttl = None
    if ttl is None or not shortest <= ttl <= longest:
        raise ConfigError(
            path, "[media]", 'field \'turn_credential_ttl\': must be text from "1m" to "24h"'
        )
    return ttl


def read_ice_addresses(value: object, path: Path) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ConfigError(path, "[media]", "field 'ice_addresses': must be a list of addresses")
    for address in value:
        problem = ice_address_problem(address)
        if problem is not None:
            raise ConfigError(path, "[media]", f"field 'ice_addresses': {problem}")
    return tuple(value)


def ice_address_problem(address: object) -> str | None:
    """Why ``address`` cannot be a host candidate the relay offers, or None if it can."""
    try:
        # ip_address() also takes whole numbers (and so True): 1 would be 0.0.0.1.
        parsed = ip_address(address) if isinstance(address, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        return f"{address!r} is not an IP address"
    if parsed.is_unspecified or parsed.is_multicast or parsed == IPV4_BROADCAST:
        return (
            f"{address!r} cannot be offered to peers; "
            "give an address of one of this machine's interfaces"
        )
    return None


def read_ice_servers(value: object, path: Path) -> tuple[IceServer, ...]:
    where = "[media] ice_servers"
    if not isinstance(value, list):
        raise ConfigError(path, where, "must be a list of {urls = [...]} tables")
    return tuple(_ice_server(entry, path, f"{where}[{index}]") for index, entry in enumerate(value))


def _ice_server(entry: object, path: Path, where: str) -> IceServer:
    if not isinstance(entry, dict):
        raise ConfigError(path, where, "must be a table with urls")
    for key in STATIC_CREDENTIAL_KEYS:
        if key in entry:
            raise ConfigError(
                path,
                where,
                f"field {key!r}: a TURN password does not belong in the config file; name the "
                "environment variable that holds the TURN server's shared secret in secret_env, "
                "and plenary mints short-lived credentials from it",
            )
    refuse_unknown(entry, ICE_SERVER_KEYS, path, where)
    urls = _ice_urls(entry.get("urls"), path, where)
    secret_env = read_text(entry, "secret_env", path, where)
    turn = [url for url in urls if url.startswith(TURN_SCHEMES)]
    if turn and len(turn) < len(urls):
        raise ConfigError(path, where, "field 'urls': stun: and turn: servers go in entries apart")
    if turn and not secret_env:
        raise ConfigError(
            path,
            where,
            "field 'secret_env': a TURN server needs the name of the environment variable "
            "that holds its shared secret (coturn's static-auth-secret)",
        )
    if secret_env and not turn:
        raise ConfigError(path, where, "field 'secret_env': only turn: and turns: servers take one")
    if secret_env and not ENVIRONMENT_NAME.fullmatch(secret_env):
        raise ConfigError(
            path, where, f"field 'secret_env': {secret_env!r} is not an environment variable name"
        )
    return IceServer(urls=urls, secret_env=secret_env)


def _ice_urls(urls: object, path: Path, where: str) -> tuple[str, ...]:
    if not isinstance(urls, list) or not urls or not all(_is_ice_url(url) for url in urls):
        raise ConfigError(
            path,
            where,
            "field 'urls': a list of stun:, turn: or turns: addresses "
            "like turn:turn.example.org:3478",
        )
    return tuple(urls)


def _is_ice_url(url: object) -> bool:
    """A STUN or TURN address as browsers parse it (RFC 7064, 7065): a browser given one it
    cannot parse makes no peer connection at all. And nothing in it can end the <...> of a
    Link header early."""
    found = ICE_URL.fullmatch(url) if isinstance(url, str) else None
    if found is None:
        return False
    port, transport = found["port"], found["transport"]
    return (port is None or 1 <= int(port) <= 65535) and not (
        transport and found["scheme"] == "stun"
    )
