"""A publisher's send log, shared with another process: a ring of fixed-size records in a file
both map.

The fan-out bench's publisher runs in a process of its own, as a hall encoder or a speaker's
browser is a machine of its own: on the viewers' busy event loop its pacing slipped and it sent
packets in bursts, which the relay then had to queue. It writes one record per RTP packet it
hands to SRTP, before the packet leaves; the viewers' process reads them when it needs them.
Times are ``time.perf_counter()``, CLOCK_MONOTONIC on Linux: one clock for every process.
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path

# sent at, payload key, RTP timestamp, sequence number, kind (-1: not counted), marker bit
RECORD = struct.Struct("<dQIHbB")
COUNT = struct.Struct("<Q")  # records written so far, at the start of the file
CAPACITY = 1 << 14  # 100 s of a 1 Mbps stream; the reader needs the last few seconds

Record = tuple[float, int, int, int, int, int]


class SendRing:
    """``SendRing.create(path)`` for the publisher, ``SendRing.open(path)`` for the reader."""

    def __init__(self, path: Path, create: bool) -> None:
        size = COUNT.size + CAPACITY * RECORD.size
        if create:
            path.write_bytes(bytes(size))
        with path.open("r+b") as file:
            self._map = mmap.mmap(file.fileno(), size)
        self._read = 0  # the reader's: records taken so far

    @classmethod
    def create(cls, path: Path) -> SendRing:
        return cls(path, create=True)

    @classmethod
    def open(cls, path: Path) -> SendRing:
        return cls(path, create=False)

    def append(self, record: Record) -> None:
        (count,) = COUNT.unpack_from(self._map, 0)
        RECORD.pack_into(self._map, COUNT.size + (count % CAPACITY) * RECORD.size, *record)
        COUNT.pack_into(self._map, 0, count + 1)  # after the record: a reader sees it whole

    def new_records(self) -> list[Record]:
        """What was written since the last call (at most the ring's capacity: the newest)."""
        (count,) = COUNT.unpack_from(self._map, 0)
        if count == self._read:
            return []
        first = max(self._read, count - CAPACITY)
        self._read = count
        at = COUNT.size
        return [
            RECORD.unpack_from(self._map, at + (index % CAPACITY) * RECORD.size)
            for index in range(first, count)
        ]
