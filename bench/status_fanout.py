"""Status fan-out bench: how long a room transition takes to reach the last of N Socket.IO clients.

For each N of the ladder it starts a real ``plenary serve`` (own temp data folder, rehearsal
clock), connects N anonymous websocket clients from separate worker processes, and measures

* scheduled transitions: from the wall instant the rehearsal clock puts each day-one transition
  at (START + (agenda instant - first item start) / speed) to each client's ``room_state``;
* technician controls: from sending ``control`` (extend / start / end) to each client's
  ``room_state`` for that room;
* server RSS per connection (psutil on the server, before and after the N connect).

Then it runs the same clients, payload sizes and trigger pattern against a minimal
python-socketio ``AsyncServer`` in a subprocess, so plenary's figures can be read as ratios on a
noisy machine. Everything talks to 127.0.0.1 only. Run from the repository root:

    .venv/bin/python bench/status_fanout.py                  # ladder 100, 500, 1000
    .venv/bin/python bench/status_fanout.py --clients 1000 --rounds 20

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
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
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
    def __init__(self, url: str, count: int, batch: int) -> None:
        self.url = url
        self.batch = batch
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
        sio = socketio.AsyncClient(reconnection=False, http_session=self.session)
        sio.on("agenda", self._handler(client, "agenda"))
        sio.on("room_state", self._handler(client, "room_state"))
        self.clients.append(sio)
        try:
            await sio.connect(self.url, transports=["websocket"], wait_timeout=30)
        except Exception as error:
            return f"{type(error).__name__}: {error}"
        self.live[client] = True
        return None

    async def wait_for(self, wanted: list[Match], seconds: float) -> dict[str, Any]:
        self.waiter = waiter = Waiter(wanted, self.live)
        for client, records in enumerate(self.records):
            for record in records:
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
    args = parser.parse_args(argv)
    raise_fd_limit(args.count + FD_HEADROOM)
    fleet = Fleet(args.url, args.count, args.batch)
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
            reply = await fleet.wait_for(request["matches"], request["seconds"])
        else:
            break
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    await fleet.close()


class WorkerPool:
    """The client processes for one server: N clients split over ``procs`` workers."""

    def __init__(self, children: Children, url: str, n: int, procs: int, batch: int, log: Path):
        counts = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
        command = [sys.executable, __file__, "_worker", "--url", url, "--batch", str(batch)]
        self._procs = [
            children.spawn([*command, "--count", str(count)], log, pipes=True)
            for count in counts
            if count
        ]

    def cpu(self) -> float:
        return sum(server_cpu(psutil.Process(proc.pid)) for proc in self._procs)

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

    async def receipts(self, wanted: list[Match], seconds: float) -> list[list[float | None]]:
        """Per match, every connected client's receipt time (None: not received in time)."""
        replies = await self._ask({"op": "await", "matches": wanted, "seconds": seconds})
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
    parser.add_argument("--payloads", type=Path, required=True)
    args = parser.parse_args(argv)
    payloads = json.loads(args.payloads.read_text())
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
        await sio.emit("agenda", payloads["agenda"], to=sid)

    async def broadcast(seq: int) -> None:
        await sio.emit("room_state", {**payloads["room_state"], "seq": seq})

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

    def add(self, reference: float, receipts: list[float | None]) -> None:
        self.rows.append([None if t is None else t - reference for t in receipts])

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
    cpu_per_event: float = math.nan
    client_cpu_per_event: float = math.nan
    shutdown_s: float = math.nan
    notes: list[str] = field(default_factory=list)

    @property
    def kib_per_connection(self) -> float:
        return (self.rss_after - self.rss_before) / 1024 / max(self.connected, 1)


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


@dataclass(frozen=True)
class Expected:
    """A day-one transition of the published agenda and its wall instant in this rehearsal."""

    room: str
    state: str
    agenda_at: datetime
    wall: float


