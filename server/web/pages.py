"""The browser pages and their static files, served from ``client_web/``.

Only files directly in that folder with a known type are served (never ``node_modules`` or a
path with a separator in it); the official Socket.IO client comes from npm at ``/vendor/``.
"""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

from server.errors import NotFound

CLIENT_DIR = Path(__file__).resolve().parents[2] / "client_web"
SOCKET_IO_CLIENT = CLIENT_DIR / "node_modules/socket.io-client/dist/socket.io.esm.min.js"
ROOM_PAGES = {
    "watch": "watch.html",
    "speak": "speak.html",
    "hall": "hall.html",
    "moderate": "moderate.html",
    "screen": "screen.html",
}
NOT_FOUND_PAGE = CLIENT_DIR / "notfound.html"
# Where programs, not people, ask: a miss there is answered in JSON, as every API error is.
API_PREFIXES = ("/api/", "/whip", "/whep", "/socket.io", "/.well-known/", "/app/", "/vendor/")
API_PATHS = frozenset({"/healthz", "/metrics"})
ASSET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(js|css|svg|png|ico|html)$")
PAGES = {
    "/": "index.html",
    "/technician": "technician.html",
    "/register": "register.html",
    "/organizer": "organizer.html",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
        "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def _file(path: Path, cache: str) -> web.FileResponse:
    if not path.is_file():
        raise NotFound(f"{path.name} is not here")
    return web.FileResponse(path, headers={**SECURITY_HEADERS, "Cache-Control": cache})


def wants_page(request: web.Request) -> bool:
    """Whether a miss should be told as a page: a person's GET of a page's address."""
    if request.method not in ("GET", "HEAD"):
        return False
    path = request.path
    if path in API_PATHS or path.startswith(API_PREFIXES):
        return False
    accept = request.headers.get("Accept", "")
    return "application/json" not in accept or "text/html" in accept


def not_found_page() -> web.FileResponse:
    """The page for an address that is none: what happened, and the way to the agenda."""
    return web.FileResponse(
        NOT_FOUND_PAGE, status=404, headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"}
    )


async def page(request: web.Request) -> web.FileResponse:
    return _file(CLIENT_DIR / PAGES[request.path], "no-cache")


async def room_page(request: web.Request) -> web.FileResponse:
    """The one-room pages (watch, speak, hall, moderate, screen); the room is read from the
    address by the page itself."""
    return _file(CLIENT_DIR / ROOM_PAGES[request.match_info["page"]], "no-cache")


async def asset(request: web.Request) -> web.FileResponse:
    name = request.match_info["name"]
    if not ASSET_NAME.match(name):
        raise NotFound(f"no asset {name!r}")
    return _file(CLIENT_DIR / name, "no-cache")


async def socket_io_client(request: web.Request) -> web.FileResponse:
    if not SOCKET_IO_CLIENT.is_file():
        raise NotFound(
            "the Socket.IO client is not installed: run `make run` or `npm ci` in client_web"
        )
    return _file(SOCKET_IO_CLIENT, "max-age=3600")


def add_routes(app: web.Application) -> None:
    for path in PAGES:
        app.router.add_get(path, page)
    pages = "|".join(ROOM_PAGES)
    app.router.add_get(f"/{{page:{pages}}}/{{room:[a-z0-9][a-z0-9-]{{0,62}}}}", room_page)
    app.router.add_get("/app/{name}", asset)
    app.router.add_get("/vendor/socket.io.esm.min.js", socket_io_client)
