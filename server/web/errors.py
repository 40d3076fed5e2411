"""The error mapping for HTTP: one middleware turns every refusal into the contract's JSON
error, ``{"error": CODE, "message": TEXT}``, with the headers that go with it."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage
from aiohttp.typedefs import Handler

from server.errors import (
    AtCapacity,
    InvalidToken,
    PlenaryError,
    StoreUnavailable,
    TooLarge,
    TooManyRequests,
    UnsupportedMediaType,
)
from server.web.pages import not_found_page, wants_page

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
        if error.status == 404 and wants_page(request):
            return not_found_page()
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
    if isinstance(error, TooManyRequests | AtCapacity | StoreUnavailable):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


class QuietAboutMalformedRequests(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's server logger, handed to it as ``handler_args["logger"]``. A request too
    malformed for aiohttp to parse (a header past its size limit, a broken request line) is
    the client's doing: one line, without the traceback, and without the request's content,
    which aiohttp's message quotes (a header may hold a token). Anything else as aiohttp would
    log it."""

    def __init__(self) -> None:
        super().__init__(logging.getLogger("aiohttp.server"), {})

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        error = kwargs.get("exc_info")
        if isinstance(error, BadHttpMessage):
            self.logger.warning(
                "refused a malformed request (%s, HTTP %d)", type(error).__name__, error.code
            )
            return
        self.logger.exception(msg, *args, **kwargs)
