"""The status bench's baseline: a minimal python-socketio server that broadcasts on a trigger.

Run as ``python -m bench.status.baseline --port P``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

import socketio
from aiohttp import web

from bench.common.harness import (
    HOST,
)


def baseline_server(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.status.baseline")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    payloads: dict[str, Any] = {}
    # The same AsyncServer options plenary uses; nothing else.
    sio = socketio.AsyncServer(
        async_mode="aiohttp", max_http_buffer_size=64 * 1024, cors_allowed_origins=[]
    )
    app = web.Application()
    sio.attach(app)
    pending: set[asyncio.Task[None]] = set()

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def connect(sid: str, environ: dict[str, Any], auth: object = None) -> None:
        await sio.emit("agenda", payloads.get("agenda", {}), to=sid)

    async def broadcast(seq: int) -> None:
        await sio.emit("room_state", {**payloads["room_state"], "seq": seq})

    async def configure(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        payloads.update(data)  # the agenda and a room_state, as plenary sends them
        return {"ok": True}

    async def trigger(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        await broadcast(data["seq"])
        return {"ok": True}

    async def at_instant(at: float, seqs: list[int]) -> None:
        await asyncio.sleep(max(0.0, at - time.time()))
        for seq in seqs:
            await broadcast(seq)

    async def vote(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """The questions bench's bare vote: acked with a question's shape, nothing stored."""
        return {"ok": True, "question": {"id": data.get("question"), "votes": 1, "voted": True}}

    async def schedule(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        for group in data["groups"]:
            task = asyncio.create_task(at_instant(group["at"], group["seqs"]))
            pending.add(task)
            task.add_done_callback(pending.discard)
        return {"ok": True}

    sio.on("connect", connect)
    sio.on("configure", configure)
    sio.on("trigger", trigger)
    sio.on("schedule", schedule)
    sio.on("vote", vote)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host=HOST, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    baseline_server(sys.argv[1:])
