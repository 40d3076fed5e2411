"""Status fan-out bench: how long a room transition takes to reach the last of N Socket.IO clients.

For each N of the ladder it starts a real ``plenary serve`` (own temp data folder, rehearsal
clock) and, beside it, a bare python-socketio ``AsyncServer`` (the baseline: same options, same
payload sizes, none of plenary's work). Each gets N anonymous websocket clients in a worker
process of its own. Then it measures

* technician controls (extend / start / end), from sending ``control`` to each client's
  ``room_state`` for that room, alternated with baseline broadcasts of a same-size payload, so
  that a noisy moment on a shared machine lands on both;
* scheduled transitions of day one, from the wall instant the rehearsal clock puts each at,
  START + (agenda instant - first item's start) / speed, to each client's ``room_state``; then
  baseline broadcasts at the same relative instants;
* server RSS per connection (psutil on each server, before and after the N connect).

Everything talks to 127.0.0.1 only. Run from the repository root (see bench/README.md):

    .venv/bin/python bench/status_fanout.py                  # ladder 100, 500, 1000
    .venv/bin/python bench/status_fanout.py --clients 1000 --rounds 30

The same file is also the client worker (``_worker``) and the baseline server (``_baseline``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import socketio
from aiohttp import web

HOST = "127.0.0.1"  # the only address this bench ever talks to
ROOT = Path(__file__).resolve().parent.parent
PLENARY = Path(sys.executable).parent / "plenary"
DEFAULT_LADDER = (100, 500, 1000)
TARGET_CLIENTS, TARGET_P99_MS = 1000, 1000.0
STARTUP_TIMEOUT = 30.0
CONTROL_TIMEOUT = 15.0
FD_HEADROOM = 256
SHUTDOWN_GRACE = 3.0
MIRROR_GAP = 2.0
# Before the exec: the child gets SIGTERM when the bench dies, however it dies.
DIE_WITH_PARENT = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None).prctl(1, signal.SIGTERM)\n"
    "if os.getppid() != int(sys.argv[1]): sys.exit(1)\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)
Record = dict[str, Any]
Match = dict[str, Any]


# -- process plumbing -----------------------------------------------------------------------


def raise_fd_limit(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    if soft < wanted:
        print(f"warning: only {soft} file descriptors allowed, {wanted} wanted", file=sys.stderr)
    return soft


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class Children:
    """Every process the bench starts; ``stop_all`` ends them (SIGTERM, then SIGKILL)."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []

    def spawn(self, argv: Sequence[str], log: Path, pipes: bool = False) -> subprocess.Popen[bytes]:
        with log.open("ab") as log_file:
            proc = subprocess.Popen(
                [sys.executable, "-c", DIE_WITH_PARENT, str(os.getpid()), *argv],
                stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
                stdout=subprocess.PIPE if pipes else log_file,
                stderr=log_file,
                cwd=ROOT,
                start_new_session=True,  # Ctrl-C reaches the bench, which stops them in order
            )
        self._procs.append(proc)
        return proc

    @staticmethod
    def stop(proc: subprocess.Popen[bytes], grace: float = 10.0) -> float:
        """SIGTERM, wait up to ``grace`` seconds, then SIGKILL; returns the seconds it took."""
        began = time.monotonic()
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return time.monotonic() - began

    def stop_all(self) -> None:
        for proc in reversed(self._procs):
            self.stop(proc, grace=3.0)
        self._procs.clear()


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not answer /healthz in {STARTUP_TIMEOUT:g} s; see {log}")


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


# -- the client worker: N Socket.IO clients on one loop, driven over stdin/stdout -------------


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
    def __init__(self, url: str, count: int, batch: int, deflate: bool) -> None:
        self.url = url
        self.batch = batch
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
            reconnection=False,
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

    async def close(self) -> None:
        disconnects = (sio.disconnect() for sio in self.clients if sio.connected)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*disconnects, return_exceptions=True), 10)
        if self.session is not None:
            await self.session.close()


