"""``plenary`` with its stream health switched off, for the fan-out bench's ``unmeasured`` mode.

Run as ``python -m bench.fanout.unmeasured serve ...``. Every room's per-packet health counts
(``RoomMedia._measure``: issue 16's bitrate, loss, jitter, frames, keyframes and levels) are
skipped, so that the same single-source ladder, run on this and on plenary as it is, says what
measuring costs per forwarded packet. The switch is the bench's, not plenary's: a server always
measures.
"""

from __future__ import annotations

import sys
from typing import Any

from server.cli.main import main as plenary
from server.media.room_media import RoomMedia


def _measure_nothing(self: RoomMedia, *args: Any) -> None:
    pass


def main(argv: list[str]) -> int:
    RoomMedia._measure = _measure_nothing  # type: ignore[method-assign,assignment]
    return plenary(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
