"""Registration bench: sign-ups per second on SQLite under 50 concurrent clients, and no loss.

It starts a real ``plenary serve`` (own temporary data folder, rehearsal clock, so registration
is open, rate limit raised out of the way) and, in another process, N aiohttp clients (one
``ClientSession`` and one keep-alive connection each) that post ``/api/registrations`` as fast
as the server answers. The registrations are split over rounds; each round runs, back to back,

* the same clients against plenary's ``GET /healthz`` (no database work);
* the same clients against a minimal aiohttp app doing one aiosqlite insert and commit per
  request (WAL, ``synchronous=NORMAL``, a unique e-mail key: plenary's store without plenary);
* plenary's registrations: rate of 201s, latency p50/p99/max, server CPU per request, statuses;

so plenary can be read as a ratio to both baselines, of rates and of server CPU per request
(the steadier one when other work shares the machine). In open mode each round then waits
(bounded) until every registration's join-link letter is in DATA/outbox and reports mails/s.
At the end it fires one e-mail address in 50 letter cases from 50 clients at once (exactly one
201 expected, the rest 409), then checks the organizer listing: total equals the 201s, every
returned id listed once, no address twice, every letter marked as written to the outbox; and
it scans the server's log for warnings, errors and tracebacks. All traffic is to 127.0.0.1.

Run from the repository root:

    .venv/bin/python bench/registrations.py                      # open mode, 2000 in 3 rounds
    .venv/bin/python bench/registrations.py --mode approval --count 5000 --rounds 5

The same file is also the load process (``_load``) and the baseline server (``_baseline``).
Exit status 0 when every check holds, 1 when one fails, 2 on a bench error or the time limit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import dataclasses
import functools
import json
import math
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from aiohttp import web

HOST = "127.0.0.1"  # the only address this bench ever talks to
ROOT = Path(__file__).resolve().parent.parent
PLENARY = Path(sys.executable).parent / "plenary"
STARTUP_TIMEOUT = 30.0
REQUEST_TIMEOUT = 30.0
SHUTDOWN_GRACE = 10.0
MAIL_POLL = 0.05
MAIL_SETTLE = 5.0
PAGE = 200
# Baselines answer ten times faster: this many requests a round keeps them long enough to time.
BASELINE_REQUESTS = 1500
# The most the config accepts. Every client is 127.0.0.1: a run posting more than this plus
# what refills (a sixth of it a second) meets 429s, which show as unexpected statuses.
PER_ADDRESS_PER_MINUTE = 10_000
RESULT_LIMIT = 64 * 1024 * 1024  # one JSON line from a load process, every id in it
PR_SET_PDEATHSIG = 1
EMAIL_DOMAIN = "bench.example.org"
DUPLICATE_LOCAL = "duplicate-check"
LOG_LEVEL = re.compile(r"\b(DEBUG|INFO|WARNING|ERROR|CRITICAL)\b")
LOG_STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ")
LOG_VARIABLE = re.compile(r"\b[0-9a-f_]*\d[0-9a-f_]*\b")
LOG_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Timeout)\w*(: .*)?$")
Json = dict[str, Any]


class BenchError(Exception):
    """The bench itself could not run (a process did not start, a phase timed out)."""


# -- child processes --------------------------------------------------------------------------


def _die_with_parent(parent: int) -> None:
    """Runs in the child before exec: it gets SIGTERM when the bench dies, however it dies."""
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        os._exit(1)


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process

    @property
    def pid(self) -> int:
        return self.process.pid

    async def stop(self) -> None:
        """SIGTERM, a grace period, then SIGKILL; safe twice and after the child exited."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), SHUTDOWN_GRACE)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()


async def spawn(stack: contextlib.AsyncExitStack, name: str, *args: str, **pipes: Any) -> Child:
    """A child in its own session (Ctrl-C reaches only the bench, which stops it in order)."""
    process = await asyncio.create_subprocess_exec(
        *args,
        cwd=ROOT,
        start_new_session=True,
        preexec_fn=functools.partial(_die_with_parent, os.getpid()),
        **pipes,
    )
    child = Child(name, process)
    stack.push_async_callback(child.stop)
    return child