async def worker(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="status_fanout.py _worker")
    parser.add_argument("--url", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--deflate", action="store_true")
    args = parser.parse_args(argv)
    raise_fd_limit(args.count + FD_HEADROOM)
    fleet = Fleet(args.url, args.count, args.batch, args.deflate)
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
        else:
            break
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    await fleet.close()


class WorkerPool:
    """The client processes for one server: N clients split over ``procs`` workers."""

    def __init__(self, children: Children, url: str, n: int, opts: Options, log: Path):
        procs = opts.procs
        counts = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
        command = [sys.executable, __file__, "_worker", "--url", url, "--batch", str(opts.batch)]
        command += ["--deflate"] if opts.deflate else []
        self._procs = [
            children.spawn([*command, "--count", str(count)], log, pipes=True)
            for count in counts
            if count
        ]

    def cpu(self) -> float:
        return sum(cpu_seconds(psutil.Process(proc.pid)) for proc in self._procs)

    async def _ask(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        line = (json.dumps(request) + "\n").encode()
        for proc in self._procs:
            assert proc.stdin is not None
            proc.stdin.write(line)
            proc.stdin.flush()
        replies = await asyncio.gather(*(asyncio.to_thread(self._read, p) for p in self._procs))
        return list(replies)

    @staticmethod
    def _read(proc: subprocess.Popen[bytes]) -> dict[str, Any]:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"client worker {proc.pid} exited; see the worker log")
        reply: dict[str, Any] = json.loads(line)
        return reply

    async def connect(self) -> tuple[int, int, float, list[str]]:
        replies = await self._ask({"op": "connect"})
        errors = sorted({error for reply in replies for error in reply["errors"]})
        return (
            sum(reply["connected"] for reply in replies),
            sum(reply["failed"] for reply in replies),
            max(reply["seconds"] for reply in replies),
            errors,
        )

    async def receipts(
        self, wanted: list[Match], since: float, seconds: float
    ) -> list[list[float | None]]:
        """Per match, every connected client's time of receipt from ``since`` on (None: not
        received within ``seconds``)."""
        request = {"op": "await", "matches": wanted, "since": since, "seconds": seconds}
        replies = await self._ask(request)
        return [
            [t for reply in replies for t in reply["times"][index]] for index in range(len(wanted))
        ]

    async def quit(self) -> None:
        await asyncio.to_thread(self._quit)

    def _quit(self) -> None:
        for proc in self._procs:
            if proc.stdin is not None and proc.poll() is None:
                proc.stdin.close()  # EOF: disconnect and exit
        for proc in self._procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                Children.stop(proc)


# -- the baseline: a minimal python-socketio server that broadcasts on a trigger -------------


def baseline_server(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="status_fanout.py _baseline")
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
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host=HOST, port=args.port, print=None, access_log=None)


# -- figures --------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class EventSet:
    """Latencies in seconds: one row per event, one column per connected client."""

    rows: list[list[float | None]] = field(default_factory=list)
    references: list[float] = field(default_factory=list)

    def add(self, reference: float, receipts: list[float | None]) -> None:
        self.rows.append([None if t is None else t - reference for t in receipts])
        self.references.append(reference)

    def overlapping(self) -> int:
        """Events whose last client was still waiting when a later event was due: their fan-outs
        overlapped, and each slowed the other."""
        count = 0
        for index, (row, reference) in enumerate(zip(self.rows, self.references, strict=True)):
            later = [r for r in self.references[index + 1 :] if r > reference]
            done = reference + max((v for v in row if v is not None), default=0.0)
            count += bool(later) and done > min(later)
        return count

    def last_client(self) -> list[float]:
        return [max(v for v in row if v is not None) for row in self.rows if any(row)]

    def pairs(self) -> list[float]:
        return [v for row in self.rows for v in row if v is not None]

    @property
    def missed(self) -> int:
        return sum(v is None for row in self.rows for v in row)


@dataclass
class Trial:
    """One server with N clients: what was measured."""

    n: int
    connected: int = 0
    failed: int = 0
    connect_s: float = math.nan
    rss_before: int = 0
    rss_after: int = 0
    scheduled: EventSet = field(default_factory=EventSet)
    control: EventSet = field(default_factory=EventSet)
    skipped: int = 0
    emit_lag: list[float] = field(default_factory=list)
    ack: list[float] = field(default_factory=list)
    agenda: EventSet = field(default_factory=EventSet)
    cpu: float = 0.0
    client_cpu: float = 0.0
    shutdown_s: float = math.nan
    payload_bytes: int = 0
    machine: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def kib_per_connection(self) -> float:
        return (self.rss_after - self.rss_before) / 1024 / max(self.connected, 1)

    def per_control(self, seconds: float) -> float:
        return seconds / len(self.control.rows) if self.control.rows else math.nan


