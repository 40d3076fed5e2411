"""The relay's C loop (server/media/_fanout.c) against real sockets and libsrtp, and its Python
twin: the same bytes reach each viewer either way, bad input is refused with a clear error, and
a socket closed or full under it costs nothing but that viewer's packet."""

from __future__ import annotations

import gc
import os
import socket
from types import ModuleType
from typing import Any

import pytest
from pylibsrtp import Policy, Session
from pylibsrtp._binding import ffi

from server.media import fanout as fanouts
from server.media.aiortc_internals.srtp import (
    SRTP_BUFFER_BYTES,
    SRTP_PACKET_LIMIT,
    protect_address,
    srtp_protector,
)
from server.media.fanout import PythonFanout, SplitFanout
from tests.packets import rtp, session, srtp_address, udp

PROFILES = {
    "aes-gcm": (Policy.SRTP_PROFILE_AEAD_AES_128_GCM, 28),
    "aes-cm-sha1": (Policy.SRTP_PROFILE_AES128_CM_SHA1_80, 30),
}


def libsrtp(native: ModuleType, srtp: Session) -> Any:
    return native.LibsrtpSender(protect_address(), srtp_address(srtp), srtp)


def outlet(native: ModuleType, sender: socket.socket, to: socket.socket, srtp: Session) -> Any:
    return native.Outlet(sender.fileno(), to.getsockname()[:2], libsrtp(native, srtp))


@pytest.mark.parametrize("profile", PROFILES)
def test_each_viewer_gets_exactly_what_libsrtp_makes(
    native: ModuleType, sockets: list[socket.socket], profile: str
) -> None:
    srtp_profile, key_length = PROFILES[profile]
    keys = [bytes([n]) * key_length for n in (1, 2, 3)]
    senders = [udp(sockets) for _ in keys]
    viewers = [udp(sockets) for _ in keys]
    ours = [session(key, srtp_profile) for key in keys]
    references = [session(key, srtp_profile) for key in keys]
    fanout = native.Fanout(
        [outlet(native, s, v, srtp) for s, v, srtp in zip(senders, viewers, ours, strict=True)],
    )
    assert fanout.size == 3
    for sequence, size in ((1, 20), (2, 1200), (3, 1356), (4, SRTP_PACKET_LIMIT)):
        packet = rtp(sequence, size)
        assert fanout.send(packet) == 3
        for viewer, sender, reference, key in zip(viewers, senders, references, keys, strict=True):
            data, source = viewer.recvfrom(4096)
            assert source == sender.getsockname()  # from the viewer's own ICE socket
            if size <= 1356:  # what pylibsrtp's own 1500-byte buffer takes
                assert data == reference.protect(packet)
            receiver = session(key, srtp_profile, Policy.SSRC_ANY_INBOUND)
            assert receiver.unprotect(data) == packet


def test_the_python_loop_sends_the_same_bytes(
    native: ModuleType, sockets: list[socket.socket]
) -> None:
    srtp_profile, key_length = PROFILES["aes-gcm"]
    key = bytes(range(key_length))
    sender_c, sender_py, viewer_c, viewer_py = (udp(sockets) for _ in range(4))
    c_loop = native.Fanout([outlet(native, sender_c, viewer_c, session(key, srtp_profile))])
    python_session = session(key, srtp_profile)
    python_session._cdata = ffi.new("char[]", SRTP_BUFFER_BYTES)
    python_session._buffer = ffi.buffer(python_session._cdata)
    route = (srtp_protector(python_session), sender_py.sendto, viewer_py.getsockname())
    python_loop = PythonFanout([route])
    for sequence in range(1, 40):
        assert c_loop.send(rtp(sequence)) == python_loop.send(rtp(sequence)) == 1
        assert viewer_c.recv(4096) == viewer_py.recv(4096)