def expected_transitions(agenda: dict[str, Any], start: float, speed: float) -> list[Expected]:
    items = agenda["items"]
    lobby = timedelta(minutes=agenda["event"]["lobby_minutes"])
    first = datetime.fromisoformat(items[0]["starts_at"])
    day_one = items[0]["day"]
    found = []
    for item in items:
        if item["room"] is None or item["day"] != day_one:
            continue
        starts, ends = (datetime.fromisoformat(item[key]) for key in ("starts_at", "ends_at"))
        for state, at in (("lobby", starts - lobby), ("live", starts), ("ended", ends)):
            found.append(
                Expected(item["id"], state, at, start + (at - first).total_seconds() / speed)
            )
    return sorted(found, key=lambda expected: expected.wall)


def control_plan(agenda: dict[str, Any], rounds: int) -> list[dict[str, Any]]:
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
    return plan[:rounds]


# -- driving plenary ------------------------------------------------------------------------


class Observer:
    """A Socket.IO client in the bench process itself: it triggers and it keeps payloads."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.agenda: dict[str, Any] | None = None
        self.room_states: list[dict[str, Any]] = []
        self.sio.on("agenda", self._on_agenda)
        self.sio.on("room_state", self.room_states.append)

    def _on_agenda(self, data: dict[str, Any]) -> None:
        self.agenda = self.agenda or data

    async def connect(self, url: str, token: str | None = None) -> None:
        auth = {"token": token} if token else None
        await self.sio.connect(url, transports=["websocket"], auth=auth, wait_timeout=30)

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


def server_cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


async def settle_rss(proc: psutil.Process) -> int:
    await asyncio.sleep(0.5)
    return int(proc.memory_info().rss)


async def plenary_trial(
    n: int, opts: Options, children: Children, connect_rate: float
) -> tuple[Trial, Observer]:
    trial = Trial(n)
    folder = Path(tempfile.mkdtemp(prefix=f"plenary-{n}-", dir=opts.workdir))
    port, log = free_port(), folder / "server.log"
    url = f"http://{HOST}:{port}"
    lobby_wall = 15 * 60 / opts.speed  # first transition: the welcome lobby, before START
    lead = 4.0 + n * connect_rate + 1.5 + lobby_wall
    start = datetime.fromtimestamp(round(time.time() + lead, 3), UTC)
    argv = [str(PLENARY), "serve", "--config", str(opts.config), "--data", str(folder / "data")]
    argv += ["--port", str(port), "--ice-address", HOST]
    argv += ["--rehearse", start.isoformat(), "--speed", f"{opts.speed:g}"]
    server = children.spawn(argv, log)
    await asyncio.to_thread(wait_healthy, url, server, log)
    token = await asyncio.to_thread(technician_token, opts.config, folder / "data")
    agenda = await asyncio.to_thread(get_json, f"{url}/api/agenda")
    technician = Observer()
    await technician.connect(url, token)
    usage = psutil.Process(server.pid)
    trial.rss_before = await settle_rss(usage)
    pool = WorkerPool(children, url, n, opts.procs, opts.batch, folder / "workers.log")
    try:
        await connect_clients(trial, pool)
        trial.rss_after = await settle_rss(usage)
        expected = expected_transitions(agenda, start.timestamp(), opts.speed)
        await scheduled_phase(trial, pool, technician, expected, opts.speed)
        cpu, client_cpu = server_cpu(usage), pool.cpu()
        await control_phase(trial, pool, technician, control_plan(agenda, opts.rounds))
        trial.cpu_per_event = (server_cpu(usage) - cpu) / max(len(trial.control.rows), 1)
        trial.client_cpu_per_event = (pool.cpu() - client_cpu) / max(len(trial.control.rows), 1)
        await stop_with_clients(trial, server)
    finally:
        await technician.close()
        await pool.quit()
        Children.stop(server)
    trial.notes += log_findings(log)
    return trial, technician


async def stop_with_clients(trial: Trial, server: subprocess.Popen[bytes]) -> None:
    """SIGTERM while the N clients are still connected, as a restart during an event would."""
    trial.shutdown_s = await asyncio.to_thread(Children.stop, server, SHUTDOWN_GRACE)
    if server.returncode == -signal.SIGKILL:
        trial.notes.append(
            f"still running {SHUTDOWN_GRACE:g} s after SIGTERM with {trial.connected} clients "
            "connected; killed"
        )
    elif server.returncode not in (0, -signal.SIGTERM):
        trial.notes.append(f"exit status {server.returncode} after SIGTERM")


def technician_token(config: Path, data: Path) -> str:
    issue = [str(PLENARY), "token", "issue", "--role", "technician", "--name", "Bench"]
    issue += ["--config", str(config), "--data", str(data)]
    return subprocess.run(issue, capture_output=True, check=True, text=True).stdout.strip()


async def connect_clients(trial: Trial, pool: WorkerPool) -> None:
    trial.connected, trial.failed, trial.connect_s, errors = await pool.connect()
    trial.notes += [f"connect failed: {error}" for error in errors]


async def scheduled_phase(
    trial: Trial, pool: WorkerPool, technician: Observer, expected: list[Expected], speed: float
) -> None:
    ready = time.time() + 0.1
    upcoming = [e for e in expected if e.wall > ready]
    trial.skipped = len(expected) - len(upcoming)
    if not upcoming:
        return
    wanted = [{"event": "room_state", "room": e.room, "state": e.state} for e in upcoming]
    timeout = upcoming[-1].wall - time.time() + 10
    for event, receipts in zip(upcoming, await pool.receipts(wanted, timeout), strict=True):
        trial.scheduled.add(event.wall, receipts)
        for state in technician.room_states:
            if (state["room"], state["state"]) == (event.room, event.state):
                emitted = datetime.fromisoformat(state["now"])
                trial.emit_lag.append((emitted - event.agenda_at).total_seconds() / speed)


async def control_phase(
    trial: Trial, pool: WorkerPool, technician: Observer, plan: list[dict[str, Any]]
) -> None:
    agendas = 1  # each client's agenda on connect
    for control in plan:
        sent = time.time()
        answer = await technician.sio.call("control", control, timeout=CONTROL_TIMEOUT)
        trial.ack.append(time.time() - sent)
        if not answer.get("ok"):
            trial.notes.append(f"control {control} refused: {answer}")
            continue
        room = answer["room"]
        agendas += 1
        wanted = [
            {"event": "room_state", "room": room["room"], "state": room["state"]}
            | {"ends_at": room["ends_at"], "reason": "override"},
            {"event": "agenda", "n": agendas},  # the running order follows every control
        ]
        state_receipts, agenda_receipts = await pool.receipts(wanted, CONTROL_TIMEOUT)
        trial.control.add(sent, state_receipts)
        trial.agenda.add(sent, agenda_receipts)
        await asyncio.sleep(0.05)


def log_findings(log: Path) -> list[str]:
    text = log.read_text(errors="replace") if log.exists() else ""
    bad = [line for line in text.splitlines() if " ERROR " in line or " WARNING " in line]
    tracebacks = text.count("Traceback (most recent call last)")
    found = [f"log: {line.split(' ', 2)[-1][:160]}" for line in dict.fromkeys(bad)][:5]
    if len(bad) > 5:
        found.append(f"log: {len(bad)} ERROR/WARNING lines in all; see {log}")
    if tracebacks:
        found.append(f"log: {tracebacks} traceback(s); see {log}")
    return found


# -- driving the baseline -------------------------------------------------------------------


async def baseline_trial(
    n: int, opts: Options, children: Children, plenary: Observer, offsets: list[list[float]]
) -> Trial:
    trial = Trial(n)
    folder = Path(tempfile.mkdtemp(prefix=f"baseline-{n}-", dir=opts.workdir))
    port, log = free_port(), folder / "server.log"
    url = f"http://{HOST}:{port}"
    payloads = folder / "payloads.json"
    payloads.write_text(json.dumps({"agenda": plenary.agenda, "room_state": sample(plenary)}))
    server = children.spawn(
        [sys.executable, __file__, "_baseline", "--port", str(port), "--payloads", str(payloads)],
        log,
    )
    await asyncio.to_thread(wait_healthy, url, server, log)
    trigger = Observer()
    await trigger.connect(url)
    usage = psutil.Process(server.pid)
    trial.rss_before = await settle_rss(usage)
    pool = WorkerPool(children, url, n, opts.procs, opts.batch, folder / "workers.log")
    try:
        await connect_clients(trial, pool)
        trial.rss_after = await settle_rss(usage)
        await baseline_scheduled(trial, pool, trigger, offsets)
        cpu, client_cpu = server_cpu(usage), pool.cpu()
        for seq in range(1000, 1000 + opts.rounds):
            sent = time.time()
            await trigger.sio.call("trigger", {"seq": seq}, timeout=CONTROL_TIMEOUT)
            trial.ack.append(time.time() - sent)
            (receipts,) = await pool.receipts([{"seq": seq}], CONTROL_TIMEOUT)
            trial.control.add(sent, receipts)
            await asyncio.sleep(0.05)
        trial.cpu_per_event = (server_cpu(usage) - cpu) / max(opts.rounds, 1)
        trial.client_cpu_per_event = (pool.cpu() - client_cpu) / max(opts.rounds, 1)
        await stop_with_clients(trial, server)
    finally:
        await trigger.close()
        await pool.quit()
        Children.stop(server)
    trial.notes += log_findings(log)
    return trial


def sample(plenary: Observer) -> dict[str, Any]:
    if plenary.room_states:
        return plenary.room_states[0]
    raise RuntimeError("plenary sent no room_state to copy the payload size from")


async def baseline_scheduled(
    trial: Trial, pool: WorkerPool, trigger: Observer, offsets: list[list[float]]
) -> None:
    """Broadcasts at the same relative instants (and as many per instant) as plenary's."""
    origin = time.time() + 1.0
    groups: list[dict[str, Any]] = []
    seq = 0
    for offset, count in offsets:
        groups.append({"at": origin + offset, "seqs": list(range(seq, seq + int(count)))})
        seq += int(count)
    await trigger.sio.call("schedule", {"groups": groups}, timeout=CONTROL_TIMEOUT)
    wanted = [{"seq": s} for group in groups for s in group["seqs"]]
    timeout = groups[-1]["at"] - time.time() + 10
    receipts = iter(await pool.receipts(wanted, timeout))
    for group in groups:
        for _ in group["seqs"]:
            trial.scheduled.add(group["at"], next(receipts))


