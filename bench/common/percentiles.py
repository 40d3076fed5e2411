"""How every bench takes a percentile of its latencies: nearest rank.

The p-th percentile of n samples is the one of rank ceil(p * n) once they are sorted (ranks
count from 1): the smallest sample with at least a share p of them at or below it. It is
always a latency that was measured, never one made up between two neighbours, and it does not
flatter a short tail: under 100 samples, p99 is the largest. Every bench reports through these
two functions, so a p99 of one bench reads like a p99 of another.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

SUMMARY = (("p50", 0.5), ("p99", 0.99), ("max", 1.0))


def nearest_rank(count: int, fraction: float) -> int:
    """The rank (from 1) of the ``fraction`` percentile among ``count`` samples."""
    # Rounded first: 0.07 * 100 is 7.000000000000001 in floating point, which would be rank 8.
    return min(count, max(1, math.ceil(round(fraction * count, 9))))


def percentile(samples: Iterable[float], fraction: float) -> float:
    """The ``fraction`` (0.99 for p99) percentile of ``samples``, by nearest rank; NaN if
    there are none."""
    ordered = sorted(samples)
    if not ordered:
        return math.nan
    return ordered[nearest_rank(len(ordered), fraction) - 1]


def histogram_summary(bins: list[int], bin_seconds: float) -> dict[str, float]:
    """p50, p99 and max in milliseconds, by nearest rank over samples counted in fixed-width
    bins (the last an overflow bin), each reported as its bin's middle; and ``n``, the count.
    For a client that sees too many samples to keep each one."""
    total = sum(bins)
    result: dict[str, float] = {"n": total}
    if not total:
        return result
    wanted = [(name, nearest_rank(total, fraction)) for name, fraction in SUMMARY]
    seen = 0
    for index, count in enumerate(bins):
        seen += count
        while wanted and seen >= wanted[0][1]:
            result[wanted.pop(0)[0]] = (index + 0.5) * bin_seconds * 1000
        if not wanted:
            break
    return result
