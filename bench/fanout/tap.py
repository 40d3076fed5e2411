"""What the fan-out bench sends and what arrives: RTP taken off the sockets, counted, matched.

The publisher's packets are logged as they enter SRTP; each viewer's are taken off its socket
below aiortc, counted per kind, and matched to their send: for a relay that forwards payloads
unchanged, on the RTP sequence number (in clear in SRTP), through the relay's renumbering
learnt from a decrypted packet's payload hash and checked again on every ``VERIFY_EVERY``-th;
for one that re-encodes, every packet is decrypted and matched on its RTP timestamp. Decrypting
only a sample keeps the client cheap enough to watch 200 viewers from one core.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import select
import socket
import struct
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pylibsrtp
from aiortc import RTCPeerConnection
from aiortc.sdp import SessionDescription

from bench.common.percentiles import histogram_summary
from bench.fanout.media import Reply
from bench.fanout.ring import SendRing

KINDS = ("audio", "video")
BIN_SECONDS = 10e-6  # delay histograms: 10 µs bins up to 2 s, then one overflow bin
BINS = 200_000
SINK_BURST = 64  # datagrams a sink reads from its socket in one pass, at most
VERIFY_EVERY = 16  # a relay's renumbering is checked on a decrypted packet this often
SO_TIMESTAMPNS = 35  # Linux: stamp each datagram with its arrival (struct timespec)
TIMESPEC = struct.Struct("qq")
TIMESTAMP_SPACE = socket.CMSG_SPACE(TIMESPEC.size)

Receiver = Callable[[bytes, Any, "float | None"], None]
"""Takes a datagram, its sender's address and when it arrived (None: now)."""


class Window:
    """The measuring window: [start, end) on ``time.perf_counter()``."""

    def __init__(self) -> None:
        self.start = math.inf
        self.end = math.inf

    def open(self, seconds: float) -> None:
        self.start = time.perf_counter()
        self.end = self.start + seconds


def rtp_payload(packet: bytes) -> bytes:
    """The payload of a clear RTP packet: after CSRCs and header extensions, before padding."""
    first = packet[0]
    offset = 12 + 4 * (first & 0x0F)
    if first & 0x10:
        offset += 4 + 4 * (packet[offset + 2] << 8 | packet[offset + 3])
    end = len(packet) - packet[-1] if first & 0x20 else len(packet)
    return packet[offset:end]


def payload_key(packet: bytes) -> int:
    """A key for a clear RTP packet's payload, the same in every process (``hash()`` of bytes
    is not): its CRC-32 and its length."""
    payload = rtp_payload(packet)
    return zlib.crc32(payload) | len(payload) << 32


def is_rtcp(packet: bytes) -> bool:
    return 191 < packet[1] < 224  # RFC 5761: RTCP packet types 192 to 223


def payload_kinds(sdp: str) -> dict[int, int]:
    """Payload type to kind index (0 audio, 1 video); RTX is left out."""
    kinds = {}
    for media in SessionDescription.parse(sdp).media:
        if media.kind in KINDS:
            for codec in media.rtp.codecs:
                if codec.payloadType is not None and not codec.mimeType.lower().endswith("/rtx"):
                    kinds[codec.payloadType] = KINDS.index(media.kind)
    return kinds


def dtls_transports(pc: RTCPeerConnection) -> list[Any]:
    unique = {id(t.receiver.transport): t.receiver.transport for t in pc.getTransceivers()}
    return list(unique.values())


