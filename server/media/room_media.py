"""One room's media: its publishers as sources on a stage, its viewers, and the forwarding
between them.

Every slot of the stage (``stage.py``) is a ``Forwarder``: one outgoing stream with its own
SSRC and continuous numbering, fed by whichever source holds the slot, so the viewers on it
keep watching when the stage changes. A stage-aware viewer's m-lines are attached to the
slots one for one; a plain player's two to its programme, one per view and receiver kind (see
``Programme``). A packet of a source goes to the slots and programmes it feeds, and nowhere
else; nothing is decoded, except the sound of a programme that mixes several sources, once per
programme.

Who may receive what is decided here for each viewer: never what its own token subject
publishes, and the remote view never the hall's.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from server.media.aiortc_internals.publisher import request_keyframe
from server.media.aiortc_internals.round_trip import viewer_report
from server.media.forwarder import Forwarder, ForwardingStats, Viewer
from server.media.health import Limits, TrackHealth, viewers_health
from server.media.keyframes import starts_keyframe
from server.media.mixer import Emit
from server.media.sessions import MediaSession
from server.media.speaking import SpeakingDetector
from server.media.stage import AUDIO, VIDEO, Source, Stage, View


class Mix(Protocol):
    """The sound of several sources as one stream (``mixer.ProgrammeMix``); a protocol, so
    that tests may count what reaches it."""

    def push(self, source: str, packet: RtpPacket) -> None: ...

    def forget(self, source: str) -> None: ...

    def start(self) -> None: ...

    async def close(self) -> None: ...


MixFactory = Callable[[Emit], Mix]
RTP_HEADER_BYTES = 12  # counted in a track's bitrate with its payload, as senders count it
CLOCK_RATES = {AUDIO: 48000, VIDEO: 90000}  # Opus's, and every video codec's


@dataclass(frozen=True)
class RoomSpec:
    """What the relay needs to know of a room: its id, whether it carries sound only, and
    which roles go on stage when they connect."""

    id: str
    audio_only: bool = False
    auto_stage: frozenset[str] = frozenset({"technician"})


@dataclass(frozen=True)
class StageSettings:
    audio_slots: int = 6  # sources on stage at once, each with a slot for its sound
    video_slots: int = 4  # pictures at once; past that, the most recent speakers'


@dataclass(eq=False)
class Receiver:
    """A viewer's m-line as the room sees it: whose session, and the forwarder feeding it."""

    session: MediaSession
    forwarder: Forwarder

    @property
    def view(self) -> View:
        return self.session.view

    @property
    def sub(self) -> str:
        return self.session.owner.sub


@dataclass(eq=False)
class Programme:
    """What plain players of one view get (all but those of ``sub``, whose own are left out):
    the picture of the active speaker, and the sound of every source they may hear, forwarded
    as it is when there is one, mixed when there are more."""

    view: View
    sub: str | None
    audio: Forwarder
    video: Forwarder | None
    picture: Source | None = None
    heard: list[Source] = field(default_factory=list)
    mix: Mix | None = None
    mix_key: str = ""  # the mix's name as a source; new whenever what it mixes changes


