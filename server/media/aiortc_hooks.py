"""Every place plenary reaches into aiortc's internals, in one small module.

aiortc (1.16) decodes every packet it receives and encodes every frame it sends. A relay must
do neither, so this module changes three things on individual objects, never on the classes:

- a publisher's ``RTCRtpReceiver`` hands each RTP packet to the relay as it arrives, while the
  receiver still keeps its statistics, receiver reports, NACKs and REMB towards the publisher;
  its decoder thread is stopped and its jitter buffer replaced by one that keeps nothing; and
  the publisher's next datagram is taken at once (``MediaFirst``);
- a viewer's ``RTCRtpSender`` has no encoder loop: the relay encrypts finished RTP packets
  and sends them on its ICE pair (``route()``, and ``outlet()`` for the C loop that
  ``fanout.py`` drives, with its own AES-GCM when that is the SRTP profile, else with the
  connection's libsrtp session), gives it the history to answer NACKs from with aiortc's own
  retransmission, and sends its RTCP sender reports when the relay says (``send_report``)
  instead of from a task of its own; a viewer's keyframe request calls the relay;
- the DTLS role and the ICE candidates of a connection are chosen by plenary.

``check_compatible()`` fails loudly, at start-up and in the tests, if an aiortc upgrade renames
any of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aioice import Connection
from aiortc import RTCDtlsTransport, RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.codecs import is_rtx
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpSendParameters
from aiortc.rtp import (
    RTP_HISTORY_SIZE,
    HeaderExtensionsMap,
    RtcpByePacket,
    RtcpSdesPacket,
    RtcpSenderInfo,
    RtcpSourceInfo,
    RtcpSrPacket,
    RtpPacket,
    unwrap_rtx,
)
from aiortc.utils import random32
from pylibsrtp import SRTP_MAX_TRAILER_LEN, Session
from pylibsrtp import Error as SrtpError
from pylibsrtp._binding import ffi, lib

from server.media.srtp_keys import (
    GCM_PROFILES,
    SessionKeys,
    rtp_session_keys,
    split_keying_material,
)

try:
    from server.media import _fanout
except ImportError:  # installed without a C compiler: the same loop runs in Python
    _fanout = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

# Whether the C loop encrypts AES-GCM itself (``_srtp.c``) rather than through libsrtp.
native_gcm = True

# Room for a publisher's largest packet, our header extensions and SRTP's trailer.
SRTP_BUFFER_BYTES = 2048
SRTP_PACKET_LIMIT = SRTP_BUFFER_BYTES - SRTP_MAX_TRAILER_LEN

PacketHandler = Callable[[RtpPacket, RTCRtpCodecParameters], Awaitable[None]]

_RECEIVER = "_RTCRtpReceiver__"
_SENDER = "_RTCRtpSender__"
RECEIVER_ATTRIBUTES = ("codecs", "rtx_ssrc", "jitter_buffer", "stop_decoder")
SENDER_ATTRIBUTES = (
    "rtp_history",
    "rtp_started",
    "rtp_exited",
    "rtcp_started",
    "rtcp_exited",
    "lsr",
    "lsr_time",
    "cname",
    "packet_count",
    "octet_count",
    "ntp_timestamp",
    "rtp_timestamp",
    "rtx_payload_type",
)


class AiortcChanged(RuntimeError):
    """The aiortc installed is not the one this relay was written against."""


def check_compatible() -> None:
    """Raise ``AiortcChanged`` naming whatever this module relies on that is gone."""
    missing = []
    receiver_methods = ("_handle_rtp_packet", "receive", "_send_rtcp_pli")
    sender_methods = (
        "_run_rtp",
        "_run_rtcp",
        "_send_rtcp",
        "_send_keyframe",
        "_retransmit",
        "send",
    )
    missing += [
        f"RTCRtpReceiver.{name}" for name in receiver_methods if not hasattr(RTCRtpReceiver, name)
    ]
    missing += [
        f"RTCRtpSender.{name}" for name in sender_methods if not hasattr(RTCRtpSender, name)
    ]
    source_receiver = RTCRtpReceiver.__init__.__code__.co_names
    source_sender = RTCRtpSender.__init__.__code__.co_names
    missing += [
        f"RTCRtpReceiver.__{name}"
        for name in RECEIVER_ATTRIBUTES
        if _RECEIVER + name not in source_receiver + _method_names(RTCRtpReceiver)
    ]
    missing += [
        f"RTCRtpSender.__{name}"
        for name in SENDER_ATTRIBUTES
        if _SENDER + name not in source_sender
    ]
    dtls_names = RTCDtlsTransport._setup_srtp.__code__.co_names
    missing += [
        f"RTCDtlsTransport {name}"
        for name in ("_ssl", "_role", "export_keying_material", "get_selected_srtp_profile")
        if name not in dtls_names
    ]
    missing += [
        f"aioice.Connection.{name}"
        for name in ("_nominated", "_queue")
        if name not in Connection.__init__.__code__.co_names
    ]
    missing += [
        f"pylibsrtp.Session.{name}"
        for name in ("_cdata", "_buffer", "_srtp")
        if name not in Session.__init__.__code__.co_names
    ]
    if not hasattr(lib, "srtp_protect"):
        missing.append("pylibsrtp lib.srtp_protect")
    elif _protect_address() == 0:
        missing.append("the address of pylibsrtp's srtp_protect")
    if missing:
        raise AiortcChanged("aiortc changed; the relay needs: " + ", ".join(missing))


def _method_names(cls: type) -> tuple[str, ...]:
    return tuple(name for name in vars(cls) if callable(getattr(cls, name)))


# -- publishers --------------------------------------------------------------------------


class _KeepNothing:
    """Stands in for the receiver's jitter buffer: no frame is ever assembled or decoded."""

    def add(self, packet: RtpPacket) -> tuple[bool, None]:
        return False, None


