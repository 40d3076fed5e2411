"""The servers the registration bench loads: ``plenary serve``, and the aiosqlite baseline."""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.common.children import STARTUP_TIMEOUT, BenchError, Child, Children, python_module
from bench.common.harness import HOST, PLENARY, free_port
from bench.registrations.load import LoadSpec
from tests.serverproc import event_config  # the bundled agenda with another mode and limit


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


async def start_plenary(children: Children, folder: Path, mode: str, per_minute: int) -> Plenary:
    config, data, port = plenary_config(folder, mode, per_minute), folder / "data", free_port()
    log = folder / "plenary.log"
    common = ("--config", config, "--data", data)
    serve = (PLENARY, "serve", *common, "--port", port, "--ice-address", HOST, "--rehearse")
    child = children.start("plenary serve", serve, log)
    url = f"http://{HOST}:{port}"
    await asyncio.to_thread(child.wait_healthy, url, poll=0.1)
    issue = ("token", "issue", *common, "--role", "organizer", "--name", "Registration bench")
    token = await children.output("plenary token issue", (PLENARY, *issue, "--ttl", "1h"), None)
    plenary = Plenary(child, url, data, config, log, token)
    await check_mode(plenary, mode)
    return plenary


async def check_mode(plenary: Plenary, mode: str) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{plenary.url}/api/registrations/policy") as response,
    ):
        found = (await response.json())["mode"]
    if found != mode:
        raise BenchError(f"registration is {found!r}, not {mode!r}: did config.toml change?")


async def start_baseline(children: Children, folder: Path) -> Target:
    port = free_port()
    argv = python_module("bench.registrations.baseline", "--port", port, "--folder", folder)
    child = children.start("baseline", argv, None, pipes=True)
    if await child.read_line(STARTUP_TIMEOUT) != "ready":
        raise BenchError("the baseline server did not start")
    return Target(f"http://{HOST}:{port}", child.pid)
