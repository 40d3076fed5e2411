"""The guarded listening socket (server/web/site.py) with aiohttp's real server behind it, and
raw sockets on loopback as the clients: slow headers are cut off, a cap on connections holds,
oversized headers get the contract's JSON error, and everyone else is served meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from server.web.site import HEADER_BYTES, Guard, GuardedSite, parser_limits
from tests.serverproc import CONFIG, ServerProcess, free_port, utc_in

HOST = "127.0.0.1"


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


async def echo(request: web.Request) -> web.WebSocketResponse:
    socket = web.WebSocketResponse()
    await socket.prepare(request)
    async for message in socket:
        await socket.send_str(message.data)
    return socket


@pytest.fixture
async def site() -> AsyncIterator[GuardedSite]:
    app = web.Application(handler_args=parser_limits())
    app.router.add_get("/", hello)
    app.router.add_get("/ws", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    made = GuardedSite(runner, HOST, free_port(), Guard(header_timeout=0.5, max_connections=8))
    await made.start()
    yield made
    await runner.cleanup()


async def connect(site: GuardedSite) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(HOST, site._port)


async def get(site: GuardedSite) -> bytes:
    reader, writer = await connect(site)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    answer = await reader.read()
    writer.close()
    return answer


async def closed(reader: asyncio.StreamReader, within: float) -> bytes:
    """What the server sent before closing the connection; TimeoutError if it did not."""
    async with asyncio.timeout(within):
        return await reader.read()


async def test_a_request_is_served(site: GuardedSite) -> None:
    assert (await get(site)).endswith(b"hello")


async def test_headers_sent_a_byte_at_a_time_are_cut_off_and_others_are_served(
    site: GuardedSite, caplog: pytest.LogCaptureFixture
) -> None:
    reader, writer = await connect(site)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
    with caplog.at_level(logging.WARNING, logger="server.web.site"):
        for _ in range(3):  # a slowloris dribbles on; the server does not wait for it
            writer.write(b"X")
            assert (await get(site)).endswith(b"hello")
        assert await closed(reader, within=2.0) == b""
    assert site.guard.too_slow == 1 and site.guard.open == 0
    assert "did not finish its headers in time" in caplog.text
    writer.close()


async def test_an_end_of_headers_split_between_reads_counts(site: GuardedSite) -> None:
    reader, writer = await connect(site)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r")
    await writer.drain()
    await asyncio.sleep(0.1)  # two reads, not one
    writer.write(b"\n")
    assert (await closed(reader, within=2.0)).endswith(b"hello")
    assert site.guard.too_slow == 0
    writer.close()


async def test_a_connection_past_its_first_headers_is_not_timed(site: GuardedSite) -> None:
    """A websocket (Socket.IO's) lives on long after its upgrade request."""
    reader, writer = await connect(site)
    writer.write(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
    await asyncio.sleep(3 * site.guard.header_timeout)
    writer.write(bytes([0x81, 0x82, 0, 0, 0, 0]) + b"hi")  # a masked text frame
    assert await reader.readexactly(4) == bytes([0x81, 0x02]) + b"hi"
    assert site.guard.too_slow == 0
    writer.close()


async def test_past_the_cap_a_connection_is_turned_away_until_one_closes(
    site: GuardedSite,
) -> None:
    idle = [await connect(site) for _ in range(site.guard.max_connections)]
    async with asyncio.timeout(2):
        while site.guard.open < site.guard.max_connections:
            await asyncio.sleep(0.01)
    reader, writer = await connect(site)
    assert await closed(reader, within=2.0) == b""
    assert site.guard.turned_away == 1
    writer.close()
    for _, each in idle:  # they go (or are cut off): room again
        each.close()
    async with asyncio.timeout(2):
        while site.guard.open:
            await asyncio.sleep(0.01)
    assert (await get(site)).endswith(b"hello")


@pytest.mark.parametrize("header", ["Authorization: Bearer ", "X-Junk: "])
async def test_headers_too_large_get_a_json_431_that_quotes_nothing(
    site: GuardedSite, caplog: pytest.LogCaptureFixture, header: str
) -> None:
    reader, writer = await connect(site)
    secret = "S3CRET" * (HEADER_BYTES // 3)
    with caplog.at_level(logging.DEBUG):
        writer.write(f"GET / HTTP/1.1\r\nHost: x\r\n{header}{secret}\r\n\r\n".encode())
        answer = await closed(reader, within=2.0)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 ")
    assert json.loads(body)["error"] == "headers_too_large"
    assert b"S3CRET" not in answer
    assert "S3CRET" not in caplog.text and "Traceback" not in caplog.text
    assert site.guard.too_large == 1
    writer.close()


async def test_headers_within_the_limit_reach_the_app(site: GuardedSite) -> None:
    reader, writer = await connect(site)
    long = "L" * (HEADER_BYTES - 200)  # with the request line and Host, just under the limit
    writer.write(
        f"GET / HTTP/1.1\r\nHost: x\r\nX-Long: {long}\r\nConnection: close\r\n\r\n".encode()
    )
    assert (await closed(reader, within=2.0)).endswith(b"hello")
    assert site.guard.too_large == 0
    writer.close()


def test_plenary_serve_is_behind_the_guard(tmp_path: Path) -> None:
    """A real server with the config's limits: slow headers are cut off at
    ``header_timeout_seconds``, a megabyte of Authorization gets the JSON 431, and the agenda
    is served meanwhile."""
    config = tmp_path / "guarded.toml"
    text = CONFIG.read_text(encoding="utf-8")
    config.write_text(text.replace("[server]\n", "[server]\nheader_timeout_seconds = 1\n", 1))
    server = ServerProcess(data_dir=tmp_path / "data", rehearse=utc_in(60), config=config).start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as slow:
            slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            began = time.monotonic()
            with urllib.request.urlopen(server.url + "/api/agenda", timeout=5) as agenda:
                assert agenda.status == 200
            assert slow.recv(1) == b""  # closed by the server
            assert 0.8 < time.monotonic() - began < 3.0
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as large:
            token = "Bearer " + "T" * 1_000_000
            request = f"GET /api/me HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n\r\n"
            with contextlib.suppress(ConnectionResetError, BrokenPipeError):
                large.sendall(request.encode())  # the server may close before it has all
            answer = large.recv(4096)
        assert answer.startswith(b"HTTP/1.1 431 ")
        assert b'"headers_too_large"' in answer and b"TTTT" not in answer
    finally:
        server.stop()
    assert "Traceback" not in server.log() and "TTTT" not in server.log()
