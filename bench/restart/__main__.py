"""Restart bench: how long a plenary with N Socket.IO clients takes to stop on SIGTERM, to be
up again on the same port and data folder, and to have every client back.

It starts ``plenary serve`` (a rehearsal whose first room opens in ten minutes, so nothing
changes meanwhile) and N websocket clients in a worker process of their own
(``bench.status.clients --reconnect``: python-socketio's clients, which reconnect by themselves
when their transport drops, but not after a Socket.IO disconnect). Then, ``--rounds`` times:
SIGTERM, wait for the exit, start the server again, and count the clients until all are
connected (with ``--early K``, only until K are: the next SIGTERM then comes in the middle of
a storm of reconnections). Everything talks to 127.0.0.1 only.

    .venv/bin/python -m bench.restart                       # 1,000 clients, 3 rounds
    .venv/bin/python -m bench.restart --clients 200 --rounds 1
    .venv/bin/python -m bench.restart --rounds 40 --early 300
    .venv/bin/python -m bench.restart --server-code ../old-checkout   # another server version
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common.children import Child, Children, python_module
from bench.common.harness import HOST, PLENARY, ROOT, free_port, raise_fd_limit
from bench.common.percentiles import percentile
from bench.common.run import run_and_report
from bench.status.clients import FD_HEADROOM

CONFIG = ROOT / "config.toml"
STOP_GRACE = 90.0  # longer than any stop measured, so that a slow one is measured, not cut
BACK_WITHIN = 60.0
POLL = 0.05


@dataclass
class Round:
    stopped: float  # SIGTERM to the exit
    up: float  # SIGTERM to /healthz answering again
    back: float | None  # SIGTERM to the clients waited for connected again (None: not in time)
    back_count: int


@dataclass
class RestartBench:
    clients: int
    rounds: int
    batch: int
    server_code: Path | None
    folder: Path
    early: int | None = None  # restart again once this many are back, not all
    children: Children = field(default_factory=Children)
    measured: list[Round] = field(default_factory=list)
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    async def run(self) -> None:
        rehearse = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10)
        server = self._serve(rehearse, 0)
        argv = ["--url", self.url, "--count", self.clients, "--batch", self.batch, "--reconnect"]
        worker = self.children.start(
            "clients",
            python_module("bench.status.clients", *argv),
            self.folder / "clients.log",
            pipes=True,
        )
        connected = await worker.ask({"op": "connect"})
        print(f"{connected['connected']} clients connected in {connected['seconds']:.1f} s")
        for number in range(1, self.rounds + 1):
            began = time.monotonic()
            stopped = await asyncio.to_thread(server.stop, STOP_GRACE) if server else 0.0
            server = self._serve(rehearse, number)
            up = time.monotonic() - began
            back, count = await self._back(worker, began)
            self.measured.append(Round(stopped, up, back, count))
            print(f"round {number}: {self._describe(self.measured[-1])}")

    def _serve(self, rehearse: datetime, number: int) -> Child:
        argv = [PLENARY, "serve", "--config", CONFIG, "--data", self.folder / "data"]
        argv += ["--port", self.port, "--ice-address", HOST, "--rehearse", rehearse.isoformat()]
        env = {"PYTHONPATH": str(self.server_code.resolve() if self.server_code else ROOT)}
        log = self.folder / f"plenary-{number}.log"
        server = self.children.start(f"plenary {number}", argv, log, env=env)
        server.wait_healthy(self.url, poll=POLL)
        return server

    async def _back(self, worker: Child, since: float) -> tuple[float | None, int]:
        count = 0
        while time.monotonic() - since < BACK_WITHIN:
            count = (await worker.ask({"op": "count"}))["connected"]
            if count >= (self.early or self.clients):
                return time.monotonic() - since, count
            await asyncio.sleep(POLL)
        return None, count

    def _describe(self, measured: Round) -> str:
        wanted = self.early or self.clients
        back = (
            f"{wanted} of {self.clients} back {measured.back:.2f} s after SIGTERM"
            if measured.back is not None
            else f"{measured.back_count} of {self.clients} back within {BACK_WITHIN:g} s"
        )
        return f"stopped in {measured.stopped:.2f} s, up again at {measured.up:.2f} s, {back}"

    def report(self) -> None:
        if not self.measured:
            return
        stops = [each.stopped for each in self.measured]
        ups = [each.up for each in self.measured]
        came_back = sum(each.back is not None for each in self.measured)
        print(
            f"{self.clients} clients, {len(self.measured)} restarts: SIGTERM to exit "
            f"p50 {percentile(stops, 0.5):.2f} s, worst {max(stops):.2f} s; "
            f"SIGTERM to serving again worst {max(ups):.2f} s; "
            f"{self.early or self.clients} clients back: {came_back} of {len(self.measured)}"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.restart", description=__doc__)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--early", type=int, help="restart again once this many are back")
    parser.add_argument("--server-code", type=Path, help="run the server from this checkout")
    parser.add_argument("--keep", action="store_true", help="keep the logs and data folder")
    args = parser.parse_args(argv)
    raise_fd_limit(args.clients + FD_HEADROOM)
    folder = Path(tempfile.mkdtemp(prefix="restart-"))
    bench = RestartBench(
        args.clients, args.rounds, args.batch, args.server_code, folder, early=args.early
    )
    run_and_report(
        bench.run, children=bench.children, folder=folder, keep=args.keep, report=bench.report
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