def schedule_offsets(agenda: dict[str, Any], speed: float) -> list[list[float]]:
    expected = expected_transitions(agenda, 0.0, speed)
    counts: dict[float, int] = {}
    for event in expected:
        counts[event.wall] = counts.get(event.wall, 0) + 1
    first = min(counts)
    return [[wall - first, count] for wall, count in sorted(counts.items())]


# -- the run and its report -----------------------------------------------------------------


def ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value * 1000:.0f}"


def latency_row(n: int, kind: str, plenary: EventSet, base: EventSet, kib: str) -> str:
    last, base_last = plenary.last_client(), base.last_client()
    pairs = plenary.pairs()
    p50, p99 = percentile(last, 50), percentile(last, 99)
    b50, b99 = percentile(base_last, 50), percentile(base_last, 99)
    cells = [
        f"{n:>5}",
        f"{kind:<9}",
        f"{len(plenary.rows):>3}",
        *(f"{ms(v):>6}" for v in (p50, p99, max(last, default=math.nan))),
        *(f"{ms(v):>6}" for v in (percentile(pairs, 50), percentile(pairs, 99))),
        *(f"{ms(v):>6}" for v in (b50, b99)),
        f"{p50 / b50:>5.1f}x" if b50 else "     -",
        f"{p99 / b99:>5.1f}x" if b99 else "     -",
        f"{plenary.missed:>6}",
        kib,
    ]
    return " ".join(cells)


