"""Media fan-out bench: one WHIP publisher, N WHEP viewers, the relay on one core.

The publisher sends about 1 Mbps of VP8 (640x360, 30 fps) and Opus. The frames are encoded once
at start-up (a moving test pattern, a tone with noise) and looped as ``av.Packet``, which
aiortc's sender packetises without encoding. The viewers are aiortc peer connections that never
decode: their RTP is taken off the socket, decrypted and counted. Publisher and viewers run on
one event loop in one client process, so a packet's send time (taken when the publisher hands it
to SRTP) and its receive time (taken when a viewer's socket delivers it) come from one clock.
They are matched on a hash of the RTP payload, which the relay forwards unchanged.

The same client also runs a direct aiortc-to-aiortc pair (publisher to viewer, no server) all
along: its delay is what loopback and the two aiortc stacks cost, and the relay's added delay
is the relay path minus that. Then the baseline: aiortc's ``MediaRelay`` in a small server of
this file, which decodes the publisher once and encodes for each viewer. Its frames are matched
on RTP timestamps (see ``keep_publisher_timestamps``).

    .venv/bin/python bench/fanout.py                       # plenary 10,50,100,200; baseline 3
    .venv/bin/python bench/fanout.py --viewers 50 --baseline-viewers 3 --window 5

The servers run on one core (``--server-core``), publisher and viewers on another
(``--client-core``). Everything talks to 127.0.0.1 only. The same file is also the client
(``_client``) and the baseline server (``_baseline``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import gc
import json
import math
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import av
import av.filter
import psutil
import pylibsrtp
from aiohttp import web
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack, convert_timebase
from aiortc.sdp import SessionDescription

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench/ is a folder of scripts: reach tests/ from here

from server.media.aiortc_hooks import restrict_ice  # noqa: E402
from tests.serverproc import ServerProcess  # noqa: E402

HOST = "127.0.0.1"  # the only address this bench ever talks to
PLENARY = Path(sys.executable).parent / "plenary"
CONFIG = ROOT / "config.toml"
ROOM = "welcome"
DEFAULT_LADDER = (10, 50, 100, 200)
DEFAULT_BASELINE = 3
WIDTH, HEIGHT, FPS = 640, 360, 30
VIDEO_BITRATE = 1_000_000
AUDIO_BITRATE = 48_000
AUDIO_RATE, AUDIO_SAMPLES = 48_000, 960  # 20 ms packets
KINDS = ("audio", "video")
BIN_SECONDS = 10e-6  # delay histograms: 10 µs bins up to 2 s, then one overflow bin
BINS = 200_000
STARTUP_TIMEOUT = 30.0
CONNECT_TIMEOUT = 30.0
SETTLE_SECONDS = 2.0
GRACE_SECONDS = 1.0
FORGET_EVERY = 3.0  # send times are kept for 3 to 6 s
TARGET_RATIO, TARGET_VIEWERS, TARGET_LOSS, TARGET_P99_MS = 20.0, 200, 0.01, 10.0
BUSY_SHARE = 0.2  # a process that waited for a CPU longer than this share of a step: flagged
# Run before the exec: pin to one core, set the niceness, and get SIGTERM when the bench dies,
# however it dies.
PINNED = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None).prctl(1, signal.SIGTERM)\n"
    "os.sched_setaffinity(0, {int(sys.argv[1])})\n"
    "os.nice(int(sys.argv[2]))\n"
    "if os.getppid() != int(sys.argv[3]):\n"
    "    sys.exit(1)\n"
    "os.execv(sys.argv[4], sys.argv[4:])\n"
)
Reply = dict[str, Any]
PROBLEMS = (" ERROR ", " WARNING ", "Traceback", "Error:", "Consent to send expired", " closed: ")


# -- process plumbing -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def raise_fd_limit(wanted: int = 8192) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


class Children:
    """Every process the bench starts, each pinned to a core; ``stop_all`` ends them."""

    def __init__(self, nice: int = 0) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []
        self._nice = nice

    def spawn(
        self, core: int, argv: Sequence[Any], log: Path, pipes: bool = False
    ) -> subprocess.Popen[bytes]:
        pinning = [str(core), str(self._nice), str(os.getpid())]
        command = [sys.executable, "-c", PINNED, *pinning, *map(str, argv)]
        with log.open("ab") as log_file:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
                stdout=subprocess.PIPE if pipes else log_file,
                stderr=log_file,
                cwd=ROOT,
                start_new_session=True,  # Ctrl-C reaches the bench, which stops them in order
            )
        self._procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc in self._procs:
            self._procs.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self._procs)):
            self.stop(proc, grace=3.0)


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not answer /healthz in {STARTUP_TIMEOUT:g} s; see {log}")


def cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def pinned_threads(proc: psutil.Process, core: int) -> tuple[int, int]:
    """How many of the process's threads may run on ``core`` only, of how many."""
    threads = [thread.id for thread in proc.threads()]
    pinned = 0
    for tid in threads:
        with contextlib.suppress(OSError):
            pinned += os.sched_getaffinity(tid) == {core}
    return pinned, len(threads)


