"""The C loop's own SRTP AES-GCM (server/media/_srtp.c) and its keys (server/media/srtp_keys.py),
byte for byte against libsrtp, on a real DTLS connection, and with the bad cases refused."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import pytest
from aiortc import RTCDtlsTransport, RTCPeerConnection
from aiortc.rtcdtlstransport import SRTP_AES128_CM_SHA1_80
from pylibsrtp import Error as SrtpError
from pylibsrtp import Policy, Session

from server.media.aiortc_internals.dtls_keys import gcm_keys
from server.media.aiortc_internals.ice import restrict_ice
from server.media.aiortc_internals.srtp import SRTP_PACKET_LIMIT
from server.media.srtp_keys import SessionKeys, rtp_session_keys, split_keying_material
from tests.packets import like_aiortc, rtp, session, udp

GCM = {16: Policy.SRTP_PROFILE_AEAD_AES_128_GCM, 32: Policy.SRTP_PROFILE_AEAD_AES_256_GCM}


def pair(native: ModuleType, key_bytes: int) -> tuple[Any, Session, bytes]:
    """Our sender and libsrtp's, from one random master key and salt; and that master."""
    master_key, master_salt = os.urandom(key_bytes), os.urandom(12)
    keys = rtp_session_keys(master_key, master_salt)
    master = master_key + master_salt
    return native.GcmSender(keys.key, keys.salt), like_aiortc(master, GCM[key_bytes]), master


def protect_or_refuse(sender: Any, packet: bytes) -> bytes | str:
    try:
        encrypted: bytes = sender.protect(packet)
    except Exception:
        return "refused"
    return encrypted


# A stream near the end of the sequence space, so it rolls over, with what a relay meets: late
# packets within the window, a repeat of the very same packet, jumps, one far too old.
START = 65400
SEQUENCES = [
    *range(START, START + 300),
    START + 250,  # late, within the window
    START + 299,  # the same packet again
    START + 5000,
    START + 5001,
    START + 3000,  # late, older than the window
    START + 40000,  # over half the sequence space ahead: taken as older still
    START + 70000,  # a lap on: the same as a late packet, within the window
]


@pytest.mark.parametrize("key_bytes", [16, 32], ids=["aes-128-gcm", "aes-256-gcm"])
def test_it_encrypts_byte_for_byte_as_libsrtp(native: ModuleType, key_bytes: int) -> None:
    ours, libsrtp, _ = pair(native, key_bytes)
    shapes: list[dict[str, Any]] = [
        {},
        {"csrcs": 2},
        {"extension_words": 1},
        {"csrcs": 1, "extension_words": 3},
    ]
    refused = []
    for number, sequence in enumerate(SEQUENCES):
        shape: dict[str, Any] = shapes[sequence % 4]
        packet = rtp(sequence, 40 + 37 * (sequence % 31), **shape)
        expected = protect_or_refuse(libsrtp, packet)
        assert protect_or_refuse(ours, packet) == expected, f"packet {number}, seq {sequence}"
        if expected == "refused":
            refused.append(sequence)
    assert refused == [START + 3000, START + 40000]
    assert ours.rollover == 1


def test_a_viewer_decrypts_it_across_the_rollover(native: ModuleType) -> None:
    ours, _, master = pair(native, 32)
    viewer = session(master, GCM[32], Policy.SSRC_ANY_INBOUND)
    for sequence in range(65500, 65600):
        packet = rtp(sequence, 1200)
        assert viewer.unprotect(ours.protect(packet)) == packet
    assert ours.rollover == 1


def test_one_index_is_never_used_for_two_different_packets(native: ModuleType) -> None:
    ours, _, _ = pair(native, 16)
    first = ours.protect(rtp(10, 200))
    assert ours.protect(rtp(10, 200)) == first  # the same packet again: the same bytes
    with pytest.raises(ValueError, match="sent already with other content"):
        ours.protect(rtp(10, 201))  # one nonce for another packet: never
    assert ours.protect(rtp(10, 200)) == first  # and the refusal changed nothing


def test_a_packet_older_than_the_window_is_refused(native: ModuleType) -> None:
    ours, _, _ = pair(native, 16)
    ours.protect(rtp(3000))
    ours.protect(rtp(3000 - 1023))  # the oldest the window holds
    with pytest.raises(ValueError, match="older than the window"):
        ours.protect(rtp(3000 - 1024))


def test_a_sender_keeps_to_one_stream(native: ModuleType) -> None:
    ours, _, _ = pair(native, 16)
    ours.protect(rtp(1, ssrc=7))
    with pytest.raises(ValueError, match="another SSRC"):
        ours.protect(rtp(2, ssrc=8))
    ours.protect(rtp(2, ssrc=7))


def test_bad_packets_are_refused(native: ModuleType) -> None:
    ours, _, _ = pair(native, 16)
    good = rtp(1)
    cases = [
        bytes([0x40]) + good[1:],  # RTP version 1
        good[:11],  # shorter than a header
        bytes([0x8F]) + good[1:40],  # fifteen CSRCs, in 40 bytes
        bytes([0x90]) + good[1:12] + b"\xbe\xde\x00\x09" + bytes(8),  # an extension past the end
        bytes([0x90]) + good[1:14],  # an extension header cut short
    ]
    for packet in cases:
        with pytest.raises(ValueError, match="not an RTP packet"):
            ours.protect(packet)
    with pytest.raises(ValueError, match="over"):
        ours.protect(rtp(2, SRTP_PACKET_LIMIT + 1))
    with pytest.raises(TypeError):
        ours.protect("not bytes")
    assert ours.protect(rtp(2, SRTP_PACKET_LIMIT))  # the largest the loop takes


