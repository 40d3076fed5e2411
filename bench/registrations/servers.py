"""The servers the registration bench loads: ``plenary serve``, and the aiosqlite baseline."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.common.harness import HOST, PLENARY, STARTUP_TIMEOUT, free_port
from bench.registrations.children import BenchError, Child, read_line, spawn
from bench.registrations.load import LoadSpec
from tests.serverproc import event_config  # the bundled agenda with another mode and limit

ENTRY = (sys.executable, "-m", "bench.registrations")  # also the baseline and load process


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
    return event_config(folder, mode=mode, per_minute=per_minute)


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
    child = await spawn(stack, "baseline", *ENTRY, *args, stdout=asyncio.subprocess.PIPE)
    if await read_line(child, STARTUP_TIMEOUT) != "ready":
        raise BenchError("the baseline server did not start")
    return Target(f"http://{HOST}:{port}", child.pid)