async def read_line(child: Child, within: float) -> str:
    assert child.process.stdout is not None
    try:
        line = await asyncio.wait_for(child.process.stdout.readline(), within)
    except TimeoutError:
        raise BenchError(f"{child.name}: no answer within {within:.0f} s") from None
    if not line:
        raise BenchError(f"{child.name} exited {await child.process.wait()} without answering")
    return line.decode().strip()


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


# -- the servers under test -------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A server the load is aimed at: plenary, or the baseline app."""

    url: str
    pid: int

    def load(self, kind: str, count: int, args: argparse.Namespace, prefix: str = "") -> LoadSpec:
        path = "/healthz" if kind == "get" else "/api/registrations"
        return LoadSpec(
            url=self.url + path,
            health_url=self.url + "/healthz",
            kind=kind,
            count=count,
            concurrency=args.concurrency,
            prefix=prefix,
            seconds=args.phase_seconds,
        )


@dataclass(frozen=True)
class Plenary:
    child: Child
    url: str
    data: Path
    config: Path
    log: Path
    token: str

    @property
    def outbox(self) -> Path:
        return self.data / "outbox"

    @property
    def target(self) -> Target:
        return Target(self.url, self.child.pid)


def plenary_config(folder: Path, mode: str, per_minute: int) -> Path:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.serverproc import event_config  # the bundled agenda with another mode and limit

    return event_config(folder, mode=mode, per_minute=per_minute)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


async def start_plenary(
    stack: contextlib.AsyncExitStack, folder: Path, mode: str, per_minute: int
) -> Plenary:
    config, data, port = plenary_config(folder, mode, per_minute), folder / "data", free_port()
    log = folder / "plenary.log"
    common = ("--config", str(config), "--data", str(data))
    serve = ("serve", *common, "--port", str(port), "--ice-address", HOST, "--rehearse")
    with log.open("ab") as out:  # the child keeps its own descriptor
        child = await spawn(stack, "plenary", str(PLENARY), *serve, stdout=out, stderr=out)
    url = f"http://{HOST}:{port}"
    await wait_healthy(child, url, log)
    issue = ("token", "issue", *common, "--role", "organizer", "--name", "Registration bench")
    token = await run_command(stack, str(PLENARY), *issue, "--ttl", "1h")
    plenary = Plenary(child, url, data, config, log, token)
    await check_mode(plenary, mode)
    return plenary


async def wait_healthy(child: Child, url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1)) as session:
        while time.monotonic() < deadline:
            if child.process.returncode is not None:
                raise BenchError(f"plenary serve exited; its log is {log}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise BenchError(f"plenary serve not healthy in {STARTUP_TIMEOUT:.0f} s; see {log}")


async def run_command(stack: contextlib.AsyncExitStack, *args: str) -> str:
    child = await spawn(stack, args[1], *args, stdout=asyncio.subprocess.PIPE)
    output = await read_line(child, STARTUP_TIMEOUT)
    if await child.process.wait() != 0:
        raise BenchError(f"{' '.join(args[1:3])} failed")
    return output


async def check_mode(plenary: Plenary, mode: str) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{plenary.url}/api/registrations/policy") as response,
    ):
        found = (await response.json())["mode"]
    if found != mode:
        raise BenchError(f"registration is {found!r}, not {mode!r}: did config.toml change?")


async def start_baseline(stack: contextlib.AsyncExitStack, folder: Path) -> Target:
    port = free_port()
    args = ("_baseline", "--port", str(port), "--folder", str(folder))
    child = await spawn(
        stack, "baseline", sys.executable, __file__, *args, stdout=asyncio.subprocess.PIPE
    )
    if await read_line(child, STARTUP_TIMEOUT) != "ready":
        raise BenchError("the baseline server did not start")
    return Target(f"http://{HOST}:{port}", child.pid)


# -- the baseline server: a minimal aiohttp app, one aiosqlite insert per request ---------------


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


