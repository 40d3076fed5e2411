"""Every place plenary reaches into aiortc's internals, in one small module.

aiortc (1.16) decodes every packet it receives and encodes every frame it sends. A relay must
do neither, so this module changes three things on individual objects, never on the classes:

- a publisher's ``RTCRtpReceiver`` hands each RTP packet to the relay as it arrives, while the
  receiver still keeps its statistics, receiver reports, NACKs and REMB towards the publisher;
  its decoder thread is stopped and its jitter buffer replaced by one that keeps nothing;
- a viewer's ``RTCRtpSender`` has no encoder loop: the relay writes finished RTP packets to it,
  kept in the sender's history so a viewer's NACK is answered by aiortc's own retransmission,
  and counted so its sender reports stay right; a viewer's keyframe request calls the relay;
- the DTLS role and the ICE candidates of a connection are chosen by plenary.

``check_compatible()`` fails loudly, at start-up and in the tests, if an aiortc upgrade renames
any of it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aioice import Connection
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.codecs import is_rtx
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpSendParameters
from aiortc.rtp import RTP_HISTORY_SIZE, HeaderExtensionsMap, RtpPacket, unwrap_rtx
from pylibsrtp import Session
from pylibsrtp._binding import ffi

log = logging.getLogger(__name__)

# Room for a publisher's largest packet, our header extensions and SRTP's trailer.
SRTP_BUFFER_BYTES = 2048
# Sender reports carry packet and octet counts; they are brought up to date this often.
REPORT_EVERY = 16

PacketHandler = Callable[[RtpPacket, RTCRtpCodecParameters], Awaitable[None]]

_RECEIVER = "_RTCRtpReceiver__"
_SENDER = "_RTCRtpSender__"
RECEIVER_ATTRIBUTES = ("codecs", "rtx_ssrc", "jitter_buffer", "stop_decoder")
SENDER_ATTRIBUTES = (
    "rtp_history",
    "rtp_started",
    "rtp_exited",
    "packet_count",
    "octet_count",
    "ntp_timestamp",
    "rtp_timestamp",
)


class AiortcChanged(RuntimeError):
    """The aiortc installed is not the one this relay was written against."""


def check_compatible() -> None:
    """Raise ``AiortcChanged`` naming whatever this module relies on that is gone."""
    missing = []
    receiver_methods = ("_handle_rtp_packet", "receive", "_send_rtcp_pli")
    sender_methods = ("_run_rtp", "_send_keyframe", "_retransmit", "send")
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
    if "_nominated" not in Connection.__init__.__code__.co_names:
        missing.append("aioice.Connection._nominated")
    if "_cdata" not in Session.__init__.__code__.co_names:
        missing.append("pylibsrtp.Session._cdata")
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

    receiver.receive = receive  # type: ignore[method-assign]
    receiver._handle_rtp_packet = handle  # type: ignore[method-assign]


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


class PassthroughSender:
    """An ``RTCRtpSender`` fed finished RTP packets instead of frames to encode."""

    def __init__(
        self, sender: RTCRtpSender, ssrc: int, on_keyframe_request: Callable[[], None]
    ) -> None:
        self.sender = sender
        self.parameters: RTCRtpSendParameters | None = None
        self.extensions = HeaderExtensionsMap()
        self.extension_ids: tuple[tuple[int, str], ...] = ()
        self._profiles: dict[tuple[str, int], tuple[int, str | None, object] | None] = {}
        self._srtp: Any = None
        self._ice: Any = None
        self._packets = 0
        self._octets = 0
        self._history: dict[int, RtpPacket] = getattr(sender, _SENDER + "rtp_history")
        # Every viewer of a room shares one SSRC per kind, so one serialised packet fits all.
        sender._ssrc = ssrc
        sender._run_rtp = self._idle  # type: ignore[method-assign]
        sender._send_keyframe = on_keyframe_request  # type: ignore[method-assign]
        begin = sender.send

        async def send(parameters: RTCRtpSendParameters) -> None:
            self.parameters = parameters
            self.extensions.configure(parameters)
            self.extension_ids = tuple((e.id, e.uri) for e in parameters.headerExtensions)
            await begin(parameters)

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

    def send_now(self, packet: RtpPacket, data: bytes, ntp_time: int) -> bool:
        """Encrypt and send one serialised packet at once, without a coroutine per viewer.

        ``packet`` is kept for retransmission. False when this viewer cannot take it (not
        connected yet, or gone). This is the relay's hot path: it runs once per packet per
        viewer, so it goes straight to the SRTP session and the nominated ICE pair.
        """
        self._history[packet.sequence_number % RTP_HISTORY_SIZE] = packet
        if self._srtp is None and not self._attach():
            return False
        pair = self._ice._nominated.get(1)
        if pair is None or pair.protocol.transport is None:
            return False
        pair.protocol.transport.sendto(self._srtp.protect(data), pair.remote_addr)
        self._packets += 1
        self._octets += len(packet.payload)
        if self._packets % REPORT_EVERY == 1:
            self._report(packet.timestamp, ntp_time)
        return True

    def _attach(self) -> bool:
        """Once DTLS is up: keep its SRTP session and ICE connection at hand."""
        transport = self.sender.transport
        if self.parameters is None or transport.state != "connected":
            return False
        self.allow_large_packets()
        self._srtp = transport._tx_srtp
        self._ice = transport.transport._connection
        return True

    def _report(self, rtp_timestamp: int, ntp_time: int) -> None:
        """What aiortc's sender reports (RTCP SR) say it has sent, updated now and then."""
        sender = self.sender
        setattr(sender, _SENDER + "ntp_timestamp", ntp_time)
        setattr(sender, _SENDER + "rtp_timestamp", rtp_timestamp)
        setattr(sender, _SENDER + "packet_count", self._packets)
        setattr(sender, _SENDER + "octet_count", self._octets)

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
        gather = connection.get_component_candidates

        async def only_ours(component: int, _gather: Any = gather, **options: Any) -> Any:
            options["addresses"] = list(addresses)
            return await _gather(component=component, **options)

        connection.get_component_candidates = only_ours  # type: ignore[method-assign,assignment]