def run_queue_wait(pid: int) -> float:
    """Seconds the process's main thread (its event loop) has spent runnable but waiting for
    a CPU, whether for other processes or for its own threads."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def log_problems(log: Path, limit: int = 8) -> list[str]:
    """ERROR and WARNING lines, tracebacks, ICE consent expiries and sessions that ended
    without being asked to: each distinct message once, with a count and its first time."""
    seen: dict[str, list[Any]] = {}
    for line in log.read_text(errors="replace").splitlines():
        if any(mark in line for mark in PROBLEMS) and "ended by its owner" not in line:
            message = re.sub(r"session \S+ in", "session in", line.split(": ", 1)[-1][:160])
            message = re.sub(r"Connection\(\d+\)", "Connection(n)", message)
            seen.setdefault(message, [0, line[11:23]])[0] += 1
    return [f"{n} x {message} (first at {at})" for message, (n, at) in list(seen.items())[:limit]]


# -- the published media: encoded once, looped --------------------------------------------------


def encode_video_loop(seconds: int) -> list[bytes]:
    """``seconds`` of a moving test pattern as VP8 at about 1 Mbps; one keyframe, first."""
    graph = av.filter.Graph()
    pattern = graph.add("testsrc2", f"size={WIDTH}x{HEIGHT}:rate={FPS}")
    planar = graph.add("format", "yuv420p")
    sink = graph.add("buffersink")
    pattern.link_to(planar)
    planar.link_to(sink)
    graph.configure()
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    encoder.time_base = fractions.Fraction(1, FPS)
    encoder.framerate = fractions.Fraction(FPS)
    encoder.bit_rate = VIDEO_BITRATE
    encoder.gop_size = seconds * FPS
    encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    packets = []
    for index in range(seconds * FPS):
        frame = sink.pull()
        frame.pict_type = av.video.frame.PictureType.NONE  # testsrc2 marks each frame intra
        frame.pts, frame.time_base = index, encoder.time_base
        packets += encoder.encode(frame)
    packets += encoder.encode(None)
    return [bytes(packet) for packet in packets]


def encode_audio_loop(seconds: int) -> list[bytes]:
    """``seconds`` of a tone with a little noise as 20 ms Opus packets, no two alike."""
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = AUDIO_RATE, "stereo", "s16"
    encoder.bit_rate = AUDIO_BITRATE
    encoder.time_base = fractions.Fraction(1, AUDIO_RATE)
    noise, packets = 1, []
    for index in range(seconds * AUDIO_RATE // AUDIO_SAMPLES):
        samples = array("h")
        for n in range(index * AUDIO_SAMPLES, (index + 1) * AUDIO_SAMPLES):
            noise = (noise * 1103515245 + 12345) & 0x7FFFFFFF
            value = int(8000 * math.sin(2 * math.pi * 440 * n / AUDIO_RATE)) + (noise >> 21)
            samples.extend((value, value))
        frame = av.AudioFrame(format="s16", layout="stereo", samples=AUDIO_SAMPLES)
        frame.planes[0].update(samples.tobytes())
        frame.sample_rate, frame.pts = AUDIO_RATE, index * AUDIO_SAMPLES
        frame.time_base = encoder.time_base
        packets += encoder.encode(frame)
    return [bytes(packet) for packet in packets]


class LoopedTrack(MediaStreamTrack):
    """Pre-encoded packets at their real pace: aiortc packetises them without encoding."""

    def __init__(
        self, kind: str, payloads: list[bytes], interval: float, clock_rate: int, start: float
    ) -> None:
        super().__init__()
        self.kind = kind
        self._payloads = payloads
        self._interval = interval
        self._clock_rate = clock_rate
        self._time_base = fractions.Fraction(1, clock_rate)
        self._start = start
        self._sent = 0

    async def recv(self) -> av.Packet:
        index = self._sent
        self._sent += 1
        delay = self._start + index * self._interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        packet = av.Packet(self._payloads[index % len(self._payloads)])
        packet.pts = round(index * self._interval * self._clock_rate)
        packet.time_base = self._time_base
        return packet


@dataclass(frozen=True)
class Source:
    video: list[bytes]
    audio: list[bytes]
    seconds: int

    def tracks(self) -> list[LoopedTrack]:
        start = time.perf_counter() + 0.05
        return [
            LoopedTrack("audio", self.audio, AUDIO_SAMPLES / AUDIO_RATE, AUDIO_RATE, start),
            LoopedTrack("video", self.video, 1 / FPS, 90_000, start),
        ]

    def describe(self) -> Reply:
        return {
            "video_kbps": sum(map(len, self.video)) * 8 / self.seconds / 1000,
            "audio_kbps": sum(map(len, self.audio)) * 8 / self.seconds / 1000,
            "keyframe_bytes": len(self.video[0]),
            "loop_seconds": self.seconds,
        }


# -- what is sent and what arrives ----------------------------------------------------------


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


def is_rtcp(packet: bytes) -> bool:
    return 191 < packet[1] < 224  # RFC 5761: RTCP packet types 192 to 223


def payload_kinds(sdp: str) -> dict[int, int]:
    """Payload type to kind index (0 audio, 1 video); RTX is left out."""
    kinds = {}
    for media in SessionDescription.parse(sdp).media:
        if media.kind in KINDS:
            for codec in media.rtp.codecs:
                if not codec.mimeType.lower().endswith("/rtx"):
                    kinds[codec.payloadType] = KINDS.index(media.kind)
    return kinds


def dtls_transports(pc: RTCPeerConnection) -> list[Any]:
    unique = {id(t.receiver.transport): t.receiver.transport for t in pc.getTransceivers()}
    return list(unique.values())


class SendLog:
    """When each RTP packet left one publisher: by payload hash, and by (kind, RTP timestamp)
    for the last packet of a frame. Two generations, so old entries go without a scan."""

    def __init__(self, window: Window) -> None:
        self.window = window
        self.kinds: dict[int, int] = {}
        self.by_payload: list[dict[int, float]] = [{}, {}]
        self.by_frame: list[dict[tuple[int, int], float]] = [{}, {}]
        self.sent = [0, 0]
        self.frames = [0, 0]  # packets with the marker bit: the last of each frame
        self.retransmitted = 0  # RTX packets: answers to the server's NACKs
        self.origin = [0, 0]  # the first RTP timestamp sent, per kind
        self._started = [False, False]

    def record(self, packet: bytes) -> None:
        now = time.perf_counter()
        kind = self.kinds.get(packet[1] & 0x7F)
        if kind is None:
            self.retransmitted += self.window.start <= now < self.window.end
            return
        if not self._started[kind]:
            self._started[kind] = True
            self.origin[kind] = int.from_bytes(packet[4:8], "big")
        self.by_payload[0][hash(rtp_payload(packet))] = now
        self.by_frame[0][(kind, int.from_bytes(packet[4:8], "big"))] = now
        if self.window.start <= now < self.window.end:
            self.sent[kind] += 1
            self.frames[kind] += packet[1] >> 7

    def forget_old(self) -> None:
        for generations in (self.by_payload, self.by_frame):
            generations[1] = generations[0]
            generations[0] = {}


def tap_publisher(pc: RTCPeerConnection, log: SendLog) -> None:
    """Note each RTP packet's send time as the publisher hands it to SRTP."""
    log.kinds = payload_kinds(pc.remoteDescription.sdp)
    for dtls in dtls_transports(pc):
        send = dtls._send_rtp

        async def send_rtp(packet: bytes, _send: Any = send) -> None:
            if not is_rtcp(packet):
                log.record(packet)
            await _send(packet)

        dtls._send_rtp = send_rtp