# -- the load process: N clients, each its own session and keep-alive connection ---------------


@dataclass(frozen=True)
class LoadSpec:
    url: str  # whole URL of the request under load
    health_url: str  # each client opens its connection here before the clock starts
    kind: str  # "register", "get", or "duplicate" (one address, every client once, at once)
    count: int
    concurrency: int
    prefix: str = ""
    seconds: float = 60.0  # no new request after this; the phase then reports fewer


def form(spec: LoadSpec, index: int) -> Json:
    if spec.kind == "duplicate":
        email = letter_case_variant(f"{spec.prefix}@{EMAIL_DOMAIN}", index)
    else:
        email = f"{spec.prefix}{index}@{EMAIL_DOMAIN}"
    name = f"Bench Registrant {spec.prefix}{index}"
    return {"name": name, "email": email, "affiliation": "Registration bench", "consent": True}


def letter_case_variant(address: str, variant: int) -> str:
    """Variant k upper-cases the letters picked by k's bits: distinct while k < 2**letters."""
    out, bit = [], 0
    for char in address:
        if char.isalpha():
            out.append(char.upper() if variant >> bit & 1 else char)
            bit += 1
        else:
            out.append(char)
    return "".join(out)


Sample = tuple[float, str, str | None]  # latency in seconds, status (or exception), id


async def one_request(session: aiohttp.ClientSession, spec: LoadSpec, index: int) -> Sample:
    started = time.perf_counter()
    try:
        if spec.kind == "get":
            async with session.get(spec.url) as response:
                await response.read()
                return time.perf_counter() - started, str(response.status), None
        async with session.post(spec.url, json=form(spec, index)) as response:
            body = await response.read()
            created = response.status == 201
            ident = json.loads(body)["id"] if created else None
            return time.perf_counter() - started, str(response.status), ident
    except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as error:
        return time.perf_counter() - started, type(error).__name__, None


async def client(
    session: aiohttp.ClientSession, spec: LoadSpec, indices: Iterator[int], out: list[Sample]
) -> None:
    deadline = time.monotonic() + spec.seconds
    for index in indices:  # shared by every client: each index is taken once
        out.append(await one_request(session, spec, index))
        if time.monotonic() > deadline:
            return


async def _load(spec: LoadSpec) -> Json:
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    sessions = [
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1), timeout=timeout)
        for _ in range(spec.concurrency)
    ]
    try:
        await asyncio.gather(*(warm(session, spec.health_url) for session in sessions))
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)  # "go": the bench samples CPU first
        return await drive(spec, sessions)
    finally:
        await asyncio.gather(*(session.close() for session in sessions))


async def warm(session: aiohttp.ClientSession, url: str) -> None:
    async with session.get(url) as response:
        await response.read()


async def drive(spec: LoadSpec, sessions: list[aiohttp.ClientSession]) -> Json:
    samples: list[Sample] = []
    cpu, wall, started = time.process_time(), time.time(), time.perf_counter()
    if spec.kind == "duplicate":
        requests = (one_request(session, spec, k) for k, session in enumerate(sessions))
        samples = list(await asyncio.gather(*requests))
    else:
        indices = iter(range(spec.count))
        await asyncio.gather(*(client(session, spec, indices, samples) for session in sessions))
    elapsed = time.perf_counter() - started
    latencies = sorted(latency for latency, _, _ in samples)
    return {
        "requests": len(samples),
        "elapsed": elapsed,
        "statuses": dict(Counter(status for _, status, _ in samples)),
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": (latencies[-1] if latencies else math.nan) * 1000,
        "ids": [ident for _, _, ident in samples if ident is not None],
        "started_wall": wall,
        "ended_wall": time.time(),
        "client_cpu_s": time.process_time() - cpu,
    }


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """Nearest rank: the smallest sample with at least ``fraction`` of them at or below it."""
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


# -- phases -----------------------------------------------------------------------------------


