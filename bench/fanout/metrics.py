"""What plenary's ``/metrics`` says that the fan-out bench reads around each window: the
packets the relay sent to viewers, and the collections that held up media."""

from __future__ import annotations

import re
import urllib.request

FORWARDED = re.compile(r'^plenary_forwarded_packets_total\{kind="\w+"\} (\d+)$', re.M)
STALLS = re.compile(r"^plenary_media_stall_seconds_(count|sum) ([\d.]+)$", re.M)
SHORT_STALLS = re.compile(r'^plenary_media_stall_seconds_bucket\{le="0.02"\} (\d+)$', re.M)
LONGEST = re.compile(r"^plenary_media_stall_longest_seconds ([\d.]+)$", re.M)


def relay_counters(url: str) -> dict[str, float]:
    """From plenary's ``/metrics``: packets sent to viewers so far (every kind), and the
    collections made while anyone watched (how many, their seconds, how many over 20 ms, the
    longest)."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    stalls = {name: float(value) for name, value in STALLS.findall(text)}
    short = SHORT_STALLS.search(text)
    longest = LONGEST.search(text)
    return {
        "forwarded": sum(int(count) for count in FORWARDED.findall(text)),
        "stalls": stalls.get("count", 0.0),
        "stall_seconds": stalls.get("sum", 0.0),
        "long_stalls": stalls.get("count", 0.0) - (float(short.group(1)) if short else 0.0),
        "longest": float(longest.group(1)) if longest else 0.0,
    }


def counted_between(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """What the relay counted between two readings; the longest stall only if it is new."""
    between = {key: after[key] - before[key] for key in before if key != "longest"}
    between["longest"] = after["longest"] if after["longest"] > before["longest"] else 0.0
    return between