@dataclass
class PathStats:
    """Delays of one path (relay or direct), over every viewer on it, per kind."""

    bins: list[list[int]] = field(default_factory=lambda: [[0] * (BINS + 1) for _ in KINDS])
    unmatched: list[int] = field(default_factory=lambda: [0, 0])
    srtp_errors: dict[str, int] = field(default_factory=dict)

    def reset(self) -> None:
        for kind_bins in self.bins:
            kind_bins[:] = [0] * (BINS + 1)
        self.unmatched[:] = [0, 0]
        self.srtp_errors.clear()

    def summary(self) -> Reply:
        return {
            kind: {**percentiles(self.bins[index]), "unmatched": self.unmatched[index]}
            for index, kind in enumerate(KINDS)
        }


def percentiles(bins: list[int]) -> dict[str, float]:
    total = sum(bins)
    result: dict[str, float] = {"n": total}
    if not total:
        return result
    wanted = [("p50", 0.5), ("p99", 0.99), ("max", 1.0)]
    seen = 0
    for index, count in enumerate(bins):
        seen += count
        while wanted and seen >= wanted[0][1] * total:
            result[wanted.pop(0)[0]] = (index + 0.5) * BIN_SECONDS * 1000
        if not wanted:
            break
    return result


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


def tap_viewer(
    pc: RTCPeerConnection,
    log: SendLog,
    path: PathStats,
    counts: ViewerCounts,
    window: Window,
    match_frames: bool,
) -> None:
    """Take RTP off this viewer's sockets: decrypt, count, match, never decode. Everything
    else (STUN, DTLS, RTCP) goes on to aiortc as before."""
    kinds = payload_kinds(pc.remoteDescription.sdp)
    for dtls in dtls_transports(pc):
        for protocol in dtls.transport._connection._protocols:
            protocol.datagram_received = _rtp_taker(
                protocol.datagram_received, dtls, kinds, log, path, counts, window, match_frames
            )


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
) -> Callable[[bytes, Any], None]:
    bins, unmatched = path.bins, path.unmatched
    by_payload, by_frame, origin = log.by_payload, log.by_frame, log.origin
    in_window, received, octets = counts.in_window, counts.received, counts.octets
    first, last, top, frames = counts.first, counts.last, counts.top, counts.frames
    srtp_errors = path.srtp_errors

    def datagram_received(data: bytes, addr: Any) -> None:
        srtp = dtls._rx_srtp
        if not 127 < data[0] < 192 or is_rtcp(data) or srtp is None:
            deliver(data, addr)
            return
        now = time.perf_counter()
        try:
            packet = srtp.unprotect(data)
        except pylibsrtp.Error as error:
            counts.failed_auth += 1
            srtp_errors[str(error)] = srtp_errors.get(str(error), 0) + 1
            return
        kind = kinds.get(packet[1] & 0x7F)
        if kind is None:
            return
        high = top[kind]
        sequence = packet[2] << 8 | packet[3]
        if high < 0:
            extended = sequence + 0x10000
        else:  # the nearest to the highest so far, modulo 2^16
            extended = high + ((sequence - high + 0x8000) & 0xFFFF) - 0x8000
        if extended > high:
            top[kind] = extended
        if window.start <= now < window.end:
            received[kind] += 1
            octets[kind] += len(packet)
            frames[kind] += packet[1] >> 7
            if first[kind] < 0 or extended < first[kind]:
                first[kind] = extended
            last[kind] = max(last[kind], extended)
        if match_frames:
            sent = _frame_sent_at(by_frame, kind, (packet[4:8], origin[kind]))
        else:
            key = hash(rtp_payload(packet))
            sent = by_payload[0].get(key) or by_payload[1].get(key)
        if sent is None:
            unmatched[kind] += 1
        elif window.start <= sent < window.end:
            in_window[kind] += 1
            slot = int((now - sent) / BIN_SECONDS)
            bins[kind][slot if slot < BINS else BINS] += 1

    return datagram_received


# -- the client: publisher, direct pair and viewers on one loop -------------------------------


@dataclass
class Peer:
    pc: RTCPeerConnection
    location: str = ""
    token: str = ""
    counts: ViewerCounts = field(default_factory=ViewerCounts)


class SignallingFailed(Exception):
    pass


def new_pc() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no STUN server: loopback only


async def connected(pc: RTCPeerConnection, within: float = CONNECT_TIMEOUT) -> None:
    async with asyncio.timeout(within):
        while pc.connectionState != "connected":
            if pc.connectionState in ("failed", "closed"):
                raise SignallingFailed(f"connection {pc.connectionState}")
            await asyncio.sleep(0.05)


