"""The fan-out bench's orchestration: servers up in turn, viewers added step by step, measured."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

from bench.common.children import Child, Children, python_module
from bench.common.harness import HOST, PLENARY, ROOT, cpu_seconds, free_port
from bench.fanout.media import Reply
from bench.fanout.metrics import counted_between, relay_counters
from bench.fanout.mixtimed import read_mix_clock
from bench.fanout.stage import StagePhases
from tests.serverproc import ServerProcess

CONFIG = ROOT / "config.toml"
SETTLE_SECONDS = 2.0
# /metrics is read before the client settles (a second before the window) and this long after
# the window, so that the server never answers it while the client measures: the request holds
# up the server's event loop for a moment.
COUNTERS_AFTER_SECONDS = 0.2
GRACE_SECONDS = 1.0


def pinned_threads(proc: psutil.Process, core: int) -> tuple[int, int]:
    """How many of the process's threads may run on ``core`` only, of how many."""
    threads = [thread.id for thread in proc.threads()]
    pinned = 0
    for tid in threads:
        with contextlib.suppress(OSError):
            pinned += os.sched_getaffinity(tid) == {core}
    return pinned, len(threads)


def run_queue_wait(pid: int) -> float:
    """Seconds the process's main thread (its event loop) has spent runnable but waiting for
    a CPU, whether for other processes or for its own threads."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def udp_drops(pid: int) -> int:
    """Datagrams the kernel dropped, so far, because one of the process's UDP sockets had a
    full receive buffer (the last column of /proc/net/udp and udp6, per socket inode)."""
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
    dropped = 0
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if len(fields) > 12 and fields[9] in inodes:
                    dropped += int(fields[-1])
    return dropped


MODES = ("single", "unmeasured", "stage", "baseline")
UNMEASURED = "no health"  # the unmeasured mode's phase: plenary with stream health off
STAGE_LADDER = (50, 200)  # stage-aware viewers, step by step
TAPPED = 40  # stage-aware viewers measured at the top step; the others are only counted
PLAIN = 20  # plain players of the stage's programme


@dataclass(frozen=True)
class Options:
    ladder: tuple[int, ...]
    baseline_viewers: int
    window: float
    batch: int
    loop_seconds: int
    pacing: float
    server_core: int
    client_core: int
    time_limit: float
    nice: int
    keep: bool
    modes: tuple[str, ...] = MODES
    stage_ladder: tuple[int, ...] = STAGE_LADDER
    tapped: int = TAPPED
    plain: int = PLAIN


@dataclass
class Step:
    viewers: int
    seconds: float
    server_cpu: float
    rss: int
    load: tuple[float, float, float]
    measured: Reply
    server_waited: float = 0.0  # seconds the server's loop thread waited for a CPU
    client_waited: float = 0.0
    server_drops: int = 0  # datagrams dropped at the server's full sockets during the window
    client_drops: int = 0  # and at the client's: the instrument missed them, not the relay
    connect: Reply = field(default_factory=dict)
    label: str = ""  # the stage's steps: "stage", "plain", "after" (the others: "")
    # What plenary's /metrics counted in the window: packets forwarded, collector stalls.
    relay: dict[str, float] = field(default_factory=dict)


class ClientProcess:
    """A fan-out client (``bench.fanout.client``): a publisher, or viewers, or both."""

    def __init__(self, child: Child) -> None:
        self.child = child

    async def ask(self, op: str, **fields: Any) -> Reply:
        reply = await self.child.ask({"op": op, **fields})
        if "error" in reply:
            raise RuntimeError(f"client {op}: {reply['error']}")
        return reply


def start_client(children: Children, name: str, folder: Path, core: int) -> ClientProcess:
    """A fan-out client process on ``core``, logging to ``folder/name.log``."""
    child = children.start(
        name, python_module("bench.fanout.client"), folder / f"{name}.log", pipes=True, core=core
    )
    return ClientProcess(child)


@dataclass
class Phase:
    """One server under test and what was measured of it."""

    name: str
    core: int
    log: Path
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    server: Child | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # the stage's publishers and slots
    mix_clock: Path | None = None  # the programme mixes' CPU, if its server runs mixtimed.py


class Bench:
    def __init__(self, opts: Options, folder: Path) -> None:
        self.opts = opts
        self.folder = folder
        self.children = Children(opts.nice)
        self.source: Reply = {}
        self.phases: list[Phase] = []

    settle_seconds = SETTLE_SECONDS

    async def run(self) -> None:
        client, publisher = self.client_process("client"), self.client_process("publisher")
        self.source = await publisher.ask(
            "start", loop_seconds=self.opts.loop_seconds, pacing=self.opts.pacing
        )
        # The direct pair (no server) sends from the publisher's process to the viewers'.
        ring = str(self.folder / "sends-direct.ring")
        offer = await publisher.ask("direct_offer", ring=ring)
        answer = await client.ask("direct_answer", sdp=offer["sdp"], ring=ring)
        await publisher.ask("direct_connect", sdp=answer["sdp"])
        clients = (client, publisher)
        if "single" in self.opts.modes:
            await self._phase(clients, self._start_plenary, self.opts.ladder, frames=False)
        if "unmeasured" in self.opts.modes:
            await self._phase(clients, self._start_unmeasured, self.opts.ladder, frames=False)
        if "stage" in self.opts.modes:
            await StagePhases(self, client).run()
        if "baseline" in self.opts.modes and self.opts.baseline_viewers:
            await self._phase(clients, self._start_baseline, (self.opts.baseline_viewers,), True)
        for each in clients:
            await each.ask("quit")

    def client_process(self, name: str) -> ClientProcess:
        """A client process on the client core: the viewers', or a publisher's, which is a
        machine of its own in a real deployment."""
        return start_client(self.children, name, self.folder, self.opts.client_core)

    def _start_plenary(self) -> tuple[Phase, str, str, str]:
        phase, url, tokens = self.start_plenary("plenary")
        return phase, url, tokens.token("technician"), tokens.token("attendee")

    def _start_unmeasured(self) -> tuple[Phase, str, str, str]:
        phase, url, tokens = self.start_plenary(UNMEASURED, unmeasured=True)
        return phase, url, tokens.token("technician"), tokens.token("attendee")

    def start_plenary(
        self, name: str, timed_mix: bool = False, unmeasured: bool = False
    ) -> tuple[Phase, str, ServerProcess]:
        """A plenary on the server core, rehearsing so that the welcome remarks are live; the
        phase, its URL, and something to mint its tokens with. ``timed_mix``: run it under
        mixtimed.py, which times its programme mixes (``Phase.mix_clock``); ``unmeasured``:
        under unmeasured.py, with its stream health off."""
        data, port = self.folder / f"{name.replace(' ', '-')}-data", free_port()
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)  # welcome: live
        clock = self.folder / f"{name}-mix.clock"
        command: list[Any] = [PLENARY]
        if timed_mix:
            command = python_module("bench.fanout.mixtimed", clock, "--")
        elif unmeasured:
            command = python_module("bench.fanout.unmeasured")
        argv = [
            *command,
            "serve",
            "--config",
            uncapped(CONFIG, self.folder),
            "--data",
            data,
            "--port",
            port,
        ]
        argv += ["--ice-address", HOST, "--rehearse", start.isoformat()]
        phase = Phase(name, self.opts.server_core, self.folder / f"{name.replace(' ', '-')}.log")
        phase.mix_clock = clock if timed_mix else None
        url = self._serve(phase, argv)
        return phase, url, ServerProcess(data_dir=data, rehearse=start, port=port)

    def add_phase(self, name: str, parent: Phase) -> Phase:
        """Another series of steps measured on ``parent``'s server (which stops with it)."""
        phase = Phase(name, parent.core, parent.log, extra={"parent": parent})
        phase.mix_clock = parent.mix_clock
        self.phases.append(phase)
        return phase

    def _start_baseline(self) -> tuple[Phase, str, str, str]:
        port = free_port()
        phase = Phase("MediaRelay", self.opts.server_core, self.folder / "baseline.log")
        url = self._serve(phase, python_module("bench.fanout.baseline", "--port", port))
        return phase, url, "-", "-"

    def _serve(self, phase: Phase, argv: Sequence[Any]) -> str:
        url = f"http://{HOST}:{argv[argv.index('--port') + 1]}"
        phase.server = self.children.start(phase.name, argv, phase.log, core=phase.core)
        self.phases.append(phase)
        phase.server.wait_healthy(url, poll=0.1)
        return url

    async def _phase(
        self,
        clients: tuple[ClientProcess, ClientProcess],
        start: Callable[[], tuple[Phase, str, str, str]],
        ladder: Sequence[int],
        frames: bool,
    ) -> None:
        phase, url, publisher_token, viewer_token = start()
        assert phase.server is not None
        server = psutil.Process(phase.server.pid)
        client, publisher = clients
        try:
            ring = str(self.folder / f"sends-{len(self.phases)}.ring")
            published = await publisher.ask("publish", base=url, token=publisher_token, ring=ring)
            await client.ask("follow", ring=ring)
            phase.notes.append(f"publisher connected in {published['seconds']:.1f} s")
            await asyncio.sleep(SETTLE_SECONDS + 1)
            counted = url if phase.name in ("plenary", UNMEASURED) else None  # /metrics
            phase.steps.append(await self.measure_step(client, server, 0, counted))
            for viewers in ladder:
                connect = await client.ask(
                    "watch", base=url, token=viewer_token, total=viewers, batch=self.opts.batch,
                    frames=frames,
                )  # fmt: skip
                await asyncio.sleep(SETTLE_SECONDS)
                step = await self.measure_step(client, server, connect["viewers"], counted)
                step.connect = connect
                phase.steps.append(step)
                if connect["failed"]:
                    phase.notes.append(f"connecting {viewers}: {connect}")
                if connect["viewers"] < 0.9 * viewers:
                    break  # the server turns viewers away: no point in asking for more
                if not sum(step.measured["sent"]):
                    phase.notes.append(f"the publisher was gone at {viewers} viewers: stopped")
                    break
            pinned, threads = pinned_threads(server, phase.core)
            phase.notes.append(f"server threads on core {phase.core} only: {pinned}/{threads}")
            left = await client.ask("leave", base=url)
            gone = await publisher.ask("leave", base=url)
            phase.notes.append(
                f"DELETE answers: viewers {left['statuses']}, publisher {gone['statuses']}"
            )
        finally:
            phase.server.stop(grace=5.0)

    async def measure_step(
        self,
        client: ClientProcess,
        server: psutil.Process,
        n: int,
        url: str | None = None,
        mix_clock: Path | None = None,
    ) -> Step:
        """One window with ``n`` viewers; with ``url`` (plenary's), what the relay counted
        from a second before it to just after it; with ``mix_clock``, what its programme mixes
        took in it (``mix_seconds``, ``mix_frames``)."""
        counters = relay_counters(url) if url else {}  # a second and more before the window
        await client.ask("settle")
        rss, load = server.memory_info().rss, os.getloadavg()
        waits = [run_queue_wait(server.pid), run_queue_wait(client.child.pid)]
        drops = [udp_drops(server.pid), udp_drops(client.child.pid)]
        mixed = read_mix_clock(mix_clock) if mix_clock else (0.0, 0.0)
        began, cpu = time.monotonic(), cpu_seconds(server)
        reply = asyncio.ensure_future(
            client.ask("measure", seconds=self.opts.window, grace=GRACE_SECONDS)
        )
        await asyncio.sleep(self.opts.window)
        cpu, seconds = cpu_seconds(server) - cpu, time.monotonic() - began
        if mix_clock:
            now = read_mix_clock(mix_clock)
            mixed = (now[0] - mixed[0], now[1] - mixed[1])
        if url:  # once the client's window (opened a moment after ours) is over too
            await asyncio.sleep(COUNTERS_AFTER_SECONDS)
            counters = counted_between(counters, relay_counters(url))
        if mix_clock:
            counters["mix_seconds"], counters["mix_frames"] = mixed
        server_waited = run_queue_wait(server.pid) - waits[0]
        client_waited = run_queue_wait(client.child.pid) - waits[1]
        measured = await reply
        step = Step(
            n, seconds, cpu, rss, load, measured, server_waited, client_waited,
            udp_drops(server.pid) - drops[0], udp_drops(client.child.pid) - drops[1],
        )  # fmt: skip
        step.relay = counters
        print(
            f"  {n:4d} viewers: server {cpu / seconds:6.1%} of a core,"
            f" waited for a CPU {server_waited / seconds:6.1%} of the time",
            file=sys.stderr,
        )
        return step


UNCAPPED = (
    "max_viewers_per_room",
    "max_viewers",
    "max_connecting_viewers",  # a batch connects at once
    "sessions_per_person",  # every viewer watches with one token
    "offers_per_address_per_minute",  # every viewer is on 127.0.0.1
)


def uncapped(config: Path, folder: Path) -> Path:
    """The bundled config without its capacity limits: the bench goes past them on purpose."""
    text = config.read_text(encoding="utf-8")
    for key in UNCAPPED:
        text = re.sub(rf"^{key} = \d+$", f"{key} = 100000", text, flags=re.M)
    path = folder / "config-uncapped.toml"
    path.write_text(text, encoding="utf-8")
    return path
