"""Process plumbing the benches share: the children they start, and how those end.

Every child runs through a small launcher that, before the exec, asks for SIGTERM when the
bench dies (``PR_SET_PDEATHSIG``), however it dies, and may pin the child to one core and set
its niceness. Each child has a session of its own, so that Ctrl-C reaches only the bench, which
then stops them in order. Everything talks to 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

HOST = "127.0.0.1"  # the only address the benches ever talk to
ROOT = Path(__file__).resolve().parent.parent.parent
PLENARY = Path(sys.executable).parent / "plenary"
STARTUP_TIMEOUT = 30.0
# Run before the exec: get SIGTERM when the bench dies, however it dies; then, if asked, pin to
# one core (argv[1], empty: any core) and set the niceness (argv[2]).
LAUNCHER = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None).prctl(1, signal.SIGTERM)\n"
    "if sys.argv[1]:\n"
    "    os.sched_setaffinity(0, {int(sys.argv[1])})\n"
    "os.nice(int(sys.argv[2]))\n"
    "if os.getppid() != int(sys.argv[3]):\n"
    "    sys.exit(1)\n"
    "os.execv(sys.argv[4], sys.argv[4:])\n"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def raise_fd_limit(wanted: int = 8192, warn: bool = False) -> int:
    """Raises the soft limit on open files towards ``wanted``; children inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    if warn and soft < wanted:
        print(f"warning: only {soft} file descriptors allowed, {wanted} wanted", file=sys.stderr)
    return soft


class Children:
    """Every process the bench starts; ``stop_all`` ends them (SIGTERM, then SIGKILL)."""

    def __init__(self, nice: int = 0) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []
        self._nice = nice

    def spawn(
        self, argv: Sequence[Any], log: Path, pipes: bool = False, core: int | None = None
    ) -> subprocess.Popen[bytes]:
        """``argv`` with stderr (and stdout, unless ``pipes``) appended to ``log``."""
        launch = ["" if core is None else str(core), str(self._nice), str(os.getpid())]
        with log.open("ab") as log_file:
            proc = subprocess.Popen(
                [sys.executable, "-c", LAUNCHER, *launch, *map(str, argv)],
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


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, poll: float = 0.05) -> None:
    # Imported here: the benches' client processes import this module and need no server code.
    from tests.serverproc import wait_healthy as wait

    wait(url, proc, STARTUP_TIMEOUT, lambda: f"see {log}", poll)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def cpu_seconds(proc: psutil.Process) -> float:
    """User and system CPU of every thread of ``proc``."""
    times = proc.cpu_times()
    return float(times.user + times.system)