@dataclass
class Phase:
    label: str
    requests: int
    elapsed: float
    statuses: Counter[str]
    p50_ms: float
    p99_ms: float
    max_ms: float
    ids: list[str]
    started_wall: float
    ended_wall: float
    client_cpu_s: float
    server_cpu_s: float
    expected: str  # the status that counts as success
    planned: int

    @property
    def ok(self) -> int:
        return self.statuses.get(self.expected, 0)

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def server_cpu_ms(self) -> float:
        """Server CPU per request answered."""
        return 1000 * self.server_cpu_s / max(self.requests, 1)

    @property
    def unexpected(self) -> Counter[str]:
        return Counter({s: n for s, n in self.statuses.items() if s != self.expected})


async def run_phase(label: str, spec: LoadSpec, server_pid: int) -> Phase:
    async with contextlib.AsyncExitStack() as own:  # the load process ends with its phase
        args = (sys.executable, __file__, "_load", json.dumps(dataclasses.asdict(spec)))
        pipes = {"stdin": asyncio.subprocess.PIPE, "stdout": asyncio.subprocess.PIPE}
        child = await spawn(own, f"load ({label})", *args, **pipes, limit=RESULT_LIMIT)
        if await read_line(child, STARTUP_TIMEOUT) != "ready":
            raise BenchError(f"the load process for {label} did not start")
        before = cpu_seconds(server_pid)
        assert child.process.stdin is not None
        child.process.stdin.write(b"go\n")
        await child.process.stdin.drain()
        result = json.loads(await read_line(child, spec.seconds + REQUEST_TIMEOUT + 10))
        server_cpu = cpu_seconds(server_pid) - before
    expected = "201" if spec.kind == "register" else "200"
    return Phase(
        label=label,
        requests=result["requests"],
        elapsed=result["elapsed"],
        statuses=Counter(result["statuses"]),
        p50_ms=result["p50_ms"],
        p99_ms=result["p99_ms"],
        max_ms=result["max_ms"],
        ids=result["ids"],
        started_wall=result["started_wall"],
        ended_wall=result["ended_wall"],
        client_cpu_s=result["client_cpu_s"],
        server_cpu_s=server_cpu,
        expected=expected,
        planned=spec.count,
    )


def outbox_times(folder: Path) -> list[float]:
    if not folder.is_dir():
        return []
    with os.scandir(folder) as entries:
        return sorted(entry.stat().st_mtime for entry in entries if entry.name.endswith(".eml"))


async def wait_for_mail(folder: Path, expected: int, within: float) -> list[float]:
    """The outbox's file times once it holds ``expected`` letters, or whatever it has by then."""
    deadline = time.monotonic() + within
    # Another process writes the folder: polling is the only way to see it.
    while len(times := outbox_times(folder)) < expected and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(MAIL_POLL)
    return times


@dataclass(frozen=True)
class MailRound:
    expected: int
    written: int
    during: int  # letters written while the round's registrations were still arriving
    load_seconds: float  # the round's first request to its last answer
    drain_seconds: float  # the round's last answer to its last letter

    @property
    def rate(self) -> float:
        return self.written / max(self.load_seconds + self.drain_seconds, 1e-9)

    @property
    def rate_during(self) -> float:
        return self.during / max(self.load_seconds, 1e-9)

    @property
    def rate_after(self) -> float:
        return (self.written - self.during) / max(self.drain_seconds, 1e-9)


def mail_round(times: list[float], already: int, phase: Phase) -> MailRound:
    mine = times[already:]
    during = sum(moment <= phase.ended_wall for moment in mine)
    load_seconds = phase.ended_wall - phase.started_wall
    drain = max(mine[-1] - phase.ended_wall, 0.0) if mine else math.nan
    return MailRound(phase.ok, len(mine), during, load_seconds, drain)


# -- the organizer's view ---------------------------------------------------------------------


@dataclass
class Listing:
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    rows: list[Json] = field(default_factory=list)


