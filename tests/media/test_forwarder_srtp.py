"""No SRTP index is used for two different packets, on any way a packet leaves the relay, with
libsrtp set up exactly as aiortc sets it up (``like_aiortc``: repeats allowed). The forwarder
goes through a change of publisher whose late packets would take the previous publisher's
numbers; a viewer decrypting with libsrtp on a real socket sees each index once."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from aiortc.rtp import RtpPacket
from pylibsrtp import Policy, Session
from pylibsrtp._binding import ffi

from server.media.aiortc_internals.srtp import SRTP_BUFFER_BYTES, protect_address, srtp_protector
from server.media.forwarder import KEEP_IN_STEP_EVERY, Forwarder
from server.media.srtp_keys import rtp_session_keys
from tests.fake_viewer import OPUS, VP8, VP8_DELTA, VP8_KEYFRAME, FakeClock, FakeViewer, rtp
from tests.packets import like_aiortc, srtp_address, udp

# libsrtp's profile, and its master key and salt lengths.
PROFILES = {
    "aes-256-gcm": (Policy.SRTP_PROFILE_AEAD_AES_256_GCM, 32, 12),
    "aes-cm": (Policy.SRTP_PROFILE_AES128_CM_SHA1_80, 16, 14),
}


@dataclass(frozen=True)
class Path:
    c_loop: bool
    encrypts: str  # in the C loop: "libsrtp" (LibsrtpSender) or "gcm" (GcmSender); else ""
    profile: str


PATHS = {
    "python-loop": Path(False, "", "aes-256-gcm"),
    "python-loop-aes-cm": Path(False, "", "aes-cm"),
    # An ICE pair that is not a plain socket (TURN, from the relay's side) has no outlet.
    "no-outlet-beside-the-c-loop": Path(True, "", "aes-256-gcm"),
    "c-loop-libsrtp-gcm": Path(True, "libsrtp", "aes-256-gcm"),  # OpenSSL without AES-GCM
    "c-loop-libsrtp-aes-cm": Path(True, "libsrtp", "aes-cm"),
    "c-loop-own-gcm": Path(True, "gcm", "aes-256-gcm"),
}


def enlarged(made: Session) -> Session:
    """As ``PassthroughSender.allow_large_packets`` does to aiortc's session."""
    made._cdata = ffi.new("char[]", SRTP_BUFFER_BYTES)
    made._buffer = ffi.buffer(made._cdata)
    return made


def viewer_on(
    path: Path, native: ModuleType | None, master: bytes, sender: socket.socket, to: Any
) -> FakeViewer:
    """A viewer reached the way ``path`` says, with aiortc's libsrtp session for ``master``."""
    profile, key_bytes, _ = PROFILES[path.profile]
    session = enlarged(like_aiortc(master, profile))
    route = (srtp_protector(session), sender.sendto, to)
    if not path.encrypts:
        return FakeViewer(way_out=route)
    assert native is not None
    encrypts: Any
    if path.encrypts == "gcm":
        keys = rtp_session_keys(master[:key_bytes], master[key_bytes:])
        encrypts = native.GcmSender(keys.key, keys.salt)
    else:
        encrypts = native.LibsrtpSender(protect_address(), srtp_address(session), session)
    return FakeViewer(way_out=route, outlet_to=native.Outlet(sender.fileno(), to, encrypts))


@dataclass
class Stage:
    """A forwarder with one viewer reached by a path of ``PATHS``, whose datagrams arrive on
    ``receiver``; ``viewer`` decrypts them as the viewer's browser would."""

    forwarder: Forwarder
    clock: FakeClock
    receiver: socket.socket
    viewer: Session

    @classmethod
    def made(
        cls,
        request: pytest.FixtureRequest,
        sockets: list[socket.socket],
        name: str,
        kind: str,
        first_sequence: int,
    ) -> Stage:
        path = PATHS[name]
        native = request.getfixturevalue("native") if path.c_loop else None
        profile, key_bytes, salt_bytes = PROFILES[path.profile]
        master = os.urandom(key_bytes + salt_bytes)
        sender, receiver = udp(sockets), udp(sockets)
        clock = FakeClock()
        forwarder = Forwarder(
            kind, clock=clock, ntp_clock=clock.ntp, c_loop=path.c_loop,
            first_sequence=first_sequence,
        )  # fmt: skip
        forwarder.add_viewer(viewer_on(path, native, master, sender, receiver.getsockname()))
        viewer = like_aiortc(master, profile, Policy.SSRC_ANY_INBOUND)
        return cls(forwarder, clock, receiver, viewer)