@dataclass(frozen=True)
class Options:
    ladder: tuple[int, ...]
    rounds: int
    speed: float
    procs: int
    batch: int
    config: Path
    workdir: Path
    per_event: bool = False
    deflate: bool = False
    keep: bool = False


# -- the agenda, read the way a client reads it ---------------------------------------------


@dataclass(frozen=True)
class Expected:
    """A transition of the published agenda and its wall instant in this rehearsal."""

    room: str
    state: str
    day: str
    agenda_at: datetime
    wall: float


def expected_transitions(agenda: dict[str, Any], start: float, speed: float) -> list[Expected]:
    """wall = START + (agenda instant - first item's start) / speed, for every room."""
    items = agenda["items"]
    lobby = timedelta(minutes=agenda["event"]["lobby_minutes"])
    first = datetime.fromisoformat(items[0]["starts_at"])
    found = []
    for item in items:
        if item["room"] is None:
            continue
        starts, ends = (datetime.fromisoformat(item[key]) for key in ("starts_at", "ends_at"))
        for state, at in (("lobby", starts - lobby), ("live", starts), ("ended", ends)):
            wall = start + (at - first).total_seconds() / speed
            found.append(Expected(item["id"], state, item["day"], at, wall))
    return sorted(found, key=lambda expected: expected.wall)


def mirror_offsets(expected: list[Expected]) -> list[tuple[float, int]]:
    """(seconds from the first, broadcasts) per instant, idle gaps cut to ``MIRROR_GAP``."""
    counts: dict[float, int] = {}
    for event in expected:
        counts[event.wall] = counts.get(event.wall, 0) + 1
    offsets, previous, offset = [], min(counts), 0.0
    for wall, count in sorted(counts.items()):
        offset += min(wall - previous, MIRROR_GAP)
        offsets.append((offset, count))
        previous = wall
    return offsets


def control_plan(agenda: dict[str, Any], rounds: int) -> deque[dict[str, Any]]:
    """Extend the last room by a minute, start and end a later-day room, and again: actions that
    never touch day one, so they cannot collide with the scheduled transitions."""
    rooms = [item for item in agenda["items"] if item["room"] is not None]
    last = rooms[-1]["id"]
    spare = [item["id"] for item in rooms[:-1] if item["day"] != agenda["items"][0]["day"]]
    plan: list[dict[str, Any]] = []
    while len(plan) < rounds:
        plan.append({"room": last, "action": "extend", "minutes": 1})
        if spare:
            room = spare.pop(0)
            plan += [{"room": room, "action": "start"}, {"room": room, "action": "end"}]
    return deque(plan[:rounds])


def room_state_like(agenda: dict[str, Any]) -> dict[str, Any]:
    """What plenary's room_state carries (a room of the agenda plus now, reason, by)."""
    room = next(item["room"] for item in agenda["items"] if item["room"] is not None)
    return {**room, "now": agenda["clock"]["now"], "reason": "override", "by": "Bench"}


# -- the two servers under test -------------------------------------------------------------