class SendLog:
    """When each RTP packet left one publisher: by payload key, and by (kind, RTP timestamp)
    for the last packet of a frame. Two generations, so old entries go without a scan.

    With a ``SendRing`` to write to, each record also goes there; a log that reads a ring
    (``follow``) takes the records of a publisher in another process (``catch_up``)."""

    def __init__(self, window: Window) -> None:
        self.window = window
        self.kinds: dict[int, int] = {}
        self.by_payload: list[dict[int, tuple[float, int]]] = [{}, {}]  # (sent at, sequence)
        self.by_sequence: list[list[dict[int, float]]] = [[{}, {}], [{}, {}]]  # per kind
        self.by_frame: list[dict[tuple[int, int], float]] = [{}, {}]
        self.sent = [0, 0]
        self.frames = [0, 0]  # packets with the marker bit: the last of each frame
        self.retransmitted = 0  # RTX packets: answers to the server's NACKs
        self.origin = [0, 0]  # the first RTP timestamp sent, per kind
        self._started = [False, False]
        self._writes_to: SendRing | None = None  # the publisher's process
        self._reads_from: SendRing | None = None  # the viewers'

    def write_to(self, ring: SendRing) -> None:
        self._writes_to = ring

    def follow(self, ring: SendRing) -> None:
        self._reads_from = ring

    def record(self, packet: bytes) -> None:
        kind = self.kinds.get(packet[1] & 0x7F, -1)
        sequence = packet[2] << 8 | packet[3]
        stamp = int.from_bytes(packet[4:8], "big")
        key = payload_key(packet) if kind >= 0 else 0
        record = (time.perf_counter(), key, stamp, sequence, kind, packet[1] >> 7)
        if self._writes_to is not None:
            self._writes_to.append(record)
        self._note(*record)

    def catch_up(self) -> None:
        """Take what the publisher in another process has sent since the last call."""
        if self._reads_from is not None:
            for record in self._reads_from.new_records():
                self._note(*record)

    def _note(
        self, now: float, key: int, stamp: int, sequence: int, kind: int, marker: int
    ) -> None:
        if kind < 0:
            self.retransmitted += self.window.start <= now < self.window.end
            return
        if not self._started[kind]:
            self._started[kind] = True
            self.origin[kind] = stamp
        self.by_payload[0][key] = (now, sequence)
        self.by_sequence[kind][0][sequence] = now
        self.by_frame[0][(kind, stamp)] = now
        if self.window.start <= now < self.window.end:
            self.sent[kind] += 1
            self.frames[kind] += marker

    def forget_old(self) -> None:
        every: list[list[dict[Any, Any]]] = [self.by_payload, self.by_frame, *self.by_sequence]
        for generations in every:
            generations[1] = generations[0]
            generations[0] = {}


class Pacer:
    """Spaces a publisher's packets as a browser's pacer does: at a multiple of the stream's
    bitrate (WebRTC's default is 2.5), so a frame's packets leave over some milliseconds
    rather than in one burst. None: every packet as soon as it is made (an unpaced encoder)."""

    def __init__(self, bytes_per_second: float) -> None:
        self.rate = bytes_per_second
        self.free_at = 0.0  # when the packets handed over so far will all have left

    async def wait(self, size: int) -> None:
        now = time.perf_counter()
        start = max(now, self.free_at)
        self.free_at = start + size / self.rate
        if start > now:
            await asyncio.sleep(start - now)


def tap_publisher(pc: RTCPeerConnection, log: SendLog, pacer: Pacer | None = None) -> None:
    """Note each RTP packet's send time as the publisher hands it to SRTP (after the pacer)."""
    log.kinds = payload_kinds(pc.remoteDescription.sdp)
    for dtls in dtls_transports(pc):
        send = dtls._send_rtp

        async def send_rtp(packet: bytes, _send: Any = send) -> None:
            if not is_rtcp(packet):
                if pacer is not None:
                    await pacer.wait(len(packet))
                log.record(packet)
            await _send(packet)

        dtls._send_rtp = send_rtp


@dataclass
class PathStats:
    """Delays of one path (relay or direct), over every viewer on it, per kind."""

    bins: list[list[int]] = field(default_factory=lambda: [[0] * (BINS + 1) for _ in KINDS])
    unmatched: list[int] = field(default_factory=lambda: [0, 0])
    srtp_errors: dict[str, int] = field(default_factory=dict)
    renumbered: list[int] = field(default_factory=lambda: [0, 0])  # a relay's offset relearnt

    def reset(self) -> None:
        for kind_bins in self.bins:
            kind_bins[:] = [0] * (BINS + 1)
        self.unmatched[:] = [0, 0]
        self.renumbered[:] = [0, 0]
        self.srtp_errors.clear()

    def summary(self) -> Reply:
        return {
            kind: {
                **histogram_summary(self.bins[index], BIN_SECONDS),
                "unmatched": self.unmatched[index],
                "renumbered": self.renumbered[index],
            }
            for index, kind in enumerate(KINDS)
        }