def report(results: list[tuple[Trial, Trial]], payload_sizes: tuple[int, int]) -> None:
    print("\nLatency to the LAST client per event (p50/p99/max over events), over all")
    print("(client, event) pairs, and the same clients on a plain python-socketio broadcast.")
    print(f"room_state payload {payload_sizes[0]} B (baseline {payload_sizes[1]} B).\n")
    print(
        "    N trigger   ev  last  last  last  | all  all   | base  base  | ratio  ratio  missed"
        "  RSS/conn KiB\n"
        "                   p50   p99   max   | p50  p99   | p50   p99   | p50    p99"
        "           plenary / base"
    )
    for plenary, base in results:
        kib = f"  {plenary.kib_per_connection:6.1f} / {base.kib_per_connection:.1f}"
        print(latency_row(plenary.n, "scheduled", plenary.scheduled, base.scheduled, kib))
        print(latency_row(plenary.n, "control", plenary.control, base.control, ""))
    print("\nDetails (ms unless stated)")
    for plenary, base in results:
        print(details(plenary, base))
    verdict(results)


def details(plenary: Trial, base: Trial) -> str:
    lag, ack = plenary.emit_lag, plenary.ack
    agenda = plenary.agenda.last_client()
    lines = [
        f"  N={plenary.n}: connected {plenary.connected} (+{plenary.failed} failed) in "
        f"{plenary.connect_s:.1f} s (baseline {base.connect_s:.1f} s); server RSS "
        f"{plenary.rss_before / 2**20:.0f} -> {plenary.rss_after / 2**20:.0f} MiB "
        f"(baseline {base.rss_before / 2**20:.0f} -> {base.rss_after / 2**20:.0f} MiB)",
        f"    scheduler: instant -> server builds room_state p50 {ms(percentile(lag, 50))} "
        f"max {ms(max(lag, default=math.nan))}; {plenary.skipped} transition(s) before "
        "clients were ready, not counted",
        f"    control ack p50 {ms(percentile(ack, 50))} max {ms(max(ack, default=math.nan))} "
        f"(baseline trigger ack p50 {ms(percentile(base.ack, 50))}); agenda re-broadcast "
        f"after each control reaches the last client p50 {ms(percentile(agenda, 50))} "
        f"max {ms(max(agenda, default=math.nan))}",
        f"    server CPU per control {ms(plenary.cpu_per_event)} (baseline per broadcast "
        f"{ms(base.cpu_per_event)}); client workers' CPU per event "
        f"{ms(plenary.client_cpu_per_event)} (baseline {ms(base.client_cpu_per_event)})",
        f"    SIGTERM to exit with clients connected "
        f"{shutdown(plenary)} (baseline {shutdown(base)})",
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
                f"{TARGET_P99_MS:.0f} ms: N={plenary.n} p99 {p99:.0f} ms -> "
                f"{'MET' if ok else 'NOT MET'}"
            )