async def fetch_listing(plenary: Plenary, query: str = "") -> Listing:
    headers = {"Authorization": f"Bearer {plenary.token}"}
    listing = Listing()
    async with aiohttp.ClientSession(headers=headers) as session:
        while True:
            params = {"limit": str(PAGE), "offset": str(len(listing.rows)), "q": query}
            async with session.get(f"{plenary.url}/api/registrations", params=params) as answer:
                if answer.status != 200:
                    raise BenchError(f"the listing answered {answer.status}: {await answer.text()}")
                page = await answer.json()
            listing.total, listing.counts = page["total"], page["counts"]
            listing.rows.extend(page["registrations"])
            if not page["registrations"] or len(listing.rows) >= listing.total:
                return listing


async def settled_listing(plenary: Plenary, open_mode: bool) -> Listing:
    """In open mode the mail status is set just after the letter is written: allow a moment."""
    deadline = time.monotonic() + MAIL_SETTLE
    while True:
        listing = await fetch_listing(plenary)
        unsent = sum(row["mail"] != "outbox" for row in listing.rows)
        if not open_mode or not unsent or time.monotonic() > deadline:
            return listing
        await asyncio.sleep(0.2)


# -- checks and the report --------------------------------------------------------------------


@dataclass
class Checks:
    results: list[tuple[bool, str]] = field(default_factory=list)

    def add(self, passed: bool, text: str) -> None:
        self.results.append((passed, text))

    @property
    def passed(self) -> bool:
        return all(passed for passed, _ in self.results)

    def lines(self) -> list[str]:
        return [f"  {'ok  ' if passed else 'FAIL'}  {text}" for passed, text in self.results]


def check_listing(
    checks: Checks, listing: Listing, created: list[str], mode: str, outbox: int
) -> None:
    listed = [row["id"] for row in listing.rows]
    keys = Counter(row["email"].casefold() for row in listing.rows)
    checks.add(
        listing.total == len(created) == len(listed),
        f"listing total {listing.total} (rows read {len(listed)}) == 201s {len(created)}",
    )
    missing = set(created) - set(listed)
    checks.add(not missing, f"every returned id listed ({len(missing)} missing)")
    checks.add(not set(listed) - set(created), "no listed id that no 201 returned")
    checks.add(len(set(created)) == len(created), "no id returned twice")
    checks.add(len(set(listed)) == len(listed), "no id listed twice")
    twice = sum(n > 1 for n in keys.values())
    checks.add(not twice, f"no e-mail address registered twice, in any case ({twice})")
    status = "approved" if mode == "open" else "pending"
    checks.add(
        listing.counts.get(status) == listing.total,
        f"counts: {status} {listing.counts.get(status)} of {listing.total}",
    )
    if mode == "open":
        marked = sum(row["mail"] == "outbox" for row in listing.rows)
        checks.add(outbox == len(created), f"outbox letters {outbox} == registrations")
        checks.add(marked == len(created), f"mail marked 'outbox' on {marked} registrations")


def check_duplicate(checks: Checks, phase: Phase, found: Listing, concurrency: int) -> None:
    statuses = dict(sorted(phase.statuses.items()))
    checks.add(
        phase.statuses == Counter({"201": 1, "409": concurrency - 1}),
        f"one address in {concurrency} letter cases at once: {statuses} (one 201, rest 409)",
    )
    checks.add(found.total == 1, f"the listing finds that address {found.total} time(s)")


@dataclass(frozen=True)
class LogSummary:
    levels: Counter[str]
    tracebacks: int
    mails: int
    notable: list[tuple[str, int]]


def scan_log(text: str) -> LogSummary:
    levels: Counter[str] = Counter()
    notable: Counter[str] = Counter()
    for line in text.splitlines():
        level = LOG_LEVEL.search(line) if LOG_STAMP.match(line) else None
        if level:
            levels[level[1]] += 1
        if (level and level[1] in ("WARNING", "ERROR", "CRITICAL")) or LOG_EXCEPTION.match(line):
            notable[LOG_VARIABLE.sub("#", LOG_STAMP.sub("", line))[:160]] += 1
    return LogSummary(
        levels=levels,
        tracebacks=text.count("Traceback (most recent call last)"),
        mails=text.count("mail written to"),
        notable=notable.most_common(6),
    )


