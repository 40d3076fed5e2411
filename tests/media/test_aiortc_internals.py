"""The relay's reach into aiortc, aioice and pylibsrtp, each piece against the real thing.
(That it is all still there: test_aiortc_compat.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aioice import Connection
from aiortc import RTCPeerConnection
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket
from pylibsrtp import Policy, Session
from pylibsrtp._binding import ffi

from server.media.aiortc_internals.compat import RECEIVER_MANGLED
from server.media.aiortc_internals.ice import gather_only_on
from server.media.aiortc_internals.media_first import MediaFirst, Publishers
from server.media.aiortc_internals.publisher import ForwardingFailures, tap_receiver
from server.media.aiortc_internals.round_trip import ConsentRoundTrip
from server.media.aiortc_internals.srtp import SRTP_BUFFER_BYTES, SRTP_PACKET_LIMIT, srtp_protector
from server.media.aiortc_internals.viewer_sender import PassthroughSender


def _session(key: bytes, direction: int, buffer: int = 0) -> Session:
    session = Session(Policy(key=key, ssrc_type=direction, srtp_profile=PROFILE))
    if buffer:  # as allow_large_packets leaves it
        session._cdata = ffi.new("char[]", buffer)
        session._buffer = ffi.buffer(session._cdata)
    return session


PROFILE = Policy.SRTP_PROFILE_AEAD_AES_128_GCM


def test_the_fast_protector_encrypts_exactly_as_pylibsrtp() -> None:
    key = bytes(range(28))
    theirs = _session(key, Policy.SSRC_ANY_OUTBOUND)
    encrypt = srtp_protector(_session(key, Policy.SSRC_ANY_OUTBOUND, SRTP_BUFFER_BYTES))
    receiver = _session(key, Policy.SSRC_ANY_INBOUND, SRTP_BUFFER_BYTES)
    for sequence, size in ((1, 20), (2, 1200), (3, SRTP_PACKET_LIMIT - 1), (4, 1356)):
        header = bytes([0x80, 96]) + sequence.to_bytes(2, "big") + bytes(4) + b"\x00\x00\x00\x07"
        packet = header + bytes([sequence]) * (size - len(header))
        encrypted = encrypt(packet)
        assert encrypted != packet
        if size <= 1356:  # what pylibsrtp's own 1500-byte buffer takes
            assert encrypted == theirs.protect(packet)
        assert receiver.unprotect(encrypted) == packet


def test_the_fast_protector_wants_the_enlarged_buffer() -> None:
    with pytest.raises(ValueError, match="enlarged"):
        srtp_protector(_session(bytes(28), Policy.SSRC_ANY_OUTBOUND))


@pytest.fixture
async def ice_pair() -> AsyncIterator[tuple[Connection, Connection]]:
    """A relay's ICE connection and a publisher's, real aioice on loopback."""
    async with connected_pair() as pair:
        yield pair


@asynccontextmanager
async def connected_pair() -> AsyncIterator[tuple[Connection, Connection]]:
    relay, publisher = Connection(ice_controlling=False), Connection(ice_controlling=True)
    for connection in (relay, publisher):
        gather_only_on(connection, ["127.0.0.1"])
    await asyncio.gather(relay.gather_candidates(), publisher.gather_candidates())
    for near, far in ((relay, publisher), (publisher, relay)):
        for candidate in far.local_candidates:
            await near.add_remote_candidate(candidate)
        await near.add_remote_candidate(None)
        near.remote_username, near.remote_password = far.local_username, far.local_password
    async with asyncio.timeout(10):
        await asyncio.gather(relay.connect(), publisher.connect())
    yield relay, publisher
    await asyncio.gather(relay.close(), publisher.close())


def media(number: int) -> bytes:
    return bytes([0x80, 96]) + number.to_bytes(2, "big") + bytes(40)


async def test_media_first_takes_the_publishers_next_datagram_at_once(
    ice_pair: tuple[Connection, Connection],
) -> None:
    relay, publisher = ice_pair
    media_first = MediaFirst(relay)
    for number in range(3):  # no await yields to the loop: they wait on the relay's socket
        await publisher.send(media(number))
    for number in range(3):
        media_first.take_next()
        assert relay._queue.get_nowait() == (media(number), 1)
    media_first.take_next()  # nothing more waiting
    assert relay._queue.empty() and media_first.taken_in_all == 3


async def test_media_first_leaves_a_queued_datagram_to_the_dtls_task(
    ice_pair: tuple[Connection, Connection],
) -> None:
    relay, publisher = ice_pair
    media_first = MediaFirst(relay)
    await publisher.send(media(1))
    await publisher.send(media(2))
    media_first.take_next()
    media_first.take_next()  # one is queued already: the task handles it first
    assert relay._queue.qsize() == 1 and media_first.taken_in_all == 1


async def test_media_first_gives_the_loop_its_turn(
    ice_pair: tuple[Connection, Connection],
) -> None:
    """A flood is taken ``IN_A_ROW`` at a time; then the event loop runs, and reads the rest
    as it always does."""
    relay, publisher = ice_pair
    media_first = MediaFirst(relay)
    flood = MediaFirst.IN_A_ROW + 6
    for number in range(flood):
        await publisher.send(media(number))
    taken = []
    for _ in range(flood):
        media_first.take_next()
        if not relay._queue.empty():
            taken.append(relay._queue.get_nowait()[0])
    assert taken == [media(number) for number in range(MediaFirst.IN_A_ROW)]
    async with asyncio.timeout(5):
        rest = [(await relay.recvfrom())[0] for _ in range(6)]
    assert rest == [media(number) for number in range(MediaFirst.IN_A_ROW, flood)]
    assert media_first.taken == 0  # the loop had its turn: taking may start again


async def test_media_first_gives_way_to_another_publishers_waiting_datagram() -> None:
    """The hall's burst cannot hold back a panelist: while the panelist's datagram waits,
    the hall's next is left to the loop, which reads one from each."""
    publishers = Publishers()
    async with connected_pair() as (hall_relay, hall), connected_pair() as (panel_relay, panel):
        hall_first = MediaFirst(hall_relay, publishers=publishers)
        panel_first = MediaFirst(panel_relay, publishers=publishers)
        panel_first.take_next()  # nothing waiting: its socket joins the watch
        for number in range(3):
            await hall.send(media(number))
        hall_first.take_next()  # the panelist's socket is empty: the hall's is taken
        assert hall_relay._queue.get_nowait() == (media(0), 1)
        await panel.send(media(100))
        await asyncio.sleep(0)  # (loopback delivers at once; no yield happened in between)
        hall_first.take_next()
        assert hall_relay._queue.empty() and hall_first.given_way == 1
        panel_first.take_next()  # the hall's waits too, but it gives way only to another
        assert panel_relay._queue.empty() and panel_first.given_way == 1
        async with asyncio.timeout(5):  # the loop reads one from each, in turn
            assert (await panel_relay.recvfrom())[0] == media(100)
            assert (await hall_relay.recvfrom())[0] == media(1)
        hall_first.take_next()  # the panelist has nothing waiting now
        assert hall_relay._queue.get_nowait() == (media(2), 1)
    publishers.close()
    hall_first.take_next()  # closed with the relay: nothing watched, nothing raised