class Observer:
    """A Socket.IO client in the bench process itself: it triggers, and keeps what it gets."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.room_states: list[dict[str, Any]] = []
        self.sio.on("room_state", self.room_states.append)

    async def connect(self, url: str, token: str | None = None) -> None:
        auth = {"token": token} if token else None
        await self.sio.connect(url, transports=["websocket"], auth=auth, wait_timeout=30)

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


def cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


class Contender:
    """A server in a subprocess, its N clients, and what they measured."""

    name = "server"

    def __init__(self, n: int, opts: Options, children: Children) -> None:
        self.trial = Trial(n)
        self.opts = opts
        self.children = children
        self.folder = Path(tempfile.mkdtemp(prefix=f"{self.name}-{n}-", dir=opts.workdir))
        self.log = self.folder / "server.log"
        self.url = f"http://{HOST}:{free_port()}"
        self.observer = Observer()
        self.server: subprocess.Popen[bytes] | None = None
        self.pool: WorkerPool | None = None

    def spawn_clients(self) -> None:
        """Spawned early, so that their start-up overlaps the servers'; they connect when told."""
        self.pool = WorkerPool(
            self.children, self.url, self.trial.n, self.opts, self.folder / "workers.log"
        )

    @property
    def clients(self) -> WorkerPool:
        assert self.pool is not None
        return self.pool

    @property
    def port(self) -> str:
        return self.url.rsplit(":", 1)[1]

    async def launch(self, argv: list[str]) -> None:
        self.server = server = self.children.spawn(argv, self.log)
        await asyncio.to_thread(wait_healthy, self.url, server, self.log)

    async def connect_clients(self) -> None:
        usage = self.usage
        self.trial.rss_before = await settled_rss(usage)
        connected, failed, seconds, errors = await self.clients.connect()
        self.trial.connected, self.trial.failed, self.trial.connect_s = connected, failed, seconds
        self.trial.notes += [f"connect failed: {error}" for error in errors]
        self.trial.rss_after = await settled_rss(usage)

    @property
    def usage(self) -> psutil.Process:
        assert self.server is not None
        return psutil.Process(self.server.pid)

    async def measured_round(self) -> None:
        """One control (or trigger) and its fan-out, with the CPU both sides spent on it."""
        cpu, client_cpu = cpu_seconds(self.usage), self.clients.cpu()
        await self.round()
        self.trial.cpu += cpu_seconds(self.usage) - cpu
        self.trial.client_cpu += self.clients.cpu() - client_cpu
        await asyncio.sleep(0.05)

    async def round(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        await self.observer.close()
        if self.pool is not None:
            await self.pool.quit()
        if self.server is not None:
            await asyncio.to_thread(Children.stop, self.server)
        self.trial.notes += log_findings(self.log)


class Plenary(Contender):
    name = "plenary"

    def __init__(self, n: int, opts: Options, children: Children, lead: float) -> None:
        super().__init__(n, opts, children)
        self.lobby_wall = 15 * 60 / opts.speed
        # The day's first transition (the welcome lobby) comes ``lead`` seconds from now.
        self.start = datetime.fromtimestamp(round(time.time() + lead + self.lobby_wall, 3), UTC)
        self.agenda: dict[str, Any] = {}
        self.expected: list[Expected] = []  # the day-one transitions measured
        self.day_closers: list[dict[str, Any]] = []
        self.quiet_until = math.inf  # the first transition after day one
        self.plan: deque[dict[str, Any]] = deque()
        self.agendas = 1  # each client's agenda on connect

    async def start_server(self) -> None:
        data = self.folder / "data"
        argv = [str(PLENARY), "serve", "--config", str(self.opts.config), "--data", str(data)]
        argv += ["--port", self.port, "--ice-address", HOST]
        argv += ["--rehearse", self.start.isoformat(), "--speed", f"{self.opts.speed:g}"]
        await self.launch(argv)
        token = await asyncio.to_thread(technician_token, self.opts.config, data)
        self.agenda = await asyncio.to_thread(get_json, f"{self.url}/api/agenda")
        self.plan_day(expected_transitions(self.agenda, self.start.timestamp(), self.opts.speed))
        await self.observer.connect(self.url, token)

    def plan_day(self, transitions: list[Expected]) -> None:
        """Measure day one's transitions but its last: the day's last room sits live through a
        long gap, so a technician ends it instead (one more control), and nothing is scheduled
        again until day two: the remaining controls cannot collide with a transition."""
        day_one = [e for e in transitions if e.day == transitions[0].day]
        last = day_one[-1].wall
        self.expected = [e for e in day_one if e.wall < last]
        self.day_closers = [
            {"room": e.room, "action": "end"}
            for e in day_one
            if e.wall == last and e.state == "ended"
        ]
        self.quiet_until = min((e.wall for e in transitions if e.wall > last), default=math.inf)
        self.plan = control_plan(self.agenda, self.opts.rounds - len(self.day_closers))

    def close_day(self) -> None:
        self.plan.extendleft(reversed(self.day_closers))

    @property
    def first_transition(self) -> float:
        return self.expected[0].wall

    async def round(self) -> None:
        control = self.plan.popleft()
        sent = time.time()
        answer = await self.observer.sio.call("control", control, timeout=CONTROL_TIMEOUT)
        self.trial.ack.append(time.time() - sent)
        if not answer.get("ok"):
            self.trial.notes.append(f"control {control} refused: {answer}")
            return
        room = answer["room"]
        self.agendas += 1
        wanted = [
            {"event": "room_state", "room": room["room"], "state": room["state"]}
            | {"ends_at": room["ends_at"], "reason": "override"},
            {"event": "agenda", "n": self.agendas},  # the running order follows every control
        ]
        states, agendas = await self.clients.receipts(wanted, sent, CONTROL_TIMEOUT)
        self.trial.control.add(sent, states)
        self.trial.agenda.add(sent, agendas)

    async def scheduled(self) -> None:
        since = time.time()
        upcoming = [e for e in self.expected if e.wall > since + 0.1]
        self.trial.skipped = len(self.expected) - len(upcoming)
        if not upcoming:
            return
        wanted = [
            {"event": "room_state", "room": e.room, "state": e.state, "reason": "schedule"}
            for e in upcoming
        ]
        seconds = upcoming[-1].wall - time.time() + 10
        receipts = await self.clients.receipts(wanted, since, seconds)
        for event, receipt in zip(upcoming, receipts, strict=True):
            self.trial.scheduled.add(event.wall, receipt)
            self.trial.emit_lag += [
                (datetime.fromisoformat(state["now"]) - event.agenda_at).total_seconds()
                / self.opts.speed
                for state in self.observer.room_states
                if (state["room"], state["state"], state.get("reason"))
                == (event.room, event.state, "schedule")
            ]
        if self.observer.room_states:
            self.trial.payload_bytes = len(json.dumps(self.observer.room_states[0]))

    async def stop_with_clients(self) -> None:
        """SIGTERM while the N clients are still connected, as a restart during an event would."""
        assert self.server is not None
        self.trial.shutdown_s = await asyncio.to_thread(Children.stop, self.server, SHUTDOWN_GRACE)
        code = self.server.returncode
        if code not in (0, -signal.SIGTERM, -signal.SIGKILL):
            self.trial.notes.append(f"exit status {code} after SIGTERM")


class Baseline(Contender):
    """A bare python-socketio AsyncServer: plenary's payload sizes, none of its work."""

    name = "baseline"

    async def start_server(self) -> None:
        await self.launch([sys.executable, __file__, "_baseline", "--port", self.port])
        await self.observer.connect(self.url)

    async def configure(self, agenda: dict[str, Any]) -> None:
        payload = room_state_like(agenda)
        self.trial.payload_bytes = len(json.dumps({**payload, "seq": 1000}))
        message = {"agenda": agenda, "room_state": payload}
        await self.observer.sio.call("configure", message, timeout=CONTROL_TIMEOUT)

    async def round(self) -> None:
        seq = 1000 + len(self.trial.control.rows)
        sent = time.time()
        await self.observer.sio.call("trigger", {"seq": seq}, timeout=CONTROL_TIMEOUT)
        self.trial.ack.append(time.time() - sent)
        (receipts,) = await self.clients.receipts([{"seq": seq}], sent, CONTROL_TIMEOUT)
        self.trial.control.add(sent, receipts)

    async def scheduled(self, offsets: list[tuple[float, int]]) -> None:
        since = time.time()
        groups: list[dict[str, Any]] = []
        for offset, count in offsets:
            first = sum(len(group["seqs"]) for group in groups)
            groups.append({"at": since + 1.0 + offset, "seqs": list(range(first, first + count))})
        await self.observer.sio.call("schedule", {"groups": groups}, timeout=CONTROL_TIMEOUT)
        wanted = [{"seq": seq} for group in groups for seq in group["seqs"]]
        seconds = groups[-1]["at"] - time.time() + 10
        receipts = iter(await self.clients.receipts(wanted, since, seconds))
        for group in groups:
            for _ in group["seqs"]:
                self.trial.scheduled.add(group["at"], next(receipts))


async def settled_rss(proc: psutil.Process) -> int:
    await asyncio.sleep(0.5)
    return int(proc.memory_info().rss)


def technician_token(config: Path, data: Path) -> str:
    issue = [str(PLENARY), "token", "issue", "--role", "technician", "--name", "Bench"]
    issue += ["--config", str(config), "--data", str(data)]
    return subprocess.run(issue, capture_output=True, check=True, text=True).stdout.strip()


def log_findings(log: Path) -> list[str]:
    text = log.read_text(errors="replace") if log.exists() else ""
    bad = [line for line in text.splitlines() if " ERROR " in line or " WARNING " in line]
    tracebacks = text.count("Traceback (most recent call last)")
    found = [f"log: {line.split(' ', 2)[-1][:160]}" for line in dict.fromkeys(bad)][:5]
    if len(bad) > 5:
        found.append(f"log: {len(bad)} ERROR/WARNING lines in all")
    if tracebacks:
        found.append(f"log: {tracebacks} traceback(s)")
    return found


# -- one N: both servers up, rounds interleaved ---------------------------------------------


@dataclass
class Pace:
    """How long connecting takes here, learnt as the ladder climbs, to place START."""

    # Both servers up, token, agenda, RSS settles: all but the connects. ``plenary serve``
    # alone takes 3 s to start on a quiet machine of 2 cores and 15 s on a busy one.
    setup: float = 12.0
    connect_per_client: float = 0.008
    pair_per_client: float = 0.002  # a plenary round and a baseline round

    def lead(self, n: int) -> float:
        return self.setup + 2 * n * self.connect_per_client

    def learn_setup(self, seconds: float, plenary: Trial, baseline: Trial) -> None:
        self.setup = max(5.0, 1.3 * (seconds - plenary.connect_s - baseline.connect_s))

    def pair(self, n: int) -> float:
        return max(0.5, n * self.pair_per_client)

    def learn(self, plenary: Trial, baseline: Trial) -> None:
        slowest = max(plenary.connect_s, baseline.connect_s) / plenary.n
        self.connect_per_client = max(self.connect_per_client, 1.5 * slowest)


async def compare(n: int, opts: Options, children: Children, pace: Pace) -> tuple[Trial, Trial]:
    began, load = time.time(), machine_load()
    plenary = Plenary(n, opts, children, pace.lead(n))
    baseline = Baseline(n, opts, children)
    try:
        async with asyncio.TaskGroup() as starting:
            starting.create_task(plenary.start_server())
            await asyncio.sleep(0)  # plenary, the slowest to start, is spawned first
            starting.create_task(baseline.start_server())
            plenary.spawn_clients()
            baseline.spawn_clients()
        await baseline.configure(plenary.agenda)
        await plenary.connect_clients()
        await baseline.connect_clients()
        pace.learn_setup(time.time() - began, plenary.trial, baseline.trial)
        # While the rehearsal has not reached the day yet, control rounds fill the wait.
        await interleave(plenary, baseline, until=plenary.first_transition, pace=pace)
        await plenary.scheduled()
        plenary.close_day()
        await interleave(plenary, baseline, until=plenary.quiet_until, pace=pace)
        await baseline.scheduled(mirror_offsets(plenary.expected))
        if plenary.plan:
            plenary.trial.notes.append(f"{len(plenary.plan)} control(s) left out: no time")
        await plenary.stop_with_clients()
    finally:
        await plenary.close()
        await baseline.close()
    plenary.trial.machine = f"{load} at the start, {machine_load()} at the end"
    return plenary.trial, baseline.trial


def machine_load() -> str:
    """Others' work on the machine: the 1-minute load average and, where the kernel has it,
    the share of the last 10 s in which some task waited for a CPU."""
    text = f"load {os.getloadavg()[0]:.1f}"
    with contextlib.suppress(OSError, ValueError, IndexError):
        some = Path("/proc/pressure/cpu").read_text().split()[1]
        text += f", CPU pressure {float(some.split('=')[1]):.0f}%"
    return text


async def interleave(plenary: Plenary, baseline: Baseline, until: float, pace: Pace) -> None:
    """Pairs of rounds, plenary and baseline taking turns to go first, so that a noisy moment
    on the machine lands on both."""
    n = plenary.trial.n
    while plenary.plan and time.time() + 1.5 * pace.pair(n) + 0.5 < until:
        began = time.time()
        pairs = len(plenary.trial.control.rows)
        first, second = (plenary, baseline) if pairs % 2 == 0 else (baseline, plenary)
        await first.measured_round()
        await second.measured_round()
        pace.pair_per_client = max(pace.pair_per_client, (time.time() - began) / n)


# -- the report -----------------------------------------------------------------------------


def ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value * 1000:.0f}"


