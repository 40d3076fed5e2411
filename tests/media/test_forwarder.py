"""The forwarder (server/media/forwarder.py) with stand-ins for its viewers and a clock turned
by hand: how publishers' packets are renumbered onto the one outgoing stream, and which of them
go out."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from server.media.forwarder import Forwarder
from tests.fake_viewer import OPUS, FakeClock, FakeViewer, rtp


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def audio(clock: FakeClock, **options: int) -> Forwarder:
    return Forwarder("audio", clock=clock, ntp_clock=clock.ntp, c_loop=False, **options)


async def forward(
    forwarder: Forwarder,
    clock: FakeClock,
    packets: Iterable[RtpPacket],
    codec: RTCRtpCodecParameters = OPUS,
    every: float = 0.02,
) -> None:
    for packet in packets:
        await forwarder.forward(packet, codec)
        clock.now += every


# -- no sequence number (hence SRTP index) goes out for two different packets ------------------


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [(100, 20), (65530, 3)],  # the second crosses 2^16 in our numbers and in the publisher's
)
async def test_late_packets_of_a_new_publisher_are_dropped(
    clock: FakeClock, ours: int, theirs: int
) -> None:
    """A packet of the new publisher older than its first would take a number the previous
    publisher's packets went out with: libsrtp, as aiortc sets it up, would encrypt another
    packet under that index. It is dropped."""
    forwarder = audio(clock, first_sequence=ours)
    viewer = FakeViewer()
    forwarder.add_viewer(viewer)
    await forward(forwarder, clock, (rtp(5000 + n, ssrc=1) for n in range(10)))
    late = [theirs - 3, theirs - 1, theirs - 5]
    arrivals = [theirs, theirs + 1, late[0], theirs + 2, late[1], theirs + 3, late[2], theirs + 4]
    await forward(forwarder, clock, (rtp(sequence, ssrc=2) for sequence in arrivals))
    assert viewer.sequence_numbers() == [(ours + n) % 65536 for n in range(15)]
    assert forwarder.stats.stale == 3
    assert forwarder.stats.packets_out == 15


async def test_a_retransmission_older_than_the_window_is_dropped(clock: FakeClock) -> None:
    """Past the window, the forwarder cannot tell whether a packet went out: sent again, it
    would carry another send time under the same index."""
    forwarder = audio(clock, first_sequence=0)
    viewer = FakeViewer()
    forwarder.add_viewer(viewer)
    await forward(forwarder, clock, (rtp(n) for n in range(1100)))
    await forward(forwarder, clock, [rtp(10), rtp(1100 - 1025)])  # older than the window
    await forward(forwarder, clock, [rtp(1100 - 1024)])  # the oldest it vouches for: sent
    assert viewer.sequence_numbers() == list(range(1100))
    assert (forwarder.stats.stale, forwarder.stats.duplicates) == (2, 1)


async def test_a_late_packet_fills_its_gap_once(clock: FakeClock) -> None:
    forwarder = audio(clock, first_sequence=7)
    viewer = FakeViewer()
    forwarder.add_viewer(viewer)
    await forward(forwarder, clock, [rtp(n) for n in range(10) if n != 4])
    await forward(forwarder, clock, [rtp(4), rtp(4)])
    assert viewer.sequence_numbers() == [7, 8, 9, 10, 12, 13, 14, 15, 16, 11]
    assert (forwarder.stats.stale, forwarder.stats.duplicates) == (0, 1)