class Client:
    def __init__(self) -> None:
        self.window = Window()
        self.relay_log = SendLog(self.window)
        self.direct_log = SendLog(self.window)
        self.relay_path = PathStats()
        self.direct_path = PathStats()
        self.source: Source | None = None
        self.publisher: Peer | None = None
        self.direct: list[Peer] = []
        self.viewers: list[Peer] = []
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        self.lags = [0] * (BINS + 1)
        self._forget = asyncio.ensure_future(self._forget_old())
        self._lag = asyncio.ensure_future(self._watch_lag())

    async def _forget_old(self) -> None:
        while True:
            await asyncio.sleep(FORGET_EVERY)
            self.relay_log.forget_old()
            self.direct_log.forget_old()

    async def _watch_lag(self) -> None:
        """How late this loop wakes from a 5 ms sleep: when the instrument itself stalls."""
        while True:
            due = time.perf_counter() + 0.005
            await asyncio.sleep(0.005)
            if self.window.start <= due < self.window.end:
                slot = int((time.perf_counter() - due) / BIN_SECONDS)
                self.lags[slot if slot < BINS else BINS] += 1

    async def start(self, loop_seconds: int) -> Reply:
        began = time.process_time()
        self.source = Source(
            encode_video_loop(loop_seconds), encode_audio_loop(loop_seconds), loop_seconds
        )
        encode_cpu = time.process_time() - began
        await self._start_direct_pair()
        return {**self.source.describe(), "encode_cpu": encode_cpu}

    async def _start_direct_pair(self) -> None:
        assert self.source is not None
        sender, receiver = new_pc(), new_pc()
        for track in self.source.tracks():
            sender.addTrack(track)
        restrict_ice(sender, [HOST])
        await sender.setLocalDescription(await sender.createOffer())
        await receiver.setRemoteDescription(sender.localDescription)
        restrict_ice(receiver, [HOST])
        await receiver.setLocalDescription(await receiver.createAnswer())
        await sender.setRemoteDescription(receiver.localDescription)
        tap_publisher(sender, self.direct_log)
        viewer = Peer(receiver)
        tap_viewer(receiver, self.direct_log, self.direct_path, viewer.counts, self.window, False)
        self.direct = [Peer(sender), viewer]
        await connected(receiver)

    async def _signal(self, pc: RTCPeerConnection, url: str, token: str) -> str:
        restrict_ice(pc, [HOST])
        await pc.setLocalDescription(await pc.createOffer())
        headers = {"Content-Type": "application/sdp", "Authorization": f"Bearer {token}"}
        async with self.http.post(url, data=pc.localDescription.sdp, headers=headers) as response:
            if response.status != 201:
                raise SignallingFailed(f"{response.status}: {(await response.text())[:200]}")
            answer = await response.text()
            location = response.headers.get("Location", "")
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        return location

    async def publish(self, base: str, token: str) -> Reply:
        assert self.source is not None
        self.relay_log = SendLog(self.window)  # a new publisher: new RTP timestamp origins
        pc = new_pc()
        for track in self.source.tracks():
            pc.addTrack(track)
        began = time.perf_counter()
        location = await self._signal(pc, f"{base}/whip/{ROOM}", token)
        tap_publisher(pc, self.relay_log)
        self.publisher = Peer(pc, location, token)
        await connected(pc)
        return {"seconds": time.perf_counter() - began}

    async def watch(self, base: str, token: str, total: int, batch: int, frames: bool) -> Reply:
        began, errors = time.perf_counter(), list[str]()
        while len(self.viewers) < total:
            wanted = min(batch, total - len(self.viewers))
            results = await asyncio.gather(
                *(self._viewer(base, token, frames) for _ in range(wanted)),
                return_exceptions=True,
            )
            for result in results:
                if isinstance(result, Peer):
                    self.viewers.append(result)
                else:
                    errors.append(f"{type(result).__name__}: {result}")
            if len(errors) > total // 10 + 2:
                break
        gc.collect()
        return {
            "viewers": len(self.viewers),
            "failed": len(errors),
            "errors": sorted(set(errors))[:3],
            "seconds": time.perf_counter() - began,
        }

    async def _viewer(self, base: str, token: str, frames: bool) -> Peer:
        pc = new_pc()
        pc.addTransceiver("audio", direction="recvonly")
        pc.addTransceiver("video", direction="recvonly")
        try:
            peer = Peer(pc, await self._signal(pc, f"{base}/whep/{ROOM}", token), token)
            tap_viewer(pc, self.relay_log, self.relay_path, peer.counts, self.window, frames)
            await connected(pc)
        except BaseException:
            await pc.close()
            raise
        return peer

    async def measure(self, seconds: float, grace: float) -> Reply:
        gc.collect()
        gc.disable()  # the clients are the instrument: keep collector pauses out of it
        try:
            for log in (self.relay_log, self.direct_log):
                log.sent[:] = [0, 0]
                log.frames[:] = [0, 0]
                log.retransmitted = 0
            for path in (self.relay_path, self.direct_path):
                path.reset()
            for peer in [*self.viewers, *self.direct]:
                peer.counts.reset()
            self.lags[:] = [0] * (BINS + 1)
            cpu = time.process_time()
            self.window.open(seconds)
            await asyncio.sleep(seconds)
            cpu = time.process_time() - cpu
            await asyncio.sleep(grace)
        finally:
            gc.enable()
        return {
            "client_cpu": cpu,
            "sent": self.relay_log.sent,
            "sent_frames": self.relay_log.frames,
            "retransmitted": self.relay_log.retransmitted,
            "direct_sent": self.direct_log.sent,
            "viewers": [peer.counts.row() for peer in self.viewers],
            "direct_viewer": self.direct[1].counts.row(),
            "failed_auth": sum(peer.counts.failed_auth for peer in self.viewers),
            "srtp_errors": self.relay_path.srtp_errors,
            "relay_delay": self.relay_path.summary(),
            "direct_delay": self.direct_path.summary(),
            "states": _count(peer.pc.connectionState for peer in self.viewers),
            "loop_lag": percentiles(self.lags),
        }

    async def leave(self, base: str) -> Reply:
        """Every viewer and the publisher end their sessions (DELETE) and close."""
        peers = [*self.viewers, *([self.publisher] if self.publisher else [])]
        statuses: list[int | str] = []
        for first in range(0, len(peers), 20):
            statuses += await asyncio.gather(
                *(self._end(base, peer) for peer in peers[first : first + 20])
            )
        self.viewers, self.publisher = [], None
        return {"statuses": _count(statuses)}

    async def _end(self, base: str, peer: Peer) -> int | str:
        status: int | str = "no location"
        if peer.location:
            headers = {"Authorization": f"Bearer {peer.token}"}
            try:
                async with self.http.delete(base + peer.location, headers=headers) as response:
                    status = response.status
            except aiohttp.ClientError as error:
                status = type(error).__name__
        await peer.pc.close()
        return status

    async def close(self) -> None:
        self._forget.cancel()
        self._lag.cancel()
        for peer in [*self.viewers, *self.direct, *([self.publisher] if self.publisher else [])]:
            with contextlib.suppress(Exception):
                await peer.pc.close()
        await self.http.close()


def _count(values: Any) -> dict[str, int]:
    counted: dict[str, int] = {}
    for value in values:
        counted[str(value)] = counted.get(str(value), 0) + 1
    return counted


async def client_main() -> None:
    raise_fd_limit()
    client = Client()
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    try:
        while line := await stdin.readline():  # EOF: the bench is gone
            request = json.loads(line)
            try:
                reply = await _dispatch(client, request)
            except Exception as error:
                reply = {"error": f"{type(error).__name__}: {error}"}
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()
            if request["op"] == "quit":
                break
    finally:
        await client.close()


