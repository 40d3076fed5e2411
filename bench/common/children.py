"""The one way the benches start a process, talk to it and stop it.

``Children.start`` runs a command (``python_module`` builds one for a module of the benches)
through a small launcher that, before the exec, asks for SIGTERM when the bench dies
(``PR_SET_PDEATHSIG``), however it dies, and may pin the child to one core and set its
niceness. Each child has a session of its own, so that Ctrl-C reaches only the bench, which
then stops them in order (``stop_all``). A child with pipes is talked to in lines: ``send``,
``read_line``, or ``ask`` for one JSON request and its JSON reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.common.harness import ROOT
from tests.serverproc import wait_healthy

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

Json = dict[str, Any]


class BenchError(RuntimeError):
    """The bench itself could not run: a process did not start, answer, or succeed."""


def python_module(module: str, *args: object) -> list[str]:
    """The command that runs ``module`` of this repository, as ``python -m`` would."""
    return [sys.executable, "-m", module, *map(str, args)]


class Child:
    """One process a bench started; stdin and stdout are pipes if it was started with them."""

    def __init__(self, name: str, process: subprocess.Popen[bytes], log: Path | None) -> None:
        self.name = name
        self.process = process
        self.log = log

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()

    async def read_line(self, within: float | None = None) -> str:
        """The next line it prints, without its end; BenchError if it exits first or
        ``within`` seconds pass."""
        stdout = self.process.stdout
        assert stdout is not None
        try:
            line = await asyncio.wait_for(asyncio.to_thread(stdout.readline), within)
        except TimeoutError:
            raise BenchError(f"{self.name}: no answer within {within:.0f} s") from None
        if not line:
            await asyncio.to_thread(self.wait, 1.0)
            raise BenchError(
                f"{self.name} ended (status {self.returncode}) without answering;"
                f" {self.where_to_look()}"
            )
        return line.decode().strip()

    async def ask(self, request: Json, within: float | None = None) -> Json:
        """Sends ``request`` as one JSON line and returns the JSON line it answers."""
        self.send(json.dumps(request))
        reply: Json = json.loads(await self.read_line(within))
        return reply

    def wait_healthy(self, url: str, poll: float = 0.05) -> None:
        """Returns once ``GET url/healthz`` answers 200; BenchError if the child exits first or
        ``STARTUP_TIMEOUT`` passes."""
        try:
            wait_healthy(url, self.process, STARTUP_TIMEOUT, self.where_to_look, poll)
        except RuntimeError as error:
            raise BenchError(f"{self.name}: {error}") from None

    def close_input(self) -> None:
        """EOF on its stdin: a child that reads it takes that as the sign to finish."""
        if self.process.stdin is not None and self.process.poll() is None:
            self.process.stdin.close()

    def wait(self, seconds: float) -> bool:
        """Whether it exited within ``seconds``."""
        try:
            self.process.wait(seconds)
        except subprocess.TimeoutExpired:
            return False
        return True

    def stop(self, grace: float = 10.0) -> float:
        """SIGTERM, wait up to ``grace`` seconds, then SIGKILL; returns the seconds it took.
        Safe twice, and after the child exited by itself."""
        began = time.monotonic()
        if self.process.poll() is None:
            self.process.terminate()
            if not self.wait(grace):
                self.process.kill()
                self.process.wait()
        return time.monotonic() - began

    def where_to_look(self) -> str:
        return f"see {self.log}" if self.log else "its errors went to the terminal"


class Children:
    """Every process a bench starts; ``stop_all`` ends those still running, newest first."""

    def __init__(self, nice: int = 0) -> None:
        self._started: list[Child] = []
        self._nice = nice

    def start(
        self,
        name: str,
        argv: Sequence[object],
        log: Path | None,
        pipes: bool = False,
        core: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Child:
        """``argv`` from the repository root, its stderr (and its stdout, unless ``pipes``)
        appended to ``log``, or left on the bench's own if ``log`` is None; ``env`` is added to
        the bench's environment."""
        launch = ["" if core is None else str(core), str(self._nice), str(os.getpid())]
        command = [sys.executable, "-c", LAUNCHER, *launch, *map(str, argv)]
        with contextlib.ExitStack() as files:  # the child keeps its own descriptor
            output = files.enter_context(log.open("ab")) if log else None
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
                stdout=subprocess.PIPE if pipes else output,
                stderr=output,
                cwd=ROOT,
                env={**os.environ, **env} if env else None,
                start_new_session=True,  # Ctrl-C reaches the bench, which stops them in order
            )
        child = Child(name, process, log)
        self._started.append(child)
        return child

    async def output(
        self, name: str, argv: Sequence[object], log: Path | None, within: float = STARTUP_TIMEOUT
    ) -> str:
        """The first line a short command prints, once it has exited 0 (else BenchError)."""
        child = self.start(name, argv, log, pipes=True)
        line = await child.read_line(within)
        if not await asyncio.to_thread(child.wait, within) or child.returncode != 0:
            raise BenchError(f"{name} failed ({child.returncode}); {child.where_to_look()}")
        return line

    def stop_all(self, grace: float = 3.0) -> None:
        for child in reversed(self._started):
            child.stop(grace)
        self._started.clear()
