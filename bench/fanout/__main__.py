"""Media fan-out bench: one WHIP publisher, or a stage of three, N WHEP viewers, the relay on
one core.

The publisher sends about 1 Mbps of VP8 (640x360, 30 fps) and Opus, paced at 2.5 times its
bitrate as browsers pace (``--pacing``). The frames are encoded once at start-up (a moving test
pattern, a tone with noise) and looped as ``av.Packet``, which aiortc's sender packetises
without encoding. The viewers are aiortc peer connections that never decode: their RTP is taken
off the socket (all viewers' sockets read from one epoll) and counted. The publisher runs in a
process of its own, as an encoder or a browser is a machine of its own; the viewers share
another. (On the viewers' event loop, at 200 viewers, the publisher's pacing slipped: about a
fifth of its video packets left early, in bursts the relay then had to queue.) A packet's send
time (taken when the publisher hands it to SRTP, and written to a ring the viewers' process
reads: ring.py) and its receive time (the kernel's stamp of its arrival on the viewer's
socket, so the client's own backlog is not counted) come from one clock, CLOCK_MONOTONIC. They
are matched on the RTP sequence number through the relay's renumbering, learnt and checked on
a key of the payload of every 16th packet, decrypted (see tap.py).

A direct aiortc-to-aiortc pair (no server) runs all along, from the publisher's process to the
viewers': its delay is what loopback, the two processes and the two aiortc stacks cost, and
the relay's added delay is the relay path minus that. Then the baseline: aiortc's
``MediaRelay`` in a small server (baseline.py), which decodes the publisher once and encodes for
each viewer. Its frames are matched on RTP timestamps (see ``keep_publisher_timestamps``).

After the single source, unless ``--modes`` leaves it out, the same ladder again on a plenary
whose stream health (issue 16) is switched off (``unmeasured``: unmeasured.py): what measuring
every packet costs the relay per forwarded packet. Then the stage of issue 14 (stage.py): a hall
and two panelists publishing into one room, stage-aware viewers of every slot, then plain
players of the programme and its mix (stage_viewers.py, stage_tap.py, stage_report.py).

    .venv/bin/python -m bench.fanout               # single and unmeasured 10-200; stage 50,
                                                   # 200; baseline 3
    .venv/bin/python -m bench.fanout --modes single,unmeasured --viewers 200
    .venv/bin/python -m bench.fanout --viewers 50 --baseline-viewers 3 --window 5
    .venv/bin/python -m bench.fanout --modes stage --stage-viewers 200

The servers run on one core (``--server-core``), publishers, viewers and the bench itself on
another (``--client-core``). Everything talks to 127.0.0.1 only. The client processes
(``bench.fanout.client``: the viewers', and each publisher's) and the baseline server
(``bench.fanout.baseline``) run as modules of their own; bench.py runs the steps and
report.py prints the tables.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from bench.common.harness import (
    raise_fd_limit,
)
from bench.common.run import run_and_report
from bench.fanout.bench import MODES, PLAIN, STAGE_LADDER, TAPPED, Bench, Options
from bench.fanout.report import report, report_details, report_health_cost
from bench.fanout.stage_report import report_stage

PROG = "python -m bench.fanout"
DEFAULT_LADDER = (10, 50, 100, 200)
DEFAULT_BASELINE = 3


# -- command line -----------------------------------------------------------------------------


def parse_options(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", default=",".join(map(str, DEFAULT_LADDER)))
    parser.add_argument("--baseline-viewers", type=int, default=DEFAULT_BASELINE)
    parser.add_argument(
        "--modes",
        default=",".join(MODES),
        help="which phases run, in this order: single (one publisher), stage, baseline",
    )
    parser.add_argument(
        "--stage-viewers",
        default=",".join(map(str, STAGE_LADDER)),
        help="the stage's ladder of stage-aware viewers",
    )
    parser.add_argument(
        "--tapped",
        type=int,
        default=TAPPED,
        help="stage-aware viewers measured at the top step (spread; the others only counted)",
    )
    parser.add_argument("--plain", type=int, default=PLAIN, help="plain players of the programme")
    parser.add_argument("--window", type=float, default=10.0, help="seconds measured per step")
    parser.add_argument("--batch", type=int, default=10, help="viewers connecting at once")
    parser.add_argument("--loop-seconds", type=int, default=2, help="length of the media loop")
    parser.add_argument(
        "--pacing",
        type=float,
        default=2.5,
        help="the publisher paces at this multiple of its bitrate, as browsers do (0: bursts)",
    )
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=600.0)
    parser.add_argument(
        "--nice", type=int, default=0, help="niceness of servers and client (-10: less noise)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs)")
    args = parser.parse_args(argv)
    ladder = _ladder(args.viewers)
    modes = tuple(mode for mode in MODES if mode in args.modes.split(","))
    if {args.server_core, args.client_core} - os.sched_getaffinity(0):
        parser.error(f"cores available here: {sorted(os.sched_getaffinity(0))}")
    if not modes or set(args.modes.split(",")) - set(MODES):
        parser.error(f"--modes: some of {', '.join(MODES)}")
    if args.tapped < 1:
        parser.error("--tapped: at least 1")
    if args.plain < 2:
        parser.error("--plain: at least 2 (the mix's cost is worked out from 1 and from N)")
    return Options(
        ladder, args.baseline_viewers, args.window, args.batch, args.loop_seconds, args.pacing,
        args.server_core, args.client_core, args.time_limit, args.nice, args.keep,
        modes, _ladder(args.stage_viewers), args.tapped, args.plain,
    )  # fmt: skip


def _ladder(text: str) -> tuple[int, ...]:
    return tuple(sorted({int(n) for n in text.split(",") if n.strip()}))


def main(argv: list[str]) -> int:
    opts = parse_options(argv)
    raise_fd_limit()
    # The bench itself reads /proc and answers its children around each window: on the client
    # core, never taking the server's from it.
    os.sched_setaffinity(0, {opts.client_core})
    folder = Path(tempfile.mkdtemp(prefix="fanout-"))
    bench = Bench(opts, folder)

    def report_and_keep() -> None:
        rows = report(bench)
        report_health_cost(rows)
        report_stage(bench, rows)
        report_details(bench, rows)
        if opts.keep:
            raw = {
                phase.name: {
                    "steps": [vars(step) for step in phase.steps],
                    "notes": phase.notes,
                    "extra": {key: value for key, value in phase.extra.items() if key != "parent"},
                }
                for phase in bench.phases
            }
            (folder / "steps.json").write_text(json.dumps(raw, indent=1))

    run_and_report(
        bench.run,
        children=bench.children,
        folder=folder,
        keep=opts.keep,
        report=report_and_keep,
        time_limit=opts.time_limit,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
