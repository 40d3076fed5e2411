"""The registration bench's checks: the organizer's listing against what the clients were told."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp

from bench.common.children import BenchError
from bench.registrations.load import Json
from bench.registrations.phases import Phase
from bench.registrations.servers import Plenary

MAIL_SETTLE = 5.0
PAGE = 200


@dataclass
class Listing:
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    rows: list[Json] = field(default_factory=list)


async def fetch_listing(plenary: Plenary, query: str = "") -> Listing:
    headers = {"Authorization": f"Bearer {plenary.token}"}
    listing = Listing()
    async with aiohttp.ClientSession(headers=headers) as session:
        while True:
            params = {"limit": str(PAGE), "offset": str(len(listing.rows)), "q": query}
            async with session.get(f"{plenary.url}/api/registrations", params=params) as answer:
                if answer.status != 200:
                    raise BenchError(f"the listing answered {answer.status}: {await answer.text()}")
                page = await answer.json()
            listing.total, listing.counts = page["total"], page["counts"]
            listing.rows.extend(page["registrations"])
            if not page["registrations"] or len(listing.rows) >= listing.total:
                return listing


async def settled_listing(plenary: Plenary, open_mode: bool) -> Listing:
    """In open mode the mail status is set just after the letter is written: allow a moment."""
    deadline = time.monotonic() + MAIL_SETTLE
    while True:
        listing = await fetch_listing(plenary)
        unsent = sum(row["mail"] != "outbox" for row in listing.rows)
        if not open_mode or not unsent or time.monotonic() > deadline:
            return listing
        await asyncio.sleep(0.2)


# -- checks and the report --------------------------------------------------------------------


@dataclass
class Checks:
    results: list[tuple[bool, str]] = field(default_factory=list)

    def add(self, passed: bool, text: str) -> None:
        self.results.append((passed, text))

    @property
    def passed(self) -> bool:
        return all(passed for passed, _ in self.results)

    def lines(self) -> list[str]:
        return [f"  {'ok  ' if passed else 'FAIL'}  {text}" for passed, text in self.results]


def check_listing(
    checks: Checks, listing: Listing, created: list[str], mode: str, outbox: int
) -> None:
    listed = [row["id"] for row in listing.rows]
    keys = Counter(row["email"].casefold() for row in listing.rows)
    checks.add(
        listing.total == len(created) == len(listed),
        f"listing total {listing.total} (rows read {len(listed)}) == 201s {len(created)}",
    )
    missing = set(created) - set(listed)
    checks.add(not missing, f"every returned id listed ({len(missing)} missing)")
    checks.add(not set(listed) - set(created), "no listed id that no 201 returned")
    checks.add(len(set(created)) == len(created), "no id returned twice")
    checks.add(len(set(listed)) == len(listed), "no id listed twice")
    twice = sum(n > 1 for n in keys.values())
    checks.add(not twice, f"no e-mail address registered twice, in any case ({twice})")
    status = "approved" if mode == "open" else "pending"
    checks.add(
        listing.counts.get(status) == listing.total,
        f"counts: {status} {listing.counts.get(status)} of {listing.total}",
    )
    if mode == "open":
        marked = sum(row["mail"] == "outbox" for row in listing.rows)
        checks.add(outbox == len(created), f"outbox letters {outbox} == registrations")
        checks.add(marked == len(created), f"mail marked 'outbox' on {marked} registrations")


def check_duplicate(checks: Checks, phase: Phase, found: Listing, concurrency: int) -> None:
    statuses = dict(sorted(phase.statuses.items()))
    checks.add(
        phase.statuses == Counter({"201": 1, "409": concurrency - 1}),
        f"one address in {concurrency} letter cases at once: {statuses} (one 201, rest 409)",
    )
    checks.add(found.total == 1, f"the listing finds that address {found.total} time(s)")


def check_phases(checks: Checks, label: str, phases: list[Phase]) -> None:
    answered = sum(phase.requests for phase in phases)
    planned = sum(phase.planned for phase in phases)
    wrong: Counter[str] = sum((phase.unexpected for phase in phases), Counter())
    shown = dict(sorted(wrong.items())) or "none"
    checks.add(
        not wrong and answered == planned,
        f"{label}: {answered} of {planned} requests answered, unexpected statuses {shown}",
    )