def tap_receiver(receiver: RTCRtpReceiver, on_packet: PacketHandler) -> None:
    """Hand every RTP packet the publisher sends to ``on_packet``, undecoded."""
    setattr(receiver, _RECEIVER + "jitter_buffer", _KeepNothing())
    keep_books = receiver._handle_rtp_packet
    start = receiver.receive

    async def receive(parameters: Any) -> None:
        await start(parameters)
        getattr(receiver, _RECEIVER + "stop_decoder")()  # started by receive(); never needed

    async def handle(packet: RtpPacket, arrival_time_ms: int) -> None:
        codecs: dict[int, RTCRtpCodecParameters] = getattr(receiver, _RECEIVER + "codecs")
        codec = codecs.get(packet.payload_type)
        if codec is not None and packet.payload:  # padding-only packets are probes: dropped
            forwardable = (
                _unwrapped(receiver, packet, codec, codecs) if is_rtx(codec) else (packet, codec)
            )
            try:
                if forwardable is not None:
                    await on_packet(*forwardable)
            except Exception:
                # An exception here would end the publisher's whole DTLS transport.
                log.exception("forwarding a packet failed; the publisher stays connected")
        await keep_books(packet, arrival_time_ms)
        media_first.take_next()

    media_first = MediaFirst.of(receiver.transport)
    receiver.receive = receive  # type: ignore[method-assign]
    receiver._handle_rtp_packet = handle  # type: ignore[method-assign]