def latency_row(n: int, kind: str, plenary: EventSet, base: EventSet, memory: str) -> str:
    last, base_last, pairs = plenary.last_client(), base.last_client(), plenary.pairs()
    p50, p99 = percentile(last, 50), percentile(last, 99)
    b50, b99 = percentile(base_last, 50), percentile(base_last, 99)
    cells = [
        f"{n:>5} {kind:<9} {len(plenary.rows):>3}",
        *(f"{ms(v):>5}" for v in (p50, p99, max(last, default=math.nan))),
        "|",
        *(f"{ms(v):>5}" for v in (percentile(pairs, 50), percentile(pairs, 99))),
        "|",
        *(f"{ms(v):>5}" for v in (b50, b99)),
        "|",
        *(f"{a / b:>4.1f}x" if b else "    -" for a, b in ((p50, b50), (p99, b99))),
        f"{plenary.missed:>6}",
        memory,
    ]
    return " ".join(cells)


def report(results: list[tuple[Trial, Trial]]) -> None:
    plenary_bytes, base_bytes = results[-1][0].payload_bytes, results[-1][1].payload_bytes
    print(
        "\nLatency, ms: to the LAST client per event (p50/p99/max over events); over all (client,"
        "\nevent) pairs; the same to the last client from a bare python-socketio broadcast of a"
        f"\nsame-size payload (room_state {plenary_bytes} B, baseline {base_bytes} B); the ratio"
        "\nplenary / baseline. RSS: server growth per connected client, KiB.\n"
    )
    print(
        "    N trigger    ev  last  last  last |   all   all |  base  base | ratio ratio"
        "  missed  RSS/conn KiB\n"
        "                      p50   p99   max |   p50   p99 |   p50   p99 |   p50   p99"
        "          plenary / base"
    )
    for plenary, base in results:
        memory = f"  {plenary.kib_per_connection:6.1f} / {base.kib_per_connection:.1f}"
        print(latency_row(plenary.n, "scheduled", plenary.scheduled, base.scheduled, memory))
        print(latency_row(plenary.n, "control", plenary.control, base.control, ""))
    print("\nDetails (ms unless stated)")
    for plenary, base in results:
        print(details(plenary, base))
    verdict(results)


