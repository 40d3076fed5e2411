"""HTTP endpoints other than media: health, metrics, the agenda and the public keys, and the
one middleware that turns every refusal into the contract's JSON error."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from server import appkeys
from server.agenda_view import agenda_payload
from server.errors import AtCapacity, PlenaryError, TooManyRequests
from server.metrics import render_metrics

log = logging.getLogger(__name__)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except PlenaryError as error:
        return error_response(error)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        code = error.reason.lower().replace(" ", "_")
        return web.json_response({"error": code, "message": error.reason}, status=error.status)
    except Exception:
        log.exception("request %s %s failed", request.method, request.path)
        return web.json_response(
            {"error": "internal", "message": "the server could not answer that request"},
            status=500,
        )


def error_response(error: PlenaryError) -> web.Response:
    response = web.json_response(error.as_dict(), status=error.http_status)
    if isinstance(error, TooManyRequests | AtCapacity):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


async def healthz(request: web.Request) -> web.Response:
    rooms = request.app[appkeys.ROOMS]
    runner = request.app[appkeys.RUNNER]
    return web.json_response(
        {
            "status": "ok",
            "now": rooms.clock.now().isoformat(),
            "rehearsal": rooms.clock.rehearsal,
            "scheduler": "running" if runner.running else "stopped",
            "pending_transitions": runner.pending(),
        }
    )


async def agenda(request: web.Request) -> web.Response:
    payload = agenda_payload(request.app[appkeys.CONFIG], request.app[appkeys.ROOMS])
    return web.json_response(payload, headers={"Cache-Control": "no-store"})


async def jwks(request: web.Request) -> web.Response:
    keyring = request.app[appkeys.KEYRING]
    keyring.refresh()
    return web.json_response(keyring.jwks(), headers={"Cache-Control": "max-age=60"})


async def metrics(request: web.Request) -> web.Response:
    text = render_metrics(request.app[appkeys.ROOMS], request.app[appkeys.LIVE])
    return web.Response(
        text=text,
        content_type="text/plain",
        charset="utf-8",
        headers={"X-Content-Type-Options": "nosniff"},
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/api/agenda", agenda)
    app.router.add_get("/.well-known/jwks.json", jwks)
