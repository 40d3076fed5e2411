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

    .venv/bin/python -m bench.status                  # ladder 100, 500, 1000
    .venv/bin/python -m bench.status --clients 1000 --rounds 30

The client workers (``bench.status.clients``) and the baseline server (``bench.status.baseline``)
run as modules of their own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common.children import Children
from bench.common.harness import (
    ROOT,
    raise_fd_limit,
)
from bench.status.agenda import mirror_offsets
from bench.status.clients import FD_HEADROOM
from bench.status.figures import Options, Trial
from bench.status.report import progress, report
from bench.status.servers import Baseline, Plenary

PROG = "python -m bench.status"
DEFAULT_LADDER = (100, 500, 1000)


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


async def run(opts: Options, results: list[tuple[Trial, Trial]]) -> None:
    raise_fd_limit(2 * max(opts.ladder) + FD_HEADROOM, warn=True)
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
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
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
