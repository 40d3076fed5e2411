"""``plenary`` with every garbage collection timed, for the stall bench.

Run as ``python bench/stalls/traced.py TRACE [--collector-off] -- serve ...``, with the
server's checkout on PYTHONPATH. Each collection of
a millisecond or more is written to the file ``TRACE`` as a line ``END GENERATION MILLISECONDS``,
``END`` on the monotonic clock that every process of the machine shares, so the bench can keep
those that fell in its window. The instrument is the bench's, not plenary's: it times any
version of the server the same way.

``--collector-off`` is the baseline: the collector never runs, neither by itself nor when
plenary asks for it, so whatever still holds up media is not the collector.
"""

from __future__ import annotations

import gc
import sys
import time
from typing import Any, TextIO

from server.cli.main import main as plenary

RECORDED_FROM_MS = 1.0


class Timer:
    def __init__(self, trace: TextIO) -> None:
        self.trace = trace
        self.began = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        now = time.monotonic()
        if phase == "start":
            self.began = now
            return
        took_ms = (now - self.began) * 1e3
        if took_ms >= RECORDED_FROM_MS:
            self.trace.write(f"{now:.6f} {info.get('generation', -1)} {took_ms:.3f}\n")


def collector_off() -> None:
    """No collection at all: plenary's own calls become no-ops too."""
    gc.disable()

    def nothing(*args: Any, **kwargs: Any) -> int:
        return 0

    gc.collect = nothing
    gc.freeze = nothing  # type: ignore[assignment]
    gc.unfreeze = nothing  # type: ignore[assignment]


def main(argv: list[str]) -> int:
    trace_path, *rest = argv
    off = rest[:1] == ["--collector-off"]
    plenary_argv = rest[rest.index("--") + 1 :]
    with open(trace_path, "w", buffering=1, encoding="utf-8") as trace:
        gc.callbacks.append(Timer(trace))
        if off:
            collector_off()
        return plenary(plenary_argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
