"""Each HTTP request's id, and one log line for each request.

The id is the client's ``X-Request-Id`` if it sent one that is short and plain (a proxy's, a
test's), else one made here; it goes back in the response's ``X-Request-Id`` and is set for
every log record written while the request is answered (``logs.REQUEST_ID``). The request's
own line says its method, path and query, status and time taken; a query parameter whose name
suggests a secret (``?token=``, Socket.IO's ``sid``) is written as ``REDACTED``. Health checks
and scrapes that succeed are logged at DEBUG, so a probe every few seconds does not bury the
rest.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Sequence
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.typedefs import Handler
from yarl import URL

from server.operations.logs import REDACTED, REQUEST_ID

log = logging.getLogger(__name__)

HEADER = "X-Request-Id"
CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
# Query parameter names that suggest a secret; "sid" is engine.io's session id, which lets
# whoever knows it poll as that client.
SECRET_NAMES = ("token", "secret", "passw", "credential", "auth", "key", "sig", "session", "sid")
MAX_TARGET = 300  # characters of path and query in the log line
MAX_METHOD = 16
PROBES = frozenset({"/healthz", "/metrics"})
ID_KEY = web.RequestKey("request_id", str)


def request_id_for(sent: Sequence[str]) -> str:
    """The client's id if it sent exactly one that is short and plain, else a new one."""
    if len(sent) == 1 and CLIENT_ID.fullmatch(sent[0]):
        return sent[0]
    return secrets.token_hex(8)


@web.middleware
async def request_log(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = request_id_for(request.headers.getall(HEADER, ()))
    request[ID_KEY] = request_id
    token = REQUEST_ID.set(request_id)
    started = time.perf_counter()
    status: int | None = None
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as answer:  # a redirect, which the error mapping lets through
        status = answer.status
        raise
    finally:
        _log_request(request, status, time.perf_counter() - started)
        REQUEST_ID.reset(token)


async def send_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """For ``app.on_response_prepare``: every response names its request's id, websockets
    and files included."""
    request_id = request.get(ID_KEY)
    if request_id is not None:
        response.headers[HEADER] = request_id


def loggable_target(url: URL) -> str:
    """The path and query as sent, with secrets' values replaced, and cut short."""
    query = [
        (name, REDACTED if any(word in name.lower() for word in SECRET_NAMES) else value)
        for name, value in url.query.items()
    ]
    target = url.raw_path + ("?" + urlencode(query) if query else "")
    return target if len(target) <= MAX_TARGET else target[:MAX_TARGET] + "..."


def _log_request(request: web.Request, status: int | None, seconds: float) -> None:
    level = logging.DEBUG if request.path in PROBES and status == 200 else logging.INFO
    if not log.isEnabledFor(level):
        return
    method = request.method[:MAX_METHOD]
    target = loggable_target(request.rel_url)
    log.log(
        level,
        "%s %s %s %.1f ms",
        method,
        target,
        status or "not answered",
        seconds * 1e3,
        extra={
            "method": method,
            "target": target,
            "status": status,
            "duration_ms": round(seconds * 1e3, 3),
        },
    )
