"""A room's stage: its sources, which are on stage, and the slot each takes.

Every publisher is a source. On stage, the audience receives it; backstage (connected, not yet
brought on) nobody does but its own session. A stage-aware receiver offers ``audio_slots``
audio and ``video_slots`` video m-lines, and the slots are the same for every receiver of the
room, so one ``stage`` message describes them all:
- each source on stage with sound holds an audio slot from the moment it comes on until it
  leaves;
- each with a picture holds a video slot while there are enough of them. With more pictures
  than video slots, the slots go to the most recent speakers: one who starts to speak takes the
  slot of whoever spoke least recently.
A plain player (one audio and one video m-line) gets the programme instead: the sound of
every source it may hear, mixed, and the picture of the active speaker, else the hall's.

Pure: the relay says who connected, spoke and left, and routes packets by what this says.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from server.errors import Conflict, NotFound

HALL_ROLE = "technician"  # the hall encoder runs on a technician's token
# A source that left the stage comes back on it by itself if its person reconnects within this
# (a reload, a network change): nobody has to bring a panelist on again mid-sentence.
REJOIN_SECONDS = 60.0
AUDIO, VIDEO = "audio", "video"


class View(StrEnum):
    """What a receiver asked to see: the whole stage, or the remote panelists only (the hall's
    return, which must never carry the hall's own feed back into the hall)."""

    STAGE = "stage"
    REMOTE = "remote"


class StageFull(Conflict):
    code = "stage_full"


@dataclass(eq=False)
class Source:
    """One publisher: what the stage knows of a WHIP session."""

    name: str
    role: str
    sub: str
    kinds: tuple[str, ...] = ()
    id: str = field(default_factory=lambda: secrets.token_urlsafe(8))
    on_stage: bool = False
    speaking: bool = False
    # When it last started to speak (an ordinal, not a time): the most recent speakers keep
    # the video slots when there are too few.
    spoke: int = 0

    @property
    def hall(self) -> bool:
        return self.role == HALL_ROLE

    def heard_by(self, sub: str | None, view: View) -> bool:
        """Whether a receiver of ``view`` whose token subject is ``sub`` may get this source:
        never one's own, and the remote view never the hall's."""
        return self.sub != sub and not (view is View.REMOTE and self.hall)


@dataclass
class Stage:
    audio_slots: int
    video_slots: int
    auto_stage: frozenset[str] = frozenset({HALL_ROLE})
    _sources: dict[str, Source] = field(default_factory=dict)
    _audio: list[Source | None] = field(init=False)
    _video: list[Source | None] = field(init=False)
    _turns: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _left: dict[str, float] = field(default_factory=dict)  # sub -> when it left the stage

    def __post_init__(self) -> None:
        self._audio = [None] * self.audio_slots
        self._video = [None] * self.video_slots

    @property
    def sources(self) -> list[Source]:
        """Every source, in the order they connected."""
        return list(self._sources.values())

    @property
    def on_stage(self) -> list[Source]:
        return [source for source in self._sources.values() if source.on_stage]

    def find(self, source_id: object) -> Source | None:
        return self._sources.get(source_id) if isinstance(source_id, str) else None

    def source(self, source_id: object) -> Source:
        """The source ``source_id`` of this room; NotFound for any other id (of another room
        too: a room's ids say nothing of another's)."""
        found = self.find(source_id)
        if found is None:
            raise NotFound("there is no such source in this room")
        return found

    def add(self, source: Source, now: float) -> None:
        """A publisher connected: on stage at once if its role goes there by itself, or its
        person was on stage a moment ago (and there is room), else backstage. A person's
        older source on stage (a reload, a reconnection) goes backstage for it."""
        older = [s for s in self._sources.values() if s.on_stage and s.sub == source.sub]
        for replaced in older:  # a person's newest session is the one on stage
            self._take_off(replaced)
        self._sources[source.id] = source
        left = self._left.pop(source.sub, None)
        back = left is not None and now - left <= REJOIN_SECONDS
        if (source.role in self.auto_stage or back or older) and self._room_on_stage():
            self._bring_on(source)

    def remove(self, source: Source, now: float) -> None:
        if self._sources.pop(source.id, None) is not None and source.on_stage:
            self._take_off(source)
            self._left[source.sub] = now

    def bring_on(self, source_id: object) -> Source:
        source = self.source(source_id)
        if source.on_stage:
            raise Conflict(f"{source.name} is already on stage")
        if not self._room_on_stage():
            raise StageFull(
                f"the stage is full: {self.audio_slots} on it at most; send someone backstage first"
            )
        self._bring_on(source)
        return source

    def send_back(self, source_id: object) -> Source:
        source = self.source(source_id)
        if not source.on_stage:
            raise Conflict(f"{source.name} is already backstage")
        self._take_off(source)
        return source

    def speaking_changed(self, source: Source, speaking: bool) -> bool:
        """The relay heard ``source`` start or stop speaking. True if a slot changed hands."""
        source.speaking = speaking
        if not speaking or not source.on_stage:
            return False
        source.spoke = next(self._turns)
        return self._give_video_slot(source)

    # -- slots -------------------------------------------------------------------------------

    def audio_slot(self, source: Source) -> int | None:
        return _index(self._audio, source)

    def video_slot(self, source: Source) -> int | None:
        return _index(self._video, source)

    def audio_lanes(self) -> Sequence[Source | None]:
        return tuple(self._audio)

    def video_lanes(self) -> Sequence[Source | None]:
        return tuple(self._video)

    # -- the programme, for plain players ----------------------------------------------------

    def heard(self, sub: str | None, view: View) -> list[Source]:
        """The on-stage sources with sound that a receiver of ``view`` and ``sub`` hears."""
        return [s for s in self.on_stage if AUDIO in s.kinds and s.heard_by(sub, view)]

    def programme_picture(
        self, sub: str | None, view: View, showing: Source | None
    ) -> Source | None:
        """The picture of a plain player's programme. The one ``showing`` stays while it is
        on stage and nobody else speaks; one who speaks takes over; without anyone, the hall,
        else whoever came on first."""
        seen = [s for s in self.on_stage if VIDEO in s.kinds and s.heard_by(sub, view)]
        if not seen:
            return None
        speakers = [s for s in seen if s.speaking]
        if showing in seen and (showing.speaking or not speakers):
            return showing
        if speakers:
            return max(speakers, key=lambda s: s.spoke)
        latest = max(seen, key=lambda s: s.spoke)
        if latest.spoke:
            return latest
        return next((s for s in seen if s.hall), seen[0])

    # -- on the wire -------------------------------------------------------------------------

    def payload(self, backstage: bool) -> list[dict[str, Any]]:
        """The ``stage`` message's sources; ``backstage``: include those not on stage (staff
        and speakers see them; the audience does not)."""
        return [
            {
                "id": source.id,
                "name": source.name,
                "role": source.role,
                "kinds": list(source.kinds),
                "on_stage": source.on_stage,
                "slot": self.video_slot(source),
                "speaking": source.speaking,
            }
            for source in self._sources.values()
            if backstage or source.on_stage
        ]

    # -- inside ------------------------------------------------------------------------------

    def _room_on_stage(self) -> bool:
        return len(self.on_stage) < self.audio_slots

    def _bring_on(self, source: Source) -> None:
        source.on_stage = True
        if AUDIO in source.kinds:
            _take_free(self._audio, source)
        # The hall's picture is never left out for want of a slot.
        if VIDEO in source.kinds and not _take_free(self._video, source) and source.hall:
            self._give_video_slot(source)

    def _take_off(self, source: Source) -> None:
        source.on_stage = False
        for lanes in (self._audio, self._video):
            slot = _index(lanes, source)
            if slot is not None:
                lanes[slot] = None
        self._fill_video_slots()

    def _give_video_slot(self, source: Source) -> bool:
        """``source`` takes a video slot if it has none: a free one, else the one of whoever
        spoke least recently (never a speaker's who is speaking now, if avoidable)."""
        if VIDEO not in source.kinds or self.video_slot(source) is not None:
            return False
        if _take_free(self._video, source):
            return True
        if not self._video:
            return False
        slot = min(
            range(len(self._video)),
            key=lambda i: (_speaking(self._video[i]), _spoke(self._video[i])),
        )
        self._video[slot] = source
        return True

    def _fill_video_slots(self) -> None:
        """A slot came free: the most recent speaker left without one takes it."""
        waiting = [s for s in self.on_stage if VIDEO in s.kinds and self.video_slot(s) is None]
        for source in sorted(waiting, key=lambda s: -s.spoke):
            if not _take_free(self._video, source):
                return


def _take_free(lanes: list[Source | None], source: Source) -> bool:
    for slot, holder in enumerate(lanes):
        if holder is None:
            lanes[slot] = source
            return True
    return False


def _index(lanes: Iterable[Source | None], source: Source) -> int | None:
    return next((slot for slot, holder in enumerate(lanes) if holder is source), None)


def _speaking(source: Source | None) -> bool:
    return source is not None and source.speaking


def _spoke(source: Source | None) -> int:
    return 0 if source is None else source.spoke