async def _dispatch(client: Client, request: Reply) -> Reply:
    op = request["op"]
    if op == "start":
        return await client.start(request["loop_seconds"])
    if op == "publish":
        return await client.publish(request["base"], request["token"])
    if op == "watch":
        args = (request["total"], request["batch"], request["frames"])
        return await client.watch(request["base"], request["token"], *args)
    if op == "measure":
        return await client.measure(request["seconds"], request["grace"])
    if op == "leave":
        return await client.leave(request["base"])
    return {}


# -- the baseline: aiortc's MediaRelay, decoding once and encoding per viewer ------------------


def keep_publisher_timestamps() -> None:
    """Let the bench match re-encoded frames to published ones, at no cost in CPU.

    A viewer's sender adds a random origin to each RTP timestamp, and aiortc's Opus encoder
    counts from its first packet: here the origin is 0 and Opus keeps the decoded frame's
    timestamp, so a viewer receives the publisher's RTP timestamps. VP8 is encoded at the
    publisher's 1 Mbps instead of aiortc's default 500 kbps (no viewer sends REMB here).
    """
    from aiortc import rtcrtpsender
    from aiortc.codecs import opus, vpx

    random32 = rtcrtpsender.random32

    def origin_zero() -> int:
        return 0 if sys._getframe(1).f_code.co_name == "_run_rtp" else random32()

    encode = opus.OpusEncoder.encode

    def encode_in_place(
        self: opus.OpusEncoder, frame: av.AudioFrame, force_keyframe: bool = False
    ) -> tuple[list[bytes], int | None]:
        payloads, _ = encode(self, frame, force_keyframe)
        stamp = convert_timebase(frame.pts, frame.time_base, opus.TIME_BASE)
        return payloads, stamp if payloads else None

    rtcrtpsender.random32 = origin_zero
    opus.OpusEncoder.encode = encode_in_place
    vpx.DEFAULT_BITRATE = VIDEO_BITRATE


class MediaRelayServer:
    """WHIP in, WHEP out, as aiortc's examples relay: ``relay.subscribe(track)`` per viewer."""

    def __init__(self) -> None:
        self.relay = MediaRelay()
        self.sources: dict[str, MediaStreamTrack] = {}
        self.sessions: dict[str, RTCPeerConnection] = {}
        self.drains: list[asyncio.Task[None]] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_post("/whip/{room}", self.whip)
        app.router.add_post("/whep/{room}", self.whep)
        app.router.add_delete("/{endpoint}/{room}/{session}", self.end)
        app.on_shutdown.append(self.close)
        return app

    async def healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def whip(self, request: web.Request) -> web.Response:
        pc = new_pc()

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind not in self.sources:
                self.sources[track.kind] = track
                # One consumer from the start, as a server that records or monitors would have.
                self.drains.append(asyncio.ensure_future(_drain(self.relay.subscribe(track))))

        await pc.setRemoteDescription(RTCSessionDescription(await request.text(), "offer"))
        return await self._answer(request, pc)

    async def whep(self, request: web.Request) -> web.Response:
        if not self.sources:
            raise web.HTTPConflict(text="nobody is publishing")
        pc = new_pc()
        await pc.setRemoteDescription(RTCSessionDescription(await request.text(), "offer"))
        for transceiver in pc.getTransceivers():
            source = self.sources.get(transceiver.kind)
            if source is not None:
                pc.addTrack(self.relay.subscribe(source))
        return await self._answer(request, pc)

    async def _answer(self, request: web.Request, pc: RTCPeerConnection) -> web.Response:
        restrict_ice(pc, [HOST])
        await pc.setLocalDescription(await pc.createAnswer())
        session = f"s{len(self.sessions)}"
        self.sessions[session] = pc

        @pc.on("connectionstatechange")
        async def changed() -> None:
            if pc.connectionState in ("failed", "closed"):
                self.sessions.pop(session, None)
                await pc.close()

        response = web.Response(status=201, text=pc.localDescription.sdp)
        response.content_type = "application/sdp"
        response.headers["Location"] = f"{request.path}/{session}"
        return response

    async def end(self, request: web.Request) -> web.Response:
        pc = self.sessions.pop(request.match_info["session"], None)
        if pc is None:
            raise web.HTTPNotFound()
        await pc.close()
        return web.Response(text="ended")

    async def close(self, _app: web.Application) -> None:
        for task in self.drains:
            task.cancel()
        for pc in list(self.sessions.values()):
            await pc.close()


async def _drain(track: MediaStreamTrack) -> None:
    with contextlib.suppress(MediaStreamError):
        while True:
            await track.recv()


def baseline_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="fanout.py _baseline")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    raise_fd_limit()
    keep_publisher_timestamps()
    web.run_app(MediaRelayServer().app(), host=HOST, port=args.port, print=None, access_log=None)


# -- the bench: servers, steps, report --------------------------------------------------------


@dataclass(frozen=True)
class Options:
    ladder: tuple[int, ...]
    baseline_viewers: int
    window: float
    batch: int
    loop_seconds: int
    server_core: int
    client_core: int
    time_limit: float
    nice: int
    keep: bool


@dataclass
class Step:
    viewers: int
    seconds: float
    server_cpu: float
    rss: int
    load: tuple[float, float, float]
    measured: Reply
    server_waited: float = 0.0  # seconds the server's loop thread waited for a CPU
    client_waited: float = 0.0
    connect: Reply = field(default_factory=dict)


class ClientProcess:
    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc

    async def ask(self, op: str, **fields: Any) -> Reply:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((json.dumps({"op": op, **fields}) + "\n").encode())
        self.proc.stdin.flush()
        line = await asyncio.to_thread(self.proc.stdout.readline)
        if not line:
            raise RuntimeError("the client process exited; see client.log")
        reply: Reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"client {op}: {reply['error']}")
        return reply


@dataclass
class Phase:
    """One server under test and what was measured of it."""

    name: str
    core: int
    log: Path
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None


