"""A viewer's ``RTCRtpSender`` without an encoder: the relay hands it finished packets."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

from aiortc import RTCRtpSender
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
)
from aiortc.utils import random32
from pylibsrtp import Error as SrtpError
from pylibsrtp import Session
from pylibsrtp._binding import ffi

try:
    from server.media import _fanout
except ImportError:  # installed without a C compiler: the same loop runs in Python
    _fanout = None  # type: ignore[assignment]
from server.media.aiortc_internals.compat import SENDER_MANGLED
from server.media.aiortc_internals.dtls_keys import gcm_keys
from server.media.aiortc_internals.srtp import (
    SRTP_BUFFER_BYTES,
    protect_address,
    srtp_protector,
)

log = logging.getLogger(__name__)


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
        own_gcm: bool = True,
    ) -> None:
        self.sender = sender
        self.own_gcm = own_gcm  # the C loop encrypts AES-GCM itself (_srtp.c), not libsrtp
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
            keys = gcm_keys(self.sender.transport) if self.own_gcm else None
            self._srtp = None
            if keys is not None:
                try:
                    self._srtp = _fanout.GcmSender(keys.key, keys.salt)
                except RuntimeError:  # an OpenSSL without AES-GCM (a FIPS build, say)
                    log.warning("AES-GCM unavailable here: libsrtp encrypts", exc_info=True)
            if self._srtp is None:
                srtp = int(ffi.cast("uintptr_t", session._srtp[0]))
                self._srtp = _fanout.LibsrtpSender(protect_address(), srtp, session)
            self._srtp_for = session
        return self._srtp

    def _resend(self, sequence_number: int) -> bool:
        """Answer a NACK through the C loop's AES-GCM, when that is what sent the packet and
        aiortc would resend it as it was (no RTX): one stream, numbered in one place."""
        if _fanout is None or not isinstance(self._srtp, _fanout.GcmSender):
            return False
        if getattr(self.sender, SENDER_MANGLED + "rtx_payload_type") is not None:
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
        setattr(self.sender, SENDER_MANGLED + "rtp_history", history)
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
        setattr(sender, SENDER_MANGLED + "ntp_timestamp", ntp_time)
        setattr(sender, SENDER_MANGLED + "rtp_timestamp", rtp_timestamp)
        setattr(sender, SENDER_MANGLED + "packet_count", packets)
        setattr(sender, SENDER_MANGLED + "octet_count", octets)
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
        setattr(sender, SENDER_MANGLED + "lsr", (ntp_time >> 16) & 0xFFFFFFFF)
        setattr(sender, SENDER_MANGLED + "lsr_time", time.time())
        return True

    def _source_description(self) -> bytes:
        """The RTCP SDES with this stream's CNAME that follows each of its reports."""
        if self._sdes is None:
            cname: str | None = getattr(self.sender, SENDER_MANGLED + "cname")
            self._sdes = b""
            if cname is not None:
                chunk = RtcpSourceInfo(ssrc=self.sender._ssrc, items=[(1, cname.encode())])
                self._sdes = bytes(RtcpSdesPacket(chunks=[chunk]))
        return self._sdes

    async def _bye_when_stopped(self) -> None:
        """Replaces aiortc's report loop, whose reports the relay sends (``send_report``):
        waits for the sender to stop, then says BYE as aiortc's loop would."""
        sender = self.sender
        getattr(sender, SENDER_MANGLED + "rtcp_started").set()
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.Event().wait()
            await sender._send_rtcp([RtcpByePacket(sources=[sender._ssrc])])
        finally:
            getattr(sender, SENDER_MANGLED + "rtcp_exited").set()

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
        getattr(self.sender, SENDER_MANGLED + "rtp_started").set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            pass
        finally:
            getattr(self.sender, SENDER_MANGLED + "rtp_exited").set()


def _raw_sendto(transport: asyncio.DatagramTransport) -> Callable[[bytes, Any], Any]:
    """The socket's own ``sendto``: media that cannot go out at once is dropped, never
    queued behind (asyncio's transport would buffer it). Its ``sendto`` if there is none."""
    sock = getattr(transport, "_sock", None)
    return sock.sendto if isinstance(sock, socket.socket) else transport.sendto
