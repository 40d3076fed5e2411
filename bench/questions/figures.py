"""What the questions bench measured, and whether anything was lost."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.status.figures import EventSet


@dataclass(frozen=True)
class Options:
    clients: int
    seconds: float
    ask_rate: float
    vote_rate: float
    burst: float
    approvals: int
    voted: int
    batch: int
    workdir: Path


@dataclass
class Figures:
    opts: Options
    connected: dict[str, int] = field(default_factory=dict)
    ask_errors: Counter[str] = field(default_factory=Counter)
    accepted_asks: int = 0
    asks_unsent: int = 0  # due, but not sent: the server was too far behind
    ask_span: float = 0.0  # first send to last ack, or the phase if the acks kept up
    ask_latencies: list[float] = field(default_factory=list)
    to_moderator: list[float] = field(default_factory=list)
    unseen_by_moderator: int = 0
    not_listed: int = 0
    approvals: EventSet = field(default_factory=EventSet)
    broadcasts: EventSet = field(default_factory=EventSet)
    voted: dict[str, Any] = field(default_factory=dict)  # the attendees' vote report
    bare_voted: dict[str, Any] = field(default_factory=dict)  # the same, to the bare server
    final_counts: dict[str, int] = field(default_factory=dict)
    moderator_counts: dict[str, int] = field(default_factory=dict)
    # phase: (plenary's CPU, the attendee worker's), each in cores
    cpu: dict[str, tuple[float, float]] = field(default_factory=dict)
    machine: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def asked(self, rows: list[list[Any]]) -> None:
        """The attendees' asks: [text, sent, acked, id or None, error or None] each."""
        accepted = [row for row in rows if row[3] is not None]
        self.accepted_asks = len(accepted)
        self.ask_errors.update(str(row[4]) for row in rows if row[3] is None)
        if rows:
            self.ask_span = max(row[2] for row in rows) - min(row[1] for row in rows)
            self.ask_span = max(self.ask_span, self.opts.seconds)
        self.ask_latencies = [row[2] - row[1] for row in accepted]

    @property
    def asks_per_second(self) -> float:
        return self.accepted_asks / self.ask_span if self.ask_span else 0.0

    @property
    def votes_per_second(self) -> float:
        return self.rate(self.voted)

    @property
    def bare_votes_per_second(self) -> float:
        return self.rate(self.bare_voted)

    def rate(self, voted: dict[str, Any]) -> float:
        """Votes accepted a second, from a vote report."""
        span = voted.get("last_acked", 0.0) - voted.get("first_sent", 0.0)
        span = max(span, self.opts.seconds)  # the phase's bursts cover this much
        return voted.get("accepted", 0) / span if voted else 0.0

    def vote_mismatches(self) -> list[str]:
        expected: dict[str, int] = self.voted.get("counts", {})
        return [
            f"{q}: {n} accepted, {self.final_counts.get(q)} stored,"
            f" {self.moderator_counts.get(q)} last sent to the moderator"
            for q, n in expected.items()
            if self.final_counts.get(q) != n or self.moderator_counts.get(q) != n
        ]

    def nothing_lost(self) -> bool:
        return (
            self.accepted_asks > 0
            and not self.unseen_by_moderator
            and not self.not_listed
            and bool(self.voted)
            and not self.vote_mismatches()
            and not self.approvals.missed
        )