class Bench:
    def __init__(self, opts: Options, folder: Path) -> None:
        self.opts = opts
        self.folder = folder
        self.children = Children(opts.nice)
        self.source: Reply = {}
        self.phases: list[Phase] = []

    async def run(self) -> None:
        proc = self.children.spawn(
            self.opts.client_core,
            [sys.executable, __file__, "_client"],
            self.folder / "client.log",
            pipes=True,
        )
        client = ClientProcess(proc)
        self.source = await client.ask("start", loop_seconds=self.opts.loop_seconds)
        await self._phase(client, self._start_plenary, self.opts.ladder, frames=False)
        await self._phase(client, self._start_baseline, (self.opts.baseline_viewers,), frames=True)
        await client.ask("quit")

    def _start_plenary(self) -> tuple[Phase, str, str, str]:
        data, port = self.folder / "plenary-data", free_port()
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)  # welcome: live
        argv = [PLENARY, "serve", "--config", CONFIG, "--data", data, "--port", port]
        argv += ["--ice-address", HOST, "--rehearse", start.isoformat()]
        phase = Phase("plenary", self.opts.server_core, self.folder / "plenary.log")
        url = self._serve(phase, argv)
        tokens = ServerProcess(data_dir=data, rehearse=start, port=port)
        return phase, url, tokens.token("technician"), tokens.token("attendee")

    def _start_baseline(self) -> tuple[Phase, str, str, str]:
        port = free_port()
        phase = Phase("MediaRelay", self.opts.server_core, self.folder / "baseline.log")
        url = self._serve(phase, [sys.executable, __file__, "_baseline", "--port", port])
        return phase, url, "-", "-"

    def _serve(self, phase: Phase, argv: Sequence[Any]) -> str:
        url = f"http://{HOST}:{argv[argv.index('--port') + 1]}"
        phase.proc = self.children.spawn(phase.core, argv, phase.log)
        self.phases.append(phase)
        wait_healthy(url, phase.proc, phase.log)
        return url

    async def _phase(
        self,
        client: ClientProcess,
        start: Callable[[], tuple[Phase, str, str, str]],
        ladder: Sequence[int],
        frames: bool,
    ) -> None:
        phase, url, publisher_token, viewer_token = start()
        assert phase.proc is not None
        server = psutil.Process(phase.proc.pid)
        try:
            published = await client.ask("publish", base=url, token=publisher_token)
            phase.notes.append(f"publisher connected in {published['seconds']:.1f} s")
            await asyncio.sleep(SETTLE_SECONDS + 1)
            phase.steps.append(await self._measure(client, server, 0))
            for viewers in ladder:
                connect = await client.ask(
                    "watch", base=url, token=viewer_token, total=viewers, batch=self.opts.batch,
                    frames=frames,
                )  # fmt: skip
                await asyncio.sleep(SETTLE_SECONDS)
                step = await self._measure(client, server, connect["viewers"])
                step.connect = connect
                phase.steps.append(step)
                if connect["failed"]:
                    phase.notes.append(f"connecting {viewers}: {connect}")
                if connect["viewers"] < 0.9 * viewers:
                    break  # the server turns viewers away: no point in asking for more
                if not sum(step.measured["sent"]):
                    phase.notes.append(f"the publisher was gone at {viewers} viewers: stopped")
                    break
            pinned, threads = pinned_threads(server, phase.core)
            phase.notes.append(f"server threads on core {phase.core} only: {pinned}/{threads}")
            left = await client.ask("leave", base=url)
            phase.notes.append(f"DELETE answers: {left['statuses']}")
        finally:
            self.children.stop(phase.proc)

    async def _measure(self, client: ClientProcess, server: psutil.Process, n: int) -> Step:
        rss, load = server.memory_info().rss, os.getloadavg()
        waits = [run_queue_wait(server.pid), run_queue_wait(client.proc.pid)]
        began, cpu = time.monotonic(), cpu_seconds(server)
        reply = asyncio.ensure_future(
            client.ask("measure", seconds=self.opts.window, grace=GRACE_SECONDS)
        )
        await asyncio.sleep(self.opts.window)
        cpu, seconds = cpu_seconds(server) - cpu, time.monotonic() - began
        server_waited = run_queue_wait(server.pid) - waits[0]
        client_waited = run_queue_wait(client.proc.pid) - waits[1]
        step = Step(n, seconds, cpu, rss, load, await reply, server_waited, client_waited)
        print(
            f"  {n:4d} viewers: server {cpu / seconds:6.1%} of a core,"
            f" waited for a CPU {server_waited / seconds:6.1%} of the time",
            file=sys.stderr,
        )
        return step