def summary_row(label: str, phases: list[Phase]) -> str:
    if not phases:
        return f"{label:<38} not measured"
    rates = [phase.rate for phase in phases]
    requests = sum(phase.requests for phase in phases)
    server_ms = 1000 * sum(phase.server_cpu_s for phase in phases) / max(requests, 1)
    client = statistics.median(phase.client_cpu_s / phase.elapsed for phase in phases)
    statuses: Counter[str] = sum((phase.statuses for phase in phases), Counter())
    shown = " ".join(f"{status}x{n}" for status, n in sorted(statuses.items()))
    spread = f"({min(rates):.0f}-{max(rates):.0f})"
    return (
        f"{label:<38} {statistics.median(rates):>7.0f} {spread:>13} "
        f"{statistics.median(p.p50_ms for p in phases):>7.1f} "
        f"{statistics.median(p.p99_ms for p in phases):>7.1f} "
        f"{max(p.max_ms for p in phases):>7.0f} {server_ms:>8.2f} {client:>7.0%}   {shown}"
    )


@dataclass
class Run:
    args: argparse.Namespace
    plenary: list[Phase] = field(default_factory=list)
    health: list[Phase] = field(default_factory=list)
    insert: list[Phase] = field(default_factory=list)
    mail: list[MailRound] = field(default_factory=list)
    checks: Checks = field(default_factory=Checks)
    log: LogSummary | None = None
    load_average: list[float] = field(default_factory=list)  # 1-minute, at start and end


def report(run: Run) -> str:
    args = run.args
    header = (
        f"{'phase':<38} {'per s':>7} {'(min-max)':>13} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'srv ms':>8} {'client':>7}   statuses"
    )
    lines = [
        "",
        f"registration bench: mode={args.mode}, {args.count} registrations in {args.rounds}"
        f" round(s), {args.concurrency} concurrent clients",
        machine_line(run.load_average),
        "",
        header,
        "-" * len(header),
        summary_row("plenary POST /api/registrations", run.plenary),
        summary_row("plenary GET /healthz (no database)", run.health),
        summary_row("aiohttp + one aiosqlite insert", run.insert),
        "",
        "  per s: 201s (200s) per second, median of rounds; p50/p99: medians of rounds;",
        "  srv ms: server CPU ms per request; client: load process CPU, share of one core",
        "",
        "plenary registrations against the baselines, median of per-round ratios:",
        f"{'':<26}{'rate ratio':>12}{'server CPU per request':>26}",
        *(
            f"  {label:<24}{ratio(run.plenary, phases):>12.3f}{cost(run.plenary, phases):>22.1f} x"
            for label, phases in (
                ("GET /healthz", run.health),
                ("one aiosqlite insert", run.insert),
            )
        ),
    ]
    if run.mail:
        lines += ["", *mail_lines(run.mail)]
    lines += ["", "checks:", *run.checks.lines()]
    if run.log is not None:
        lines += ["", *log_lines(run.log)]
    return "\n".join(lines)


def machine_line(load_average: list[float]) -> str:
    cores = os.cpu_count() or 1
    loads = " then ".join(f"{load:.1f}" for load in load_average)
    busy = max(load_average, default=0.0) > cores
    note = " (busy: other work shared the cores; the CPU ratios hold better than rates)"
    return f"machine: {cores} cores, load average {loads} at start and end{note if busy else ''}"


def mail_lines(rounds: list[MailRound]) -> list[str]:
    def spread(values: list[float]) -> str:
        return f"{statistics.median(values):.0f} ({min(values):.0f}-{max(values):.0f})"

    written, expected = sum(m.written for m in rounds), sum(m.expected for m in rounds)
    return [
        f"join-link mail (open mode): {written} of {expected} letters of the measured rounds"
        " in the outbox; per round, median (min-max):",
        f"  mails/s {spread([m.rate for m in rounds])}, from the first request to the last letter",
        f"  mails/s while registrations arrive {spread([m.rate_during for m in rounds])},"
        f" after {spread([m.rate_after for m in rounds])}",
        f"  last letter {statistics.median(m.drain_seconds for m in rounds):.1f} s after"
        f" the last 201 (max {max(m.drain_seconds for m in rounds):.1f} s)",
    ]