async def test_media_first_hands_what_a_datagram_raised_to_its_owner(
    ice_pair: tuple[Connection, Connection], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Raised into the publisher's DTLS task it would end the transport; logged each time, it
    would flood the log. The relay counts it (and logs each kind once)."""
    relay, publisher = ice_pair
    errors: list[Exception] = []
    media_first = MediaFirst(relay, errors.append)

    def broken(data: bytes, address: object) -> None:
        raise ValueError("a datagram nobody can handle")

    monkeypatch.setattr(relay._nominated[1].protocol, "datagram_received", broken)
    for number in range(2):
        await publisher.send(media(number))
        media_first.take_next()
    assert [str(error) for error in errors] == ["a datagram nobody can handle"] * 2
    assert media_first.taken_in_all == 2


async def test_a_viewers_rtx_stream_never_shares_the_media_ssrc() -> None:
    """Media (the C loop's AES-GCM) and RTX (libsrtp) are encrypted under one key: one SSRC
    for both could use a nonce twice."""
    pc = RTCPeerConnection()
    try:
        sender = pc.addTransceiver("video", direction="sendonly").sender
        taken = sender._rtx_ssrc
        PassthroughSender(sender, taken, lambda: None)
        assert sender._ssrc == taken and sender._rtx_ssrc != taken
    finally:
        await pc.close()


async def test_a_packet_that_fails_to_forward_is_counted_and_logged_once_per_error_type(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The publisher's receiver goes on (its DTLS transport would end on an exception), and
    a fault met by every packet leaves one traceback in the log, not one per packet."""
    pc = RTCPeerConnection()
    try:
        receiver = pc.addTransceiver("video", direction="recvonly").receiver
        vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
        setattr(receiver, RECEIVER_MANGLED + "codecs", {96: vp8})
        raised = [KeyError("renamed"), KeyError("renamed"), ValueError("other"), KeyError("x")]

        async def forward(packet: RtpPacket, codec: RTCRtpCodecParameters) -> None:
            raise raised.pop(0)

        failures = ForwardingFailures()
        tap_receiver(receiver, forward, failures)
        for number in range(4):
            packet = RtpPacket(payload_type=96, sequence_number=number, payload=b"\x10\x00")
            await receiver._handle_rtp_packet(packet, arrival_time_ms=number)
        assert failures.count == 4
        logged = [record.exc_info for record in caplog.records if record.levelname == "ERROR"]
        assert [info[0] for info in logged if info] == [KeyError, ValueError]
    finally:
        await pc.close()


async def test_a_publishers_round_trip_is_timed_on_its_consent_checks(
    ice_pair: tuple[Connection, Connection],
) -> None:
    relay, _ = ice_pair
    round_trip = ConsentRoundTrip(relay)
    assert round_trip() is None  # nothing answered yet; the nominated pair is watched now
    pair = relay._nominated[1]
    consent = relay.build_request(pair, nominate=False)  # as aioice's query_consent sends it
    password = relay.remote_password
    assert password is not None
    await pair.protocol.request(
        consent, pair.remote_addr, integrity_key=password.encode("utf8"), retransmissions=0
    )
    measured = round_trip()
    assert measured is not None and 0 < measured < 1000
