"""What the benches share besides their children (children.py): the address they talk to, the
repository, ports, the limit on open files, and reading a process's CPU time.

Everything talks to 127.0.0.1 only.
"""

from __future__ import annotations

import json
import resource
import socket
import sys
import urllib.request
from pathlib import Path
from typing import Any

import psutil

HOST = "127.0.0.1"  # the only address the benches ever talk to
ROOT = Path(__file__).resolve().parent.parent.parent
PLENARY = Path(sys.executable).parent / "plenary"


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


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def cpu_seconds(proc: psutil.Process) -> float:
    """User and system CPU of every thread of ``proc``."""
    times = proc.cpu_times()
    return float(times.user + times.system)