def ratio(plenary: list[Phase], baseline: list[Phase]) -> float:
    pairs = [p.rate / b.rate for p, b in zip(plenary, baseline, strict=False) if b.rate]
    return statistics.median(pairs) if pairs else math.nan


def cost(plenary: list[Phase], baseline: list[Phase]) -> float:
    """How many times the baseline's server CPU a registration takes: steadier than rates when
    other work shares the machine, since time spent waiting for a core is not counted."""
    pairs = [
        p.server_cpu_ms / b.server_cpu_ms
        for p, b in zip(plenary, baseline, strict=False)
        if b.server_cpu_ms
    ]
    return statistics.median(pairs) if pairs else math.nan


def log_lines(log: LogSummary) -> list[str]:
    levels = ", ".join(f"{level} {n}" for level, n in sorted(log.levels.items()))
    lines = [f"server log: {levels or 'empty'}; traceback blocks {log.tracebacks}"]
    lines += [f"  {n:>5} x {line}" for line, n in log.notable]
    return lines


# -- the run ----------------------------------------------------------------------------------


async def bench(run: Run, folder: Path) -> None:
    """Fills ``run`` as it goes, so a run stopped early still reports what it measured."""
    args = run.args
    async with contextlib.AsyncExitStack() as stack:
        plenary = await start_plenary(stack, folder, args.mode, PER_ADDRESS_PER_MINUTE)
        baseline = await start_baseline(stack, folder)
        created = await warm_up(run, plenary, baseline)
        created += await measure(run, plenary, baseline, len(created))
        created += await duplicate_check(run, plenary)
        await verify(run, plenary, created)
    run.log = scan_log(plenary.log.read_text(errors="replace"))
    clean = not run.log.levels["ERROR"] and not run.log.tracebacks
    run.checks.add(clean, "no error or traceback in the server log")
    if args.mode == "open":
        run.checks.add(run.log.mails == len(created), f"server logged {run.log.mails} letters")


async def warm_up(run: Run, plenary: Plenary, baseline: Target) -> list[str]:
    """Pools, caches and the page cache filled before the clock starts; the ids still count."""
    args = run.args
    warm = await run_phase(
        "warm-up", plenary.target.load("register", args.warmup, args, "w-"), plenary.child.pid
    )
    await run_phase("warm-up", baseline.load("register", args.warmup, args, "w-"), baseline.pid)
    await wait_for_mail(plenary.outbox, mail_expected(args, len(warm.ids)), args.mail_timeout)
    return list(warm.ids)


async def measure(run: Run, plenary: Plenary, baseline: Target, before: int) -> list[str]:
    """Rounds of plenary's /healthz, the aiosqlite app, then plenary's registrations, each
    right after its baselines (other work on the machine drifts); mail drained before the next."""
    args, created = run.args, []
    for number, count in enumerate(split(args.count, args.rounds)):
        prefix = f"r{number}-"
        requests = max(count, BASELINE_REQUESTS)
        health = plenary.target.load("get", requests, args)
        run.health.append(await run_phase("healthz", health, plenary.child.pid))
        insert = baseline.load("register", requests, args, prefix)
        run.insert.append(await run_phase("aiosqlite", insert, baseline.pid))
        load = plenary.target.load("register", count, args, prefix)
        phase = await run_phase("plenary", load, plenary.child.pid)
        run.plenary.append(phase)
        created += phase.ids
        if args.mode == "open":
            expected = before + len(created)
            times = await wait_for_mail(plenary.outbox, expected, args.mail_timeout)
            run.mail.append(mail_round(times, expected - phase.ok, phase))
    check_phases(run.checks, "plenary registrations", run.plenary)
    check_phases(run.checks, "plenary /healthz", run.health)
    check_phases(run.checks, "aiosqlite baseline", run.insert)
    return created


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if part < total % parts else 0) for part in range(parts)]