@dataclass
class ViewerCounts:
    """One viewer's packets per kind: matched to a send in the window (``in_window``), and
    received in the window with their extended sequence-number span (``first`` .. ``last``)."""

    in_window: list[int] = field(default_factory=lambda: [0, 0])
    received: list[int] = field(default_factory=lambda: [0, 0])
    octets: list[int] = field(default_factory=lambda: [0, 0])
    first: list[int] = field(default_factory=lambda: [-1, -1])
    last: list[int] = field(default_factory=lambda: [-1, -1])
    frames: list[int] = field(default_factory=lambda: [0, 0])  # marker bits received
    top: list[int] = field(default_factory=lambda: [-1, -1])
    failed_auth: int = 0

    def reset(self) -> None:
        for counters in (self.in_window, self.received, self.octets, self.frames):
            counters[:] = [0, 0]
        self.failed_auth = 0
        self.first[:] = [-1, -1]
        self.last[:] = [-1, -1]

    def row(self) -> list[int]:
        spans = [
            last - first + 1 if first >= 0 else 0
            for first, last in zip(self.first, self.last, strict=True)
        ]
        return [*self.in_window, *self.received, *spans, *self.octets, *self.frames]


class SocketDrain:
    """Reads many viewers' sockets from one event-loop callback: their own epoll, one
    datagram per ready socket per pass. asyncio would run a callback per datagram, which at
    200 viewers costs the client more than the relay costs the server.

    Each datagram comes with the time the kernel queued it on the viewer's socket
    (``SO_TIMESTAMPNS``), on ``time.perf_counter()``'s clock: when it arrived, however busy
    this process was when it got round to reading it."""

    def __init__(
        self, before_reading: Callable[[], None] = lambda: None, window: Window | None = None
    ) -> None:
        """``before_reading`` runs in each pass once the ready sockets are known: the send
        logs catch up there, so every datagram the pass reads has its send on record.
        ``window``: the one sinks count in."""
        self.poller = select.epoll()
        self.window = window or Window()
        self.before_reading = before_reading
        self.readers: dict[int, tuple[Callable[..., Any], Receiver]] = {}
        self.sinks: dict[int, SinkReader] = {}
        self.oldest_in_pass = math.inf  # the arrival of the oldest datagram the last pass read
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.poller.fileno(), self._drain)

    def take(self, transport: asyncio.DatagramTransport, receive: Receiver) -> None:
        """Read this transport's socket from now on and hand each datagram to ``receive``."""
        sock = getattr(transport, "_sock", None)
        if not isinstance(sock, socket.socket):
            return  # not a selector transport: it stays with asyncio
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        fd = sock.fileno()
        self._loop._remove_reader(fd)  # type: ignore[attr-defined]  # the transport's own
        self.readers[fd] = (sock.recvmsg, receive)
        self.poller.register(fd, select.EPOLLIN)

    def take_sink(
        self, transport: asyncio.DatagramTransport, deliver: Callable[[bytes, Any], None]
    ) -> SinkReader | None:
        """Read this transport's socket from now on, cheaply: RTP and RTCP are only counted
        (in the window, by when they are read), the rest goes to ``deliver`` (aiortc)."""
        sock = getattr(transport, "_sock", None)
        if not isinstance(sock, socket.socket):
            return None
        fd = sock.fileno()
        self._loop._remove_reader(fd)  # type: ignore[attr-defined]  # the transport's own
        sink = self.sinks[fd] = SinkReader(sock.recvfrom_into, deliver)
        self.poller.register(fd, select.EPOLLIN)
        return sink

    def release(self, pc: RTCPeerConnection) -> None:
        """Before this viewer closes its sockets (their numbers will be used again)."""
        for dtls in dtls_transports(pc):
            for protocol in dtls.transport._connection._protocols:
                sock = getattr(protocol.transport, "_sock", None)
                if isinstance(sock, socket.socket) and sock.fileno() >= 0:
                    fd = sock.fileno()
                    if self.readers.pop(fd, None) or self.sinks.pop(fd, None):
                        with contextlib.suppress(OSError):
                            self.poller.unregister(fd)

    def release_all(self) -> None:
        """Before the viewers close their sockets (their numbers will be used again)."""
        for fd in [*self.readers, *self.sinks]:
            with contextlib.suppress(OSError):
                self.poller.unregister(fd)
        self.readers.clear()
        self.sinks.clear()

    def window_open(self, now: float) -> bool:
        return self.window.start <= now < self.window.end

    def behind(self, moment: float) -> bool:
        """Whether datagrams that arrived before ``moment`` were still being read: when this
        process is short of CPU, its sockets hold a backlog it has not read yet."""
        return self.oldest_in_pass < moment

    def _drain(self) -> None:
        readers = self.readers
        now = time.perf_counter()
        to_perf_counter = now - time.time()  # kernel stamps are wall time
        oldest = math.inf
        ready = self.poller.poll(0)
        self.before_reading()  # each datagram ready now was logged before it was sent
        for fd, _events in ready:
            reader = readers.get(fd)
            if reader is None:
                sink = self.sinks.get(fd)
                if sink is not None:
                    sink.read(self.window_open(now))
                continue
            try:
                data, ancillary, _flags, addr = reader[0](2048, TIMESTAMP_SPACE)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                readers.pop(fd, None)
                continue
            arrived = None
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    seconds, nanoseconds = TIMESPEC.unpack(value)
                    arrived = seconds + nanoseconds * 1e-9 + to_perf_counter
            oldest = min(oldest, now if arrived is None else arrived)
            reader[1](data, addr, arrived)
        self.oldest_in_pass = oldest