def details(plenary: Trial, base: Trial) -> str:
    lag, ack, agenda = plenary.emit_lag, plenary.ack, plenary.agenda.last_client()
    lines = [
        f"  N={plenary.n}: connected {plenary.connected} (+{plenary.failed} failed) in "
        f"{plenary.connect_s:.1f} s (baseline {base.connect_s:.1f} s); server RSS "
        f"{plenary.rss_before / 2**20:.0f} -> {plenary.rss_after / 2**20:.0f} MiB "
        f"(baseline {base.rss_before / 2**20:.0f} -> {base.rss_after / 2**20:.0f} MiB)",
        f"    scheduled instant -> plenary builds the room_state: p50 {ms(percentile(lag, 50))}"
        f" max {ms(max(lag, default=math.nan))}; transitions before the clients were ready, "
        f"not counted: {plenary.skipped}; still fanning out when the next was due: "
        f"{plenary.scheduled.overlapping()} (baseline {base.scheduled.overlapping()})",
        f"    control ack p50 {ms(percentile(ack, 50))} max {ms(max(ack, default=math.nan))} "
        f"(baseline trigger ack p50 {ms(percentile(base.ack, 50))}); the agenda plenary "
        f"re-broadcasts after each control reaches the last client p50 "
        f"{ms(percentile(agenda, 50))} max {ms(max(agenda, default=math.nan))}",
        f"    CPU per control: server {ms(plenary.per_control(plenary.cpu))} (baseline "
        f"{ms(base.per_control(base.cpu))}), client workers "
        f"{ms(plenary.per_control(plenary.client_cpu))} (baseline "
        f"{ms(base.per_control(base.client_cpu))})",
        f"    plenary, SIGTERM to exit with the clients connected: {shutdown(plenary)}",
        f"    machine: {plenary.machine}",
    ]
    lines += [f"    plenary {note}" for note in plenary.notes]
    lines += [f"    baseline {note}" for note in base.notes]
    return "\n".join(lines)


