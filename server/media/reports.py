"""When each viewer of a forwarder gets its next RTCP sender report.

A sender report ties a stream's RTP timestamps to wall-clock time, which the viewer's browser
needs to keep sound and picture in step, and says how much has been sent. aiortc sends one per
stream about every second, each stream from a task of its own: at 200 viewers that is 400 tasks
and 400 reports a second, which cost the relay a tenth of its core. The relay sends them itself
instead (``PassthroughSender.send_report``), at libwebrtc's pace: video about every second,
audio about every five seconds. The forwarder asks for the reports due after forwarding a
packet, and sends them, with that packet's timestamp and send time, once the packets waiting
behind it have gone, one per turn of the event loop, so that none holds up the media long.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

INTERVAL_SECONDS = {"audio": 5.0, "video": 1.0}  # as libwebrtc; each varies by half either way
FIRST_WITHIN_SECONDS = 0.5  # a new viewer's first report: the browser's lip sync waits for it

Viewer = TypeVar("Viewer", bound=Hashable)


class ReportSchedule(Generic[Viewer]):
    """Who is due a report, by time. ``now`` is whatever clock the caller keeps."""

    def __init__(self, interval: float, random_unit: Callable[[], float] = random.random) -> None:
        if interval <= 0:
            raise ValueError("the interval between reports must be positive")
        self.interval = interval
        self._random = random_unit
        self._heap: list[tuple[float, int, Viewer]] = []
        self._entries = itertools.count()
        # Each viewer's current heap entry; an entry that is not is stale, skipped when popped.
        self._current: dict[Viewer, int] = {}

    def __len__(self) -> int:
        return len(self._current)

    def __contains__(self, viewer: object) -> bool:
        return viewer in self._current

    def add(self, viewer: Viewer, now: float) -> None:
        """A viewer starts receiving: its first report comes soon, spread over
        ``FIRST_WITHIN_SECONDS`` so viewers joining together are not reported together."""
        self._push(viewer, now + self._random() * min(FIRST_WITHIN_SECONDS, self.interval))
        self._drop_stale()

    def remove(self, viewer: Viewer) -> None:
        self._current.pop(viewer, None)

    def next_at(self) -> float:
        """When the next report may be due (infinity: nobody is scheduled)."""
        return self._heap[0][0] if self._heap else math.inf

    def take_due(self, now: float) -> Viewer | None:
        """A viewer due a report by ``now``, scheduled again; None if nobody is due."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, entry, viewer = heapq.heappop(heap)
            if self._current.get(viewer) == entry:  # not removed, nor added again since
                self._push(viewer, now + self.interval * (0.5 + self._random()))
                return viewer
        return None

    def _push(self, viewer: Viewer, at: float) -> None:
        entry = next(self._entries)
        self._current[viewer] = entry
        heapq.heappush(self._heap, (at, entry, viewer))

    def _drop_stale(self) -> None:
        """Comings and goings leave entries behind: drop them once they outnumber the rest."""
        if len(self._heap) > 2 * len(self._current) + 64:
            self._heap = [item for item in self._heap if self._current.get(item[2]) == item[1]]
            heapq.heapify(self._heap)
