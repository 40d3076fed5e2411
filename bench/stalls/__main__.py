"""Media-stall bench: how long the garbage collector holds up a relay that carries 200 viewers
and 1,000 Socket.IO clients in one process.

One plenary, pinned to one core, has two rooms open. The keynote, in its lobby, gets a
publisher sending about 1 Mbps of VP8 and Opus (the fan-out bench's, ``bench/fanout``) and
``--viewers`` viewers, who count and time every packet without decoding it. The welcome
remarks, live, get another publisher and ``--side-viewers`` viewers. Then, in the measured
window (``--window`` seconds), what a conference day does to the server's heap happens to it:

- ``--sockets`` Socket.IO clients connect, as agenda pages do (``bench/status``'s clients);
- halfway, a technician ends the welcome remarks: its sessions close while the keynote is
  watched, and every socket is told.

Every collection in the server process is timed (``traced.py``, the bench's own instrument, so
any version of the server is timed alike), and those of a millisecond or more that fell in the
window are reported: media stood still while they ran. The viewers' side gives the same from
outside: the delay each packet had from the publisher's send to its arrival (the kernel's stamp
on the viewer's socket), against a direct publisher-to-viewer pair without the server.

The baseline, in the same run, is the same server with the collector off (it never runs, not
even when plenary asks): what is left of the delay then is not the collector's. Target (issue
12): no collection over 20 ms while media flows.

    .venv/bin/python -m bench.stalls                     # 200 viewers, 1,000 sockets, 60 s
    .venv/bin/python -m bench.stalls --viewers 20 --sockets 100 --window 20
    .venv/bin/python -m bench.stalls --server-code ../old-checkout   # another server version

Everything talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import socketio

from bench.common.children import Child, Children, python_module
from bench.common.harness import HOST, ROOT, cpu_seconds, free_port, raise_fd_limit
from bench.common.metrics import read_metrics
from bench.common.run import run_and_report
from bench.fanout.bench import ClientProcess, start_client, uncapped
from bench.stalls.report import Measured, report
from tests.serverproc import ServerProcess

CONFIG = ROOT / "config.toml"
MAIN_ROOM = "keynote"  # in its lobby: staff may publish and watch
SIDE_ROOM = "welcome"  # live, ended by a technician halfway through the window
SETTLE_SECONDS = 2.0
GRACE_SECONDS = 1.0
PHASES = {"plenary": [], "collector off": ["--collector-off"]}
TRACED = Path(__file__).with_name("traced.py")


@dataclass(frozen=True)
class Options:
    viewers: int
    side_viewers: int
    sockets: int
    window: float
    batch: int
    server_core: int
    client_core: int
    server_code: Path | None
    phases: tuple[str, ...]
    keep: bool


@dataclass
class Phase:
    name: str
    folder: Path
    measured: Measured = field(default_factory=Measured)


class StallBench:
    def __init__(self, opts: Options, folder: Path) -> None:
        self.opts = opts
        self.folder = folder
        self.children = Children()
        self.phases: list[Phase] = []

    async def run(self) -> None:
        viewers, publisher = self._client("viewers"), self._client("publisher")
        await publisher.ask("start", loop_seconds=2, pacing=2.5)
        ring = str(self.folder / "sends-direct.ring")
        offer = await publisher.ask("direct_offer", ring=ring)
        answer = await viewers.ask("direct_answer", sdp=offer["sdp"], ring=ring)
        await publisher.ask("direct_connect", sdp=answer["sdp"])
        for name in self.opts.phases:
            phase = Phase(name, self.folder / name.replace(" ", "-"))
            phase.folder.mkdir()
            self.phases.append(phase)
            await self._phase(phase, viewers, publisher)
        for each in (viewers, publisher):
            await each.ask("quit")

    def _client(self, name: str) -> ClientProcess:
        return start_client(self.children, name, self.folder, self.opts.client_core)

    def _serve(self, phase: Phase) -> tuple[Child, str, ServerProcess]:
        data, port = phase.folder / "data", free_port()
        # The welcome remarks live with ten minutes to go; the keynote after it, in its lobby.
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=35)
        # A script, not a module: ``-m`` would put the bench's own folder, and its server/,
        # first on the path; this way the server comes from ``--server-code`` if given.
        argv = [sys.executable, TRACED, phase.folder / "collections.trace", *PHASES[phase.name]]
        argv += ["--"]
        argv += ["serve", "--config", str(uncapped(CONFIG, phase.folder)), "--data", str(data)]
        argv += ["--port", str(port), "--ice-address", HOST, "--rehearse", start.isoformat()]
        code = self.opts.server_code
        env = {"PYTHONPATH": str(code.resolve() if code else ROOT)}
        server = self.children.start(
            phase.name, argv, phase.folder / "plenary.log", core=self.opts.server_core, env=env
        )
        url = f"http://{HOST}:{port}"
        server.wait_healthy(url, poll=0.1)
        return server, url, ServerProcess(data_dir=data, rehearse=start, port=port)

    async def _phase(self, phase: Phase, viewers: ClientProcess, publisher: ClientProcess) -> None:
        server, url, tokens = self._serve(phase)
        staff, attendee = tokens.token("technician"), tokens.token("attendee")
        # The keynote's viewers may watch in its lobby, and never receive what their own
        # token's subject publishes: another technician than the publisher.
        watcher = tokens.token("technician")
        measured = phase.measured
        side = self._client(f"{phase.name} side")
        sockets = self.children.start(
            f"{phase.name} sockets",
            python_module(
                "bench.status.clients", "--url", url, "--count", self.opts.sockets,
                "--batch", 50,
            ),
            phase.folder / "sockets.log",
            pipes=True,
            core=self.opts.client_core,
        )  # fmt: skip
        try:
            ring = str(phase.folder / "sends.ring")
            await publisher.ask("publish", base=url, token=staff, ring=ring, room=MAIN_ROOM)
            await viewers.ask("follow", ring=ring)
            await side.ask("start", loop_seconds=2, pacing=2.5)
            side_ring = str(phase.folder / "side.ring")
            await side.ask("publish", base=url, token=staff, ring=side_ring, room=SIDE_ROOM)
            await side.ask(
                "watch", base=url, token=attendee, total=self.opts.side_viewers,
                batch=self.opts.batch, frames=False, room=SIDE_ROOM,
            )  # fmt: skip
            connect = await viewers.ask(
                "watch", base=url, token=watcher, total=self.opts.viewers,
                batch=self.opts.batch, frames=False, room=MAIN_ROOM,
            )  # fmt: skip
            measured.viewers = connect["viewers"]
            await asyncio.sleep(SETTLE_SECONDS)
            await viewers.ask("settle")
            await self._window(server, url, staff, viewers, sockets, measured)
            measured.metrics = await asyncio.to_thread(_metrics, url)
            await viewers.ask("leave", base=url)
            await publisher.ask("leave", base=url)
        finally:
            sockets.close_input()
            side.child.close_input()
            for child in (sockets, side.child, server):
                child.stop(grace=5.0)
        measured.collections = _collections(phase.folder / "collections.trace", measured)

    async def _window(
        self,
        server: Child,
        url: str,
        staff: str,
        viewers: ClientProcess,
        sockets: Child,
        measured: Measured,
    ) -> None:
        process = psutil.Process(server.pid)
        window = self.opts.window
        cpu, measured.began = cpu_seconds(process), time.monotonic()
        delays = asyncio.ensure_future(viewers.ask("measure", seconds=window, grace=GRACE_SECONDS))
        connected = await sockets.ask({"op": "connect"})
        measured.sockets = int(connected.get("connected", 0))
        measured.sockets_seconds = time.monotonic() - measured.began
        await asyncio.sleep(max(0.0, measured.began + window / 2 - time.monotonic()))
        measured.ended_side_room = await _end_room(url, staff, SIDE_ROOM)
        measured.ended_at = time.monotonic() - measured.began
        await asyncio.sleep(max(0.0, measured.began + window - time.monotonic()))
        measured.ended = time.monotonic()
        measured.server_cpu = (cpu_seconds(process) - cpu) / (measured.ended - measured.began)
        measured.rss = process.memory_info().rss
        measured.delays = await delays


async def _end_room(url: str, token: str, room: str) -> str:
    """A technician presses "End now"; the server's answer."""
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    try:
        answer = await client.call("control", {"room": room, "action": "end"}, timeout=10)
    finally:
        await client.disconnect()
    return "ended" if isinstance(answer, dict) and answer.get("ok") else f"refused: {answer}"


