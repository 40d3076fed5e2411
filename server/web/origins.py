"""Which web pages may open a live connection: the server's own, and those the config names.

A browser says in ``Origin`` which page opened a connection, and lets any page open a
websocket to any server, so the server has to look. The server's own origin is that of its
public URL, or of the host a request came in on (the page and the socket were served by the
same server under that name). Clients that are not browsers send no ``Origin`` and are not
asked. ``origin_of`` writes an origin as browsers do, so the comparison is exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of an http(s) URL, in lower case and without the scheme's
    default port, as a browser writes it; ValueError if ``url`` has no such origin."""
    parts = urlsplit(url)
    scheme, host, port = parts.scheme.lower(), parts.hostname, parts.port
    if scheme not in DEFAULT_PORTS or not host or not host.isascii():
        raise ValueError(f"{url!r} has no http(s) origin with an ASCII host")
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + ("" if port in (None, DEFAULT_PORTS[scheme]) else f":{port}")


def is_bare_origin(url: str) -> bool:
    """Whether ``url`` is only an origin: no user, path (bar a lone "/"), query or fragment."""
    try:
        parts = urlsplit(url)
        origin_of(url)
    except ValueError:
        return False
    bare = not (parts.username or parts.password or parts.query or parts.fragment)
    return bare and parts.path in ("", "/") and "?" not in url and "#" not in url


class OriginCheck:
    """python-socketio's ``cors_allowed_origins``: called with each handshake's Origin."""

    def __init__(self, public_url: str, allowed: Iterable[str] = ()) -> None:
        self._allowed = frozenset({origin_of(public_url), *allowed})

    def __call__(self, origin: str | None, environ: Mapping[str, Any]) -> bool:
        if origin is None:
            return True
        try:
            origin = origin_of(origin)
        except ValueError:
            return False  # "null" (a file, a sandboxed frame) among them
        return origin in self._allowed or origin == _served_on(environ)


def _served_on(environ: Mapping[str, Any]) -> str | None:
    scheme, host = environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_HOST")
    try:
        return origin_of(f"{scheme}://{host}") if host else None
    except ValueError:
        return None
