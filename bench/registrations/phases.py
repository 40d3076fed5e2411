"""One measured phase of the registration bench, and the join-link letters that follow it."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.common.children import STARTUP_TIMEOUT, BenchError, Children, python_module
from bench.common.harness import cpu_seconds
from bench.registrations.load import REQUEST_TIMEOUT, LoadSpec

MAIL_POLL = 0.05
SHUTDOWN_GRACE = 10.0


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
    argv = python_module("bench.registrations.load", json.dumps(dataclasses.asdict(spec)))
    own = Children()  # the load process ends with its phase
    child = own.start(f"load ({label})", argv, None, pipes=True)
    try:
        if await child.read_line(STARTUP_TIMEOUT) != "ready":
            raise BenchError(f"the load process for {label} did not start")
        before = cpu_seconds(psutil.Process(server_pid))
        child.send("go")
        result = json.loads(await child.read_line(spec.seconds + REQUEST_TIMEOUT + 10))
        server_cpu = cpu_seconds(psutil.Process(server_pid)) - before
    finally:
        own.stop_all(SHUTDOWN_GRACE)
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