def _metrics(url: str) -> dict[str, float]:
    """The server's own stall figures, from /metrics (a server older than them has none)."""
    return {
        name: value
        for name, value in read_metrics(url).items()
        if name.startswith(("plenary_media_stall", "plenary_heap_"))
    }


def _collections(trace: Path, measured: Measured) -> list[tuple[float, int, float]]:
    """(seconds into the window, generation, milliseconds) of each collection in the window."""
    found = []
    for line in trace.read_text(encoding="utf-8").splitlines():
        ended, generation, took_ms = line.split()
        at = float(ended) - measured.began
        if 0 <= at <= measured.ended - measured.began:
            found.append((at, int(generation), float(took_ms)))
    return found


def parse_options(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.stalls", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--side-viewers", type=int, default=20)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--window", type=float, default=60.0, help="seconds measured per phase")
    parser.add_argument("--batch", type=int, default=10, help="viewers connecting at once")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    parser.add_argument(
        "--server-code", type=Path, help="a checkout whose server/ is run instead of this one's"
    )
    parser.add_argument("--phases", default=",".join(PHASES), help="of: " + ", ".join(PHASES))
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs)")
    args = parser.parse_args(argv)
    phases = tuple(name.strip() for name in args.phases.split(",") if name.strip())
    if set(phases) - set(PHASES):
        parser.error(f"phases are: {', '.join(PHASES)}")
    if {args.server_core, args.client_core} - os.sched_getaffinity(0):
        parser.error(f"cores available here: {sorted(os.sched_getaffinity(0))}")
    return Options(
        args.viewers, args.side_viewers, args.sockets, args.window, args.batch,
        args.server_core, args.client_core, args.server_code, phases, args.keep,
    )  # fmt: skip


def main(argv: list[str]) -> int:
    opts = parse_options(argv)
    raise_fd_limit(opts.sockets + 4096)
    folder = Path(tempfile.mkdtemp(prefix="stalls-"))
    bench = StallBench(opts, folder)
    run_and_report(
        bench.run,
        children=bench.children,
        folder=folder,
        keep=opts.keep,
        report=lambda: report(opts, [(phase.name, phase.measured) for phase in bench.phases]),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
