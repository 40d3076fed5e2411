"""Who is speaking, from the RFC 6464 audio level each audio packet carries (nothing decoded).

A level is -dBov, 0 (loudest) to 127 (silence). A source starts speaking once it has been
louder than ``LOUD_LEVEL`` for ``START_SECONDS`` with no gap longer than ``GAP_SECONDS``, and
stops after ``QUIET_SECONDS`` without a loud packet, so a breath between two sentences does
not flicker the picture. A source that sends no level, or stops sending (Opus DTX sends
nothing in silence), is quiet: ``expire`` notices that without a packet.

Pure, with the time passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

LOUD_LEVEL = 40  # louder than -40 dBov: speech at a microphone; a quiet room is about -60
START_SECONDS = 0.15
GAP_SECONDS = 0.2
QUIET_SECONDS = 1.0


@dataclass
class SpeakingDetector:
    speaking: bool = False
    _run_since: float | None = None  # when the current run of loud packets began
    _last_loud: float | None = None

    def hear(self, level: int | None, now: float) -> bool:
        """One audio packet's level (None without the extension). True if ``speaking``
        changed."""
        if level is None or not 0 <= level <= LOUD_LEVEL:
            return self.expire(now)
        if self._last_loud is None or now - self._last_loud > GAP_SECONDS:
            self._run_since = now
        self._last_loud = now
        if self.speaking or self._run_since is None or now - self._run_since < START_SECONDS:
            return False
        self.speaking = True
        return True

    def expire(self, now: float) -> bool:
        """Time passed without a loud packet. True if ``speaking`` changed."""
        if self.speaking and (self._last_loud is None or now - self._last_loud > QUIET_SECONDS):
            self.speaking = False
            self._run_since = None
            return True
        return False
