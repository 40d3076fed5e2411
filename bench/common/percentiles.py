"""The three ways the benches take a percentile; each bench keeps to its own.

``interpolated`` (linear between ranks, q in percent), ``nearest_rank`` (a fraction, on sorted
samples) and ``from_histogram`` (fixed-width bins, the last an overflow bin).
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def interpolated(values: Sequence[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def nearest_rank(ordered: Sequence[float], fraction: float) -> float:
    """The smallest sample with at least ``fraction`` of them at or below it."""
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def from_histogram(bins: list[int], bin_seconds: float) -> dict[str, float]:
    """p50, p99 and max in milliseconds (each its bin's middle), and ``n``, the count."""
    total = sum(bins)
    result: dict[str, float] = {"n": total}
    if not total:
        return result
    wanted = [("p50", 0.5), ("p99", 0.99), ("max", 1.0)]
    seen = 0
    for index, count in enumerate(bins):
        seen += count
        while wanted and seen >= wanted[0][1] * total:
            result[wanted.pop(0)[0]] = (index + 0.5) * bin_seconds * 1000
        if not wanted:
            break
    return result
