"""The registration bench's report: rates, latencies, ratios to the baselines, mail, checks, log."""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field

from bench.registrations.checks import Checks
from bench.registrations.phases import MailRound, Phase

LOG_LEVEL = re.compile(r"\b(DEBUG|INFO|WARNING|ERROR|CRITICAL)\b")
LOG_STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ")
LOG_VARIABLE = re.compile(r"\b[0-9a-f_]*\d[0-9a-f_]*\b")
LOG_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Timeout)\w*(: .*)?$")


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
