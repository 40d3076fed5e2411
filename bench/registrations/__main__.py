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

    .venv/bin/python -m bench.registrations                      # open mode, 2000 in 3 rounds
    .venv/bin/python -m bench.registrations --mode approval --count 5000 --rounds 5

The load processes (``bench.registrations.load``) and the baseline server
(``bench.registrations.baseline``) run as modules of their own.
Exit status 0 when every check holds, 1 when one fails, 2 on a bench error or the time limit.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.common.children import BenchError, Children
from bench.registrations.checks import (
    check_duplicate,
    check_listing,
    check_phases,
    fetch_listing,
    settled_listing,
)
from bench.registrations.phases import SHUTDOWN_GRACE, mail_round, run_phase, wait_for_mail
from bench.registrations.report import Run, report, scan_log
from bench.registrations.servers import Plenary, Target, start_baseline, start_plenary

PROG = "python -m bench.registrations"

# Baselines answer ten times faster: this many requests a round keeps them long enough to time.
BASELINE_REQUESTS = 1500
# The most the config accepts. Every client is 127.0.0.1: a run posting more than this plus
# what refills (a sixth of it a second) meets 429s, which show as unexpected statuses.
PER_ADDRESS_PER_MINUTE = 10_000
DUPLICATE_LOCAL = "duplicate-check"


# -- the run ----------------------------------------------------------------------------------


async def bench(run: Run, folder: Path) -> None:
    """Fills ``run`` as it goes, so a run stopped early still reports what it measured."""
    args = run.args
    children = Children()
    try:
        plenary = await start_plenary(children, folder, args.mode, PER_ADDRESS_PER_MINUTE)
        baseline = await start_baseline(children, folder)
        created = await warm_up(run, plenary, baseline)
        created += await measure(run, plenary, baseline, len(created))
        created += await duplicate_check(run, plenary)
        await verify(run, plenary, created)
    finally:
        children.stop_all(SHUTDOWN_GRACE)
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
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__.partition("\n")[0] if __doc__ else None
    )
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
