"""The error mapping for HTTP: one middleware turns every refusal into the contract's JSON
error, ``{"error": CODE, "message": TEXT}``, with the headers that go with it."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from server.errors import (
    AtCapacity,
    InvalidToken,
    PlenaryError,
    TooLarge,
    TooManyRequests,
    UnsupportedMediaType,
)

log = logging.getLogger(__name__)

# aiohttp's own refusals, named as ours are (``server/errors.py``).
HTTP_CODES = {413: TooLarge.code, 415: UnsupportedMediaType.code}


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except PlenaryError as error:
        return error_response(error)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        code = HTTP_CODES.get(error.status) or error.reason.lower().replace(" ", "_")
        return web.json_response({"error": code, "message": error.reason}, status=error.status)
    except Exception:
        log.exception("request %s %s failed", request.method, request.path)
        return web.json_response(
            {"error": "internal", "message": "the server could not answer that request"},
            status=500,
        )


def error_response(error: PlenaryError) -> web.Response:
    response = web.json_response(error.as_dict(), status=error.http_status)
    if isinstance(error, InvalidToken):
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    if isinstance(error, TooManyRequests | AtCapacity):
        response.headers["Retry-After"] = str(error.retry_after)
    return response