class MediaFirst:
    """Takes a publisher's next datagram off its ICE socket as soon as a packet has been
    forwarded, and hands it to aioice as asyncio would, so the publisher's DTLS task forwards
    it next. A keyframe's packets then go out one after another, each not waiting behind
    whatever else the event loop has ready (sender reports, RTCP, STUN, HTTP): at 200 viewers
    the delay's p99 falls by 1 to 3 ms. At most ``IN_A_ROW`` are taken before the loop gets its
    turn again, so a flood cannot starve it."""

    IN_A_ROW = 64
    DATAGRAM_BYTES = 256 * 1024  # as asyncio's datagram transports

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.taken = 0  # in a row: since the event loop last had its turn
        self.taken_in_all = 0

    @classmethod
    def of(cls, transport: RTCDtlsTransport) -> MediaFirst:
        """The one for this DTLS transport: audio and video bundled on it share the count."""
        made: MediaFirst | None = getattr(transport, "_plenary_media_first", None)
        if made is None:
            made = cls(transport.transport._connection)
            transport._plenary_media_first = made  # type: ignore[attr-defined]
        return made

    def take_next(self) -> None:
        if self.taken >= self.IN_A_ROW or not self.connection._queue.empty():
            return  # the loop's turn; or the DTLS task has one to handle already
        pair = self.connection._nominated.get(1)
        if pair is None:
            return
        sock = getattr(pair.protocol.transport, "_sock", None)
        if not isinstance(sock, socket.socket) or sock.fileno() < 0:
            return
        try:
            data, address = sock.recvfrom(self.DATAGRAM_BYTES)
        except (BlockingIOError, InterruptedError):
            return  # nothing waiting
        except OSError as error:
            pair.protocol.error_received(error)
            return
        if self.taken == 0:
            asyncio.get_running_loop().call_soon(self._loop_had_its_turn)
        self.taken += 1
        self.taken_in_all += 1
        try:
            pair.protocol.datagram_received(data, address)
        except Exception:  # raised into the DTLS task, it would end the publisher's transport
            log.exception("a datagram from the publisher could not be handled")

    def _loop_had_its_turn(self) -> None:
        self.taken = 0


def _unwrapped(
    receiver: RTCRtpReceiver,
    packet: RtpPacket,
    codec: RTCRtpCodecParameters,
    codecs: dict[int, RTCRtpCodecParameters],
) -> tuple[RtpPacket, RTCRtpCodecParameters] | None:
    ssrcs: dict[int, int] = getattr(receiver, _RECEIVER + "rtx_ssrc")
    apt = codec.parameters.get("apt")
    if packet.ssrc not in ssrcs or not isinstance(apt, int) or apt not in codecs:
        return None
    if len(packet.payload) < 3:
        return None
    return unwrap_rtx(packet, payload_type=apt, ssrc=ssrcs[packet.ssrc]), codecs[apt]