def check_phases(checks: Checks, label: str, phases: list[Phase]) -> None:
    answered = sum(phase.requests for phase in phases)
    planned = sum(phase.planned for phase in phases)
    wrong: Counter[str] = sum((phase.unexpected for phase in phases), Counter())
    shown = dict(sorted(wrong.items())) or "none"
    checks.add(
        not wrong and answered == planned,
        f"{label}: {answered} of {planned} requests answered, unexpected statuses {shown}",
    )


async def duplicate_check(run: Run, plenary: Plenary) -> list[str]:
    load = plenary.target.load("duplicate", run.args.concurrency, run.args, DUPLICATE_LOCAL)
    phase = await run_phase("duplicate", load, plenary.child.pid)
    found = await fetch_listing(plenary, f"{DUPLICATE_LOCAL}@")
    check_duplicate(run.checks, phase, found, run.args.concurrency)
    return phase.ids


async def verify(run: Run, plenary: Plenary, created: list[str]) -> None:
    args = run.args
    letters = await wait_for_mail(
        plenary.outbox, mail_expected(args, len(created)), args.mail_timeout
    )
    listing = await settled_listing(plenary, args.mode == "open")
    check_listing(run.checks, listing, created, args.mode, len(letters))


def mail_expected(args: argparse.Namespace, registrations: int) -> int:
    return registrations if args.mode == "open" else 0


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0] if __doc__ else None)
    parser.add_argument(
        "--count", type=int, default=2000, help="registrations measured, split over the rounds"
    )
    parser.add_argument("--concurrency", type=int, default=50, help="concurrent clients")
    parser.add_argument("--mode", choices=("open", "approval"), default="open")
    parser.add_argument("--rounds", type=int, default=3, help="plenary + baselines, alternated")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured registrations first")
    parser.add_argument("--phase-seconds", type=float, default=60.0, help="cap on one phase")
    parser.add_argument("--mail-timeout", type=float, default=60.0, help="wait for the outbox")
    parser.add_argument("--time-limit", type=float, default=240.0, help="the whole run, seconds")
    parser.add_argument("--keep", action="store_true", help="keep the data folder and log")
    args = parser.parse_args(argv)
    if min(args.count, args.concurrency, args.rounds, args.warmup) < 1:
        parser.error("--count, --concurrency, --rounds and --warmup must be at least 1")
    if args.count < args.rounds:
        parser.error("--count must be at least --rounds")
    return args


async def main_async(run: Run, folder: Path) -> int:
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    limit = run.args.time_limit
    run.load_average.append(os.getloadavg()[0])
    try:
        async with asyncio.timeout(limit):
            await bench(run, folder)
        run.load_average.append(os.getloadavg()[0])
    except TimeoutError:
        run.checks.add(False, f"the run ended within --time-limit {limit:.0f} s: it did not")
        print(report(run))
        return 2
    except BenchError as error:
        print(f"\nbench error: {error}")
        return 2
    print(report(run))
    return 0 if run.checks.passed else 1


def main(argv: Sequence[str]) -> int:
    if argv[:1] == ["_load"]:
        print(json.dumps(asyncio.run(_load(LoadSpec(**json.loads(argv[1]))))), flush=True)
        return 0
    if argv[:1] == ["_baseline"]:
        role = argparse.ArgumentParser()
        role.add_argument("--port", type=int, required=True)
        role.add_argument("--folder", type=Path, required=True)
        options = role.parse_args(argv[1:])
        asyncio.run(_baseline(options.port, options.folder))
        return 0
    run = Run(parse_args(argv))
    folder = Path(tempfile.mkdtemp(prefix="plenary-bench-registrations-"))
    status = 2
    try:
        status = asyncio.run(main_async(run, folder))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print(report(run) if run.plenary else "")
        print("\ninterrupted; every process it started is stopped")
        status = 130
    finally:
        if run.args.keep or status in (1, 2):
            print(f"data folder and server log kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