def test_an_outlet_outlives_its_socket_and_never_writes_to_a_newcomer(
    native: ModuleType, sockets: list[socket.socket]
) -> None:
    """The outlet holds its own descriptor: when the ICE socket is closed under it and its
    number goes to a new socket, the packet still goes where it went, not out of the new one."""
    srtp_profile, key_length = PROFILES["aes-gcm"]
    sender, viewer = udp(sockets), udp(sockets)
    number = sender.fileno()
    fanout = native.Fanout(
        [outlet(native, sender, viewer, session(bytes(key_length), srtp_profile))],
    )
    sender.close()
    newcomer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sockets.append(newcomer)
    newcomer.bind(("127.0.0.1", 0))
    assert newcomer.fileno() == number  # the lowest free number: the old one
    assert fanout.send(rtp(1)) == 1
    _, source = viewer.recvfrom(4096)
    assert source != newcomer.getsockname()


def test_an_outlet_keeps_its_session_alive(
    native: ModuleType, sockets: list[socket.socket]
) -> None:
    srtp_profile, key_length = PROFILES["aes-gcm"]
    key = bytes([9]) * key_length
    sender, viewer = udp(sockets), udp(sockets)
    fanout = native.Fanout([outlet(native, sender, viewer, session(key, srtp_profile))])
    gc.collect()  # the session's only reference is the outlet's
    assert fanout.send(rtp(1)) == 1
    receiver = session(key, srtp_profile, Policy.SSRC_ANY_INBOUND)
    assert receiver.unprotect(viewer.recv(4096)) == rtp(1)


def test_a_closed_outlet_is_skipped(native: ModuleType, sockets: list[socket.socket]) -> None:
    srtp_profile, key_length = PROFILES["aes-gcm"]
    sender, gone, staying = udp(sockets), udp(sockets), udp(sockets)
    first = outlet(native, sender, gone, session(bytes(key_length), srtp_profile))
    second = outlet(native, sender, staying, session(bytes(key_length), srtp_profile))
    fanout = native.Fanout((first, second))
    first.close()
    first.close()  # twice is harmless
    assert first.closed and not second.closed
    assert fanout.send(rtp(1)) == 1
    assert staying.recv(4096)
    # Datagrams from one socket to another arrive in order: a marker sent now comes first only
    # if the fan-out sent nothing to the closed outlet's viewer.
    sender.sendto(b"marker", gone.getsockname())
    assert gone.recv(4096) == b"marker"


def test_a_failed_send_costs_only_that_viewer(
    native: ModuleType, sockets: list[socket.socket]
) -> None:
    """An IPv4 socket cannot send to an IPv6 address: sendto fails for that viewer alone."""
    srtp_profile, key_length = PROFILES["aes-gcm"]
    sender, viewer = udp(sockets), udp(sockets)
    srtp = session(bytes(key_length), srtp_profile)
    unreachable = native.Outlet(sender.fileno(), ("::1", 9), libsrtp(native, srtp))
    fanout = native.Fanout(
        [unreachable, outlet(native, sender, viewer, session(bytes(key_length), srtp_profile))],
    )
    assert fanout.send(rtp(1)) == 1
    assert viewer.recv(4096)


def test_a_repeated_packet_is_refused_by_srtp_and_not_sent(
    native: ModuleType, sockets: list[socket.socket]
) -> None:
    srtp_profile, key_length = PROFILES["aes-gcm"]
    sender, viewer = udp(sockets), udp(sockets)
    fanout = native.Fanout(
        [outlet(native, sender, viewer, session(bytes(key_length), srtp_profile))],
    )
    assert fanout.send(rtp(5)) == 1
    assert fanout.send(rtp(5)) == 0  # libsrtp will not encrypt one index twice
    assert fanout.send(rtp(6)) == 1


def test_ipv6_viewers(native: ModuleType, sockets: list[socket.socket]) -> None:
    srtp_profile, key_length = PROFILES["aes-gcm"]
    try:
        sender, viewer = udp(sockets, socket.AF_INET6), udp(sockets, socket.AF_INET6)
    except OSError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI's machine must have IPv6 on loopback (::1): {error}")
        pytest.skip("no ::1 here")
    fanout = native.Fanout(
        [
            native.Outlet(
                sender.fileno(),
                viewer.getsockname(),  # (host, port, flowinfo, scope id)
                libsrtp(native, session(bytes(key_length), srtp_profile)),
            )
        ],
    )
    assert fanout.send(rtp(1)) == 1
    assert viewer.recv(4096)


