"""The status bench's client worker: N Socket.IO clients on one loop, driven over stdin/stdout.

Run as ``python -m bench.status.clients --url U --count N --batch B [--deflate] [--reconnect]``.
Requests, one JSON line each: ``{"op": "connect"}``, ``{"op": "await", ...}``, ``{"op": "count"}``
(how many are connected now; with ``--reconnect`` clients come back by themselves after the
server drops them, as python-socketio's client does).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import socketio

from bench.common.harness import (
    raise_fd_limit,
)

FD_HEADROOM = 256
Record = dict[str, Any]
Match = dict[str, Any]


def summarise(event: str, data: Any, agendas_so_far: int) -> Record:
    if event == "agenda":
        return {"event": "agenda", "n": agendas_so_far}
    body = data if isinstance(data, dict) else {}
    fields = ("room", "state", "ends_at", "reason", "seq")
    return {"event": event, **{name: body.get(name) for name in fields}}


def matches(record: Record, match: Match) -> bool:
    return all(record.get(key) == value for key, value in match.items())


class Waiter:
    """Receipt times, per match and per client, of the first record that fits each match."""

    def __init__(self, wanted: list[Match], live: list[bool]) -> None:
        self.wanted = wanted
        self.times: list[list[float | None]] = [[None] * len(live) for _ in wanted]
        self.pending = len(wanted) * sum(live)
        self.live = live
        self.done = asyncio.Event()
        if not self.pending:
            self.done.set()

    def offer(self, client: int, record: Record) -> None:
        if not self.live[client]:
            return
        for match, times in zip(self.wanted, self.times, strict=True):
            if times[client] is None and matches(record, match):
                times[client] = record["t"]
                self.pending -= 1
        if self.pending == 0:
            self.done.set()


class Fleet:
    def __init__(
        self, url: str, count: int, batch: int, deflate: bool, reconnect: bool = False
    ) -> None:
        self.url = url
        self.batch = batch
        self.reconnect = reconnect
        # Browsers offer permessage-deflate, and aiohttp's server accepts it: each send is then
        # compressed per connection. python-socketio's client does not offer it unless asked.
        self.websocket_options = {"compress": 15} if deflate else {}
        self.records: list[list[Record]] = [[] for _ in range(count)]
        self.agendas = [0] * count
        self.live = [False] * count
        self.clients: list[socketio.AsyncClient] = []
        self.waiter: Waiter | None = None
        self.session: aiohttp.ClientSession | None = None

    def _handler(self, client: int, event: str) -> Callable[[Any], None]:
        def receive(data: Any = None) -> None:
            received = time.time()
            if event == "agenda":
                self.agendas[client] += 1
            record = summarise(event, data, self.agendas[client])
            record["t"] = received
            self.records[client].append(record)
            if self.waiter is not None:
                self.waiter.offer(client, record)

        return receive

    async def connect(self) -> dict[str, Any]:
        # One session, no pool limit: its default of 100 would cap the websockets at 100.
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        began, errors = time.time(), list[str]()
        for first in range(0, len(self.records), self.batch):
            indexes = range(first, min(first + self.batch, len(self.records)))
            results = await asyncio.gather(*(self._connect_one(i) for i in indexes))
            errors.extend(error for error in results if error)
        return {
            "connected": sum(self.live),
            "failed": len(errors),
            "errors": sorted(set(errors))[:3],
            "seconds": time.time() - began,
        }

    async def _connect_one(self, client: int) -> str | None:
        sio = socketio.AsyncClient(
            reconnection=self.reconnect,
            http_session=self.session,
            websocket_extra_options=self.websocket_options,
        )
        sio.on("agenda", self._handler(client, "agenda"))
        sio.on("room_state", self._handler(client, "room_state"))
        self.clients.append(sio)
        try:
            await sio.connect(self.url, transports=["websocket"], wait_timeout=30)
        except Exception as error:
            return f"{type(error).__name__}: {error}"
        self.live[client] = True
        return None

    async def wait_for(self, wanted: list[Match], since: float, seconds: float) -> dict[str, Any]:
        self.waiter = waiter = Waiter(wanted, self.live)
        for client, records in enumerate(self.records):
            arrived = 0  # those already in, received from ``since`` on
            while arrived < len(records) and records[-1 - arrived]["t"] >= since:
                arrived += 1
            for record in records[len(records) - arrived :]:
                waiter.offer(client, record)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter.done.wait(), seconds)
        self.waiter = None
        return {"times": waiter.times}

    def count(self) -> dict[str, Any]:
        return {"connected": sum(sio.connected for sio in self.clients)}

    async def close(self) -> None:
        disconnects = (sio.disconnect() for sio in self.clients if sio.connected)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*disconnects, return_exceptions=True), 10)
        if self.session is not None:
            await self.session.close()


async def worker(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.status.clients")
    parser.add_argument("--url", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--deflate", action="store_true")
    parser.add_argument("--reconnect", action="store_true")
    args = parser.parse_args(argv)
    raise_fd_limit(args.count + FD_HEADROOM, warn=True)
    fleet = Fleet(args.url, args.count, args.batch, args.deflate, args.reconnect)
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    while line := await stdin.readline():  # EOF: the bench is gone
        request = json.loads(line)
        if request["op"] == "connect":
            reply = await fleet.connect()
            # The clients are the measuring instrument: keep collector pauses out of the figures.
            gc.freeze()
            gc.disable()
        elif request["op"] == "await":
            reply = await fleet.wait_for(request["matches"], request["since"], request["seconds"])
        elif request["op"] == "count":
            reply = fleet.count()
        else:
            break
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    await fleet.close()


if __name__ == "__main__":
    asyncio.run(worker(sys.argv[1:]))
