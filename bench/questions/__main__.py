"""Questions bench: 1,000 attendees asking and voting in bursts against ``plenary serve`` on SQLite.

It starts a real ``plenary serve`` (own temp data folder, the welcome remarks live, the bundled
config with ``[questions] per_person_per_minute = 1000``) and, beside it, the status bench's bare
python-socketio server (``bench.status.baseline``). N attendees, one token each, connect to
plenary from a worker process (``bench.questions.attendees``); N anonymous clients connect to the
baseline from another (``bench.status.clients``); a moderator connects from this process. Then:

1. asks: ``--ask-rate`` questions a second in bursts for ``--seconds``; how many were accepted
   per second, and when the moderator saw each (from the attendee's send);
2. approvals: the moderator approves ``--approvals`` of them one by one, each followed (or
   preceded, in turn) by a baseline broadcast of a payload as big as an approved question;
   when each of the N receives it, from the send;
3. votes: ``--vote-rate`` votes a second in bursts on ``--voted`` approved questions; then the
   same offer from as many clients of the same kind to the bare server, which acks each vote
   and does nothing else: the most python-socketio and these clients manage on this machine;
4. none lost: every accepted question is in the moderator's ``questions`` and was announced to
   them; each question's final count equals the votes accepted.

Everything talks to 127.0.0.1 only. Run from the repository root (see bench/README.md):

    .venv/bin/python -m bench.questions
    .venv/bin/python -m bench.questions --clients 200 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import socketio

from bench.common.children import Child, Children, python_module
from bench.common.harness import HOST, PLENARY, ROOT, cpu_seconds, free_port, raise_fd_limit
from bench.common.run import run_and_report
from bench.questions.figures import Figures, Options
from bench.questions.report import report
from bench.status.__main__ import machine_load
from bench.status.clients import FD_HEADROOM
from scheduler.clock import wall_now
from server.auth.keys import KeyRing
from server.auth.permissions import Role
from server.auth.tokens import TokenService

PROG = "python -m bench.questions"
ROOM = "welcome"
ASKS_PER_MINUTE = 1000  # the most the config accepts; the default of 5 would refuse the load
CONNECT_TIMEOUT = 120.0
ROUND_TIMEOUT = 15.0


class Moderator:
    """A moderator's Socket.IO client in the bench itself: it keeps every ``question`` event."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.received: list[tuple[float, dict[str, Any]]] = []
        self.sio.on("question", self._question)
        self.waiting_for: set[str] = set()
        self.all_announced = asyncio.Event()

    async def _question(self, data: dict[str, Any]) -> None:
        self.received.append((time.time(), data))
        self.waiting_for.discard(data["id"])
        if not self.waiting_for:
            self.all_announced.set()

    async def announced(self, questions: set[str], within: float) -> None:
        """Returns once every one of ``questions`` was announced, or ``within`` seconds passed."""
        self.waiting_for = questions - {data["id"] for _, data in self.received}
        self.all_announced.clear()
        if self.waiting_for:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.all_announced.wait(), within)

    async def call(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = await self.sio.call(event, data, timeout=ROUND_TIMEOUT)
        return answer


class Bench:
    def __init__(self, opts: Options, children: Children, figures: Figures) -> None:
        self.opts = opts
        self.children = children
        self.figures = figures
        self.data = opts.workdir / "data"
        self.plenary_url = f"http://{HOST}:{free_port()}"
        self.baseline_url = f"http://{HOST}:{free_port()}"
        self.moderator = Moderator()
        self.baseline = socketio.AsyncClient(reconnection=False)
        self.servers: dict[str, Child] = {}

    async def run(self) -> None:
        raise_fd_limit(2 * self.opts.clients + FD_HEADROOM, warn=True)
        await self.start_servers()
        attendees, listeners = await self.connect_clients()
        self.figures.machine.append(f"start: {machine_load()}")
        accepted = await self.asks(attendees)
        self.figures.machine.append(f"after asks: {machine_load()}")
        approved = await self.approvals(attendees, listeners, accepted)
        self.figures.machine.append(f"after approvals: {machine_load()}")
        await self.votes(attendees, approved[: self.opts.voted])
        self.figures.machine.append(f"after votes: {machine_load()}")
        await self.bare_votes()
        self.figures.machine.append(f"after bare votes: {machine_load()}")
        await self.moderator.sio.disconnect()
        await self.baseline.disconnect()

    async def start_servers(self) -> None:
        config = self.opts.workdir / "config.toml"
        text = (ROOT / "config.toml").read_text(encoding="utf-8")
        limit = "per_person_per_minute = 5"
        assert limit in text, "the bundled config's ask limit moved"
        config.write_text(text.replace(limit, f"per_person_per_minute = {ASKS_PER_MINUTE}", 1))
        # Three minutes into day one: the welcome remarks are live for the next 42 minutes.
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
        argv = [PLENARY, "serve", "--config", config, "--data", self.data]
        argv += ["--port", self.plenary_url.rsplit(":", 1)[1], "--ice-address", HOST]
        argv += ["--rehearse", start.isoformat()]
        log = self.opts.workdir / "plenary.log"
        self.servers["plenary"] = self.children.start("plenary", argv, log)
        port = self.baseline_url.rsplit(":", 1)[1]
        baseline = python_module("bench.status.baseline", "--port", port)
        self.servers["baseline"] = self.children.start("baseline", baseline, log.with_name("b.log"))
        for name, url in (("plenary", self.plenary_url), ("baseline", self.baseline_url)):
            await asyncio.to_thread(self.servers[name].wait_healthy, url)

    async def connect_clients(self) -> tuple[Child, Child]:
        tokens = TokenService(KeyRing.open(self.data), "plenary", wall_now)
        names = (f"Attendee {i}" for i in range(self.opts.clients))
        file = self.opts.workdir / "tokens.txt"
        file.write_text("\n".join(tokens.issue(role=Role.ATTENDEE, name=n) for n in names))
        workers = self.opts.workdir / "workers.log"
        batch, count = ["--batch", self.opts.batch], ["--count", self.opts.clients]
        attendees = self.children.start(
            "attendees",
            python_module("bench.questions.attendees", "--url", self.plenary_url, "--tokens", file)
            + batch,
            workers,
            pipes=True,
        )
        listeners = self.children.start(
            "baseline clients",
            [*python_module("bench.status.clients", "--url", self.baseline_url), *count, *batch],
            workers,
            pipes=True,
        )
        moderator = tokens.issue(role=Role.MODERATOR, name="Bench moderator")
        auth = {"token": moderator}
        await self.moderator.sio.connect(self.plenary_url, transports=["websocket"], auth=auth)
        await self.baseline.connect(self.baseline_url, transports=["websocket"])
        for worker in (attendees, listeners):
            reply = await worker.ask({"op": "connect"}, CONNECT_TIMEOUT)
            self.figures.connected[worker.name] = reply["connected"]
            self.figures.notes += [f"{worker.name}: {error}" for error in reply["errors"]]
        return attendees, listeners

    async def asks(self, attendees: Child) -> list[list[Any]]:
        """The ask phase; the accepted questions as [text, sent, acked, id, None]."""
        request = {"op": "ask", "room": ROOM, "rate": self.opts.ask_rate}
        request |= {"seconds": self.opts.seconds, "burst": self.opts.burst}
        with self.cpu("asks", attendees):
            reply = await attendees.ask(request, self.phase_timeout)
        asked = reply["asked"]
        accepted = [row for row in asked if row[3] is not None]
        self.figures.asked(asked)
        self.figures.asks_unsent = reply["unsent"]
        wanted = {row[3] for row in accepted}
        await self.moderator.announced(wanted, within=10.0)
        seen = self.moderator_seen("pending")
        self.figures.to_moderator = [seen[row[3]] - row[1] for row in accepted if row[3] in seen]
        self.figures.unseen_by_moderator = len(wanted - seen.keys())
        listing = await self.moderator.call("questions", {"room": ROOM})
        self.figures.not_listed = len(wanted - {q["id"] for q in listing["questions"]})
        return sorted(accepted, key=lambda row: row[1])

    def moderator_seen(self, status: str) -> dict[str, float]:
        """Question id to the moderator's first receipt of it in ``status``."""
        seen: dict[str, float] = {}
        for stamp, data in self.moderator.received:
            if data.get("status") == status:
                seen.setdefault(data["id"], stamp)
        return seen

    async def approvals(
        self, attendees: Child, listeners: Child, accepted: list[list[Any]]
    ) -> list[str]:
        """Plenary approvals and baseline broadcasts in turn; the approved questions' ids."""
        chosen = [row[3] for row in accepted[: self.opts.approvals]]
        shown = await self.approve(chosen[0], attendees)  # once to learn the payload
        payload = {**shown, "voted": False, "mine": False, "author": "Attendee 999"}
        await self.baseline.call("configure", {"room_state": payload}, timeout=ROUND_TIMEOUT)
        for index, question in enumerate(chosen[1:]):
            if index % 2:
                await self.approve(question, attendees)
                await self.broadcast(index, listeners)
            else:
                await self.broadcast(index, listeners)
                await self.approve(question, attendees)
        return chosen

    async def approve(self, question: str, attendees: Child) -> dict[str, Any]:
        sent = time.time()
        action = {"question": question, "action": "approve"}
        answer = await self.moderator.call("moderate", action)
        assert answer.get("ok"), answer
        request = {"op": "await", "question": question, "status": "approved"}
        reply = await attendees.ask(request | {"since": sent, "seconds": ROUND_TIMEOUT})
        self.figures.approvals.add(sent, reply["times"])
        shown: dict[str, Any] = answer["question"]
        return shown

    async def broadcast(self, index: int, listeners: Child) -> None:
        seq = 1000 + index
        sent = time.time()
        await self.baseline.call("trigger", {"seq": seq}, timeout=ROUND_TIMEOUT)
        wanted = {"op": "await", "matches": [{"seq": seq}], "since": sent}
        reply = await listeners.ask(wanted | {"seconds": ROUND_TIMEOUT})
        self.figures.broadcasts.add(sent, reply["times"][0])

    async def votes(self, attendees: Child, questions: list[str]) -> None:
        request = {"op": "vote", "questions": questions, "rate": self.opts.vote_rate}
        request |= {"seconds": self.opts.seconds, "burst": self.opts.burst}
        with self.cpu("votes", attendees):
            self.figures.voted = await attendees.ask(request, self.phase_timeout)
        await asyncio.sleep(1.0)  # counts are coalesced: the last goes out within 0.5 s
        listing = await self.moderator.call("questions", {"room": ROOM})
        self.figures.final_counts = {
            q["id"]: q["votes"] for q in listing["questions"] if q["id"] in questions
        }
        last: dict[str, int] = {}
        for _, data in self.moderator.received:
            if data["id"] in questions:
                last[data["id"]] = data["votes"]
        self.figures.moderator_counts = last

    async def bare_votes(self) -> None:
        """The vote phase again, from as many clients of the same kind, against the bare
        python-socketio server: what the same offer costs when nothing is stored or sent on."""
        file = self.opts.workdir / "bare-tokens.txt"
        file.write_text("\n".join(["bare"] * self.opts.clients))  # the bare server reads none
        voters = self.children.start(
            "bare voters",
            [
                *python_module("bench.questions.attendees", "--url", self.baseline_url),
                *["--tokens", file, "--batch", self.opts.batch],
            ],
            self.opts.workdir / "workers.log",
            pipes=True,
        )
        reply = await voters.ask({"op": "connect"}, CONNECT_TIMEOUT)
        self.figures.connected[voters.name] = reply["connected"]
        request: dict[str, Any] = {"op": "vote", "questions": ["b1", "b2"][: self.opts.voted]}
        request |= {"rate": self.opts.vote_rate, "seconds": self.opts.seconds}
        request |= {"burst": self.opts.burst}
        with CpuWatch(self.servers["baseline"].pid, voters.pid, "bare votes", self.figures):
            self.figures.bare_voted = await voters.ask(request, self.phase_timeout)

    @property
    def phase_timeout(self) -> float:
        """Sends stop at twice the phase's length; the last answers may take a minute more."""
        return 2 * self.opts.seconds + 90.0

    def cpu(self, phase: str, attendees: Child) -> CpuWatch:
        return CpuWatch(self.servers["plenary"].pid, attendees.pid, phase, self.figures)


class CpuWatch:
    """Over a phase: plenary's CPU seconds, the attendee worker's, and the wall seconds."""

    def __init__(self, server: int, worker: int, phase: str, figures: Figures) -> None:
        self.processes = (psutil.Process(server), psutil.Process(worker))
        self.phase = phase
        self.figures = figures

    def __enter__(self) -> None:
        self.began, self.before = time.time(), [cpu_seconds(p) for p in self.processes]

    def __exit__(self, *_: object) -> None:
        wall = time.time() - self.began
        server, worker = (
            cpu_seconds(p) - b for p, b in zip(self.processes, self.before, strict=True)
        )
        self.figures.cpu[self.phase] = (server / wall, worker / wall)


def parse_options(argv: list[str]) -> tuple[Options, float]:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--clients", type=int, default=1000, help="attendees, one token each (default: 1000)")
    add("--seconds", type=float, default=10.0, help="length of the ask and vote phases (10)")
    add("--ask-rate", type=float, default=500.0, help="questions a second offered (500)")
    add("--vote-rate", type=float, default=5000.0, help="votes a second offered (5000)")
    add("--burst", type=float, default=1.0, help="seconds between bursts (1)")
    add("--approvals", type=int, default=21, help="approvals measured, the first not (21)")
    add("--voted", type=int, default=2, help="approved questions the votes go to (2)")
    add("--batch", type=int, default=50, help="clients connecting at once (50)")
    add("--keep", action="store_true", help="keep the temp folder of logs and data")
    add("--time-limit", type=float, default=420.0, help="stop and report after this (420 s)")
    args = parser.parse_args(argv)
    if min(args.clients, args.approvals - 1, args.voted) < 1 or args.seconds <= 0:
        parser.error("--clients, --voted, --seconds must be positive; --approvals at least 2")
    workdir = Path(tempfile.mkdtemp(prefix="questions-bench-"))
    opts = Options(
        args.clients,
        args.seconds,
        args.ask_rate,
        args.vote_rate,
        args.burst,
        args.approvals,
        args.voted,
        args.batch,
        workdir,
    )
    return opts, args.time_limit


def main(argv: list[str]) -> int:
    parser_args = parse_options(argv)
    opts, time_limit = parser_args
    keep = "--keep" in argv
    print(
        f"questions bench: {opts.clients} attendees, {opts.seconds:g} s at {opts.ask_rate:g}"
        f" questions/s and {opts.vote_rate:g} votes/s offered, bursts every {opts.burst:g} s",
        flush=True,
    )
    children, figures = Children(), Figures(opts)
    bench = Bench(opts, children, figures)
    run_and_report(
        bench.run,
        children=children,
        folder=opts.workdir,
        keep=keep,
        report=lambda: report(figures),
        time_limit=time_limit,
    )
    return 0 if figures.nothing_lost() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