class SinkReader:
    """A viewer that is not measured, only kept receiving: what it reads is counted, not
    matched, and it costs the client a few microseconds a datagram where a measured viewer
    costs tens. What it receives the relay sends all the same."""

    def __init__(
        self, receive_into: Callable[..., tuple[int, Any]], deliver: Callable[[bytes, Any], None]
    ) -> None:
        self.receive_into = receive_into
        self.deliver = deliver
        self.buffer = bytearray(2048)
        self.view = memoryview(self.buffer)
        self.counted = 0  # RTP datagrams read in the window

    def read(self, counting: bool) -> None:
        """Everything queued on the socket (up to ``SINK_BURST``): a sink keeps no backlog."""
        buffer = self.buffer
        for _ in range(SINK_BURST):
            try:
                size, addr = self.receive_into(buffer)
            except (BlockingIOError, InterruptedError, OSError):
                return
            if 127 < buffer[0] < 192:  # RTP or RTCP: the relay's, not needed to stay connected
                if counting and not 191 < buffer[1] < 224:
                    self.counted += 1
                continue
            self.deliver(bytes(self.view[:size]), addr)


def tap_viewer(
    pc: RTCPeerConnection,
    log: SendLog,
    path: PathStats,
    counts: ViewerCounts,
    window: Window,
    match_frames: bool,
    drain: SocketDrain,
) -> None:
    """Take RTP off this viewer's sockets: decrypt, count, match, never decode. Everything
    else (STUN, DTLS, RTCP) goes on to aiortc as before. Its sockets are read by ``drain``
    instead of a callback each."""
    kinds = payload_kinds(pc.remoteDescription.sdp)
    for dtls in dtls_transports(pc):
        for protocol in dtls.transport._connection._protocols:
            taker = _rtp_taker(
                protocol.datagram_received, dtls, kinds, log, path, counts, window, match_frames
            )
            protocol.datagram_received = taker
            if protocol.transport is not None:
                drain.take(protocol.transport, taker)


