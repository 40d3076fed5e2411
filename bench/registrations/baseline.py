"""The registration bench's baseline: a minimal aiohttp app, one aiosqlite insert per request.

Run as ``python -m bench.registrations.baseline --port P --folder F``; it prints ``ready``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sqlite3
import sys
import time
from pathlib import Path

from aiohttp import web

from bench.common.harness import HOST


async def _baseline(port: int, folder: Path) -> None:
    import aiosqlite

    database = await aiosqlite.connect(folder / "baseline.db")
    await database.execute("PRAGMA journal_mode=WAL")
    await database.execute("PRAGMA synchronous=NORMAL")
    await database.execute(
        "CREATE TABLE registrations (id TEXT PRIMARY KEY, name TEXT NOT NULL,"
        " email TEXT NOT NULL, email_key TEXT NOT NULL UNIQUE, affiliation TEXT NOT NULL,"
        " created_at REAL NOT NULL)"
    )
    await database.commit()
    # One connection shared by every request, as a minimal app would: a commit may carry other
    # requests' inserts too (a group commit), and each answer still follows its row's commit.

    async def register(request: web.Request) -> web.Response:
        body = await request.json()
        if not isinstance(body, dict) or body.get("consent") is not True:
            return web.json_response({"error": "invalid_input"}, status=400)
        registration = "r_" + os.urandom(10).hex()
        email = str(body["email"]).strip()
        row = (registration, body["name"], email, email.casefold(), body.get("affiliation", ""))
        try:
            await database.execute(
                "INSERT INTO registrations VALUES (?, ?, ?, ?, ?, ?)", (*row, time.time())
            )
        except sqlite3.IntegrityError:  # undoes this statement only, not the transaction
            return web.json_response({"error": "already_registered"}, status=409)
        await database.commit()
        return web.json_response({"id": registration, "status": "approved"}, status=201)

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/api/registrations", register)
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, HOST, port).start()
    stopped = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
    print("ready", flush=True)
    await stopped.wait()
    await runner.cleanup()
    await database.close()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.registrations.baseline")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--folder", type=Path, required=True)
    options = parser.parse_args(argv)
    asyncio.run(_baseline(options.port, options.folder))


if __name__ == "__main__":
    main(sys.argv[1:])