async def run(opts: Options) -> None:
    raise_fd_limit(max(opts.ladder) * 2 + FD_HEADROOM)
    children = Children()
    results: list[tuple[Trial, Trial]] = []
    connect_rate, sizes = 0.005, (0, 0)
    try:
        for n in opts.ladder:
            plenary, observer = await plenary_trial(n, opts, children, connect_rate)
            print(progress("plenary", plenary, opts.per_event), flush=True)
            connect_rate = max(connect_rate, plenary.connect_s * 1.5 / n)
            offsets = schedule_offsets(observer.agenda or {}, opts.speed)
            base = await baseline_trial(n, opts, children, observer, offsets)
            print(progress("baseline", base, opts.per_event), flush=True)
            results.append((plenary, base))
            state = sample(observer)
            sizes = (len(json.dumps(state)), len(json.dumps({**state, "seq": 1000})))
    finally:
        children.stop_all()
    report(results, sizes)


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
        "--client-procs", type=int, default=1, help="client worker processes (default: 1)"
    )
    parser.add_argument(
        "--batch", type=int, default=50, help="clients connecting at once (default: 50)"
    )
    parser.add_argument("--config", type=Path, default=ROOT / "config.toml")
    parser.add_argument(
        "--per-event", action="store_true", help="also print each event's first/median/last"
    )
    parser.add_argument(
        "--time-limit", type=float, default=600.0, help="give up after this many seconds"
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
    print(f"status fan-out bench; logs and data under {opts.workdir}", flush=True)

    async def bounded() -> None:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        await asyncio.wait_for(run(opts), time_limit)

    try:
        asyncio.run(bounded())
    except KeyboardInterrupt:
        print("interrupted; every process the bench started has been stopped", file=sys.stderr)
        return 130
    except (TimeoutError, asyncio.CancelledError):
        print("stopped (time limit or SIGTERM); processes cleaned up", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