def shutdown(trial: Trial) -> str:
    if trial.shutdown_s >= SHUTDOWN_GRACE:
        return f"over {SHUTDOWN_GRACE:g} s, killed"
    return f"{trial.shutdown_s:.1f} s"


def verdict(results: list[tuple[Trial, Trial]]) -> None:
    for plenary, _ in results:
        if plenary.n >= TARGET_CLIENTS:
            last = plenary.scheduled.last_client() + plenary.control.last_client()
            p99 = percentile(last, 99) * 1000
            ok = p99 < TARGET_P99_MS and not (plenary.scheduled.missed + plenary.control.missed)
            print(
                f"\nTarget (issue): {TARGET_CLIENTS} clients, p99 to the last client under "
                f"{TARGET_P99_MS:.0f} ms: N={plenary.n} p99 {p99:.0f} ms over "
                f"{len(last)} events -> {'MET' if ok else 'NOT MET'}"
            )


def progress(name: str, trial: Trial, per_event: bool) -> str:
    last = trial.scheduled.last_client() + trial.control.last_client()
    lines = [
        f"[{name} N={trial.n}] {trial.connected} connected in {trial.connect_s:.1f} s, "
        f"{len(last)} events, last-client p99 {ms(percentile(last, 99))} ms"
    ]
    if per_event:
        for kind, events in (("scheduled", trial.scheduled), ("control", trial.control)):
            for row in events.rows:
                got = [v for v in row if v is not None]
                spread = (min(got), percentile(got, 50), max(got)) if got else (math.nan,) * 3
                lines.append(f"    {kind:<9} first/median/last " + " / ".join(map(ms, spread)))
    return "\n".join(lines)


