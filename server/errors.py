"""The errors plenary answers with, and how each maps to HTTP and Socket.IO.

Every refusal the server gives is one of these. Handlers raise them; one middleware (HTTP)
and one wrapper (Socket.IO) turn them into ``{"error": CODE, "message": TEXT}``.
"""

from __future__ import annotations


class PlenaryError(Exception):
    """A refusal with a stable machine-readable code and a human message."""

    code = "error"
    http_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


class InvalidInput(PlenaryError):
    code = "invalid_input"
    http_status = 400


class InvalidToken(PlenaryError):
    code = "invalid_token"
    http_status = 401


class Forbidden(PlenaryError):
    code = "forbidden"
    http_status = 403


class NotFound(PlenaryError):
    code = "not_found"
    http_status = 404


class UnknownRoom(NotFound):
    code = "unknown_room"


class UnknownEvent(NotFound):
    """A Socket.IO event the server does not handle."""

    code = "unknown_event"


class Conflict(PlenaryError):
    """The action is valid but not in the room's (or resource's) present state."""

    code = "conflict"
    http_status = 409


class PreconditionFailed(PlenaryError):
    """An ``If-Match`` that names none of the resource's entity tags (RFC 9110 section 13.1.1)."""

    code = "precondition_failed"
    http_status = 412


class TooLarge(PlenaryError):
    code = "too_large"
    http_status = 413


class UnsupportedMediaType(PlenaryError):
    code = "unsupported_media_type"
    http_status = 415


class Unprocessable(PlenaryError):
    """Well-formed, and understood, but asking for something not supported."""

    code = "unprocessable"
    http_status = 422


class TooManyRequests(PlenaryError):
    code = "too_many_requests"
    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AtCapacity(PlenaryError):
    code = "at_capacity"
    http_status = 503

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreUnavailable(PlenaryError):
    """The store cannot be reached or cannot write (a full disk, a database server down):
    nothing was saved, and the same request will work once it is back. ``reason`` says what
    failed, for the log and the health check; the message is for anyone."""

    code = "store_unavailable"
    http_status = 503
    retry_after = 10

    def __init__(self, reason: str) -> None:
        super().__init__("the server cannot save anything just now; please try again shortly")
        self.reason = reason


class ServerStopping(PlenaryError):
    """The server is stopping (a restart): the same request will work once it is back."""

    code = "server_stopping"
    http_status = 503
