"""Slow and oversized headers: what a slowloris and a megabyte of ``Authorization`` do to a
real ``plenary serve``, against a bare aiohttp server (``web.run_app``) as the baseline.

For each server, in turn:

1. ``--slow`` connections each send a request line and one header, then nothing more: how long
   until the server closes them (at most ``--wait`` seconds are waited), and how long
   ``GET /api/agenda`` (the baseline: ``GET /``) takes while they are held open;
2. five connections each send a request with a 1 MB ``Authorization`` header: the status,
   whether the answer is JSON, whether it quotes the header, and how long it took;
3. the server's log: how many tracebacks, and whether the header's bytes are in it.

    .venv/bin/python -m bench.slowheaders
    .venv/bin/python -m bench.slowheaders --slow 3000 --wait 15
    .venv/bin/python -m bench.slowheaders --server-code ../old-checkout   # another version

Everything talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common.children import Child, Children, python_module
from bench.common.harness import HOST, PLENARY, ROOT, free_port, raise_fd_limit
from bench.common.percentiles import percentile
from bench.common.run import run_and_report

MEGABYTE_TOKEN = "Bearer " + "T" * 1_000_000


@dataclass
class Figures:
    server: str
    slow_closed: int = 0
    slow_open: int = 0
    slow_closed_after: list[float] | None = None
    page_while_held_ms: float = float("nan")
    large_status: str = "-"
    large_json: bool = False
    large_quotes: bool = False
    large_ms: float = float("nan")
    tracebacks: int = 0
    log_quotes: bool = False


class SlowHeaders:
    def __init__(self, opts: argparse.Namespace, folder: Path) -> None:
        self.opts = opts
        self.folder = folder
        self.children = Children()
        self.figures: list[Figures] = []

    async def run(self) -> None:
        for name in ("plenary", "bare aiohttp"):
            port = free_port()
            log = self.folder / f"{name.replace(' ', '-')}.log"
            server = self._start(name, port, log)
            try:
                figures = Figures(name)
                self.figures.append(figures)
                page = "/api/agenda" if name == "plenary" else "/"
                await self._slow(port, page, figures)
                await self._large(port, figures)
            finally:
                server.stop(grace=5.0)
            text = log.read_text(errors="replace")
            figures.tracebacks = text.count("Traceback")
            figures.log_quotes = "TTTTTTTT" in text

    def _start(self, name: str, port: int, log: Path) -> Child:
        argv: list[object]
        if name == "bare aiohttp":
            argv = [*python_module("bench.slowheaders.bare", port)]
            env = None
        else:
            start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
            argv = [PLENARY, "serve", "--config", ROOT / "config.toml", "--port", port]
            argv += ["--data", self.folder / "data", "--ice-address", HOST]
            argv += ["--rehearse", start.isoformat()]
            code = self.opts.server_code
            env = {"PYTHONPATH": str(code.resolve())} if code else None
        server = self.children.start(name, argv, log, env=env)
        server.wait_healthy(f"http://{HOST}:{port}", poll=0.1)
        return server

    async def _slow(self, port: int, page: str, figures: Figures) -> None:
        connections = []
        for _ in range(self.opts.slow):
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
            connections.append((reader, writer, time.monotonic()))
        began = time.monotonic()
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(f"GET {page} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        status = await reader.readline()
        await reader.read()
        writer.close()
        figures.page_while_held_ms = (time.monotonic() - began) * 1e3 if b" 200 " in status else -1
        closed_after = []
        deadline = began + self.opts.wait
        for reader, writer, opened in connections:
            with contextlib.suppress(TimeoutError, ConnectionError):
                async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                    await reader.read()
                    closed_after.append(time.monotonic() - opened)
            writer.close()
        figures.slow_closed = len(closed_after)
        figures.slow_open = len(connections) - len(closed_after)
        figures.slow_closed_after = closed_after

    async def _large(self, port: int, figures: Figures) -> None:
        took, statuses = [], []
        for _ in range(5):
            reader, writer = await asyncio.open_connection(HOST, port)
            began = time.monotonic()
            request = f"GET /api/me HTTP/1.1\r\nHost: x\r\nAuthorization: {MEGABYTE_TOKEN}\r\n\r\n"
            with contextlib.suppress(ConnectionError):
                writer.write(request.encode())
            answer = b""
            with contextlib.suppress(ConnectionError):
                answer = await reader.read()
            took.append(time.monotonic() - began)
            writer.close()
            head, _, body = answer.partition(b"\r\n\r\n")
            statuses.append(head.split(b"\r\n")[0].decode(errors="replace")[9:12] or "closed")
            figures.large_json = body.startswith(b"{")
            figures.large_quotes = figures.large_quotes or b"TTTTTTTT" in answer
        figures.large_status = ",".join(sorted(set(statuses)))
        figures.large_ms = percentile(took, 1.0) * 1e3

    def report(self) -> None:
        print(
            f"\n{self.opts.slow} slow connections (waited up to {self.opts.wait:g} s each);"
            " 5 requests with a 1 MB Authorization header"
        )
        print(f"{'server':<14} {'slow closed':>11} {'after (s)':>12} {'still open':>10} "
              f"{'page (ms)':>9} {'1 MB header':>11} {'JSON':>5} {'quotes':>6} {'ms':>6} "
              f"{'tracebacks':>10} {'log quotes':>10}")  # fmt: skip
        for row in self.figures:
            after = row.slow_closed_after or []
            span = f"{min(after):.1f}-{max(after):.1f}" if after else "-"
            print(
                f"{row.server:<14} {row.slow_closed:>11} {span:>12} {row.slow_open:>10} "
                f"{row.page_while_held_ms:>9.0f} {row.large_status:>11} "
                f"{'yes' if row.large_json else 'no':>5} {'yes' if row.large_quotes else 'no':>6} "
                f"{row.large_ms:>6.0f} {row.tracebacks:>10} "
                f"{'yes' if row.log_quotes else 'no':>10}"
            )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.slowheaders", description=__doc__)
    parser.add_argument("--slow", type=int, default=500, help="slow connections held open")
    parser.add_argument("--wait", type=float, default=15.0, help="seconds to wait for them")
    parser.add_argument("--server-code", type=Path, help="a checkout whose server/ to run")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs)")
    opts = parser.parse_args(argv)
    raise_fd_limit(2 * opts.slow + 1024)
    folder = Path(tempfile.mkdtemp(prefix="slowheaders-"))
    bench = SlowHeaders(opts, folder)
    run_and_report(
        bench.run, children=bench.children, folder=folder, keep=opts.keep, report=bench.report
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
