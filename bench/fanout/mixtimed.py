"""``plenary`` with the programme mix's own work timed, for the stage phase of the fan-out bench.

Run as ``python -m bench.fanout.mixtimed COUNTER -- serve ...``. Every ``ProgrammeMix`` of the
process adds the CPU time of its event-loop thread spent taking packets in (``push``) and making
frames (``tick``: decoding, summing, encoding), less the time its frames spend being forwarded
to the players (``emit``), which grows with the players and is the relay's, not the mix's. The
running total and the frames made are kept in the file ``COUNTER`` (two doubles, mapped), which
the bench reads before and after each window.

The instrument is the bench's, not plenary's: the server's CPU as a whole says what the mix costs
only as a small difference of large, noisy figures; this says it directly. A few
``time.thread_time()`` calls per 20 ms frame are all it adds.
"""

from __future__ import annotations

import mmap
import struct
import sys
import time
from pathlib import Path
from typing import Any

from server.cli.main import main as plenary
from server.media import mixer

COUNTER = struct.Struct("<dd")  # CPU seconds of the mixes' own work, frames made


class MixClock:
    """The total, in a file another process maps."""

    def __init__(self, path: Path) -> None:
        path.write_bytes(bytes(COUNTER.size))
        with path.open("r+b") as file:
            self._map = mmap.mmap(file.fileno(), COUNTER.size)
        self.seconds = 0.0
        self.frames = 0

    def add(self, seconds: float, frames: int = 0) -> None:
        self.seconds += seconds
        self.frames += frames
        COUNTER.pack_into(self._map, 0, self.seconds, float(self.frames))


def read_mix_clock(path: Path) -> tuple[float, float]:
    """(CPU seconds, frames) so far; zeros before the server wrote any."""
    try:
        data = path.read_bytes()
    except OSError:
        return 0.0, 0.0
    if len(data) < COUNTER.size:
        return 0.0, 0.0
    seconds, frames = COUNTER.unpack_from(data)
    return float(seconds), float(frames)


def time_the_mix(clock: MixClock) -> None:
    """Wraps ``ProgrammeMix.push``, ``tick`` and each mix's ``emit`` (time taken out)."""
    cls = mixer.ProgrammeMix
    push, tick, init = cls.push, cls.tick, cls.__init__

    def timed_init(self: Any, emit: Any, *args: Any, **kwargs: Any) -> None:
        async def untimed_emit(*emitted: Any) -> None:
            began = time.thread_time()
            try:
                await emit(*emitted)
            finally:
                clock.add(began - time.thread_time())

        init(self, untimed_emit, *args, **kwargs)

    def timed_push(self: Any, source: str, packet: Any) -> None:
        began = time.thread_time()
        try:
            push(self, source, packet)
        finally:
            clock.add(time.thread_time() - began)

    async def timed_tick(self: Any) -> None:
        began = time.thread_time()
        try:
            await tick(self)
        finally:
            clock.add(time.thread_time() - began, 1)

    cls.__init__ = timed_init  # type: ignore[method-assign]
    cls.push = timed_push  # type: ignore[method-assign]
    cls.tick = timed_tick  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    counter, *rest = argv
    time_the_mix(MixClock(Path(counter)))
    return plenary(rest[rest.index("--") + 1 :])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