def test_bad_keys_are_refused(native: ModuleType) -> None:
    with pytest.raises(ValueError, match="16 or 32 bytes, not 24"):
        native.GcmSender(bytes(24), bytes(12))
    with pytest.raises(ValueError, match="salt is 12 bytes, not 14"):
        native.GcmSender(bytes(16), bytes(14))
    with pytest.raises(TypeError):
        native.GcmSender("key", bytes(12))
    keyed = native.GcmSender(bytes(16), bytes(12))
    with pytest.raises(RuntimeError, match="keyed once"):
        keyed.__init__(bytes(16), bytes(12))
    never_keyed = native.GcmSender.__new__(native.GcmSender)
    with pytest.raises(RuntimeError, match="not initialised"):
        never_keyed.protect(rtp(1))
    with pytest.raises(ValueError):
        rtp_session_keys(bytes(24), bytes(12))
    with pytest.raises(ValueError):
        SessionKeys(bytes(16), bytes(14))
    assert "0" not in repr(SessionKeys(bytes(16), bytes(12)))  # keys never reach a log


def test_keying_material_is_split_as_rfc_5764_says() -> None:
    material = bytes(range(88))  # AES-256-GCM: two 32-byte keys, then two 12-byte salts
    assert split_keying_material(material, b"SRTP_AEAD_AES_256_GCM", False) == (
        material[0:32],
        material[64:76],
    )
    assert split_keying_material(material, b"SRTP_AEAD_AES_256_GCM", True) == (
        material[32:64],
        material[76:88],
    )
    with pytest.raises(ValueError, match="wrong length"):
        split_keying_material(material[:56], b"SRTP_AEAD_AES_256_GCM", True)


def test_an_outlet_sends_it_to_the_viewer(native: ModuleType, sockets: list[socket.socket]) -> None:
    sender, viewer_socket = udp(sockets), udp(sockets)
    ours, _, master = pair(native, 32)
    outlet = native.Outlet(sender.fileno(), viewer_socket.getsockname(), ours)
    fanout = native.Fanout([outlet])
    viewer = session(master, GCM[32], Policy.SSRC_ANY_INBOUND)
    assert fanout.send(rtp(1)) == 1
    assert viewer.unprotect(viewer_socket.recv(4096)) == rtp(1)
    assert outlet.send(rtp(1)) is True  # a retransmission: the same bytes again
    assert viewer_socket.recv(4096)
    assert outlet.send(rtp(1, 300)) is False  # not the same packet: refused, not sent
    assert fanout.send(rtp(2)) == 1
    assert viewer.unprotect(viewer_socket.recv(4096)) == rtp(2)


# -- on a real DTLS connection -----------------------------------------------------------


async def connected_pair(profiles: list[Any] | None = None) -> tuple[RTCPeerConnection, ...]:
    offerer, answerer = RTCPeerConnection(), RTCPeerConnection()
    offerer.addTransceiver("audio", direction="sendrecv")
    restrict_ice(offerer, ["127.0.0.1"])
    await offerer.setLocalDescription(await offerer.createOffer())
    await answerer.setRemoteDescription(offerer.localDescription)
    restrict_ice(answerer, ["127.0.0.1"])
    if profiles is not None:
        for pc in (offerer, answerer):
            dtls(pc)._srtp_profiles = profiles
    await answerer.setLocalDescription(await answerer.createAnswer())
    await offerer.setRemoteDescription(answerer.localDescription)
    async with asyncio.timeout(10):
        while {offerer.connectionState, answerer.connectionState} != {"connected"}:
            await asyncio.sleep(0.02)
    return offerer, answerer


def dtls(pc: RTCPeerConnection) -> RTCDtlsTransport:
    transport: RTCDtlsTransport = pc.getTransceivers()[0].receiver.transport
    return transport


@pytest.fixture
async def peers() -> AsyncIterator[list[RTCPeerConnection]]:
    made: list[RTCPeerConnection] = []
    yield made
    for pc in made:
        await pc.close()


async def test_the_keys_are_those_of_the_connection(
    native: ModuleType, peers: list[RTCPeerConnection]
) -> None:
    peers += await connected_pair()
    for sending, receiving in (peers, peers[::-1]):
        keys = gcm_keys(dtls(sending))
        assert keys is not None and len(keys.key) == 32  # aiortc prefers AES-256-GCM
        ours = native.GcmSender(keys.key, keys.salt)
        for sequence in (1, 2, 3):
            packet = rtp(sequence, 500, ssrc=1234)
            assert dtls(receiving)._rx_srtp.unprotect(ours.protect(packet)) == packet


async def test_other_profiles_stay_with_libsrtp(peers: list[RTCPeerConnection]) -> None:
    peers += await connected_pair([SRTP_AES128_CM_SHA1_80])
    assert gcm_keys(dtls(peers[0])) is None and gcm_keys(dtls(peers[1])) is None


async def test_no_keys_before_the_connection_is_up() -> None:
    pc = RTCPeerConnection()
    pc.addTransceiver("audio")
    try:
        assert gcm_keys(dtls(pc)) is None
    finally:
        await pc.close()


async def test_like_aiortc_repeats_an_index_as_aiortc_does(peers: list[RTCPeerConnection]) -> None:
    """What the relay's libsrtp paths are up against: aiortc's sessions encrypt one index
    again for another packet, and so does ``like_aiortc``; libsrtp's defaults refuse."""
    peers += await connected_pair()
    master, profile = bytes(44), Policy.SRTP_PROFILE_AEAD_AES_256_GCM
    for made in (dtls(peers[0])._tx_srtp, like_aiortc(master, profile)):
        assert made.protect(rtp(5, 200)) != made.protect(rtp(5, 201))
    defaults = session(master, profile)
    defaults.protect(rtp(5, 200))
    with pytest.raises(SrtpError):
        defaults.protect(rtp(5, 201))
