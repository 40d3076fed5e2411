"""What the status bench measured: latencies per event and client, and per server and N."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class EventSet:
    """Latencies in seconds: one row per event, one column per connected client."""

    rows: list[list[float | None]] = field(default_factory=list)
    references: list[float] = field(default_factory=list)

    def add(self, reference: float, receipts: list[float | None]) -> None:
        self.rows.append([None if t is None else t - reference for t in receipts])
        self.references.append(reference)

    def overlapping(self) -> int:
        """Events whose last client was still waiting when a later event was due: their fan-outs
        overlapped, and each slowed the other."""
        count = 0
        for index, (row, reference) in enumerate(zip(self.rows, self.references, strict=True)):
            later = [r for r in self.references[index + 1 :] if r > reference]
            done = reference + max((v for v in row if v is not None), default=0.0)
            count += bool(later) and done > min(later)
        return count

    def last_client(self) -> list[float]:
        return [max(v for v in row if v is not None) for row in self.rows if any(row)]

    def pairs(self) -> list[float]:
        return [v for row in self.rows for v in row if v is not None]

    @property
    def missed(self) -> int:
        return sum(v is None for row in self.rows for v in row)


@dataclass
class Trial:
    """One server with N clients: what was measured."""

    n: int
    connected: int = 0
    failed: int = 0
    connect_s: float = math.nan
    rss_before: int = 0
    rss_after: int = 0
    scheduled: EventSet = field(default_factory=EventSet)
    control: EventSet = field(default_factory=EventSet)
    skipped: int = 0
    emit_lag: list[float] = field(default_factory=list)
    ack: list[float] = field(default_factory=list)
    agenda: EventSet = field(default_factory=EventSet)
    cpu: float = 0.0
    client_cpu: float = 0.0
    shutdown_s: float = math.nan
    payload_bytes: int = 0
    machine: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def kib_per_connection(self) -> float:
        return (self.rss_after - self.rss_before) / 1024 / max(self.connected, 1)

    def per_control(self, seconds: float) -> float:
        return seconds / len(self.control.rows) if self.control.rows else math.nan


@dataclass(frozen=True)
class Options:
    ladder: tuple[int, ...]
    rounds: int
    speed: float
    procs: int
    batch: int
    config: Path
    workdir: Path
    per_event: bool = False
    deflate: bool = False
    keep: bool = False