def _frame_sent_at(
    by_frame: list[dict[tuple[int, int], float]], kind: int, stamp: tuple[bytes, int]
) -> float | None:
    """When the publisher sent the last packet of a frame a re-encoding server passed on.

    aiortc's receiver counts timestamps from the first it received (``origin``), and the
    re-encoded video's timestamps can be one tick off after two changes of time base.
    """
    received = int.from_bytes(stamp[0], "big") + stamp[1]
    for tick in (0, 1, -1):
        frame = (kind, (received + tick) & 0xFFFFFFFF)
        sent = by_frame[0].get(frame) or by_frame[1].get(frame)
        if sent is not None:
            return sent
    return None


def _rtp_taker(
    deliver: Callable[[bytes, Any], None],
    dtls: Any,
    kinds: dict[int, int],
    log: SendLog,
    path: PathStats,
    counts: ViewerCounts,
    window: Window,
    match_frames: bool,
) -> Receiver:
    bins, unmatched, renumbered = path.bins, path.unmatched, path.renumbered
    by_payload, by_sequence, by_frame, origin = (
        log.by_payload, log.by_sequence, log.by_frame, log.origin,
    )  # fmt: skip
    in_window, received, octets = counts.in_window, counts.received, counts.octets
    first, last, top, frames = counts.first, counts.last, counts.top, counts.frames
    srtp_errors = path.srtp_errors
    offsets: list[int | None] = [None, None]  # the relay's sequence number minus the sender's
    seen = [0, 0]
    trailer = [0]  # SRTP's authentication tag, learnt from the first packet decrypted

    def decrypt(data: bytes) -> bytes | None:
        try:
            packet: bytes = dtls._rx_srtp.unprotect(data)
        except pylibsrtp.Error as error:
            counts.failed_auth += 1
            srtp_errors[str(error)] = srtp_errors.get(str(error), 0) + 1
            return None
        trailer[0] = len(data) - len(packet)
        return packet

    def sent_at(data: bytes, kind: int, sequence: int) -> float | None:
        """When the publisher sent this packet, or None if it cannot be matched."""
        if match_frames:
            packet = decrypt(data)
            if packet is None:
                return None
            return _frame_sent_at(by_frame, kind, (packet[4:8], origin[kind]))
        seen[kind] += 1
        if offsets[kind] is None or seen[kind] % VERIFY_EVERY == 0:
            packet = decrypt(data)
            if packet is None:
                return None
            key = payload_key(packet)
            sent = by_payload[0].get(key) or by_payload[1].get(key)
            if sent is None:
                return None
            offset = (sequence - sent[1]) & 0xFFFF
            if offset != offsets[kind]:
                renumbered[kind] += offsets[kind] is not None
                offsets[kind] = offset
            return sent[0]
        published = (sequence - offsets[kind]) & 0xFFFF  # type: ignore[operator]
        return by_sequence[kind][0].get(published) or by_sequence[kind][1].get(published)

    def datagram_received(data: bytes, addr: Any, arrived: float | None = None) -> None:
        if not 127 < data[0] < 192 or is_rtcp(data) or dtls._rx_srtp is None:
            deliver(data, addr)
            return
        now = time.perf_counter() if arrived is None else arrived
        kind = kinds.get(data[1] & 0x7F)
        if kind is None:
            return  # retransmissions, not counted
        high = top[kind]
        sequence = data[2] << 8 | data[3]
        if high < 0:
            extended = sequence + 0x10000
        else:  # the nearest to the highest so far, modulo 2^16
            extended = high + ((sequence - high + 0x8000) & 0xFFFF) - 0x8000
        if extended > high:
            top[kind] = extended
        sent = sent_at(data, kind, sequence)
        if window.start <= now < window.end:
            received[kind] += 1
            octets[kind] += len(data) - trailer[0]
            frames[kind] += data[1] >> 7
            if first[kind] < 0 or extended < first[kind]:
                first[kind] = extended
            last[kind] = max(last[kind], extended)
        if sent is None:
            unmatched[kind] += 1
        elif window.start <= sent < window.end:
            in_window[kind] += 1
            slot = max(0, int((now - sent) / BIN_SECONDS))  # a stamp a hair early: 0
            bins[kind][slot if slot < BINS else BINS] += 1

    return datagram_received