# -- the report -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One step, worked out against its phase's step without viewers."""

    step: Step
    idle: Step
    frames: bool

    @property
    def share(self) -> float:
        return self.step.server_cpu / self.step.seconds

    @property
    def per_viewer(self) -> float:
        """Server CPU seconds per viewer-second above what the publisher alone costs, divided
        by the share of the work done (a saturated or starved server does less of it)."""
        idle = self.idle.server_cpu / self.idle.seconds
        if not self.step.viewers:
            return math.nan
        return (self.share - idle) / self.step.viewers / max(self.delivered, 1e-3)

    @property
    def delivered(self) -> float:
        """The share of the work done: of packets (plenary), of video frames (re-encoded)."""
        if not self.frames:
            return 1 - self.loss
        rows, sent = self.step.measured["viewers"], self.step.measured["sent_frames"][1]
        return sum(row[9] for row in rows) / (sent * len(rows)) if sent and rows else 0.0

    @property
    def viewers_per_core(self) -> float:
        idle = self.idle.server_cpu / self.idle.seconds
        return (1 - idle) / self.per_viewer if self.per_viewer > 0 else math.inf

    @property
    def packets(self) -> int:
        rows = self.step.measured["viewers"]
        return sum(row[2] + row[3] for row in rows)  # received in the window

    @property
    def per_packet_us(self) -> float:
        return self.step.server_cpu / self.packets * 1e6 if self.packets else math.nan

    @property
    def loss(self) -> float:
        """Plenary: packets sent in the window that never arrived, for every viewer. Baseline
        (re-encoded, so no send to compare with): gaps in each viewer's sequence numbers."""
        rows = self.step.measured["viewers"]
        if not rows:
            return math.nan
        if self.frames:
            expected = sum(row[4] + row[5] for row in rows)
            return 1 - sum(row[2] + row[3] for row in rows) / expected if expected else 1.0
        expected = sum(self.step.measured["sent"]) * len(rows)
        return 1 - sum(row[0] + row[1] for row in rows) / expected if expected else 1.0

    @property
    def flags(self) -> str:
        """s: the server waited for a CPU over 20% of the time; c: so did the client, or it
        was busy; p: the publisher sent nothing (its session was gone)."""
        step, busy = self.step, BUSY_SHARE
        client_cpu = step.measured["client_cpu"] / step.seconds
        return (
            ("s" if step.server_waited / step.seconds > busy else "")
            + ("c" if step.client_waited / step.seconds > busy or client_cpu > 0.9 else "")
            + ("" if sum(step.measured["sent"]) else "p")
        )

    @property
    def silent(self) -> int:
        return sum(1 for row in self.step.measured["viewers"] if row[2] + row[3] == 0)

    @property
    def rss_per_viewer(self) -> float:
        if not self.step.viewers:
            return math.nan
        return (self.step.rss - self.idle.rss) / self.step.viewers / 1024

    def delay(self, kind: str, stat: str, path: str = "relay") -> float:
        value = self.step.measured[f"{path}_delay"][kind].get(stat)
        return float(value) if value is not None else math.nan

    def added(self, kind: str, stat: str) -> float:
        return self.delay(kind, stat) - self.delay(kind, stat, "direct")

    def kbps(self) -> tuple[float, float]:
        rows = self.step.measured["viewers"]
        octets = [sum(row[6 + kind] for row in rows) for kind in (0, 1)]
        per_viewer = self.step.seconds * max(1, len(rows)) * 125  # bytes to kbit/s
        return octets[0] / per_viewer, octets[1] / per_viewer


def _f(value: float, fmt: str, width: int) -> str:
    return f"{'-':>{width}}" if math.isnan(value) or math.isinf(value) else f"{value:{width}{fmt}}"


def _pair(first: float, second: float) -> str:
    return f"{_f(first, '.2f', 7)} /{_f(second, '.2f', 7)}"


# (title, second title line, width, cell): the columns of the main table
COLUMNS: list[tuple[str, str, int, Callable[[Row], str]]] = [
    ("viewers", "", 7, lambda r: f"{r.step.viewers:7d}"),
    ("CPU%", "1 core", 6, lambda r: _f(r.share * 100, ".1f", 6)),
    ("wait%", "for CPU", 7, lambda r: _f(r.step.server_waited / r.step.seconds * 100, ".1f", 7)),
    ("us/pkt", "all CPU", 7, lambda r: _f(r.per_packet_us, ".1f", 7)),
    ("ms/viewer-s", "marginal", 11, lambda r: _f(r.per_viewer * 1000, ".2f", 11)),
    ("viewers", "per core", 8, lambda r: _f(r.viewers_per_core, ".0f", 8)),
    ("loss%", "", 6, lambda r: _f(r.loss * 100, ".2f", 6)),
    ("silent", "", 6, lambda r: f"{r.silent:6d}"),
    ("RSS/viewer", "KiB", 10, lambda r: _f(r.rss_per_viewer, ".0f", 10)),
    (
        "audio added",
        "p50 / p99 ms",
        16,
        lambda r: _pair(r.added("audio", "p50"), r.added("audio", "p99")),
    ),
    (
        "video added",
        "p50 / p99 ms",
        16,
        lambda r: _pair(r.added("video", "p50"), r.added("video", "p99")),
    ),
    (
        "client",
        "CPU%",
        6,
        lambda r: _f(r.step.measured["client_cpu"] / r.step.seconds * 100, ".0f", 6),
    ),
    ("client", "wait%", 6, lambda r: _f(r.step.client_waited / r.step.seconds * 100, ".0f", 6)),
    ("flags", "", 5, lambda r: f"{r.flags:>5}"),
]


def table_header() -> list[str]:
    return [
        f"{'server':<10} " + " ".join(f"{column[line]:>{column[2]}}" for column in COLUMNS)
        for line in (0, 1)
    ]


def format_row(name: str, row: Row) -> str:
    return f"{name:<10} " + " ".join(column[3](row) for column in COLUMNS)


def delay_lines(name: str, row: Row) -> list[str]:
    lines = []
    for kind in KINDS:
        relay = row.step.measured["relay_delay"][kind]
        direct = row.step.measured["direct_delay"][kind]
        stats = [
            _f(row.delay(kind, stat, path), ".2f", 6)
            for path in ("relay", "direct")
            for stat in ("p50", "p99", "max")
        ]
        lines.append(
            f"{name:<10} {row.step.viewers:4d} {kind:<5}"
            f" relay p50/p99/max {stats[0]} {stats[1]} {stats[2]} ms"
            f" (n={relay['n']}, unmatched {relay['unmatched']});"
            f" direct {stats[3]} {stats[4]} {stats[5]} ms (n={direct['n']})"
        )
    return lines


def report(bench: Bench) -> None:
    source = bench.source
    opts = bench.opts
    print()
    print(
        f"publisher: VP8 {WIDTH}x{HEIGHT} {FPS} fps {source.get('video_kbps', 0):.0f} kbps"
        f" + Opus {source.get('audio_kbps', 0):.0f} kbps, {opts.loop_seconds} s loop"
        f" (keyframe {source.get('keyframe_bytes', 0)} B); servers on core {opts.server_core},"
        f" publisher and viewers on core {opts.client_core}; window {opts.window:g} s"
    )
    rows: dict[str, list[Row]] = {}
    for phase in bench.phases:
        if phase.steps:
            frames = phase.name != "plenary"
            rows[phase.name] = [Row(step, phase.steps[0], frames) for step in phase.steps]
    print()
    print("\n".join(table_header()))
    for name, phase_rows in rows.items():
        for row in phase_rows:
            print(format_row(name, row))
    print()
    print("raw delays, publisher send to viewer receive (direct: same client, no server)")
    for name, phase_rows in rows.items():
        for row in phase_rows[1:]:
            print("\n".join(delay_lines(name, row)))
    _print_ratios(rows)
    _print_details(bench, rows)


