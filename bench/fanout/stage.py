"""The stage phase of the fan-out bench (issue 14): three publishers on one room's stage, then
stage-aware viewers step by step, then plain players, who hear the programme mix.

The hall publishes with a technician's token and goes on stage by itself; the two panelists
publish with speakers' tokens and wait backstage until the bench, as a technician's page
would, brings each on over Socket.IO (``control`` ``stage`` with the source id of the WHIP
answer's ``X-Plenary-Source``). Each publisher is a process of its own on the client core, as
each is a machine of its own in the hall and at home.

Two series are measured on the one server:
- ``stage``: a step without viewers, then stage-aware viewers (every slot: 6 audio and 4 video
  m-lines, bundled) added step by step;
- ``programme``: once they have left, a step without viewers, one plain player, ``--plain``
  plain players, and a step after they have all left. The first plain player makes the relay
  mix the three sources' sound; each further one only adds its forwarding. The server runs
  under mixtimed.py, which times the mix's own work, since the server's CPU with and without
  players says what the mix costs only as a small difference of noisy figures.
"""

from __future__ import annotations

import asyncio
import json
import math
import urllib.request
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import psutil
import socketio

from bench.fanout.media import STAGE, Reply
from server.auth.permissions import Role

if TYPE_CHECKING:
    from bench.fanout.bench import Bench, ClientProcess, Phase, Step

ROOM = "welcome"
HALL = "hall"
PANELISTS = ("panelist-1", "panelist-2")
ROLES = {HALL: Role.TECHNICIAN, "panelist-1": Role.SPEAKER, "panelist-2": Role.SPEAKER}
NAMES = {HALL: "Hall", "panelist-1": "Panelist One", "panelist-2": "Panelist Two"}


def room_slots(url: str) -> dict[str, int]:
    """The WHEP slots the agenda gives the room: the m-lines a stage-aware viewer offers."""
    with urllib.request.urlopen(f"{url}/api/agenda", timeout=10) as response:
        agenda = json.load(response)
    for found in _dicts(agenda):
        if found.get("room") == ROOM and "slots" in found:
            return {kind: int(count) for kind, count in found["slots"].items()}
    raise RuntimeError(f"the agenda gives no slots for {ROOM}")


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _dicts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _dicts(item)


async def bring_on(url: str, token: str, sources: dict[str, str]) -> list[dict[str, Any]]:
    """Brings each named source on stage as a technician does; the stage afterwards."""
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    try:
        answer: Any = {}
        for name, source in sources.items():
            request = {"room": ROOM, "action": "stage", "source": source}
            answer = await client.call("control", request, timeout=10)
            if not isinstance(answer, dict) or not answer.get("ok"):
                raise RuntimeError(f"bringing {name} on stage: {answer}")
        return list(answer.get("sources", []))
    finally:
        await client.disconnect()