class RoomMedia:
    def __init__(
        self,
        spec: RoomSpec,
        settings: StageSettings,
        *,
        c_loop: bool,
        make_mix: MixFactory,
        stage_changed: Callable[[], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.room = spec.id
        self.audio_only = spec.audio_only
        self.c_loop = c_loop
        self.stage = Stage(
            settings.audio_slots, 0 if spec.audio_only else settings.video_slots, spec.auto_stage
        )
        self.publishers: list[MediaSession] = []
        self.viewers: list[MediaSession] = []
        self.audio_lanes = [self._forwarder(AUDIO) for _ in range(self.stage.audio_slots)]
        self.video_lanes = [self._forwarder(VIDEO) for _ in range(self.stage.video_slots)]
        self._make_mix = make_mix
        self._stage_changed = stage_changed
        self._clock = clock
        self._by_session: dict[MediaSession, Source] = {}
        self._detectors: dict[str, SpeakingDetector] = {}
        self._tracks: dict[tuple[str, str], TrackHealth] = {}  # by source id and kind
        self._receivers: dict[Viewer, Receiver] = {}
        self._programmes: dict[tuple[View, str | None], Programme] = {}
        self._mix_subs: dict[str, frozenset[str]] = {}
        self._mixes_made = 0
        self._routes: dict[tuple[str, str], list[Forwarder]] = {}
        self._mixing: dict[str, list[Mix]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # What forwarders no longer here sent (programmes nobody watches any more).
        self.retired = {AUDIO: ForwardingStats(), VIDEO: ForwardingStats()}

    # -- what there is -----------------------------------------------------------------------

    def sessions(self, publishing: bool) -> list[MediaSession]:
        return self.publishers if publishing else self.viewers

    def forwarders(self) -> list[Forwarder]:
        lanes = [*self.audio_lanes, *self.video_lanes]
        for programme in self._programmes.values():
            lanes.append(programme.audio)
            if programme.video is not None:
                lanes.append(programme.video)
        return lanes

    def forwarded(self) -> dict[str, ForwardingStats]:
        """What every forwarder the room has had sent to viewers, by kind."""
        forwarders = self.forwarders()
        return {
            kind: ForwardingStats.summed(
                [retired, *(f.stats for f in forwarders if f.kind == kind)]
            )
            for kind, retired in self.retired.items()
        }

    def source_of(self, session: MediaSession) -> Source | None:
        return self._by_session.get(session)

    # -- publishers --------------------------------------------------------------------------

    def add_source(self, session: MediaSession, kinds: tuple[str, ...]) -> Source:
        """A publisher connected: a source, on stage or backstage as the room says."""
        owner = session.owner
        source = Source(
            name=owner.name, role=owner.role, sub=owner.sub, kinds=kinds, id=session.source_id
        )
        self._by_session[session] = source
        self._detectors[source.id] = SpeakingDetector()
        now = self._clock()
        for kind in kinds:
            self._tracks[(source.id, kind)] = TrackHealth(kind, CLOCK_RATES[kind], now)
        self.stage.add(source, self._clock())
        self._restage()
        return source

    def remove_source(self, session: MediaSession) -> None:
        source = self.source_of(session)
        if source is None:
            return
        del self._by_session[session], self._detectors[source.id]
        for kind in (AUDIO, VIDEO):
            self._tracks.pop((source.id, kind), None)
        self.stage.remove(source, self._clock())
        self._restage()

    def move(self, source_id: object, on_stage: bool) -> Source:
        """A technician or moderator brings a source on stage or sends it backstage."""
        source = self.stage.bring_on(source_id) if on_stage else self.stage.send_back(source_id)
        self._restage()
        return source

    async def route(
        self, session: MediaSession, packet: RtpPacket, kind: str, codec: RTCRtpCodecParameters
    ) -> None:
        """One packet of a publisher's: to the slots and programmes its source feeds."""
        source = self.source_of(session)
        if source is None:
            return  # not connected yet, or gone
        level = None
        if kind == AUDIO:
            level = self._hear(source, packet)
            for mix in self._mixing.get(source.id, ()):
                mix.push(source.id, packet)
        self._measure(source, packet, kind, codec, level)
        for forwarder in self._routes.get((source.id, kind), ()):
            await forwarder.forward(packet, codec, source.id)

    def health(self, limits: Limits) -> dict[str, Any]:
        """How each source's tracks arrive and how the viewers receive, since the last call
        (the ``health`` message)."""
        now = self._clock()
        publishers = []
        for session, source in self._by_session.items():
            round_trip = session.round_trip()
            for kind in source.kinds:
                track = self._tracks.get((source.id, kind))
                if track is None:
                    continue
                publishers.append(
                    {
                        "id": source.id,
                        "name": source.name,
                        "role": source.role,
                        "on_stage": source.on_stage,
                        **track.sample(now, round_trip, limits).payload(),
                    }
                )
        viewers = [s for s in self.viewers if s.connected.is_set()]
        reports = [report for s in viewers if (report := _worst_report(s)) is not None]
        return {
            "room": self.room,
            "viewers": len(viewers),
            **viewers_health(reports, limits),
            "publishers": publishers,
        }

    def check_speaking(self) -> None:
        """Sources that went quiet without a packet to say so (DTX sends none)."""
        now = self._clock()
        changed = False
        for source in self._by_session.values():
            if self._detectors[source.id].expire(now):
                changed |= self._speaking(source, False)
        if changed:
            self._restage()

    # -- viewers -----------------------------------------------------------------------------

    def attach(self, session: MediaSession, view: View, kinds: list[str]) -> list[Forwarder | None]:
        """Which forwarder feeds each of a viewer's m-lines (of ``kinds``, in order); None for
        one that carries nothing. A plain player (one of each kind at most) gets a programme;
        a stage-aware viewer the slots, one m-line each."""
        if kinds.count(AUDIO) <= 1 and kinds.count(VIDEO) <= 1:
            programme = self._programme(session, view)
            return [programme.audio if kind == AUDIO else programme.video for kind in kinds]
        lanes = {AUDIO: iter(self.audio_lanes), VIDEO: iter(self.video_lanes)}
        return [next(lanes[kind], None) for kind in kinds]

    def receive(self, viewer: Viewer, session: MediaSession, forwarder: Forwarder) -> None:
        """``viewer``, an m-line of ``session``'s, is fed by ``forwarder`` from now on."""
        self._receivers[viewer] = Receiver(session, forwarder)
        forwarder.add_viewer(viewer)

    def forwarder_of(self, viewer: Viewer) -> Forwarder:
        return self._receivers[viewer].forwarder

    def forget_viewer(self, viewer: Viewer) -> None:
        """``viewer`` is gone; a programme nobody watches any more goes too, and its mix
        stops: plain players come and go, and a mix costs its room a decode per source."""
        receiver = self._receivers.pop(viewer, None)
        if receiver is None:
            return
        receiver.forwarder.remove_viewer(viewer)
        for key, programme in list(self._programmes.items()):
            forwarders = [programme.audio, programme.video]
            if receiver.forwarder in forwarders and not any(f and f.viewers for f in forwarders):
                self._stop_mixing(programme)
                del self._programmes[key]
                for forwarder in filter(None, forwarders):
                    self.retired[forwarder.kind].add(forwarder.stats)
                self._restage()

    async def close(self) -> None:
        for programme in self._programmes.values():
            if programme.mix is not None:
                await programme.mix.close()
        for task in list(self._tasks):
            task.cancel()

    # -- inside ------------------------------------------------------------------------------

    def _forwarder(self, kind: str) -> Forwarder:
        forwarder = Forwarder(kind, c_loop=self.c_loop, receives=self._receives)
        if kind == VIDEO:
            forwarder.request_keyframe = lambda: self._ask_for_picture(forwarder)
        return forwarder

    def _receives(self, viewer: Viewer, source_key: str | None) -> bool:
        receiver = self._receivers.get(viewer)
        if receiver is None or source_key is None:
            return True
        if source_key in self._mix_subs:
            return receiver.sub not in self._mix_subs[source_key]
        source = self.stage.find(source_key)
        return source is None or source.heard_by(receiver.sub, receiver.view)

    def _programme(self, session: MediaSession, view: View) -> Programme:
        """The programme of ``view`` for this session: its own subject's, if it publishes
        here (so that it is left out), else the one every other plain player shares."""
        sub = session.owner.sub
        publishes = any(source.sub == sub for source in self.stage.sources)
        key = (view, sub if publishes else None)
        programme = self._programmes.get(key)
        if programme is None:
            video = None if self.audio_only else self._forwarder(VIDEO)
            programme = self._programmes[key] = Programme(
                view, key[1], self._forwarder(AUDIO), video
            )
            self._restage()
        return programme

    def _hear(self, source: Source, packet: RtpPacket) -> int | None:
        """The packet's audio level, heard by the source's speaking detector."""
        level = packet.extensions.audio_level
        heard = level[1] if isinstance(level, tuple) and len(level) == 2 else None
        if self._detectors[source.id].hear(heard, self._clock()):
            if self._speaking(source, self._detectors[source.id].speaking):
                self._restage()
            else:
                self._stage_changed()
        return heard

    def _measure(
        self,
        source: Source,
        packet: RtpPacket,
        kind: str,
        codec: RTCRtpCodecParameters,
        level: int | None,
    ) -> None:
        now = self._clock()
        track = self._tracks.get((source.id, kind))
        if track is None:
            return  # a kind the source did not announce: not forwarded either
        # Only a frame's first packet can start a keyframe: the payload is read for that one.
        keyframe = (
            kind == VIDEO and track.starts_frame and starts_keyframe(codec.mimeType, packet.payload)
        )
        size = RTP_HEADER_BYTES + len(packet.payload)
        track.packet(
            packet.sequence_number,
            packet.timestamp,
            bool(packet.marker),
            size,
            now,
            keyframe,
            level,
        )

    def _speaking(self, source: Source, speaking: bool) -> bool:
        """Whether a slot or a programme's picture changed hands."""
        moved = self.stage.speaking_changed(source, speaking)
        return moved or any(
            self.stage.programme_picture(p.sub, p.view, p.picture) is not p.picture
            for p in self._programmes.values()
        )

    def _restage(self) -> None:
        """The stage changed: route every source's packets anew, and say so."""
        routes: dict[tuple[str, str], list[Forwarder]] = defaultdict(list)
        for lanes, kind in ((self.stage.audio_lanes(), AUDIO), (self.stage.video_lanes(), VIDEO)):
            forwarders = self.audio_lanes if kind == AUDIO else self.video_lanes
            for slot, source in enumerate(lanes):
                if source is not None:
                    routes[(source.id, kind)].append(forwarders[slot])
        mixing: dict[str, list[Mix]] = defaultdict(list)
        for programme in self._programmes.values():
            self._recast(programme, routes, mixing)
        self._routes, self._mixing = dict(routes), dict(mixing)
        self._stage_changed()

    def _recast(
        self,
        programme: Programme,
        routes: dict[tuple[str, str], list[Forwarder]],
        mixing: dict[str, list[Mix]],
    ) -> None:
        stage = self.stage
        programme.picture = stage.programme_picture(
            programme.sub, programme.view, programme.picture
        )
        if programme.picture is not None and programme.video is not None:
            routes[(programme.picture.id, VIDEO)].append(programme.video)
        heard = stage.heard(programme.sub, programme.view)
        if len(heard) == 1:
            routes[(heard[0].id, AUDIO)].append(programme.audio)
        if len(heard) > 1:
            mix = self._mix_for(programme, heard)
            for source in heard:
                mixing[source.id].append(mix)
        elif programme.mix is not None:
            self._stop_mixing(programme)
        programme.heard = heard

    def _stop_mixing(self, programme: Programme) -> None:
        if programme.mix is not None:
            self._close_later(programme.mix)
            programme.mix = None
        self._mix_subs.pop(programme.mix_key, None)
        programme.mix_key = ""

    def _mix_for(self, programme: Programme, heard: list[Source]) -> Mix:
        if programme.mix is None:
            audio = programme.audio

            async def emit(packet: RtpPacket, codec: RTCRtpCodecParameters) -> None:
                await audio.forward(packet, codec, programme.mix_key)

            programme.mix = self._make_mix(emit)
            programme.mix.start()
        if [s.id for s in heard] != [s.id for s in programme.heard] or not programme.mix_key:
            for gone in {s.id for s in programme.heard} - {s.id for s in heard}:
                programme.mix.forget(gone)
            self._mix_subs.pop(programme.mix_key, None)
            self._mixes_made += 1
            programme.mix_key = f"mix:{self._mixes_made}"
            self._mix_subs[programme.mix_key] = frozenset(s.sub for s in heard)
        return programme.mix

    def _close_later(self, mix: Mix) -> None:
        task = asyncio.ensure_future(mix.close())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _ask_for_picture(self, forwarder: Forwarder) -> None:
        """A keyframe request of ``forwarder``'s viewers, to the source now feeding it."""
        key = forwarder.source_key
        session = next((s for s, source in self._by_session.items() if source.id == key), None)
        ssrc = forwarder.source_ssrc
        if session is None or ssrc is None:
            return
        for transceiver in session.pc.getTransceivers():
            if transceiver.kind == VIDEO:
                task = asyncio.ensure_future(request_keyframe(transceiver.receiver, ssrc))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)


def _worst_report(session: MediaSession) -> tuple[float, float | None] | None:
    """A viewer's most lossy stream, as its receiver reports say; None before any report."""
    reports = [r for out in session.outputs if (r := viewer_report(out.sender)) is not None]
    return max(reports, key=lambda report: report[0]) if reports else None