def _print_ratios(rows: dict[str, list[Row]]) -> None:
    plenary, baseline = rows.get("plenary", [])[1:], rows.get("MediaRelay", [])[1:]
    if not plenary or not baseline:
        return
    base = baseline[-1]
    print()
    print(
        f"ratios, MediaRelay ({base.step.viewers} viewers) / plenary  (target: CPU per viewer"
        f" >= {TARGET_RATIO:g}x)"
    )
    for row in plenary:
        delays = " ".join(
            f"{kind} p99 added {_f(base.added(kind, 'p99') / row.added(kind, 'p99'), '.1f', 5)}x"
            for kind in KINDS
        )
        print(
            f"  at {row.step.viewers:4d} viewers: CPU per viewer-second"
            f" {_f(base.per_viewer / row.per_viewer, '.0f', 5)}x,"
            f" CPU per packet {_f(base.per_packet_us / row.per_packet_us, '.1f', 5)}x,"
            f" RSS per viewer {_f(base.rss_per_viewer / row.rss_per_viewer, '.1f', 5)}x, {delays}"
        )
    _print_verdicts(plenary, base)


def _print_verdicts(plenary: list[Row], base: Row) -> None:
    """The issue's three targets, each from the figures that hold up on a busy machine."""
    counted = [row.per_viewer for row in plenary if row.delivered > 0.5 and row.per_viewer > 0]
    per_viewer = statistics.median(counted) if counted else math.nan
    per_core = (1 - plenary[0].idle.server_cpu / plenary[0].idle.seconds) / per_viewer
    clean = [row for row in plenary if not row.flags and row.loss < TARGET_LOSS]
    top = clean[-1] if clean else None
    added = max(top.added(kind, "p99") for kind in KINDS) if top else math.nan
    ratio = base.per_viewer / per_viewer
    lines = [
        "CPU per viewer-second, MediaRelay / plenary (median over steps): "
        + (f"{ratio:.0f}x" if ratio > 0 else "not measured (the baseline got no CPU)")
        + f"{' (baseline flagged ' + base.flags + ')' if base.flags else ''}"
        f" (target {TARGET_RATIO:g}x)",
        f"viewers of this stream per core, extrapolated: {per_core:.0f}"
        f" (target {TARGET_VIEWERS} under {TARGET_LOSS:.0%} loss)",
        "added delay p99, worst kind, at the largest step without flags or loss: "
        + (f"{added:.1f} ms at {top.step.viewers} viewers" if top else "no such step")
        + f" (target under {TARGET_P99_MS:g} ms)",
    ]
    print("  " + "\n  ".join(lines))


def _print_details(bench: Bench, rows: dict[str, list[Row]]) -> None:
    print()
    for phase in bench.phases:
        print(f"{phase.name}:")
        for note in phase.notes:
            print(f"  {note}")
        for row in rows.get(phase.name, []):
            step = row.step
            audio, video = row.kbps()
            connect = step.connect
            print(
                f"  {step.viewers:4d} viewers: load {step.load[0]:.1f}/{step.load[1]:.1f},"
                f" per viewer {audio:.0f}+{video:.0f} kbps, sent {step.measured['sent']}"
                f" and {step.measured['retransmitted']} RTX,"
                f" states {step.measured['states']}, failed SRTP {step.measured['failed_auth']}"
                f" {step.measured['srtp_errors'] or ''}, delivered {row.delivered:.0%},"
                f" client loop lag p99 {step.measured['loop_lag'].get('p99', 0):.1f}"
                f" max {step.measured['loop_lag'].get('max', 0):.1f} ms"
                + (f", connected in {connect['seconds']:.1f} s" if connect else "")
            )
        problems = log_problems(phase.log)
        print(
            f"  log {phase.log.name}: "
            + ("; ".join(problems) if problems else "no errors or warnings")
        )
    client_problems = log_problems(bench.folder / "client.log")
    if client_problems:
        print("client: " + "; ".join(client_problems))
    print(f"load average now: {os.getloadavg()[0]:.1f} (1 min) on {os.cpu_count()} cores")


# -- command line -----------------------------------------------------------------------------


def parse_options(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", default=",".join(map(str, DEFAULT_LADDER)))
    parser.add_argument("--baseline-viewers", type=int, default=DEFAULT_BASELINE)
    parser.add_argument("--window", type=float, default=10.0, help="seconds measured per step")
    parser.add_argument("--batch", type=int, default=10, help="viewers connecting at once")
    parser.add_argument("--loop-seconds", type=int, default=2, help="length of the media loop")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=360.0)
    parser.add_argument(
        "--nice", type=int, default=0, help="niceness of servers and client (-10: less noise)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs)")
    args = parser.parse_args(argv)
    ladder = tuple(sorted({int(n) for n in args.viewers.split(",") if n.strip()}))
    if {args.server_core, args.client_core} - os.sched_getaffinity(0):
        parser.error(f"cores available here: {sorted(os.sched_getaffinity(0))}")
    return Options(
        ladder, args.baseline_viewers, args.window, args.batch, args.loop_seconds,
        args.server_core, args.client_core, args.time_limit, args.nice, args.keep,
    )  # fmt: skip


async def bench_main(bench: Bench) -> None:
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        async with asyncio.timeout(bench.opts.time_limit):
            await bench.run()
    except TimeoutError:
        print(f"time limit of {bench.opts.time_limit:g} s: reporting what was measured")


def main(argv: list[str]) -> int:
    if argv[:1] == ["_client"]:
        asyncio.run(client_main())
        return 0
    if argv[:1] == ["_baseline"]:
        baseline_main(argv[1:])
        return 0
    opts = parse_options(argv)
    raise_fd_limit()
    folder = Path(tempfile.mkdtemp(prefix="fanout-"))
    bench = Bench(opts, folder)
    try:
        asyncio.run(bench_main(bench))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted: reporting what was measured", file=sys.stderr)
    except Exception as error:
        print(f"bench failed: {type(error).__name__}: {error}", file=sys.stderr)
        raise
    finally:
        bench.children.stop_all()
        report(bench)
        if opts.keep:
            raw = {phase.name: [vars(step) for step in phase.steps] for phase in bench.phases}
            (folder / "steps.json").write_text(json.dumps(raw, indent=1))
            print(f"logs and steps.json kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