@pytest.mark.parametrize(
    ("fd", "address", "error", "match"),
    [
        ("fd", "127.0.0.1", ValueError, "address must be"),
        ("fd", ("127.0.0.1",), ValueError, "address must be"),
        ("fd", ("localhost", 5000), ValueError, "not an IPv4 or IPv6 address"),
        ("fd", ("127.0.0.1", 0), ValueError, "out of range"),
        ("fd", ("127.0.0.1", 70000), ValueError, "out of range"),
        ("fd", ["127.0.0.1", 5000], ValueError, "address must be"),
        (-1, ("127.0.0.1", 5000), OSError, "Bad file descriptor"),
        ("closed", ("127.0.0.1", 5000), OSError, "Bad file descriptor"),
    ],
)
def test_bad_outlets_are_refused(
    native: ModuleType,
    sockets: list[socket.socket],
    fd: Any,
    address: Any,
    error: type[Exception],
    match: str,
) -> None:
    srtp = session(bytes(28), Policy.SRTP_PROFILE_AEAD_AES_128_GCM)
    sender = udp(sockets)
    if fd == "closed":
        fd = os.dup(sender.fileno())
        os.close(fd)
    elif fd == "fd":
        fd = sender.fileno()
    with pytest.raises(error, match=match):
        native.Outlet(fd, address, libsrtp(native, srtp))


def test_bad_fanouts_and_packets_are_refused(
    native: ModuleType, sockets: list[socket.socket]
) -> None:
    srtp = session(bytes(28), Policy.SRTP_PROFILE_AEAD_AES_128_GCM)
    sender, viewer = udp(sockets), udp(sockets)
    with pytest.raises(ValueError, match="no SRTP session"):
        native.LibsrtpSender(protect_address(), 0, srtp)
    with pytest.raises(ValueError, match="no srtp_protect"):
        native.LibsrtpSender(0, srtp_address(srtp), srtp)
    with pytest.raises(TypeError, match="must be a GcmSender or a LibsrtpSender"):
        native.Outlet(sender.fileno(), viewer.getsockname(), srtp)
    good = outlet(native, sender, viewer, srtp)
    with pytest.raises(TypeError, match="must all be Outlet"):
        native.Fanout([good, "viewer"])
    with pytest.raises(TypeError):
        native.Fanout(5)
    fanout = native.Fanout([good])
    for size in (11, SRTP_PACKET_LIMIT + 1, 65536):
        with pytest.raises(ValueError, match="cannot be sent"):
            fanout.send(bytes(size))
    with pytest.raises(TypeError):
        fanout.send("not bytes")
    assert fanout.send(memoryview(rtp(1))) == 1  # any bytes-like packet
    assert native.PACKET_LIMIT == SRTP_PACKET_LIMIT


def test_the_relay_uses_the_c_loop_when_built(native: ModuleType) -> None:
    assert fanouts.C_LOOP_BUILT
    assert fanouts.fanout_to([], c_loop=True).size == 0


def test_a_plan_split_between_the_loops_reaches_everyone(
    native: ModuleType, sockets: list[socket.socket]
) -> None:
    """Viewers with no outlet (their ICE pair is a TURN relay, not a socket) go through the
    Python loop, beside the others in C."""
    srtp_profile, key_length = PROFILES["aes-gcm"]
    key = bytes(key_length)
    sender, in_c, in_python = udp(sockets), udp(sockets), udp(sockets)
    c_loop = native.Fanout([outlet(native, sender, in_c, session(key, srtp_profile))])
    python_session = session(key, srtp_profile)
    python_session._cdata = ffi.new("char[]", SRTP_BUFFER_BYTES)
    python_session._buffer = ffi.buffer(python_session._cdata)
    route = (srtp_protector(python_session), sender.sendto, in_python.getsockname())
    split = SplitFanout([c_loop, PythonFanout([route])])
    assert split.size == 2
    assert split.send(rtp(1)) == 2
    assert in_c.recv(4096) == in_python.recv(4096)
