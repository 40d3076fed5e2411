"""The stall bench's figures: the collections that held up media in each phase's window, and
the delays the viewers saw meanwhile, against the baseline with the collector off."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bench.common.percentiles import percentile

TARGET_MS = 20.0


class Shape(Protocol):
    @property
    def viewers(self) -> int: ...
    @property
    def sockets(self) -> int: ...
    @property
    def window(self) -> float: ...
    @property
    def server_code(self) -> Path | None: ...


@dataclass
class Measured:
    viewers: int = 0
    sockets: int = 0
    sockets_seconds: float = 0.0  # into the window when the last socket had connected
    ended_side_room: str = "not tried"
    ended_at: float = 0.0
    began: float = 0.0  # the window, on the monotonic clock
    ended: float = 0.0
    server_cpu: float = 0.0  # share of a core over the window
    rss: int = 0
    delays: dict[str, Any] = field(default_factory=dict)  # the viewers' client's "measure"
    metrics: dict[str, float] = field(default_factory=dict)
    # (seconds into the window, generation, milliseconds) of each collection of 1 ms or more
    collections: list[tuple[float, int, float]] = field(default_factory=list)


def report(shape: Shape, phases: list[tuple[str, Measured]]) -> None:
    print(
        f"\nmedia stalls: {shape.viewers} viewers asked for, {shape.sockets} Socket.IO clients,"
        f" a {shape.window:g} s window per phase; target: no collection over {TARGET_MS:g} ms"
    )
    print(f"the server's code: {shape.server_code or 'this checkout'}")
    print(
        f"{'phase':<14} {'viewers':>7} {'sockets':>7} {'GC>=1ms':>7} {'>20ms':>5} "
        f"{'p99 ms':>7} {'max ms':>7} {'by generation':<22} {'CPU':>5} {'RSS MiB':>8}"
    )
    for name, measured in phases:
        pauses = [took for _, _, took in measured.collections]
        generations = Counter(generation for _, generation, _ in measured.collections)
        by_generation = " ".join(f"g{g}:{n}" for g, n in sorted(generations.items())) or "-"
        print(
            f"{name:<14} {measured.viewers:>7} {measured.sockets:>7} {len(pauses):>7} "
            f"{sum(took > TARGET_MS for took in pauses):>5} {_ms(percentile(pauses, 0.99)):>7} "
            f"{_ms(max(pauses, default=0.0)):>7} {by_generation:<22} "
            f"{measured.server_cpu:>5.0%} {measured.rss / 2**20:>8.0f}"
        )
    print("\ndelay, publisher's send to the viewer's socket (ms), in the window")
    for name, measured in phases:
        relay, direct = measured.delays.get("relay_delay", {}), measured.delays.get("direct_delay")
        for kind in ("audio", "video"):
            got, alone = relay.get(kind, {}), (direct or {}).get(kind, {})
            print(
                f"  {name:<14} {kind}: relay p50 {_ms(got.get('p50')):>6} p99 "
                f"{_ms(got.get('p99')):>6} max {_ms(got.get('max')):>7} (n={got.get('n', 0)});"
                f" direct max {_ms(alone.get('max')):>6}"
            )
    print("\nwhat happened in each window")
    for name, measured in phases:
        longest = sorted(measured.collections, key=lambda row: row[2], reverse=True)[:3]
        print(
            f"  {name}: sockets all connected {measured.sockets_seconds:.1f} s in; the side room"
            f" {measured.ended_side_room} at {measured.ended_at:.1f} s; longest collections: "
            + (", ".join(f"{took:.1f} ms (g{g}) at {at:.1f} s" for at, g, took in longest) or "-")
        )
        if measured.metrics:
            stalls = measured.metrics.get("plenary_media_stall_seconds_count", 0)
            under = measured.metrics.get('plenary_media_stall_seconds_bucket{le="0.02"}', 0)
            longest_s = measured.metrics.get("plenary_media_stall_longest_seconds", 0)
            frozen = measured.metrics.get("plenary_heap_frozen_objects", 0)
            print(
                f"    the server's own count (whole run, /metrics): {stalls:.0f} collections"
                f" while watched, {stalls - under:.0f} over 20 ms, the longest"
                f" {longest_s * 1e3:.1f} ms; {frozen:.0f} objects frozen"
            )


def _ms(value: float | None) -> str:
    if value is None or value != value:  # missing, or NaN: nothing measured
        return "-"
    return f"{value:.1f}"
