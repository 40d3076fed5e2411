"""The registration bench's child processes, on asyncio: started, read, stopped in order."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import os
import signal
from dataclasses import dataclass
from typing import Any

from bench.common.harness import ROOT

SHUTDOWN_GRACE = 10.0
PR_SET_PDEATHSIG = 1


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
