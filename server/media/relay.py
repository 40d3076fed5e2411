"""The relay: who publishes into each room and who watches it, and the forwarding between.

Each room carries one programme: the most recently connected publisher is on air, and when it
drops the one before it (still connected) takes over. Its packets go through the room's two
forwarders (audio, video) to every viewer, undecoded. Audio-only rooms have no video forwarder,
and their sessions refuse video in the SDP answer, so no picture is ever carried.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from ipaddress import ip_address

from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpTransceiver, RTCSessionDescription
from aiortc.exceptions import InvalidAccessError, InvalidStateError, OperationError
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket
from aiortc.sdp import SessionDescription

from server.errors import Conflict, PlenaryError
from server.media.admission import AdmissionLimits, Occupancy, admit_publisher, admit_viewer
from server.media.aiortc_internals.ice import answer_as_dtls_server, restrict_ice
from server.media.aiortc_internals.publisher import (
    ForwardingFailures,
    request_keyframe,
    tap_receiver,
)
from server.media.aiortc_internals.viewer_sender import PassthroughSender
from server.media.codecs import prefer_relay_codecs
from server.media.fanout import C_LOOP_BUILT
from server.media.forwarder import Forwarder
from server.media.heap import HeapKeeper
from server.media.sdp import BadSdp, NoCommonCodec, Offer
from server.media.sessions import Direction, MediaSession, Owner, SessionState

log = logging.getLogger(__name__)

NO_COMMON_CODEC = "the offer has no audio or video codec this relay forwards (Opus, VP8, H.264)"


@dataclass(frozen=True)
class RelaySettings:
    ice_addresses: tuple[str, ...] = ()
    limits: AdmissionLimits = field(default_factory=AdmissionLimits)
    connect_within_seconds: float = 10.0  # from its answer; then it is closed and its seat free
    c_loop: bool = C_LOOP_BUILT  # packets go out through the C loop (_fanout.c), if built
    own_gcm: bool = True  # the C loop encrypts AES-GCM itself (_srtp.c), not through libsrtp

    @property
    def loopback_only(self) -> bool:
        """Announcing loopback only: remote candidates off loopback are ignored too."""
        return any(ip_address(address).is_loopback for address in self.ice_addresses)


@dataclass(eq=False)
class RoomMedia:
    room: str
    audio_only: bool
    c_loop: bool
    audio: Forwarder = field(init=False)
    video: Forwarder | None = field(init=False)
    publishers: list[MediaSession] = field(default_factory=list)
    viewers: list[MediaSession] = field(default_factory=list)
    _keyframe_tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.audio = Forwarder("audio", c_loop=self.c_loop)
        self.video = (
            None
            if self.audio_only
            else Forwarder("video", self._request_keyframe, c_loop=self.c_loop)
        )

    def sessions(self, direction: Direction) -> list[MediaSession]:
        return self.publishers if direction is Direction.PUBLISH else self.viewers

    @property
    def on_air(self) -> MediaSession | None:
        connected = [session for session in self.publishers if session.connected.is_set()]
        return connected[-1] if connected else None

    def forwarder(self, kind: str) -> Forwarder | None:
        return self.audio if kind == "audio" else self.video

    def _request_keyframe(self) -> None:
        publisher, video = self.on_air, self.video
        if publisher is None or video is None or video.source_ssrc is None:
            return
        for transceiver in publisher.pc.getTransceivers():
            if transceiver.kind == "video":
                task = asyncio.ensure_future(
                    request_keyframe(transceiver.receiver, video.source_ssrc)
                )
                self._keyframe_tasks.add(task)
                task.add_done_callback(self._keyframe_tasks.discard)


Changed = Callable[[str], Awaitable[None]]


class Relay:
    def __init__(self, settings: RelaySettings, heap: HeapKeeper) -> None:
        self.settings = settings
        self.heap = heap
        self._rooms: dict[str, RoomMedia] = {}
        self._sessions: dict[str, MediaSession] = {}
        self._listeners: list[Changed] = []
        self._closing = False
        self._forwarded_before = {"audio": 0, "video": 0}
        self.forwarding_failures = ForwardingFailures()
        self.refusals: Counter[str] = Counter()  # offers turned away, by error code
        self.replaced = 0  # sessions closed to admit a newer one of the same person
        self.never_connected = 0  # answered sessions that closed before connecting

    def subscribe(self, listener: Changed) -> None:
        self._listeners.append(listener)

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

    def forwarded_packets(self) -> dict[str, int]:
        """Packets sent to viewers since start, by kind (rooms that ended included)."""
        totals = dict(self._forwarded_before)
        for media in self._rooms.values():
            for forwarder in (media.audio, media.video):
                if forwarder is not None:
                    totals[forwarder.kind] += forwarder.stats.packets_out
        return totals

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

    async def publish(
        self, room: str, audio_only: bool, owner: Owner, offer: Offer
    ) -> MediaSession:
        return await self._open(self._media(room, audio_only), Direction.PUBLISH, owner, offer)

    async def watch(self, room: str, audio_only: bool, owner: Owner, offer: Offer) -> MediaSession:
        return await self._open(self._media(room, audio_only), Direction.WATCH, owner, offer)

    async def end_room(self, room: str, reason: str = "the room ended") -> None:
        media = self._rooms.pop(room, None)
        if media is not None:
            for forwarder in (media.audio, media.video):
                if forwarder is not None:
                    self._forwarded_before[forwarder.kind] += forwarder.stats.packets_out
            for session in [*media.publishers, *media.viewers]:
                await session.close(reason)

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
        for session in list(self._sessions.values()):
            await session.close("the server is stopping")

    def _media(self, room: str, audio_only: bool) -> RoomMedia:
        media = self._rooms.get(room)
        if media is None:
            media = self._rooms[room] = RoomMedia(room, audio_only, self.settings.c_loop)
        return media

    async def _open(
        self, media: RoomMedia, direction: Direction, owner: Owner, offer: Offer
    ) -> MediaSession:
        """Admit, take the seat before anything is awaited (so that offers arriving together
        are counted together), free the seat it replaces, then answer."""
        replaced = self._admit(media, direction, owner)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        session = MediaSession(room=media.room, direction=direction, owner=owner, pc=pc)
        self._sessions[session.id] = session
        media.sessions(direction).append(session)
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
        mine = [s for s in media.sessions(direction) if s.owner.sub == owner.sub]
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
        setup: Callable[[RoomMedia, MediaSession, RTCRtpTransceiver], None],
    ) -> None:
        pc = session.pc
        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer.sdp, "offer"))
            if session.closed:  # its room ended meanwhile: give the forwarders nothing to keep
                raise SessionEnded(session.close_reason)
            for transceiver in pc.getTransceivers():
                setup(media, session, transceiver)
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
            if pc.connectionState == "connected":
                if session.direction is Direction.WATCH and media.video is not None:
                    media.video.ask_for_keyframe()  # so the newcomer sees a picture at once
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
        self, media: RoomMedia, session: MediaSession, transceiver: RTCRtpTransceiver
    ) -> None:
        forwarder = media.forwarder(transceiver.kind)
        if forwarder is None:  # video in an audio-only room: refused in the answer
            transceiver.direction = "inactive"
            return
        prefer_relay_codecs(transceiver)
        transceiver.direction = "recvonly"

        async def on_packet(packet: RtpPacket, codec: RTCRtpCodecParameters) -> None:
            if media.on_air is session:
                await forwarder.forward(packet, codec)

        tap_receiver(transceiver.receiver, on_packet, self.forwarding_failures)

    def _viewer_setup(
        self, media: RoomMedia, session: MediaSession, transceiver: RTCRtpTransceiver
    ) -> None:
        forwarder = media.forwarder(transceiver.kind)
        if forwarder is None:
            transceiver.direction = "inactive"
            return
        prefer_relay_codecs(transceiver)
        transceiver.direction = "sendonly"
        if any(output.sender.kind == transceiver.kind for output in session.outputs):
            return  # a further slot of that kind: empty, never the programme a second time
        output = PassthroughSender(
            transceiver.sender,
            forwarder.ssrc,
            forwarder.ask_for_keyframe,
            forwarder.replan,
            own_gcm=self.settings.own_gcm,
        )
        session.outputs.append(output)
        forwarder.add_viewer(output)

    async def _forget(self, media: RoomMedia, session: MediaSession) -> None:
        self._sessions.pop(session.id, None)
        if session.answered and not session.connected.is_set():
            self.never_connected += 1
        was_on_air = media.on_air is session
        for group in (media.publishers, media.viewers):
            if session in group:
                group.remove(session)
        self.heap.closed()
        self.heap.viewers_changed(self.viewer_sessions)
        for output in session.outputs:
            for forwarder in (media.audio, media.video):
                if forwarder is not None:
                    forwarder.remove_viewer(output)
        if was_on_air and media.video is not None:
            media.video.ask_for_keyframe()  # the next publisher on air starts with a picture
        if not self._closing:
            await self._changed(media.room)

    async def _changed(self, room: str) -> None:
        for listener in self._listeners:
            try:
                await listener(room)
            except Exception:
                log.exception("relay listener failed")


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
