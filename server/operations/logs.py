"""How the server's log reads: text for a person at a terminal, or JSON lines for a log
collector (``[server] log_format``, ``plenary serve --log-format``). Either way every record
written while a request is answered names that request's id (``request_log.py``), and nothing
shaped like an access token reaches the log, whatever a message quotes."""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TextIO

# The id of the request being answered, in the task answering it and the tasks it starts
# (a Socket.IO connection's events carry the id of the request that opened its websocket).
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
# A JSON Web Token: three base64url parts, the first an encoded JSON object ('{"' is eyJ).
TOKEN_SHAPED = re.compile(r"eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*")
REDACTED = "REDACTED"
# What every record has; anything else was passed as ``extra`` and goes into the JSON too.
STANDARD_ATTRIBUTES = frozenset(
    [*logging.LogRecord("", 0, "", 0, "", (), None).__dict__, "message", "asctime", "taskName"]
)
# These narrate every job and every ICE check at INFO; the rooms and sessions log what matters.
CHATTY = ("apscheduler", "aioice", "aiortc")


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class RequestIdFilter(logging.Filter):
    """Gives each record the id of the request it was written for (``request_id``, None
    outside any)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class TextFormatter(logging.Formatter):
    """``time LEVEL logger [request id]: message``, the id only within a request."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._with_id = logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
        )

    def format(self, record: logging.LogRecord) -> str:
        within = getattr(record, "request_id", None) is not None
        return redacted(self._with_id.format(record) if within else super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``time`` (UTC), ``level``, ``logger``, ``message``,
    ``request_id`` within a request, what was passed as ``extra``, and ``exception``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in STANDARD_ATTRIBUTES and key != "request_id":
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return redacted(json.dumps(entry, ensure_ascii=False, default=str))


def redacted(text: str) -> str:
    """``text`` with anything shaped like an access token replaced."""
    return TOKEN_SHAPED.sub(REDACTED, text) if "eyJ" in text else text


def configure_logging(log_format: LogFormat, stream: TextIO | None = None) -> logging.Handler:
    """The process's one log handler, to ``stream`` (standard error by default), at INFO."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format is LogFormat.JSON else TextFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for chatty in CHATTY:
        logging.getLogger(chatty).setLevel(logging.WARNING)
    return handler
