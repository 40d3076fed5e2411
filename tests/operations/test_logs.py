"""The log's two forms (server/operations/logs.py): text and JSON lines, each record with the
id of the request it was written for, and nothing shaped like an access token."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from server.operations.logs import (
    REQUEST_ID,
    JsonFormatter,
    LogFormat,
    RequestIdFilter,
    TextFormatter,
    configure_logging,
)

TOKEN = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1X2FubiJ9.c2lnbmF0dXJlLWJ5dGVz"


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("server.test", logging.WARNING, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    RequestIdFilter().filter(made)
    return made


@pytest.fixture
def within_request() -> Iterator[str]:
    token = REQUEST_ID.set("3f2a9c0d1b7e4a56")
    yield "3f2a9c0d1b7e4a56"
    REQUEST_ID.reset(token)


def test_a_json_line_has_the_time_level_logger_message_and_extras(within_request: str) -> None:
    line = JsonFormatter().format(record("room %s went %s", "welcome", "live", status=200))
    entry = json.loads(line)
    assert entry["time"].endswith("+00:00") and entry["level"] == "WARNING"
    assert (entry["logger"], entry["message"]) == ("server.test", "room welcome went live")
    assert (entry["request_id"], entry["status"]) == (within_request, 200)
    assert "\n" not in line


def test_outside_a_request_a_record_names_none() -> None:
    assert "request_id" not in json.loads(JsonFormatter().format(record("tick")))
    assert TextFormatter().format(record("tick")).endswith(" WARNING server.test: tick")


def test_text_names_the_request_between_the_logger_and_the_message(within_request: str) -> None:
    line = TextFormatter().format(record("GET / 200"))
    assert line.endswith(f" WARNING server.test [{within_request}]: GET / 200")


def test_an_exception_is_one_json_field_and_stays_on_one_line() -> None:
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        failed = logging.LogRecord(
            "server.test", logging.ERROR, __file__, 1, "it broke", (), sys.exc_info()
        )
    entry = json.loads(JsonFormatter().format(failed))
    assert "ValueError: bad\nthing" in entry["exception"]


@pytest.mark.parametrize("formatter", [JsonFormatter(), TextFormatter()], ids=["json", "text"])
def test_nothing_shaped_like_a_token_is_written(formatter: logging.Formatter) -> None:
    line = formatter.format(record("refused %s from %s", f"Bearer {TOKEN}", "x", note=TOKEN))
    assert TOKEN not in line and "eyJ" not in line
    assert line.count("REDACTED") == (2 if isinstance(formatter, JsonFormatter) else 1)


@pytest.mark.parametrize("log_format", list(LogFormat))
def test_configured_the_process_logs_in_that_form(log_format: LogFormat) -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging(log_format, stream)
    try:
        logging.getLogger("server.test").info("hello")
        logging.getLogger("aioice.ice").info("a connectivity check")  # chatty: not at INFO
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    (line,) = stream.getvalue().splitlines()
    if log_format is LogFormat.JSON:
        assert json.loads(line)["message"] == "hello"
    else:
        assert line.endswith(" INFO server.test: hello")