async def request_keyframe(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    """Send the publisher a Picture Loss Indication for ``media_ssrc``."""
    await receiver._send_rtcp_pli(media_ssrc)


# -- viewers -----------------------------------------------------------------------------


Route = tuple[Callable[[bytes], bytes], Callable[[bytes, Any], Any], Any]
"""How one viewer's copy of a packet leaves: (encrypt, send, address), used as
``send(encrypt(data), address)``. ``encrypt`` takes packets up to ``SRTP_PACKET_LIMIT`` bytes;
either may raise ``OSError``: the viewer misses that packet."""


class PassthroughSender:
    """An ``RTCRtpSender`` fed finished RTP packets instead of frames to encode."""

    def __init__(
        self,
        sender: RTCRtpSender,
        ssrc: int,
        on_keyframe_request: Callable[[], None],
        on_ready: Callable[[], None] = lambda: None,
    ) -> None:
        self.sender = sender
        self.parameters: RTCRtpSendParameters | None = None
        self.extensions = HeaderExtensionsMap()
        self.extension_ids: tuple[tuple[int, str], ...] = ()
        self._profiles: dict[tuple[str, int], tuple[int, str | None, object] | None] = {}
        self._route: Route | None = None
        self._route_made_for: tuple[Any, ...] = ()
        self._outlet: Any = None  # a _fanout.Outlet, made from the route
        self._srtp: Any = None  # its _fanout.GcmSender or LibsrtpSender
        self._srtp_for: Session | None = None  # the connection's libsrtp session, as its key
        self._history: dict[int, RtpPacket] = {}
        self._sdes: bytes | None = None
        # Every viewer of a room shares one SSRC per kind, so one serialised packet fits all.
        sender._ssrc = ssrc
        while sender._rtx_ssrc == ssrc:  # RTX (libsrtp) and media (GcmSender) share a key:
            sender._rtx_ssrc = random32()  # one SSRC for both could repeat a GCM nonce
        sender._run_rtp = self._idle  # type: ignore[method-assign]
        sender._run_rtcp = self._bye_when_stopped  # type: ignore[method-assign]
        sender._send_keyframe = on_keyframe_request  # type: ignore[method-assign]
        retransmit = sender._retransmit

        async def answer_nack(sequence_number: int) -> None:
            if not self._resend(sequence_number):
                await retransmit(sequence_number)

        sender._retransmit = answer_nack  # type: ignore[method-assign]
        begin = sender.send

        async def send(parameters: RTCRtpSendParameters) -> None:
            self.parameters = parameters
            self.extensions.configure(parameters)
            self.extension_ids = tuple((e.id, e.uri) for e in parameters.headerExtensions)
            await begin(parameters)
            on_ready()  # aiortc starts a sender once DTLS is up: it can be sent to now

        sender.send = send  # type: ignore[method-assign]

    @property
    def mid(self) -> str | None:
        return self.parameters.muxId if self.parameters else None

    def profile(self, codec_key: tuple[str, int]) -> tuple[int, str | None, object] | None:
        """(payload type, MID, header extensions) for a codec: what makes this viewer's copy
        of a packet differ from another's. None until negotiated, or if never agreed."""
        if codec_key in self._profiles:
            return self._profiles[codec_key]
        if self.parameters is None:
            return None  # not negotiated yet: nothing to remember
        payload_type = next(
            (
                codec.payloadType
                for codec in self.parameters.codecs
                if (codec.mimeType.lower(), codec.clockRate) == codec_key
            ),
            None,
        )
        profile = None if payload_type is None else (payload_type, self.mid, self.extension_ids)
        self._profiles[codec_key] = profile
        return profile

    def route(self) -> Route | None:
        """Where this viewer's packets go once DTLS is up: its SRTP session and the
        nominated ICE pair, straight, with no coroutine per packet. None until then, or
        when gone. The relay's hot path calls what this returns once per packet."""
        transport = self.sender.transport
        if self.parameters is None or transport.state != "connected":
            return None
        pair = transport.transport._connection._nominated.get(1)
        if pair is None or pair.protocol.transport is None or transport._tx_srtp is None:
            return None
        made_for = (transport._tx_srtp, pair.protocol.transport, pair.remote_addr)
        if self._route is None or made_for != self._route_made_for:
            self.release()  # the C loop's outlet was made for the old route
            self.allow_large_packets()
            self._route = (
                srtp_protector(transport._tx_srtp),
                _raw_sendto(pair.protocol.transport),
                pair.remote_addr,
            )
            self._route_made_for = made_for
        return self._route

    def outlet(self) -> Any:
        """This viewer's ``_fanout.Outlet``: its route for the C loop. None when ``route()``
        is, when the C loop was not built, or when the socket is not a plain one."""
        if _fanout is None or self.route() is None:
            return None
        if self._outlet is None:
            session, transport, address = self._route_made_for
            sock = getattr(transport, "_sock", None)
            if not isinstance(sock, socket.socket) or sock.fileno() < 0:
                return None
            self._outlet = _fanout.Outlet(sock.fileno(), address, self._srtp_sender(session))
        return self._outlet

    def _srtp_sender(self, session: Session) -> Any:
        """What encrypts for the C loop: AES-GCM of its own when that is the profile, else
        libsrtp. Kept while the connection's keys are, so packet numbering carries on when
        the outlet is made again."""
        assert _fanout is not None
        if self._srtp_for is not session:
            keys = gcm_keys(self.sender.transport) if native_gcm else None
            self._srtp = None
            if keys is not None:
                try:
                    self._srtp = _fanout.GcmSender(keys.key, keys.salt)
                except RuntimeError:  # an OpenSSL without AES-GCM (a FIPS build, say)
                    log.warning("AES-GCM unavailable here: libsrtp encrypts", exc_info=True)
            if self._srtp is None:
                srtp = int(ffi.cast("uintptr_t", session._srtp[0]))
                self._srtp = _fanout.LibsrtpSender(_protect_address(), srtp, session)
            self._srtp_for = session
        return self._srtp

    def _resend(self, sequence_number: int) -> bool:
        """Answer a NACK through the C loop's AES-GCM, when that is what sent the packet and
        aiortc would resend it as it was (no RTX): one stream, numbered in one place."""
        if _fanout is None or not isinstance(self._srtp, _fanout.GcmSender):
            return False
        if getattr(self.sender, _SENDER + "rtx_payload_type") is not None:
            return False
        packet = self._history.get(sequence_number % RTP_HISTORY_SIZE)
        outlet = self.outlet()
        if packet is not None and packet.sequence_number == sequence_number and outlet:
            with contextlib.suppress(ValueError):  # larger than the loop takes: never sent
                outlet.send(packet.serialize(self.extensions))
        return True

    def release(self) -> None:
        """The viewer is gone, or its route changed: close its outlet's descriptor now
        rather than when collected (a plan still holding it skips it)."""
        if self._outlet is not None:
            self._outlet.close()
            self._outlet = None

    def keep_history(self, history: dict[int, RtpPacket]) -> None:
        """Answer this viewer's NACKs from ``history``, the packets of its profile that the
        relay keeps once for every viewer sharing it."""
        setattr(self.sender, _SENDER + "rtp_history", history)
        self._history = history

    def send_report(self, packets: int, octets: int, rtp_timestamp: int, ntp_time: int) -> bool:
        """Send this viewer an RTCP sender report, with the CNAME, as aiortc's report loop
        would: ``packets`` and ``octets`` sent so far, and the RTP timestamp that was
        ``ntp_time``. Straight to the socket, with no coroutine; aiortc's statistics and its
        round-trip time from the receiver reports stay right. False if it could not be sent."""
        route = self.route()
        if route is None:
            return False
        sender = self.sender
        session: Session = sender.transport._tx_srtp  # route() is made for it
        setattr(sender, _SENDER + "ntp_timestamp", ntp_time)
        setattr(sender, _SENDER + "rtp_timestamp", rtp_timestamp)
        setattr(sender, _SENDER + "packet_count", packets)
        setattr(sender, _SENDER + "octet_count", octets)
        report = RtcpSrPacket(
            ssrc=sender._ssrc,
            sender_info=RtcpSenderInfo(
                ntp_timestamp=ntp_time,
                rtp_timestamp=rtp_timestamp,
                packet_count=packets & 0xFFFFFFFF,
                octet_count=octets & 0xFFFFFFFF,
            ),
        )
        _, send, address = route
        try:
            send(session.protect_rtcp(bytes(report) + self._source_description()), address)
        except (OSError, SrtpError):
            return False  # the socket is full or gone: the next report will do
        setattr(sender, _SENDER + "lsr", (ntp_time >> 16) & 0xFFFFFFFF)
        setattr(sender, _SENDER + "lsr_time", time.time())
        return True

    def _source_description(self) -> bytes:
        """The RTCP SDES with this stream's CNAME that follows each of its reports."""
        if self._sdes is None:
            cname: str | None = getattr(self.sender, _SENDER + "cname")
            self._sdes = b""
            if cname is not None:
                chunk = RtcpSourceInfo(ssrc=self.sender._ssrc, items=[(1, cname.encode())])
                self._sdes = bytes(RtcpSdesPacket(chunks=[chunk]))
        return self._sdes

    async def _bye_when_stopped(self) -> None:
        """Replaces aiortc's report loop, whose reports the relay sends (``send_report``):
        waits for the sender to stop, then says BYE as aiortc's loop would."""
        sender = self.sender
        getattr(sender, _SENDER + "rtcp_started").set()
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.Event().wait()
            await sender._send_rtcp([RtcpByePacket(sources=[sender._ssrc])])
        finally:
            getattr(sender, _SENDER + "rtcp_exited").set()

    def allow_large_packets(self) -> None:
        """Let the sender encrypt packets as large as any publisher's.

        pylibsrtp encrypts in a 1500-byte buffer less 144 bytes of trailer room, so a packet
        over 1356 bytes (GStreamer's payloaders default to an MTU of 1400) cannot be sent.
        """
        session = self.sender.transport._tx_srtp
        if session is not None and len(session._cdata) < SRTP_BUFFER_BYTES:
            session._cdata = ffi.new("char[]", SRTP_BUFFER_BYTES)
            session._buffer = ffi.buffer(session._cdata)

    async def _idle(self, codec: RTCRtpCodecParameters) -> None:
        """Replaces the encoder loop; ``stop()`` waits for these two events."""
        getattr(self.sender, _SENDER + "rtp_started").set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            pass
        finally:
            getattr(self.sender, _SENDER + "rtp_exited").set()


def srtp_protector(session: Session) -> Callable[[bytes], bytes]:
    """``session.protect`` without pylibsrtp's per-call allocation and checks: the same
    libsrtp call on the session's own buffer, which ``allow_large_packets`` has made
    ``SRTP_BUFFER_BYTES`` long. The caller keeps packets within ``SRTP_PACKET_LIMIT``."""
    if len(session._cdata) < SRTP_BUFFER_BYTES:
        raise ValueError("the SRTP session's buffer was not enlarged")
    cdata, buffer, srtp = session._cdata, session._buffer, session._srtp[0]
    length = ffi.new("int *")
    protect = lib.srtp_protect

    def encrypt(data: bytes, _session: Session = session) -> bytes:  # keeps it alive
        size = length[0] = len(data)
        buffer[0:size] = data
        if protect(srtp, cdata, length):
            raise OSError("SRTP refused the packet")
        encrypted: bytes = buffer[0 : length[0]]
        return encrypted

    return encrypt


def _raw_sendto(transport: asyncio.DatagramTransport) -> Callable[[bytes, Any], Any]:
    """The socket's own ``sendto``: media that cannot go out at once is dropped, never
    queued behind (asyncio's transport would buffer it). Its ``sendto`` if there is none."""
    sock = getattr(transport, "_sock", None)
    return sock.sendto if isinstance(sock, socket.socket) else transport.sendto


def gcm_keys(transport: RTCDtlsTransport) -> SessionKeys | None:
    """The RTP session keys this end of a DTLS connection sends with, when its SRTP profile
    is AES-GCM: exported again from the DTLS session as aiortc does (``_setup_srtp``)."""
    ssl = transport._ssl
    if ssl is None:
        return None
    try:
        profile = ssl.get_selected_srtp_profile()
        if profile not in GCM_PROFILES:
            return None
        key_bytes, salt_bytes = GCM_PROFILES[profile]
        material = ssl.export_keying_material(b"EXTRACTOR-dtls_srtp", 2 * (key_bytes + salt_bytes))
    except Exception:  # no DTLS session (closed, or never up): libsrtp it is
        return None
    key, salt = split_keying_material(material, profile, transport._role == "server")
    return rtp_session_keys(key, salt)


@functools.cache
def _protect_address() -> int:
    """Where libsrtp's ``srtp_protect`` is, for the C loop to call it directly."""
    return int(ffi.cast("uintptr_t", ffi.addressof(lib, "srtp_protect")))


# -- connections -------------------------------------------------------------------------


def answer_as_dtls_server(pc: RTCPeerConnection) -> None:
    """Before ``createAnswer`` to an ``actpass`` offer: answer ``a=setup:passive``.

    aiortc as DTLS client offers only ECDHE-ECDSA suites, which peers with RSA certificates
    (GStreamer's webrtcbin, many hall encoders) cannot accept; as the server it works with all.
    """
    for transceiver in pc.getTransceivers():
        transport = transceiver.receiver.transport
        if transport._role == "auto":
            transport._set_role("server")


def restrict_ice(pc: RTCPeerConnection, addresses: Sequence[str]) -> None:
    """Gather host candidates on ``addresses`` only, not on every interface of the machine.

    Call after ``setRemoteDescription`` (which creates the transports) and before
    ``setLocalDescription`` (which gathers). Remote candidates are filtered by the caller,
    in the SDP and the trickled fragments, before aiortc sees them.
    """
    connections = {
        id(t.receiver.transport.transport._connection): t.receiver.transport.transport._connection
        for t in pc.getTransceivers()
    }
    for connection in connections.values():  # one per transport; bundled media share it
        gather_only_on(connection, addresses)


def gather_only_on(connection: Connection, addresses: Sequence[str]) -> None:
    """``restrict_ice`` for one aioice connection."""
    gather = connection.get_component_candidates

    async def only_ours(component: int, **options: Any) -> Any:
        options["addresses"] = list(addresses)
        return await gather(component=component, **options)

    connection.get_component_candidates = only_ours  # type: ignore[method-assign,assignment]
