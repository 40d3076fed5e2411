"""The questions bench's attendees: N Socket.IO clients, one token each, driven over stdin.

Run as ``python -m bench.questions.attendees --url U --tokens FILE --batch B``. Requests, one
JSON line each, each answered with one JSON line:

- ``{"op": "connect"}``: every client connects with its own token;
- ``{"op": "ask", "room", "rate", "seconds", "burst"}``: questions in bursts, ``rate`` a second
  in all, every ``burst`` seconds; each client's questions are its own texts;
- ``{"op": "vote", "questions", "rate", "seconds", "burst"}``: votes on ``questions`` in the same
  way, each client taking its vote on a question back and casting it again in turn; a client's
  votes on one question go out one after another, so the last accepted one is its vote;
- ``{"op": "await", "question", "status", "since", "seconds"}``: each client's time of receipt of
  that question in that status, from ``since`` on (None: not within ``seconds``).

Every time is ``time.time()``, taken where it happens: before a send, in an ack or an event
handler.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp
import socketio

from bench.common.harness import raise_fd_limit
from bench.status.clients import FD_HEADROOM

CALL_TIMEOUT = 60.0
IN_FLIGHT = 2000  # calls awaiting their answer at once, over all clients
# (receipt time, question id, status, votes) of each ``question`` event a client got.
Receipt = tuple[float, str, str, int]


class Attendees:
    def __init__(self, url: str, tokens: list[str], batch: int) -> None:
        self.url = url
        self.tokens = tokens
        self.batch = batch
        self.clients: list[socketio.AsyncClient] = []
        self.received: list[list[Receipt]] = [[] for _ in tokens]
        self.session: aiohttp.ClientSession | None = None

    async def connect(self) -> dict[str, Any]:
        # One session, no pool limit: its default of 100 would cap the websockets at 100.
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        began, errors = time.time(), list[str]()
        for first in range(0, len(self.tokens), self.batch):
            indexes = range(first, min(first + self.batch, len(self.tokens)))
            results = await asyncio.gather(*(self._connect_one(i) for i in indexes))
            errors.extend(error for error in results if error)
        return {
            "connected": sum(sio.connected for sio in self.clients),
            "failed": len(errors),
            "errors": sorted(set(errors))[:3],
            "seconds": time.time() - began,
        }

    async def _connect_one(self, client: int) -> str | None:
        sio = socketio.AsyncClient(reconnection=False, http_session=self.session)
        received = self.received[client]

        async def question(data: Any) -> None:
            if isinstance(data, dict):
                stamp = time.time()
                received.append((stamp, data["id"], data["status"], data.get("votes", 0)))

        sio.on("question", question)
        self.clients.append(sio)
        try:
            auth = {"token": self.tokens[client]}
            await sio.connect(self.url, transports=["websocket"], auth=auth, wait_timeout=30)
        except Exception as error:
            return f"{type(error).__name__}: {error}"
        return None

    async def ask(self, room: str, rate: float, seconds: float, burst: float) -> dict[str, Any]:
        asked: list[list[Any]] = []  # [text, sent, acked, question id or None, error or None]

        def one(client: int, seq: int) -> Coroutine[Any, Any, None]:
            return self._ask_one(
                client, room, f"Bench question {seq} from attendee {client}?", asked
            )

        unsent = await self._bursts(rate, seconds, burst, one)
        return {"asked": asked, "unsent": unsent}

    async def _ask_one(self, client: int, room: str, text: str, asked: list[list[Any]]) -> None:
        sent = time.time()
        answer = await self._call(client, "ask", {"room": room, "text": text})
        acked = time.time()
        ok = answer.get("ok") is True
        question_id = answer["question"]["id"] if ok else None
        asked.append([text, sent, acked, question_id, None if ok else answer.get("error")])

    async def vote(
        self, questions: list[str], rate: float, seconds: float, burst: float
    ) -> dict[str, Any]:
        locks = [{q: asyncio.Lock() for q in questions} for _ in self.clients]
        cast = [dict.fromkeys(questions, 0) for _ in self.clients]  # votes sent per pair
        final: list[dict[str, bool]] = [{} for _ in self.clients]  # the last accepted vote
        errors: Counter[str] = Counter()
        latencies: list[float] = []
        span = [time.time(), 0.0]  # first send, last ack

        async def one(client: int, seq: int) -> None:
            question = questions[(seq // len(self.clients)) % len(questions)]
            up = cast[client][question] % 2 == 0  # up, then back, then up again
            cast[client][question] += 1
            async with locks[client][question]:
                sent = time.time()
                answer = await self._call(client, "vote", {"question": question, "up": up})
                span[1] = max(span[1], time.time())
                latencies.append(span[1] - sent)
            if answer.get("ok") is True:
                final[client][question] = up
            else:
                errors[str(answer.get("error"))] += 1

        span[0] = time.time()
        unsent = await self._bursts(rate, seconds, burst, one)
        counts = {q: sum(votes.get(q, False) for votes in final) for q in questions}
        return {
            "accepted": len(latencies) - sum(errors.values()),
            "errors": dict(errors),
            "latencies": latencies,
            "first_sent": span[0],
            "last_acked": span[1],
            "counts": counts,
            "unsent": unsent,
        }

    async def _bursts(
        self,
        rate: float,
        seconds: float,
        burst: float,
        one: Callable[[int, int], Coroutine[Any, Any, None]],
    ) -> int:
        """Every ``burst`` seconds, that burst's share of ``rate`` at once, spread over the
        clients in turn; returns once every call is answered, with how many were never sent.

        At most ``IN_FLIGHT`` calls wait for their answer at a time, and none is sent once the
        phase has run twice its length: a server that falls behind is measured at its own pace
        for a bounded time, not buried under every call still due."""
        per_burst = max(1, round(rate * burst))
        started, calls, seq = time.time(), list[asyncio.Task[bool]](), 0
        window, last_send = asyncio.Semaphore(IN_FLIGHT), started + 2 * seconds

        async def paced(client: int, seq: int) -> bool:
            async with window:
                if time.time() > last_send:
                    return False
                await one(client, seq)
                return True

        for tick in range(max(1, round(seconds / burst))):
            await asyncio.sleep(max(0.0, started + tick * burst - time.time()))
            for _ in range(per_burst):
                calls.append(asyncio.create_task(paced(seq % len(self.clients), seq)))
                seq += 1
        return len(calls) - sum(await asyncio.gather(*calls))

    async def _call(self, client: int, event: str, data: dict[str, Any]) -> dict[str, Any]:
        try:
            answer = await self.clients[client].call(event, data, timeout=CALL_TIMEOUT)
        except Exception as error:
            return {"ok": False, "error": type(error).__name__}
        return answer if isinstance(answer, dict) else {"ok": False, "error": "bad ack"}

    async def wait_for(
        self, question: str, status: str, since: float, seconds: float
    ) -> dict[str, Any]:
        deadline = time.time() + seconds
        times: list[float | None] = [None] * len(self.clients)
        while True:
            for client, received in enumerate(self.received):
                if times[client] is None and self.clients[client].connected:
                    times[client] = _first(received, question, status, since)
            waiting = sum(
                t is None and c.connected for t, c in zip(times, self.clients, strict=True)
            )
            if not waiting or time.time() > deadline:
                return {"times": times}
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        disconnects = (sio.disconnect() for sio in self.clients if sio.connected)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*disconnects, return_exceptions=True), 10)
        if self.session is not None:
            await self.session.close()


def _first(received: list[Receipt], question: str, status: str, since: float) -> float | None:
    """The earliest receipt of ``question`` in ``status`` from ``since`` on."""
    return next(
        (t for t, q, state, _ in received if t >= since and (q, state) == (question, status)), None
    )


async def worker(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.questions.attendees")
    parser.add_argument("--url", required=True)
    parser.add_argument("--tokens", type=Path, required=True, help="one token a line")
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args(argv)
    tokens = args.tokens.read_text().split()
    raise_fd_limit(len(tokens) + FD_HEADROOM, warn=True)
    attendees = Attendees(args.url, tokens, args.batch)
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader(limit=2**24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    while line := await stdin.readline():  # EOF: the bench is gone
        request = json.loads(line)
        op = request.pop("op")
        if op == "connect":
            reply = await attendees.connect()
            # The clients are the measuring instrument: keep collector pauses out of the figures.
            gc.freeze()
            gc.disable()
        elif op == "ask":
            reply = await attendees.ask(**request)
        elif op == "vote":
            reply = await attendees.vote(**request)
        elif op == "await":
            reply = await attendees.wait_for(**request)
        else:
            break
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    await attendees.close()


if __name__ == "__main__":
    asyncio.run(worker(sys.argv[1:]))
