"""The registration bench's load process: N clients, each its own session and connection.

Run as ``python -m bench.registrations.load SPEC`` (SPEC: a ``LoadSpec`` as JSON); it says
``ready`` once every client has opened its connection, starts on ``go``, and prints its result.
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.common.percentiles import percentile

REQUEST_TIMEOUT = 30.0
EMAIL_DOMAIN = "bench.example.org"
Json = dict[str, Any]


@dataclass(frozen=True)
class LoadSpec:
    url: str  # whole URL of the request under load
    health_url: str  # each client opens its connection here before the clock starts
    kind: str  # "register", "get", or "duplicate" (one address, every client once, at once)
    count: int
    concurrency: int
    prefix: str = ""
    seconds: float = 60.0  # no new request after this; the phase then reports fewer


def form(spec: LoadSpec, index: int) -> Json:
    if spec.kind == "duplicate":
        email = letter_case_variant(f"{spec.prefix}@{EMAIL_DOMAIN}", index)
    else:
        email = f"{spec.prefix}{index}@{EMAIL_DOMAIN}"
    name = f"Bench Registrant {spec.prefix}{index}"
    return {"name": name, "email": email, "affiliation": "Registration bench", "consent": True}


def letter_case_variant(address: str, variant: int) -> str:
    """Variant k upper-cases the letters picked by k's bits: distinct while k < 2**letters."""
    out, bit = [], 0
    for char in address:
        if char.isalpha():
            out.append(char.upper() if variant >> bit & 1 else char)
            bit += 1
        else:
            out.append(char)
    return "".join(out)


Sample = tuple[float, str, str | None]  # latency in seconds, status (or exception), id


async def one_request(session: aiohttp.ClientSession, spec: LoadSpec, index: int) -> Sample:
    started = time.perf_counter()
    try:
        if spec.kind == "get":
            async with session.get(spec.url) as response:
                await response.read()
                return time.perf_counter() - started, str(response.status), None
        async with session.post(spec.url, json=form(spec, index)) as response:
            body = await response.read()
            created = response.status == 201
            ident = json.loads(body)["id"] if created else None
            return time.perf_counter() - started, str(response.status), ident
    except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as error:
        return time.perf_counter() - started, type(error).__name__, None


async def client(
    session: aiohttp.ClientSession, spec: LoadSpec, indices: Iterator[int], out: list[Sample]
) -> None:
    deadline = time.monotonic() + spec.seconds
    for index in indices:  # shared by every client: each index is taken once
        out.append(await one_request(session, spec, index))
        if time.monotonic() > deadline:
            return


async def _load(spec: LoadSpec) -> Json:
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    sessions = [
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1), timeout=timeout)
        for _ in range(spec.concurrency)
    ]
    try:
        await asyncio.gather(*(warm(session, spec.health_url) for session in sessions))
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)  # "go": the bench samples CPU first
        return await drive(spec, sessions)
    finally:
        await asyncio.gather(*(session.close() for session in sessions))


async def warm(session: aiohttp.ClientSession, url: str) -> None:
    async with session.get(url) as response:
        await response.read()


async def drive(spec: LoadSpec, sessions: list[aiohttp.ClientSession]) -> Json:
    samples: list[Sample] = []
    cpu, wall, started = time.process_time(), time.time(), time.perf_counter()
    if spec.kind == "duplicate":
        requests = (one_request(session, spec, k) for k, session in enumerate(sessions))
        samples = list(await asyncio.gather(*requests))
    else:
        indices = iter(range(spec.count))
        await asyncio.gather(*(client(session, spec, indices, samples) for session in sessions))
    elapsed = time.perf_counter() - started
    latencies = sorted(latency for latency, _, _ in samples)
    return {
        "requests": len(samples),
        "elapsed": elapsed,
        "statuses": dict(Counter(status for _, status, _ in samples)),
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": (latencies[-1] if latencies else math.nan) * 1000,
        "ids": [ident for _, _, ident in samples if ident is not None],
        "started_wall": wall,
        "ended_wall": time.time(),
        "client_cpu_s": time.process_time() - cpu,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_load(LoadSpec(**json.loads(sys.argv[1]))))), flush=True)