async def run(opts: Options, results: list[tuple[Trial, Trial]]) -> None:
    raise_fd_limit(2 * max(opts.ladder) + FD_HEADROOM)
    children, pace = Children(), Pace()
    try:
        for n in opts.ladder:
            plenary, base = await compare(n, opts, children, pace)
            pace.learn(plenary, base)
            print(progress("plenary", plenary, opts.per_event), flush=True)
            print(progress("baseline", base, opts.per_event), flush=True)
            results.append((plenary, base))
    finally:
        children.stop_all()


# -- the command line -----------------------------------------------------------------------


def parse_options(argv: Sequence[str]) -> tuple[Options, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--clients",
        default=",".join(map(str, DEFAULT_LADDER)),
        help="N, or a comma-separated ladder (default: %(default)s)",
    )
    parser.add_argument(
        "--rounds", type=int, default=12, help="technician controls per N (default: %(default)s)"
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=900.0,
        help="rehearsal speed; 900 puts 15 agenda minutes 1 s apart (default: %(default)s)",
    )
    parser.add_argument(
        "--client-procs",
        type=int,
        default=1,
        help="client worker processes per server (default: 1)",
    )
    parser.add_argument(
        "--batch", type=int, default=50, help="clients connecting at once (default: 50)"
    )
    parser.add_argument("--config", type=Path, default=ROOT / "config.toml")
    parser.add_argument(
        "--deflate",
        action="store_true",
        help="clients offer permessage-deflate, as browsers do (default: off, like "
        "python-socketio's client)",
    )
    parser.add_argument(
        "--per-event", action="store_true", help="also print each event's first/median/last"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folder of logs and data")
    parser.add_argument(
        "--time-limit",
        type=float,
        default=300.0,
        help="stop after this many seconds, reporting what was measured (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    ladder = tuple(int(part) for part in args.clients.split(",") if part.strip())
    if not ladder or min(ladder) < 1 or args.rounds < 1 or args.client_procs < 1:
        parser.error("--clients, --rounds and --client-procs must be positive")
    workdir = Path(tempfile.mkdtemp(prefix="status-fanout-"))
    opts = Options(
        ladder,
        args.rounds,
        args.speed,
        args.client_procs,
        args.batch,
        args.config,
        workdir,
        args.per_event,
        args.deflate,
        args.keep,
    )
    return opts, args.time_limit


def main(argv: Sequence[str]) -> int:
    if argv[:1] == ["_worker"]:
        asyncio.run(worker(list(argv[1:])))
        return 0
    if argv[:1] == ["_baseline"]:
        baseline_server(list(argv[1:]))
        return 0
    opts, time_limit = parse_options(argv)
    print(
        f"status fan-out bench: N={','.join(map(str, opts.ladder))}, {opts.rounds} controls per N, "
        f"speed x{opts.speed:g}, {opts.procs} client process(es), "
        f"deflate {'on' if opts.deflate else 'off'}, {os.cpu_count()} CPUs",
        flush=True,
    )

    async def bounded() -> None:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        await asyncio.wait_for(run(opts, results), time_limit)

    results: list[tuple[Trial, Trial]] = []
    status = 1
    try:
        asyncio.run(bounded())
        status = 0
    except (KeyboardInterrupt, TimeoutError, asyncio.CancelledError) as stop:
        why = "time limit" if isinstance(stop, TimeoutError) else "interrupted"
        print(f"stopped ({why}); every process the bench started is stopped", file=sys.stderr)
        status = 1 if isinstance(stop, TimeoutError) else 130
    finally:
        if results:
            report(results)
        if status == 0 and not opts.keep:
            shutil.rmtree(opts.workdir, ignore_errors=True)
        else:
            print(f"logs and data kept in {opts.workdir}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
