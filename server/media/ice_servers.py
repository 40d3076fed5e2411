"""The STUN and TURN servers a token holder is handed, for ``GET /api/media/ice-servers`` and the
``Link: rel="ice-server"`` headers of WHIP/WHEP answers (RFC 9725 section 4.6).

TURN credentials are minted per request with the TURN REST scheme that coturn implements as
``use-auth-secret``: the username is ``EXPIRY:SUBJECT`` (a Unix time, then the token's opaque
``sub``) and the password is base64(HMAC-SHA1(shared secret, username)). The TURN server needs no
call to plenary to check them, and refuses them once EXPIRY has passed; an allocation made in
time keeps working after it (coturn keeps the key for the allocation's life), so a viewer who
stays all afternoon is not cut off, while a leaked credential soon opens nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from server.auth.tokens import Claims
from server.config import Config
from server.config_fields import ConfigError
from server.config_media import IceServer


@dataclass(frozen=True)
class TurnCredential:
    username: str
    credential: str


def mint_turn_credential(secret: str, subject: str, expires_at: int) -> TurnCredential:
    """What coturn with ``static-auth-secret=SECRET`` accepts from ``subject`` until the Unix
    time ``expires_at``."""
    username = f"{expires_at}:{subject}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return TurnCredential(username, base64.b64encode(digest).decode("ascii"))


@dataclass(frozen=True)
class OfferedIceServer:
    """One server as a client is given it: an ``RTCIceServer`` and its Link headers."""

    urls: tuple[str, ...]
    credential: TurnCredential | None = None

    def as_dict(self) -> dict[str, object]:
        entry: dict[str, object] = {"urls": list(self.urls)}
        if self.credential is not None:
            entry.update(username=self.credential.username, credential=self.credential.credential)
        return entry

    def link_headers(self) -> list[str]:
        extra = ""
        if self.credential is not None:
            extra = (
                f'; username="{self.credential.username}"; '
                f'credential="{self.credential.credential}"; credential-type="password"'
            )
        return [f'<{url}>; rel="ice-server"{extra}' for url in self.urls]


@dataclass(frozen=True)
class _Server:
    urls: tuple[str, ...]
    secret: str = field(default="", repr=False)  # TURN only; never logged, never served


class IceServers:
    """The configured servers, each TURN server with its secret read once, at start-up."""

    def __init__(
        self, servers: tuple[_Server, ...], lifetime: timedelta, now: Callable[[], datetime]
    ) -> None:
        self._servers = servers
        self._lifetime = lifetime
        self._now = now

    @classmethod
    def from_config(
        cls, config: Config, environ: Mapping[str, str], now: Callable[[], datetime]
    ) -> IceServers:
        """ConfigError, naming the variable, if a TURN server's secret is not in ``environ``."""
        servers = tuple(
            _Server(server.urls, _secret(server, environ, config, index))
            for index, server in enumerate(config.ice_servers)
        )
        return cls(servers, config.turn_credential_ttl, now)

    def for_holder(self, claims: Claims) -> list[OfferedIceServer]:
        """The servers with TURN credentials for this token, which expire with it at the
        latest: the relay ends a session when its token lapses anyway."""
        expires_at = int(min(self._now() + self._lifetime, claims.expires_at).timestamp())
        return [
            OfferedIceServer(
                server.urls,
                mint_turn_credential(server.secret, claims.sub, expires_at)
                if server.secret
                else None,
            )
            for server in self._servers
        ]


def _secret(server: IceServer, environ: Mapping[str, str], config: Config, index: int) -> str:
    if not server.is_turn:
        return ""
    secret = environ.get(server.secret_env, "")
    if not secret:
        raise ConfigError(
            config.path,
            f"[media] ice_servers[{index}]",
            f"field 'secret_env': the environment variable {server.secret_env} "
            f"{'is empty' if server.secret_env in environ else 'is not set'}; "
            "it must hold the TURN server's shared secret",
        )
    return secret
