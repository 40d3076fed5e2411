"""Reading requests at the edge (server/web/request_input.py, and aiohttp's own refusals), as
an attacker would send them: every bad body is a 400 with a JSON error, the server logs no
traceback, and it goes on answering."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from server.web.app import create_app
from server.web.request_input import INT_DIGITS, JSON_DEPTH
from tests.helpers import bundled_config, fast_rehearsal, settings

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[..., Awaitable[Client]]
SIGN_UP = {"name": "Ada", "email": "ada@example.org", "consent": True}


@pytest.fixture
async def client(tmp_path: Path, aiohttp_client: ClientFactory) -> Client:
    clock = fast_rehearsal(bundled_config(), lead=-60, speed=1.0)
    return await aiohttp_client(create_app(settings(tmp_path, clock)))


def nested(depth: int) -> str:
    return '{"name": ' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (nested(3000), f"nests deeper than {JSON_DEPTH} levels"),
        ('{"a": ' + '{"b": ' * 40 + "1" + "}" * 41, f"nests deeper than {JSON_DEPTH} levels"),
        ('{"affiliation": ' + "9" * 5000 + "}", f"more than {INT_DIGITS} digits"),
        ('{"affiliation": -' + "9" * 19 + "}", f"more than {INT_DIGITS} digits"),
        ('{"name": "a\\ud800"', "not valid JSON"),
        ('{"name": "Ann", "email": "s\\ud800@example.org", "consent": true}', "lone surrogate"),
        ('{"name": "Ann", "\\udfff": 1}', "lone surrogate"),
        ("[1, 2", "not valid JSON"),
        ("NaN", None),
    ],
    ids=[
        "3000-deep",
        "objects-41-deep",
        "5000-digits",
        "negative-19-digits",
        "cut",
        "surrogate-in-email",
        "surrogate-in-a-key",
        "open",
        "nan",
    ],
)
async def test_bad_json_is_a_400_not_a_traceback(
    client: Client, caplog: pytest.LogCaptureFixture, body: str, message: str | None
) -> None:
    with caplog.at_level(logging.WARNING):
        response = await client.post(
            "/api/registrations", data=body, headers={"Content-Type": "application/json"}
        )
    assert response.status == 400
    error = await response.json()
    assert error["error"] == "invalid_input"
    if message is not None:
        assert message in error["message"]
    assert "Traceback" not in caplog.text
    assert (await client.get("/healthz")).status == 200


async def test_nesting_and_numbers_a_person_would_send_are_read(client: Client) -> None:
    """Strings with brackets do not count as nesting; 18 digits are still a number."""
    body = {**SIGN_UP, "affiliation": '[[[[[[[[[[[[[[[[[[[[ {{{{ \\" ]]]'}
    response = await client.post("/api/registrations", json=body)
    assert response.status == 201
    response = await client.post(
        "/api/registrations",
        data='{"name": "Bo", "email": "bo@example.org", "consent": true, "affiliation": '
        + "9" * INT_DIGITS
        + "}",
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 400  # a number is not an affiliation: refused by the form
    assert "affiliation" in (await response.json())["message"]


async def test_a_header_too_large_to_parse_is_refused_without_a_traceback_or_an_echo(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """aiohttp refuses it before plenary sees it; it logged the traceback and the header's
    start, and a header may hold a token."""
    assert client.server.port is not None
    token = "Bearer " + "T0KEN" * 20_000
    with caplog.at_level(logging.DEBUG):
        reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
        writer.write(f"GET /api/me HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n\r\n".encode())
        await writer.drain()
        status_line = await reader.readline()
        writer.close()
        await writer.wait_closed()
    assert status_line.startswith(b"HTTP/1.1 400") or status_line.startswith(b"HTTP/1.0 400")
    assert "Traceback" not in caplog.text
    assert "T0KEN" not in caplog.text
    assert "refused a malformed request (LineTooLong, HTTP 400)" in caplog.text
    assert (await client.get("/healthz")).status == 200
