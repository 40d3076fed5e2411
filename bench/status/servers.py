"""The two servers under test in the status bench, each with its client workers.

``Plenary`` runs ``plenary serve`` on a rehearsal clock and sends technician controls;
``Baseline`` runs the bare python-socketio server and sends triggers.
"""

from __future__ import annotations

import asyncio
import json
import math
import signal
import tempfile
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import socketio

from bench.common.children import Child, Children, python_module
from bench.common.harness import (
    HOST,
    PLENARY,
    cpu_seconds,
    free_port,
    get_json,
)
from bench.status.agenda import Expected, control_plan, expected_transitions, room_state_like
from bench.status.clients import Match
from bench.status.figures import Options, Trial

CONTROL_TIMEOUT = 15.0
SHUTDOWN_GRACE = 3.0


class WorkerPool:
    """The client processes for one server: N clients split over ``procs`` workers."""

    def __init__(self, children: Children, url: str, n: int, opts: Options, log: Path):
        procs = opts.procs
        counts = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
        options: list[object] = ["--url", url, "--batch", opts.batch]
        options += ["--deflate"] if opts.deflate else []

        def worker(count: int) -> Child:
            argv = python_module("bench.status.clients", *options, "--count", count)
            return children.start("client worker", argv, log, pipes=True)

        self._workers = [worker(count) for count in counts if count]

    def cpu(self) -> float:
        return sum(cpu_seconds(psutil.Process(worker.pid)) for worker in self._workers)

    async def _ask(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(worker.ask(request) for worker in self._workers)))

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
        for worker in self._workers:
            worker.close_input()  # EOF: disconnect and exit
        for worker in self._workers:
            if not worker.wait(15):
                worker.stop()


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
        self.server: Child | None = None
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
        self.server = server = self.children.start(self.name, argv, self.log)
        await asyncio.to_thread(server.wait_healthy, self.url)

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
            await asyncio.to_thread(self.server.stop)
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
        issue = [PLENARY, "token", "issue", "--role", "technician", "--name", "Bench"]
        issue += ["--config", self.opts.config, "--data", data]
        token = await self.children.output("plenary token issue", issue, self.folder / "token.log")
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
        self.trial.shutdown_s = await asyncio.to_thread(self.server.stop, SHUTDOWN_GRACE)
        code = self.server.returncode
        if code not in (0, -signal.SIGTERM, -signal.SIGKILL):
            self.trial.notes.append(f"exit status {code} after SIGTERM")


class Baseline(Contender):
    """A bare python-socketio AsyncServer: plenary's payload sizes, none of its work."""

    name = "baseline"

    async def start_server(self) -> None:
        await self.launch(python_module("bench.status.baseline", "--port", self.port))
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
