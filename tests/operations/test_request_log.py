"""Request ids and the request log (server/operations/request_log.py) over real HTTP: each
response names its request's id, every record written while answering it carries the id, a
client's plain id is kept and anything else replaced, and no secret in a query is written."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from server.auth.permissions import Role
from server.operations.logs import JsonFormatter, RequestIdFilter
from server.web import appkeys
from server.web.app import create_app
from tests.helpers import bundled_config, fast_rehearsal, settings
from tests.serverproc import ServerProcess

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[..., Awaitable[Client]]
MADE_HERE = re.compile(r"[0-9a-f]{16}")
test_log = logging.getLogger("tests.request_log")


class JsonLog:
    """Every record of the process at DEBUG and up, as the JSON form writes it."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def of(self, request_id: str) -> list[dict[str, Any]]:
        return [entry for entry in self.entries() if entry.get("request_id") == request_id]


@pytest.fixture
def json_log() -> Iterator[JsonLog]:
    log = JsonLog()
    handler = logging.StreamHandler(log.stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield log
    root.removeHandler(handler)
    root.setLevel(level)


async def noting(request: web.Request) -> web.Response:
    """A handler that logs, and has a task of its own log, as features do."""
    test_log.info("answering")

    async def later() -> None:
        test_log.info("in a task the request started")

    await asyncio.create_task(later())
    return web.json_response({"ok": True})


@pytest.fixture
async def client(tmp_path: Path, aiohttp_client: ClientFactory) -> Client:
    app = create_app(settings(tmp_path, fast_rehearsal(bundled_config(), lead=-60, speed=1.0)))
    app.router.add_get("/test/noting", noting)
    # As `plenary serve` runs it: aiohttp's own access log would write the query as sent.
    server = TestServer(app)
    await server.start_server(access_log=None)
    return await aiohttp_client(server)


async def test_every_record_written_for_a_request_carries_the_id_its_response_names(
    client: Client, json_log: JsonLog
) -> None:
    first = await client.get("/test/noting")
    second = await client.get("/test/noting")
    ids = [first.headers["X-Request-Id"], second.headers["X-Request-Id"]]
    assert all(MADE_HERE.fullmatch(request_id) for request_id in ids) and ids[0] != ids[1]
    for request_id in ids:
        entries = json_log.of(request_id)
        assert [entry["message"] for entry in entries[:2]] == [
            "answering",
            "in a task the request started",
        ]
        (line,) = entries[2:]
        assert (line["logger"], line["level"]) == ("server.operations.request_log", "INFO")
        assert (line["method"], line["target"], line["status"]) == ("GET", "/test/noting", 200)
        assert line["message"].startswith("GET /test/noting 200 ")
    test_log.info("between requests")
    assert "request_id" not in json_log.entries()[-1]


async def test_pages_errors_and_the_live_channel_name_their_request_too(client: Client) -> None:
    for path in ("/", "/api/nothing", "/app/missing.js"):
        response = await client.get(path)
        assert MADE_HERE.fullmatch(response.headers["X-Request-Id"]), path
    refused = await client.post("/api/agenda")
    assert refused.status == 405 and MADE_HERE.fullmatch(refused.headers["X-Request-Id"])
    url = client.make_url("/socket.io/?EIO=4&transport=websocket")
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as socket:
        assert socket._response.status == 101
        assert MADE_HERE.fullmatch(socket._response.headers["X-Request-Id"])


@pytest.mark.parametrize(
    "sent",
    ["trace-1", "0f8fad5b-d9cb-469f-a165-70867728950e", "a" * 64, "req.7:2_b"],
)
async def test_a_clients_short_plain_id_is_kept(client: Client, sent: str) -> None:
    response = await client.get("/api/agenda", headers={"X-Request-Id": sent})
    assert (response.status, response.headers["X-Request-Id"]) == (200, sent)


@pytest.mark.parametrize(
    "sent",
    ["", "a" * 65, "x" * 30_000, "two words", "<script>", "../etc", "-lead", "é", "a\tb", "%0a"],
)
async def test_any_other_id_is_replaced_and_the_request_answered(
    client: Client, json_log: JsonLog, sent: str
) -> None:
    response = await client.get("/api/agenda", headers={"X-Request-Id": sent})
    made = response.headers["X-Request-Id"]
    assert response.status == 200 and MADE_HERE.fullmatch(made)
    assert json_log.of(made)
    assert all(entry.get("request_id") != sent for entry in json_log.entries())


async def test_two_ids_are_one_too_many(client: Client) -> None:
    headers = [("X-Request-Id", "first"), ("X-Request-Id", "second")]
    response = await client.get("/api/agenda", headers=headers)
    assert MADE_HERE.fullmatch(response.headers["X-Request-Id"])


async def test_no_secret_in_a_query_or_a_header_is_written(
    client: Client, json_log: JsonLog
) -> None:
    assert client.app is not None
    token = client.app[appkeys.TOKENS].issue(role=Role.TECHNICIAN, name="Tess", rooms=("*",))
    query = f"token={token}&access_token=abc123&apiKey=k&TurnCredential=c&sid=s1&view=remote"
    response = await client.get(f"/api/agenda?{query}")
    assert response.status == 200
    bad = await client.get("/api/audit", headers={"Authorization": f"Bearer {token}x"})
    assert bad.status == 401
    (line,) = [e for e in json_log.of(response.headers["X-Request-Id"]) if "target" in e]
    assert line["target"] == (
        "/api/agenda?token=REDACTED&access_token=REDACTED&apiKey=REDACTED"
        "&TurnCredential=REDACTED&sid=REDACTED&view=remote"
    )
    written = json_log.stream.getvalue()
    assert token not in written
    assert "abc123" not in written
    assert [e["status"] for e in json_log.of(bad.headers["X-Request-Id"])] == [401]


async def test_a_long_target_is_cut_short_in_the_log(client: Client, json_log: JsonLog) -> None:
    response = await client.get("/api/agenda?q=" + "x" * 5000)
    (line,) = json_log.of(response.headers["X-Request-Id"])
    assert len(line["target"]) == 303 and line["target"].endswith("...")


async def test_succeeding_probes_are_logged_below_info(client: Client, json_log: JsonLog) -> None:
    for path in ("/healthz", "/metrics"):
        response = await client.get(path)
        (line,) = json_log.of(response.headers["X-Request-Id"])
        assert (line["status"], line["level"]) == (200, "DEBUG")


@pytest.mark.slow
def test_plenary_serve_writes_json_lines_when_asked(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(extra_args=("--log-format", "json"))
    token = server.token(Role.ATTENDEE)
    request = urllib.request.Request(
        f"{server.url}/api/agenda?token={token}", headers={"X-Request-Id": "from-the-test"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.headers["X-Request-Id"] == "from-the-test"
    server.stop()
    written = server.log()
    assert token not in written
    logged = [json.loads(line) for line in written.splitlines() if line.startswith("{")]
    assert len(logged) >= 2  # start-up says something too
    (line,) = [entry for entry in logged if entry.get("request_id") == "from-the-test"]
    assert (line["target"], line["status"]) == ("/api/agenda?token=REDACTED", 200)
    banner = [text for text in written.splitlines() if text and not text.startswith("{")]
    assert all(text.startswith(("plenary is serving", "  ")) for text in banner), banner
