"""Round trips the relay can time without sending anything more: a publisher's, on ICE's
consent checks (RFC 7675, one every 4 to 6 seconds), and a viewer's, from its receiver
reports (which aiortc's sender reads)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aioice import Connection
from aiortc import RTCRtpReceiver, RTCRtpSender, RTCStatsReport

from server.media.aiortc_internals.compat import SENDER_MANGLED

FRACTION_SCALE = 256  # RTCP's fraction lost is out of 256


class ConsentRoundTrip:
    """A publisher's latest round trip in milliseconds, timed on the consent checks aioice
    sends on the nominated pair once connected; None until one has been answered."""

    def __init__(self, connection: Connection, clock: Callable[[], float] = time.monotonic) -> None:
        self.latest_ms: float | None = None
        self._connection = connection
        self._clock = clock
        self._timed: Any = None  # the protocol whose requests are timed

    @classmethod
    def of(cls, receiver: RTCRtpReceiver) -> ConsentRoundTrip:
        """The one for the ICE connection ``receiver``'s media arrives on."""
        return cls(receiver.transport.transport._connection)

    def __call__(self) -> float | None:
        self._watch()
        return self.latest_ms

    def _watch(self) -> None:
        """Time the nominated pair's requests: after nomination, only consent checks."""
        pair = self._connection._nominated.get(1)
        if pair is None or pair.protocol is self._timed:
            return
        protocol = self._timed = pair.protocol
        request = protocol.request

        async def timed(*args: Any, **kwargs: Any) -> Any:
            began = self._clock()
            answer = await request(*args, **kwargs)  # raises if unanswered: nothing timed
            self.latest_ms = (self._clock() - began) * 1000
            return answer

        protocol.request = timed  # type: ignore[method-assign]


def viewer_report(sender: RTCRtpSender) -> tuple[float, float | None] | None:
    """What a viewer's latest receiver report says of the stream ``sender`` sends it: the
    percentage lost since the report before, and the round trip in milliseconds (None until
    a report answers a sender report); None before its first report."""
    stats: RTCStatsReport = getattr(sender, SENDER_MANGLED + "stats")
    for report in stats.values():
        if getattr(report, "type", None) == "remote-inbound-rtp":
            rtt: float | None = getattr(sender, SENDER_MANGLED + "rtt")
            lost = 100.0 * report.fractionLost / FRACTION_SCALE
            return lost, None if rtt is None else rtt * 1000
    return None