@pytest.mark.parametrize("name", PATHS)
async def test_a_viewer_never_sees_one_index_twice(
    request: pytest.FixtureRequest, sockets: list[socket.socket], name: str
) -> None:
    stage = Stage.made(request, sockets, name, "audio", first_sequence=65530)
    forwarder, clock = stage.forwarder, stage.clock
    arrivals = [rtp(1000 + n, ssrc=1) for n in range(20)]  # our numbers cross 2^16 here
    # The next publisher: 497, 498 and 496 come after its first packet, 502 after 503.
    arrivals += [rtp(n, ssrc=2) for n in (500, 501, 497, 503, 502, 498, 504, 496)]
    for packet in arrivals:
        await forwarder.forward(packet, OPUS)
        clock.now += 0.02
    datagrams = [stage.receiver.recv(4096) for _ in range(forwarder.stats.packets_out)]
    sequences = [int.from_bytes(data[2:4], "big") for data in datagrams]
    assert len(set(sequences)) == len(sequences), "an index went out twice"
    decrypted = [stage.viewer.unprotect(data) for data in datagrams]  # a repeat would be refused
    assert [int.from_bytes(packet[2:4], "big") for packet in decrypted] == [
        *range(65530, 65536),
        *range(16),  # the first publisher's last, and the next one's first two
        17,
        16,  # 502 went out after 503
        18,
    ]
    assert forwarder.stats.stale == 3


@pytest.mark.parametrize("name", PATHS)
async def test_a_viewer_kept_waiting_past_half_the_numbers_still_decrypts(
    request: pytest.FixtureRequest, sockets: list[socket.socket], name: str
) -> None:
    """A viewer that reloads and waits for a keyframe while another watches, and more than 2^15
    numbers go by: were it sent nothing meanwhile, its SRTP session would guess the keyframe's
    rollover wrong (onto an index it used a lap before), and the browser's could not decrypt
    it. It is kept in step by padding, and decrypts the keyframe."""
    stage = Stage.made(request, sockets, name, "video", first_sequence=60000)
    forwarder = stage.forwarder
    (reloading,) = forwarder._viewers
    forwarder.add_viewer(FakeViewer())  # someone else, who watches throughout
    await forwarder.forward(frame(0, VP8_KEYFRAME, ssrc=1), VP8)
    forwarder.remove_viewer(reloading)
    forwarder.add_viewer(reloading)  # back, waiting for the next keyframe
    gap = 40_960  # delta frames while it waits: over 2^15
    for n in range(1, gap + 1):
        await forwarder.forward(frame(n, VP8_DELTA, ssrc=1), VP8)
    await forwarder.forward(frame(gap + 1, VP8_KEYFRAME, ssrc=1), VP8)
    datagrams = [stage.receiver.recv(4096) for _ in range(1 + forwarder.stats.kept_in_step + 1)]
    decrypted = [RtpPacket.parse(stage.viewer.unprotect(data)) for data in datagrams]
    assert decrypted[-1].payload == VP8_KEYFRAME
    assert decrypted[-1].sequence_number == (60000 + gap + 1) % 65536
    assert forwarder.stats.kept_in_step == gap // KEEP_IN_STEP_EVERY - 1  # not with the keyframe


def frame(number: int, payload: bytes, ssrc: int) -> RtpPacket:
    """A one-packet VP8 frame, 30 a second."""
    packet = rtp(number, number * 3000, ssrc=ssrc, payload=payload, payload_type=VP8.payloadType)
    packet.marker = 1
    return packet
