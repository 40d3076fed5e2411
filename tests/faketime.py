"""A wall clock the test can set, for a real server in a subprocess: libfaketime (Debian's
``faketime`` package), preloaded into the server and driven at run time through a file.

Only the wall clock moves, as an NTP step moves it: the monotonic clock, which asyncio's
timers count on, runs on untouched (``FAKETIME_DONT_FAKE_MONOTONIC``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def libfaketime() -> Path | None:
    # The multi-threaded build: the server reads the clock from more than one thread.
    found = sorted(Path("/usr/lib").glob("*/faketime/libfaketimeMT.so.1"))
    return found[0] if found else None


@dataclass
class FakeTime:
    library: Path
    file: Path

    def environment(self) -> dict[str, str]:
        return {
            "LD_PRELOAD": str(self.library),
            "FAKETIME_TIMESTAMP_FILE": str(self.file),
            "FAKETIME_NO_CACHE": "1",  # read the file at every look, so a step is seen at once
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        }

    def set_offset(self, seconds: float) -> None:
        """Set the wall clock ``seconds`` ahead of the real one (behind, if negative)."""
        scratch = self.file.with_suffix(".new")
        scratch.write_text(f"{seconds:+.3f}\n", encoding="ascii")
        os.replace(scratch, self.file)  # whole, never half written, when the server reads it
