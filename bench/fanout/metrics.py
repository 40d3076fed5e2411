"""What plenary's ``/metrics`` says that the fan-out bench reads around each window: the
packets the relay sent to viewers, and the collections that held up media."""

from __future__ import annotations

from bench.common.metrics import read_metrics


def relay_counters(url: str) -> dict[str, float]:
    """From plenary's ``/metrics``: packets sent to viewers so far (every kind), and the
    collections made while anyone watched (how many, their seconds, how many over 5 and 20 ms,
    the longest)."""
    samples = read_metrics(url)
    stalls = samples.get("plenary_media_stall_seconds_count", 0.0)
    short = samples.get('plenary_media_stall_seconds_bucket{le="0.02"}', 0.0)
    within_5_ms = samples.get('plenary_media_stall_seconds_bucket{le="0.005"}', 0.0)
    return {
        "forwarded": sum(
            value
            for name, value in samples.items()
            if name.startswith("plenary_forwarded_packets_total{")
        ),
        "stalls": stalls,
        "stall_seconds": samples.get("plenary_media_stall_seconds_sum", 0.0),
        "long_stalls": stalls - short,
        "over_5_ms": stalls - within_5_ms,
        "longest": samples.get("plenary_media_stall_longest_seconds", 0.0),
    }


def counted_between(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """What the relay counted between two readings; the longest stall only if it is new."""
    between = {key: after[key] - before[key] for key in before if key != "longest"}
    between["longest"] = after["longest"] if after["longest"] > before["longest"] else 0.0
    return between
