"""The relay: the WHIP and WHEP sessions of every room, from offer to close.

It admits and answers each offer, taps a publisher's packets into its room (``room_media.py``:
the stage and the forwarding), gives each of a viewer's m-lines the forwarder that feeds it,
and says when a room's occupancy or stage changed. In audio-only rooms every video m-line is
answered inactive, a publisher's and a viewer's alike, so no picture is ever carried.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from ipaddress import ip_address
from typing import Any

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.exceptions import InvalidAccessError, InvalidStateError, OperationError
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket
from aiortc.sdp import SessionDescription

from server.background import RepeatingTask
from server.errors import Conflict, NotFound, PlenaryError
from server.listeners import tell_each
from server.media.admission import AdmissionLimits, Occupancy, admit_publisher, admit_viewer
from server.media.aiortc_internals.ice import answer_as_dtls_server, restrict_ice
from server.media.aiortc_internals.media_first import Publishers
from server.media.aiortc_internals.publisher import ForwardingFailures, tap_receiver
from server.media.aiortc_internals.round_trip import ConsentRoundTrip
from server.media.aiortc_internals.viewer_sender import PassthroughSender
from server.media.codecs import prefer_relay_codecs
from server.media.fanout import C_LOOP_BUILT
from server.media.forwarder import ForwardingStats
from server.media.health import Limits
from server.media.heap import HeapKeeper
from server.media.mixer import ProgrammeMix
from server.media.room_media import MixFactory, RoomMedia, RoomSpec, StageSettings
from server.media.sdp import BadSdp, NoCommonCodec, Offer
from server.media.sessions import Direction, MediaSession, Owner, SessionState
from server.media.stage import Source, View

log = logging.getLogger(__name__)

NO_COMMON_CODEC = "the offer has no audio or video codec this relay forwards (Opus, VP8, H.264)"


@dataclass(frozen=True)
class RelaySettings:
    ice_addresses: tuple[str, ...] = ()
    limits: AdmissionLimits = field(default_factory=AdmissionLimits)
    connect_within_seconds: float = 10.0  # from its answer; then it is closed and its seat free
    c_loop: bool = C_LOOP_BUILT  # packets go out through the C loop (_fanout.c), if built
    own_gcm: bool = True  # the C loop encrypts AES-GCM itself (_srtp.c), not through libsrtp
    stage: StageSettings = field(default_factory=StageSettings)

    @property
    def loopback_only(self) -> bool:
        """Announcing loopback only: remote candidates off loopback are ignored too."""
        return any(ip_address(address).is_loopback for address in self.ice_addresses)


Changed = Callable[[str], Awaitable[None]]
Setup = Callable[[RoomMedia, MediaSession, list[RTCRtpTransceiver]], None]
# Who is speaking is looked at this often even without packets (Opus DTX sends none).
SPEAKING_CHECK_SECONDS = 0.25
# Changes of a room's stage are gathered for this long, so a burst is one message.
STAGE_SECONDS = 0.05


class Relay:
    def __init__(
        self,
        settings: RelaySettings,
        heap: HeapKeeper,
        make_mix: MixFactory = ProgrammeMix,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.heap = heap
        self._make_mix = make_mix
        self._clock = clock
        self._rooms: dict[str, RoomMedia] = {}
        self._sessions: dict[str, MediaSession] = {}
        self._listeners: list[Changed] = []
        self._stage_listeners: list[Changed] = []
        self._stage_changed: set[str] = set()
        self._stage_flush: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._speaking_watch = RepeatingTask(
            "the speaking watch", SPEAKING_CHECK_SECONDS, self._check_speaking, log
        )
        self._closing = False
        # What the forwarders of rooms that ended sent.
        self._forwarded_before = {"audio": ForwardingStats(), "video": ForwardingStats()}
        self.forwarding_failures = ForwardingFailures()
        self._publishers = Publishers()  # their sockets: each takes its turn (MediaFirst)
        self.refusals: Counter[str] = Counter()  # offers turned away, by error code
        self.replaced = 0  # sessions closed to admit a newer one of the same person
        self.never_connected = 0  # answered sessions that closed before connecting

    def subscribe(self, listener: Changed) -> None:
        """``listener(room)`` when a room's occupancy changes."""
        self._listeners.append(listener)

    def subscribe_stage(self, listener: Changed) -> None:
        """``listener(room)`` when a room's sources, stage or speakers change."""
        self._stage_listeners.append(listener)

    def start(self) -> None:
        """Start looking for speakers gone quiet; ``close`` stops it."""
        if not self._closing:  # an offer still being answered at shutdown starts nothing
            self._speaking_watch.start()

    def problem(self) -> str | None:
        """What keeps the relay from working, in words (for ``/healthz``); None if nothing."""
        watch = self._speaking_watch
        if self._closing:
            return "stopped"
        if watch.started and not watch.running:
            return "its speaking watch stopped"
        if watch.failure is not None:
            return f"its speaking watch fails: {watch.failure}"
        return None

    def stage_payload(self, room: str, backstage: bool) -> list[dict[str, Any]]:
        """A room's sources as the ``stage`` message gives them (``Stage.payload``)."""
        media = self._rooms.get(room)
        return [] if media is None else media.stage.payload(backstage)

    def health(self, limits: Limits) -> list[dict[str, Any]]:
        """Every room with a source: how its tracks arrive and its viewers receive, since
        the last call (the ``health`` message)."""
        return [media.health(limits) for media in self._rooms.values() if media.stage.sources]

    def rooms_with_sources(self) -> list[str]:
        return [room for room, media in self._rooms.items() if media.stage.sources]

    def slots(self, audio_only: bool) -> dict[str, int]:
        """The m-lines a stage-aware viewer offers for a room."""
        stage = self.settings.stage
        return {"audio": stage.audio_slots, "video": 0 if audio_only else stage.video_slots}

    async def move(self, room: str, source_id: object, on_stage: bool) -> Source:
        """Bring a source of ``room`` on stage, or send it backstage."""
        media = self._rooms.get(room)
        if media is None:
            raise NotFound("there is no such source in this room")
        return media.move(source_id, on_stage)

    def counts(self, room: str) -> tuple[int, int]:
        """Connected publishers and connected viewers of ``room``."""
        media = self._rooms.get(room)
        if media is None:
            return 0, 0
        return (
            sum(s.connected.is_set() for s in media.publishers),
            sum(s.connected.is_set() for s in media.viewers),
        )

    def connecting_viewers(self, room: str | None = None) -> int:
        """Viewers of ``room`` (of every room if None) whose sessions have not connected yet."""
        rooms = self._rooms.values() if room is None else [self._rooms.get(room)]
        return sum(
            not session.connected.is_set()
            for media in rooms
            if media is not None
            for session in media.viewers
        )

    def session_counts(self) -> Counter[tuple[Direction, SessionState]]:
        return Counter((session.direction, session.state) for session in self._sessions.values())

    def forwarded(self) -> dict[str, ForwardingStats]:
        """What was sent to viewers since start, by kind (rooms that ended included)."""
        rooms = [media.forwarded() for media in self._rooms.values()]
        return {
            kind: ForwardingStats.summed([before, *(room[kind] for room in rooms)])
            for kind, before in self._forwarded_before.items()
        }

    @property
    def peer_connections(self) -> int:
        return len(self._sessions)

    @property
    def viewer_sessions(self) -> int:
        """WHEP sessions open in every room, connected or connecting."""
        return sum(len(media.viewers) for media in self._rooms.values())

    def session(self, session_id: str) -> MediaSession | None:
        return self._sessions.get(session_id)

    def room_media(self, room: str) -> RoomMedia | None:
        return self._rooms.get(room)

    async def publish(self, room: RoomSpec, owner: Owner, offer: Offer) -> MediaSession:
        return await self._open(self._media(room), Direction.PUBLISH, owner, offer)

    async def watch(
        self, room: RoomSpec, owner: Owner, offer: Offer, view: View = View.STAGE
    ) -> MediaSession:
        return await self._open(self._media(room), Direction.WATCH, owner, offer, view)

    async def end_room(self, room: str, reason: str = "the room ended") -> None:
        media = self._rooms.pop(room, None)
        if media is not None:
            for kind, stats in media.forwarded().items():
                self._forwarded_before[kind].add(stats)
            for session in [*media.publishers, *media.viewers]:
                await session.close(reason)
            await media.close()

    async def end_lapsed(self, now: datetime, is_revoked: Callable[[str], bool]) -> int:
        lapsed = [
            s
            for s in self._sessions.values()
            if s.owner.expires_at <= now or is_revoked(s.owner.jti)
        ]
        for session in lapsed:
            await session.close("access revoked or expired")
        return len(lapsed)

    async def close(self) -> None:
        self._closing = True
        await self._speaking_watch.stop()
        if self._stage_flush is not None:
            self._stage_flush.cancel()
        for session in list(self._sessions.values()):
            await session.close("the server is stopping")
        for media in self._rooms.values():
            await media.close()
        for task in list(self._tasks):
            task.cancel()
        self._publishers.close()

    def _media(self, room: RoomSpec) -> RoomMedia:
        media = self._rooms.get(room.id)
        if media is None:
            self.start()
            media = self._rooms[room.id] = RoomMedia(
                room,
                self.settings.stage,
                c_loop=self.settings.c_loop,
                make_mix=self._make_mix,
                stage_changed=lambda: self._on_stage_changed(room.id),
                clock=self._clock,
            )
        return media

    async def _open(
        self,
        media: RoomMedia,
        direction: Direction,
        owner: Owner,
        offer: Offer,
        view: View = View.STAGE,
    ) -> MediaSession:
        """Admit, take the seat before anything is awaited (so that offers arriving together
        are counted together), free the seat it replaces, then answer."""
        replaced = self._admit(media, direction, owner)
        # Every offer bundles (sdp.py checks): one transport from the first m-line on. The
        # default policy gives each further m-line of a kind a transport of its own that
        # bundling then leaves behind, unconnected, so a second video slot never sends.
        pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        session = MediaSession(room=media.room, direction=direction, owner=owner, pc=pc, view=view)
        self._sessions[session.id] = session
        media.sessions(direction is Direction.PUBLISH).append(session)
        session.on_close(lambda closed: self._forget(media, closed))
        if direction is Direction.WATCH:
            self.heap.viewers_changed(self.viewer_sessions)
        if replaced is not None:
            self.replaced += 1
            await replaced.close("replaced by a newer session of the same person")
        setup = self._publisher_setup if direction is Direction.PUBLISH else self._viewer_setup
        await self._answer(media, session, offer, setup)
        return session

    def _admit(self, media: RoomMedia, direction: Direction, owner: Owner) -> MediaSession | None:
        mine = [
            s for s in media.sessions(direction is Direction.PUBLISH) if s.owner.sub == owner.sub
        ]
        limits = self.settings.limits
        try:
            if direction is Direction.PUBLISH:
                return admit_publisher(mine, limits)
            occupancy = Occupancy(
                room_viewers=len(media.viewers),
                viewers=self.viewer_sessions,
                connecting_viewers=self.connecting_viewers(),
            )
            return admit_viewer(mine, occupancy, limits)
        except PlenaryError as refusal:
            self.refusals[refusal.code] += 1
            raise

    async def _answer(
        self,
        media: RoomMedia,
        session: MediaSession,
        offer: Offer,
        setup: Setup,
    ) -> None:
        pc = session.pc
        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer.sdp, "offer"))
            if session.closed:  # its room ended meanwhile: give the forwarders nothing to keep
                raise SessionEnded(session.close_reason)
            setup(media, session, pc.getTransceivers())
            if self.settings.ice_addresses:
                restrict_ice(pc, self.settings.ice_addresses)
            answer_as_dtls_server(pc)
            await pc.setLocalDescription(await pc.createAnswer())
        except (
            OperationError,
            ValueError,
            TypeError,
            KeyError,
            InvalidAccessError,
            InvalidStateError,
        ) as error:
            raise await self._refused(session, error) from None
        except BaseException:
            await session.close("failed to answer")
            raise
        if session.closed:  # the room ended (or the token lapsed) while it was answered
            raise SessionEnded(session.close_reason)
        if not _carries_media(pc):
            await session.close("no common codec")
            raise NoCommonCodec(NO_COMMON_CODEC)
        session.answer = pc.localDescription.sdp
        session.watch_connection(self.settings.connect_within_seconds)

        @pc.on("connectionstatechange")
        async def announce() -> None:
            if pc.connectionState == "connected" and not session.closed:
                if session.direction is Direction.PUBLISH:
                    media.add_source(session, _published_kinds(pc))
                for output in session.outputs:  # so the newcomer sees a picture at once
                    media.forwarder_of(output).ask_for_keyframe()
                await self._changed(media.room)

    async def _refused(self, session: MediaSession, error: Exception) -> PlenaryError:
        """The refusal for an offer whose answering raised ``error``; the session is closed."""
        if session.closed:  # closed under it, which is what made it raise
            return SessionEnded(session.close_reason)
        if isinstance(error, OperationError):  # aiortc found nothing it could send or receive
            await session.close("no common codec")
            return NoCommonCodec(f"{NO_COMMON_CODEC} ({error})")
        await session.close("bad offer")
        return BadSdp(f"the offer cannot be answered ({error})")

    def _publisher_setup(
        self, media: RoomMedia, session: MediaSession, transceivers: list[RTCRtpTransceiver]
    ) -> None:
        """Each m-line of a publisher's is received and tapped into the room; video in an
        audio-only room is refused in the answer."""
        if transceivers:  # bundled: one ICE connection for all, its round trip timed
            session.round_trip = ConsentRoundTrip.of(transceivers[0].receiver)
        for transceiver in transceivers:
            kind = transceiver.kind
            if kind == "video" and media.audio_only:
                transceiver.direction = "inactive"
                continue
            prefer_relay_codecs(transceiver)
            transceiver.direction = "recvonly"

            async def on_packet(
                packet: RtpPacket, codec: RTCRtpCodecParameters, kind: str = kind
            ) -> None:
                await media.route(session, packet, kind, codec)

            tap_receiver(
                transceiver.receiver, on_packet, self.forwarding_failures, self._publishers
            )

    def _viewer_setup(
        self, media: RoomMedia, session: MediaSession, transceivers: list[RTCRtpTransceiver]
    ) -> None:
        """Each m-line of a viewer's gets the forwarder the room gives it, or is answered
        inactive if none (a slot beyond the room's, video in an audio-only room)."""
        kinds = [transceiver.kind for transceiver in transceivers]
        for transceiver, forwarder in zip(
            transceivers, media.attach(session, session.view, kinds), strict=True
        ):
            if forwarder is None:
                transceiver.direction = "inactive"
                continue
            prefer_relay_codecs(transceiver)
            transceiver.direction = "sendonly"
            output = PassthroughSender(
                transceiver.sender,
                forwarder.ssrc,
                forwarder.ask_for_keyframe,
                forwarder.replan,
                own_gcm=self.settings.own_gcm,
            )
            session.outputs.append(output)
            media.receive(output, session, forwarder)

    async def _forget(self, media: RoomMedia, session: MediaSession) -> None:
        self._sessions.pop(session.id, None)
        if session.answered and not session.connected.is_set():
            self.never_connected += 1
        for group in (media.publishers, media.viewers):
            if session in group:
                group.remove(session)
        self.heap.closed()
        self.heap.viewers_changed(self.viewer_sessions)
        media.remove_source(session)
        for output in session.outputs:
            media.forget_viewer(output)
        if not self._closing:
            await self._changed(media.room)

    async def _changed(self, room: str) -> None:
        await tell_each(self._listeners, room, "relay")

    def _on_stage_changed(self, room: str) -> None:
        self._stage_changed.add(room)
        if self._stage_flush is None and not self._closing:
            loop = asyncio.get_running_loop()
            self._stage_flush = loop.call_later(STAGE_SECONDS, self._flush_stage)

    def _flush_stage(self) -> None:
        self._stage_flush = None
        rooms, self._stage_changed = self._stage_changed, set()
        for room in rooms:
            task = asyncio.ensure_future(tell_each(self._stage_listeners, room, "stage"))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _check_speaking(self) -> None:
        for media in list(self._rooms.values()):
            media.check_speaking()


def _published_kinds(pc: RTCPeerConnection) -> tuple[str, ...]:
    """The kinds a publisher's answer agreed to receive, audio first."""
    kinds = {t.kind for t in pc.getTransceivers() if t.direction == "recvonly"}
    return tuple(kind for kind in ("audio", "video") if kind in kinds)


class SessionEnded(Conflict):
    """The session was closed while its offer was being answered (its room ended, its token
    lapsed, the server is stopping)."""

    code = "session_ended"

    def __init__(self, reason: str) -> None:
        super().__init__(f"the session ended before it was answered: {reason}")


def _carries_media(pc: RTCPeerConnection) -> bool:
    """Whether the answer agreed to carry at least one audio or video stream."""
    description = pc.localDescription
    if description is None:
        return False
    return any(
        media.kind in ("audio", "video")
        and media.port != 0
        and media.rtp.codecs
        and media.direction != "inactive"
        for media in SessionDescription.parse(description.sdp).media
    )
