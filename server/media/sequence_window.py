"""Which sequence numbers of the relay's outgoing stream may still go out.

A viewer's SRTP index is a packet's sequence number with a rollover count in front, which the
viewer's SRTP session guesses from the newest index it has used (RFC 3711, section 3.3.1).
One index must never encrypt two different packets: with AES-GCM the nonce would repeat, and
with it the keystream and the means to forge. libsrtp, as aiortc sets it up
(``allow_repeat_tx``), encrypts an index again whenever it is asked to, so the forwarder never
asks: each sequence number goes out once. A packet may still come late and fill a gap, within
the last ``WINDOW`` numbers, where it is known what went out (libsrtp's own window is as long,
and it refuses anything older). Nothing goes out at or before the number the stream had reached
when its present source began (``fence``): the earlier numbers were other packets'.

Numbers are kept extended (rollovers and sequence number in one integer), so the comparisons
hold across 2^16. A sequence number is taken as the nearest one to the newest, as libsrtp does;
with a window far shorter than half the space, a late packet is never guessed into the wrong
rollover.
"""

from __future__ import annotations

import enum

SEQUENCE_SPACE = 1 << 16
WINDOW = 1024
_HALF = SEQUENCE_SPACE // 2
_WINDOW_BITS = (1 << WINDOW) - 1


class Placement(enum.Enum):
    NEWEST = "newest"  # ahead of every number used: the stream moves on to it
    LATE = "late"  # behind the newest but never used: it fills a gap
    REPEAT = "repeat"  # used already, by this very packet (a retransmission)
    STALE = "stale"  # before the fence, or too far behind to know: it must not go out


class SequenceWindow:
    """The numbers used lately, up to the newest; ``newest`` is a sequence number (16 bits)
    taken as used already, and the fence starts there."""

    def __init__(self, newest: int) -> None:
        self._newest = newest % SEQUENCE_SPACE
        self._fence = self._newest
        self._used = 1  # bit n: the number ``newest - n`` is used

    @property
    def newest(self) -> int:
        return self._newest % SEQUENCE_SPACE

    def fence(self) -> None:
        """A new source begins after the newest number: nothing up to it may go out again."""
        self._fence = self._newest

    def place(self, sequence: int) -> Placement:
        """Where ``sequence`` falls; unless it is STALE or a REPEAT, it is used from now on."""
        ahead = (sequence - self._newest + _HALF) % SEQUENCE_SPACE - _HALF
        if ahead > 0:
            self._used = 1 if ahead >= WINDOW else (self._used << ahead | 1) & _WINDOW_BITS
            self._newest += ahead
            return Placement.NEWEST
        behind = -ahead
        if behind >= WINDOW or self._newest - behind <= self._fence:
            return Placement.STALE
        if self._used >> behind & 1:
            return Placement.REPEAT
        self._used |= 1 << behind
        return Placement.LATE