class StagePhases:
    """Runs the stage and programme series on one plenary, for ``Bench.run``."""

    def __init__(self, bench: Bench, client: ClientProcess) -> None:
        self.bench = bench
        self.client = client
        self.opts = bench.opts
        self.slots: dict[str, int] = {}  # the room's, as the agenda gives them
        # Every stride-th stage-aware viewer is measured: --tapped of them at the top step.
        self.stride = max(1, math.ceil(max(self.opts.stage_ladder, default=1) / self.opts.tapped))

    async def run(self) -> None:
        bench = self.bench
        phase, url, tokens = bench.start_plenary("stage", timed_mix=True)
        programme = bench.add_phase("programme", phase)
        assert phase.server is not None
        server = psutil.Process(phase.server.pid)
        publishers = {name: bench.client_process(name) for name in STAGE}
        try:
            await self._publish(phase, url, tokens, publishers)
            await asyncio.sleep(2 * bench.settle_seconds)
            idle = await bench.measure_step(self.client, server, 0, url, phase.mix_clock)
            phase.steps.append(idle)
            await self._stage_aware(phase, url, tokens.token(Role.ATTENDEE, "Audience"), server)
            left = await self.client.ask("leave_stage", base=url, plain=False)
            programme.notes.append(f"stage-aware viewers left: {left['statuses']}")
            await self._programme(programme, url, tokens.token(Role.ATTENDEE, "Player"), server)
            gone = await asyncio.gather(*(p.ask("leave", base=url) for p in publishers.values()))
            phase.notes.append(f"publishers' DELETE: {[g['statuses'] for g in gone]}")
            await self.client.ask("follow_stage", rings={}, onset=None)  # the stage is over
        finally:
            phase.server.stop(grace=5.0)
            for each in publishers.values():
                await each.ask("quit")

    async def _publish(
        self, phase: Phase, url: str, tokens: Any, publishers: dict[str, ClientProcess]
    ) -> None:
        """Each publisher encodes its media and publishes; the panelists are brought on."""
        opts, folder = self.opts, self.bench.folder
        names = list(publishers)
        started = await asyncio.gather(
            *(
                publishers[name].ask(
                    "start",
                    loop_seconds=opts.loop_seconds,
                    pacing=opts.pacing,
                    media=STAGE[name].describe(),
                )
                for name in names
            )
        )
        described = dict(zip(names, started, strict=True))
        phase.extra["publishers"] = described
        rings = {name: str(folder / f"sends-stage-{name}.ring") for name in names}
        published = await asyncio.gather(
            *(
                publishers[name].ask(
                    "publish",
                    base=url,
                    token=tokens.token(ROLES[name], NAMES[name]),
                    ring=rings[name],
                )
                for name in names
            )
        )
        replies = dict(zip(names, published, strict=True))
        await self.client.ask(
            "follow_stage", rings=rings, onset=[HALL, described[HALL]["onset_key"]]
        )
        seconds = ", ".join(f"{name} {reply['seconds']:.1f} s" for name, reply in replies.items())
        phase.notes.append(f"publishers connected in {seconds}")
        ids = {name: reply["source"] for name, reply in replies.items()}
        technician = tokens.token(Role.TECHNICIAN, "Bench")
        sources = await bring_on(url, technician, {name: ids[name] for name in PANELISTS})
        by_id = {source_id: name for name, source_id in ids.items()}
        phase.extra["stage"] = {
            by_id.get(source["id"], source["id"]): {
                key: source[key] for key in ("on_stage", "slot", "kinds")
            }
            for source in sources
        }
        self.slots = phase.extra["slots"] = room_slots(url)

    async def _stage_aware(
        self, phase: Phase, url: str, token: str, server: psutil.Process
    ) -> None:
        for viewers in self.opts.stage_ladder:
            step = await self._add(phase, url, token, server, viewers, plain=False)
            if step is None:
                break

    async def _programme(
        self, programme: Phase, url: str, token: str, server: psutil.Process
    ) -> None:
        bench, clock = self.bench, programme.mix_clock
        await asyncio.sleep(bench.settle_seconds)
        programme.steps.append(await bench.measure_step(self.client, server, 0, url, clock))
        for players in sorted({1, self.opts.plain}):
            if await self._add(programme, url, token, server, players, plain=True) is None:
                break
        left = await self.client.ask("leave_stage", base=url, plain=True)
        programme.notes.append(f"plain players left: {left['statuses']}")
        await asyncio.sleep(bench.settle_seconds)
        after = await bench.measure_step(self.client, server, 0, url, clock)
        after.label = "after"
        programme.steps.append(after)

    async def _add(
        self, phase: Phase, url: str, token: str, server: psutil.Process, total: int, plain: bool
    ) -> Step | None:
        """Viewers of one kind up to ``total``, then a step measured; None: stop the series."""
        bench, opts = self.bench, self.opts
        connect: Reply = await self.client.ask(
            "watch_stage", base=url, token=token, total=total, batch=opts.batch,
            slots=self.slots, plain=plain, stride=1 if plain else self.stride,
        )  # fmt: skip
        await asyncio.sleep(bench.settle_seconds)
        measured = connect["viewers"]
        step = await bench.measure_step(self.client, server, measured, url, phase.mix_clock)
        step.connect = connect
        step.label = "plain" if plain else "stage"
        phase.steps.append(step)
        if connect["failed"]:
            phase.notes.append(f"connecting {total}: {connect}")
        if connect["viewers"] < 0.9 * total:
            return None
        if not sum(step.measured["sent"]):
            phase.notes.append(f"the publishers were gone at {total} viewers: stopped")
            return None
        return step
