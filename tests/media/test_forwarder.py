"""The forwarder (server/media/forwarder.py) with stand-ins for its viewers and a clock turned
by hand: how publishers' packets are renumbered onto the one outgoing stream and which of them
go out, where each viewer's video starts, and the keyframe requests and sender reports it
sends. The encryption is the identity here; test_forwarder_srtp.py has the real ones."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable

import pytest
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from server.media.aiortc_internals.srtp import SRTP_PACKET_LIMIT
from server.media.forwarder import KEEP_IN_STEP_EVERY, Forwarder
from tests.fake_viewer import (
    OPUS,
    VP8,
    VP8_DELTA,
    VP8_KEYFRAME,
    VP8_LATER,
    FakeClock,
    FakeViewer,
    rtp,
    viewer_payload_type,
)


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
    every: float = 1 / 64,  # exact in binary, as times on the clock
    source: str | None = None,
) -> None:
    for packet in packets:
        await forwarder.forward(packet, codec, source)
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


# -- renumbering onto one outgoing stream -------------------------------------------------------


@pytest.mark.parametrize("codec", [OPUS, VP8], ids=["audio", "video"])
async def test_a_new_publisher_follows_on(clock: FakeClock, codec: RTCRtpCodecParameters) -> None:
    """Its first packet takes the next sequence number, and a timestamp as far on as the time
    since our last packet, in the codec's clock; its own steps carry on from there."""
    kind = codec.mimeType.split("/")[0]
    forwarder = Forwarder(
        kind, clock=clock, ntp_clock=clock.ntp, c_loop=False, first_sequence=40, first_timestamp=7
    )
    viewer = FakeViewer()
    forwarder.add_viewer(viewer)
    step = codec.clockRate // 50  # a packet each 20 ms of the publisher's clock
    payload = VP8_KEYFRAME if kind == "video" else b"\xfc\xff\xfe"
    first = [rtp(900 + n, 5000 + n * step, ssrc=1, payload=payload) for n in range(3)]
    await forward(forwarder, clock, first, codec)
    clock.now += 0.25  # silence, then the next publisher, with numbers of its own
    second = [rtp(17 + n, 3_000_000 + n * step, ssrc=2, payload=payload) for n in range(3)]
    await forward(forwarder, clock, second, codec)
    packets = viewer.packets()
    assert [p.sequence_number for p in packets] == [40, 41, 42, 43, 44, 45]
    since_our_last = 1 / 64 + 0.25
    follows_on = 7 + 2 * step + int(since_our_last * codec.clockRate) + 1
    assert [p.timestamp for p in packets] == [
        *(7 + n * step for n in range(3)),
        *(follows_on + n * step for n in range(3)),
    ]
    assert {p.ssrc for p in packets} == {forwarder.ssrc}
    assert {p.payload_type for p in packets} == {viewer_payload_type(codec)}
    assert forwarder.source_ssrc == 2 and forwarder.stats.source_switches == 2


async def test_a_publisher_that_returns_follows_on_too(clock: FakeClock) -> None:
    """Back on air after another: renumbered afresh, after the other's packets, never onto its
    own old numbers; its packets from before, arriving now, are late."""
    forwarder = audio(clock, first_sequence=0, first_timestamp=0)
    viewer = FakeViewer()
    forwarder.add_viewer(viewer)
    await forward(forwarder, clock, [rtp(100 + n, n * 960, ssrc=1) for n in range(3)])
    await forward(forwarder, clock, [rtp(7 + n, n * 960, ssrc=2) for n in range(3)])
    await forward(forwarder, clock, [rtp(103, 3 * 960, ssrc=1), rtp(101, 960, ssrc=1)])
    packets = viewer.packets()
    assert [p.sequence_number for p in packets] == [0, 1, 2, 3, 4, 5, 6]
    assert packets[6].timestamp - packets[5].timestamp == 750 + 1  # 1/64 s at 48 kHz, and one
    assert forwarder.stats.stale == 1


async def test_a_source_s_steps_are_kept_through_loss_and_reordering(clock: FakeClock) -> None:
    """Its numbers keep their gaps (the viewer asks again for what it missed) and a late packet
    goes out late with its own numbers; a repeat goes out once."""
    forwarder = audio(clock, first_sequence=1000, first_timestamp=50_000)
    viewer = FakeViewer()
    forwarder.add_viewer(viewer)
    arrivals = [0, 1, 4, 3, 7, 4, 8, 1]  # 2, 5 and 6 lost; 3 late; 4 and 1 again
    await forward(forwarder, clock, [rtp(300 + n, 10_000 + 960 * n) for n in arrivals])
    packets = viewer.packets()
    assert [p.sequence_number - 1000 for p in packets] == [0, 1, 4, 3, 7, 8]
    assert [(p.timestamp - 50_000) // 960 for p in packets] == [0, 1, 4, 3, 7, 8]
    assert forwarder.stats.duplicates == 2
    assert (forwarder.stats.packets_in, forwarder.stats.packets_out) == (8, 6)


@pytest.mark.parametrize(
    ("theirs", "ours"),
    [
        ((65533, 2**32 - 2 * 960), (1000, 5000)),  # the publisher's numbers wrap
        ((1000, 5000), (65533, 2**32 - 2 * 960)),  # ours wrap
        ((65533, 2**32 - 2 * 960), (65533, 2**32 - 2 * 960)),  # both at once
    ],
    ids=["theirs", "ours", "both"],
)
async def test_numbers_wrap_around(
    clock: FakeClock, theirs: tuple[int, int], ours: tuple[int, int]
) -> None:
    """Sequence numbers past 2^16 and timestamps past 2^32 carry on from nought, in the
    publisher's numbers and in ours; a packet late across the wrap still goes out once."""
    forwarder = audio(clock, first_sequence=ours[0], first_timestamp=ours[1])
    viewer = FakeViewer()
    forwarder.add_viewer(viewer)
    arrivals = [0, 1, 2, 4, 3, 5, 3]
    await forward(forwarder, clock, [rtp(theirs[0] + n, theirs[1] + 960 * n) for n in arrivals])
    packets = viewer.packets()
    assert [p.sequence_number for p in packets] == [(ours[0] + n) % 2**16 for n in arrivals[:-1]]
    assert [p.timestamp for p in packets] == [(ours[1] + 960 * n) % 2**32 for n in arrivals[:-1]]
    assert forwarder.stats.duplicates == 1


async def test_the_silence_is_timed_on_a_clock_that_reads_nought(clock: FakeClock) -> None:
    """A packet sent at nought on the injected clock is still a packet sent: the next publisher
    follows on by the time since."""
    clock.now = 0.0
    forwarder = audio(clock, first_sequence=9, first_timestamp=90)
    viewer = FakeViewer()
    forwarder.add_viewer(viewer)
    await forward(forwarder, clock, [rtp(500, 1234, ssrc=1)], every=0.5)
    await forward(forwarder, clock, [rtp(77, 99, ssrc=2)])
    assert [(p.sequence_number, p.timestamp) for p in viewer.packets()] == [
        (9, 90),
        (10, 90 + 24_000 + 1),  # half a second on, at 48 kHz
    ]


# -- video starts at a keyframe -----------------------------------------------------------------


def video(clock: FakeClock, requests: list[float], **options: int) -> Forwarder:
    """A video forwarder whose keyframe requests to the publisher land in ``requests``, timed."""

    def request_keyframe() -> None:
        requests.append(clock.now)

    return Forwarder(
        "video", request_keyframe, clock=clock, ntp_clock=clock.ntp, c_loop=False, **options
    )


def vp8_frames(kinds: str, *, sequence: int = 0, ssrc: int = 1111) -> list[RtpPacket]:
    """VP8 frames of two packets each, 30 a second: ``k`` a keyframe, ``d`` a delta frame."""
    packets = []
    for number, kind in enumerate(kinds):
        first = VP8_KEYFRAME if kind == "k" else VP8_DELTA
        for index, payload in enumerate((first, VP8_LATER)):
            packet = rtp(sequence + len(packets), number * 3000, ssrc=ssrc, payload=payload)
            packet.payload_type, packet.marker = VP8.payloadType, index
            packets.append(packet)
    return packets


async def test_a_viewer_starts_at_a_keyframe(clock: FakeClock) -> None:
    forwarder = video(clock, [], first_sequence=0)
    viewer = FakeViewer()
    forwarder.add_viewer(viewer)
    assert forwarder.waiting_for_keyframe(viewer)
    await forward(forwarder, clock, vp8_frames("ddkd"), VP8)
    # The deltas nobody could use took no numbers: a gap would read as loss to the viewer.
    assert viewer.sequence_numbers() == [0, 1, 2, 3]
    assert forwarder.stats.held == 4
    assert viewer.packets()[0].payload == VP8_KEYFRAME
    assert not forwarder.waiting_for_keyframe(viewer)


async def test_a_viewer_kept_waiting_is_kept_in_step_by_padding(clock: FakeClock) -> None:
    """A publisher that sends no keyframe for a long while: the viewers waiting get a
    padding-only packet every KEEP_IN_STEP_EVERY packets, so the numbers they (and their SRTP
    sessions, here and in the browser) see never jump 2^15 ahead, which SRTP would take for a
    step back into a rollover already used."""
    forwarder = video(clock, [], first_sequence=65000)
    watching, waiting = FakeViewer(), FakeViewer()
    forwarder.add_viewer(watching)
    await forward(forwarder, clock, vp8_frames("k"), VP8)
    forwarder.add_viewer(waiting)
    count = 3 * KEEP_IN_STEP_EVERY + 10
    deltas = [
        rtp(100 + n, n * 30, payload=VP8_LATER, payload_type=VP8.payloadType) for n in range(count)
    ]
    await forward(forwarder, clock, deltas, VP8, every=0.0)  # ours: 65100 + n, past 2^16
    padding = waiting.packets()
    assert len(padding) == 3
    assert all(packet.payload == b"" and packet.padding_size > 0 for packet in padding)
    assert [packet.sequence_number for packet in padding] == [
        (65100 + n * KEEP_IN_STEP_EVERY) % 65536 for n in (1, 2, 3)
    ]
    assert forwarder.stats.kept_in_step == 3
    assert forwarder.waiting_for_keyframe(waiting)
    assert len(watching.received) == 2 + count  # the others get every packet, as ever
    await forward(forwarder, clock, vp8_frames("k", sequence=100 + count), VP8)
    assert waiting.packets()[3].payload == VP8_KEYFRAME
    steps = [
        (later - earlier) % 65536
        for earlier, later in itertools.pairwise(waiting.sequence_numbers())
    ]
    assert max(steps) <= KEEP_IN_STEP_EVERY


async def test_a_viewer_admitted_soon_is_sent_no_padding(clock: FakeClock) -> None:
    forwarder = video(clock, [], first_sequence=0)
    forwarder.add_viewer(FakeViewer())
    await forward(forwarder, clock, vp8_frames("d" * 100 + "k"), VP8, every=0.0)
    assert forwarder.stats.kept_in_step == 0


async def test_a_newcomer_waits_while_the_others_watch(clock: FakeClock) -> None:
    forwarder = video(clock, [], first_sequence=0)
    watching, newcomer = FakeViewer(), FakeViewer()
    forwarder.add_viewer(watching)
    frames = vp8_frames("kddkd")
    await forward(forwarder, clock, frames[:3], VP8)
    forwarder.add_viewer(newcomer)
    await forward(forwarder, clock, frames[3:], VP8)
    assert watching.sequence_numbers() == list(range(10))
    assert newcomer.sequence_numbers() == [6, 7, 8, 9]


async def test_after_a_change_of_publisher_everyone_waits_for_its_keyframe(
    clock: FakeClock,
) -> None:
    forwarder = video(clock, [], first_sequence=0)
    viewers = [FakeViewer(), FakeViewer()]
    for viewer in viewers:
        forwarder.add_viewer(viewer)
    await forward(forwarder, clock, vp8_frames("kd", ssrc=1), VP8)
    await forward(forwarder, clock, vp8_frames("ddkd", sequence=800, ssrc=2), VP8)
    for viewer in viewers:  # the new publisher's deltas would not decode after the other's
        assert viewer.sequence_numbers() == [0, 1, 2, 3, 4, 5, 6, 7]  # and take no numbers
        assert viewer.packets()[4].payload == VP8_KEYFRAME


async def test_audio_does_not_wait(clock: FakeClock) -> None:
    forwarder = audio(clock, first_sequence=0)
    viewer = FakeViewer()
    forwarder.add_viewer(viewer)
    assert not forwarder.waiting_for_keyframe(viewer)
    await forward(forwarder, clock, [rtp(0)])
    assert viewer.sequence_numbers() == [0]


async def test_keyframes_are_asked_for_at_most_once_a_second(clock: FakeClock) -> None:
    """While a viewer waits, and whenever a viewer asks (PLI, FIR): never more than once a
    second. A change of publisher asks at once."""
    requests: list[float] = []
    forwarder = video(clock, requests)
    forwarder.add_viewer(FakeViewer())
    start = clock.now
    await forward(forwarder, clock, vp8_frames("d" * 112, ssrc=1), VP8)  # 3.5 s of packets
    forwarder.ask_for_keyframe()  # a viewer's PLI, within the second
    assert [at - start for at in requests] == [0.0, 1.0, 2.0, 3.0]
    clock.now = start + 4.0
    forwarder.ask_for_keyframe()
    clock.now += 0.25
    await forward(forwarder, clock, vp8_frames("d", ssrc=2), VP8)
    assert [at - start for at in requests] == [0.0, 1.0, 2.0, 3.0, 4.0, 4.25]
    assert forwarder.stats.keyframe_requests == 6


async def test_no_keyframe_is_asked_for_while_nobody_can_be_sent_to(clock: FakeClock) -> None:
    """A viewer not connected yet is not waiting for a picture: the request comes when it is."""
    requests: list[float] = []
    forwarder = video(clock, requests, first_sequence=0)
    viewer = FakeViewer(connected=False)
    forwarder.add_viewer(viewer)
    start = clock.now
    await forward(forwarder, clock, vp8_frames("d" * 64), VP8)  # 2 s
    assert [at - start for at in requests] == [0.0]  # the publisher's first packet asks
    viewer.connected = True
    await forward(forwarder, clock, vp8_frames("dkd", sequence=128), VP8)
    assert [at - start for at in requests] == [0.0, 2.0]
    assert viewer.sequence_numbers() == [0, 1, 2, 3]


async def test_audio_never_asks_for_a_keyframe(clock: FakeClock) -> None:
    requests: list[float] = []
    forwarder = Forwarder("audio", lambda: requests.append(clock.now), clock=clock, c_loop=False)
    forwarder.ask_for_keyframe()
    await forward(forwarder, clock, [rtp(1, ssrc=3)])
    assert requests == [] and forwarder.stats.keyframe_requests == 0


# -- sender reports -----------------------------------------------------------------------------


async def forward_turning(
    forwarder: Forwarder,
    clock: FakeClock,
    packets: Iterable[RtpPacket],
    codec: RTCRtpCodecParameters,
) -> None:
    """As the relay forwards: the event loop turns between packets, and reports go then."""
    for packet in packets:
        await forwarder.forward(packet, codec)
        await asyncio.sleep(0)
        clock.now += 1 / 64


@pytest.mark.parametrize(("codec", "interval"), [(OPUS, 5.0), (VP8, 1.0)], ids=["audio", "video"])
async def test_sender_reports_come_at_libwebrtcs_pace(
    clock: FakeClock, codec: RTCRtpCodecParameters, interval: float
) -> None:
    """The first within half a second, then one every interval give or take a half; each with
    what the viewer was sent so far, and the RTP and NTP times of the newest packet."""
    kind = codec.mimeType.split("/")[0]
    forwarder = Forwarder(kind, clock=clock, ntp_clock=clock.ntp, c_loop=False)
    viewer = FakeViewer()
    forwarder.add_viewer(viewer)
    start = clock.now
    payload = VP8_KEYFRAME if kind == "video" else bytes(80)
    packets = [rtp(n, n * 960, payload=payload) for n in range(64 * 30)]  # 30 s
    await forward_turning(forwarder, clock, packets, codec)
    times = [clock.at(report.ntp_time) for report in viewer.reports]
    assert times[0] - start <= 0.5
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(interval / 2 <= gap <= interval * 1.5 + 1 / 64 for gap in gaps), gaps
    assert 30 / (interval * 1.5) - 1 <= len(gaps) <= 30 / (interval / 2)
    received = viewer.packets()
    for report in viewer.reports:
        newest = received[report.received - 1]
        assert report.packets == report.received  # every packet reached it
        assert report.octets == report.received * len(payload)
        assert report.rtp_timestamp == newest.timestamp
        assert report.ntp_time >> 14 & 0xFFFFFF == newest.extensions.abs_send_time


async def test_reports_wait_for_the_packets_and_go_one_a_turn(clock: FakeClock) -> None:
    forwarder = audio(clock)
    viewers = [FakeViewer(), FakeViewer()]
    for viewer in viewers:
        forwarder.add_viewer(viewer)
    await forward(forwarder, clock, [rtp(n) for n in range(64)])  # a second, with no turn
    assert [len(viewer.reports) for viewer in viewers] == [0, 0]
    await asyncio.sleep(0)
    assert sorted(len(viewer.reports) for viewer in viewers) == [0, 1]
    await asyncio.sleep(0)
    assert [len(viewer.reports) for viewer in viewers] == [1, 1]
    assert {viewer.reports[0].packets for viewer in viewers} == {64}


async def test_a_viewer_waiting_for_a_keyframe_gets_no_report(clock: FakeClock) -> None:
    """Nothing was sent to it: its reports count from its first packet."""
    forwarder = video(clock, [])
    viewer = FakeViewer()
    forwarder.add_viewer(viewer)
    await forward_turning(forwarder, clock, vp8_frames("d" * 60), VP8)  # 4 s
    assert viewer.reports == []
    await forward_turning(forwarder, clock, vp8_frames("kd" * 30, sequence=120), VP8)
    assert viewer.reports
    assert all(report.packets == report.received for report in viewer.reports)


# -- what cannot be sent ------------------------------------------------------------------------


async def test_a_packet_too_large_for_srtp_is_dropped_and_counted(clock: FakeClock) -> None:
    forwarder = audio(clock, first_sequence=0)
    viewers = [FakeViewer(), FakeViewer()]
    for viewer in viewers:
        forwarder.add_viewer(viewer)
    await forward(forwarder, clock, [rtp(0, payload=b"x")])
    header = len(viewers[0].received[0]) - 1  # with our header extensions
    largest, too_large = bytes(SRTP_PACKET_LIMIT - header), bytes(SRTP_PACKET_LIMIT - header + 1)
    await forward(forwarder, clock, [rtp(1, payload=largest), rtp(2, payload=too_large), rtp(3)])
    for viewer in viewers:
        assert viewer.sequence_numbers() == [0, 1, 3]  # the gap is kept
        assert len(viewer.received[1]) == SRTP_PACKET_LIMIT
    assert (forwarder.stats.dropped, forwarder.stats.packets_out) == (2, 6)
    sent = [len(packet) for viewer in viewers for packet in viewer.received]
    assert forwarder.stats.bytes_out == sum(sent)  # what went out, the dropped copies not


async def test_a_viewer_that_cannot_be_sent_to_misses_only_its_copy(clock: FakeClock) -> None:
    def full(data: bytes, address: object) -> None:
        raise BlockingIOError("the socket is full")

    forwarder = audio(clock, first_sequence=0)
    blocked = FakeViewer(way_out=(bytes, full, ("127.0.0.1", 9)))
    viewer = FakeViewer()
    forwarder.add_viewer(blocked)
    forwarder.add_viewer(viewer)
    await forward(forwarder, clock, [rtp(0), rtp(1)])
    assert viewer.sequence_numbers() == [0, 1]
    assert (forwarder.stats.dropped, forwarder.stats.packets_out) == (2, 2)
    assert forwarder.stats.bytes_out == sum(len(packet) for packet in viewer.received)


async def test_a_viewer_whose_pair_moved_is_followed_soon_after_a_send_fails(
    clock: FakeClock,
) -> None:
    """A browser switches its ICE pair after connecting, and the old one is closed: the first
    send that fails has the forwarder look again at every viewer's way out a moment later
    (``REPLAN_AFTER_MISS_SECONDS``), not hundreds of packets later."""

    old_pair: list[bytes] = []

    def send_on_the_old_pair(data: bytes, address: object) -> None:
        if closed:
            raise ConnectionRefusedError("nobody listens there any more")
        old_pair.append(data)

    closed = False
    forwarder = audio(clock, first_sequence=0)
    viewer = FakeViewer(way_out=(bytes, send_on_the_old_pair, ("127.0.0.1", 9)))
    forwarder.add_viewer(viewer)
    await forward(forwarder, clock, [rtp(0), rtp(1)])  # one every 1/64 s
    closed, viewer.way_out = True, None  # the browser moved to a new pair and closed the old
    await forward(forwarder, clock, [rtp(n) for n in range(2, 12)])
    assert len(old_pair) == 2
    # Packet 2 fails at 2/64 s; 0.1 s later, from packet 9 (at 9/64 s), the new pair.
    assert viewer.sequence_numbers() == list(range(9, 12))
    assert forwarder.stats.dropped == 7


async def test_a_viewer_whose_pair_moved_quietly_is_followed_within_a_second(
    clock: FakeClock,
) -> None:
    """Even when nothing fails (the old pair still takes the packets), every viewer's way out
    is looked at again each ``REPLAN_SECONDS``, however few packets go out meanwhile."""
    forwarder = audio(clock, first_sequence=0)
    viewer = FakeViewer()
    forwarder.add_viewer(viewer)
    old_pair: list[bytes] = []
    viewer.way_out = (bytes, lambda data, address: old_pair.append(data), ("127.0.0.1", 9))
    await forward(forwarder, clock, [rtp(0)], every=0.25)
    viewer.way_out = None  # the new pair
    await forward(forwarder, clock, [rtp(n) for n in range(1, 8)], every=0.25)
    assert len(old_pair) == 4  # 0, 0.25, 0.5 and 0.75 s
    assert viewer.sequence_numbers() == list(range(4, 8))  # from 1 s on


# -- a slot of the stage: sources by name, and viewers that refuse one ---------------------------


def refusing(refuser: FakeViewer, refused: str) -> object:
    return lambda viewer, source: not (viewer is refuser and source == refused)


async def test_a_viewer_gets_nothing_of_a_source_it_refuses_and_the_next_at_once(
    clock: FakeClock,
) -> None:
    """A speaker's own voice on a slot: their return gets none of it, everyone else all of it;
    the next source on that slot reaches them at once, numbered on from the last they had."""
    forwarder = audio(clock, first_sequence=0)
    speaker, listener = FakeViewer(), FakeViewer()
    forwarder.receives = refusing(speaker, "anna")  # type: ignore[assignment]
    forwarder.add_viewer(listener)
    forwarder.add_viewer(speaker)
    await forward(forwarder, clock, [rtp(n, ssrc=1) for n in range(3)], source="hall")
    await forward(forwarder, clock, [rtp(n, ssrc=2) for n in range(3)], source="anna")
    await forward(forwarder, clock, [rtp(n, ssrc=3) for n in range(3)], source="boris")
    assert listener.sequence_numbers() == list(range(9))
    assert speaker.sequence_numbers() == [0, 1, 2, 6, 7, 8]
    assert [p.ssrc for p in speaker.packets()] == [forwarder.ssrc] * 6  # one stream throughout


async def test_a_source_named_anew_is_a_new_source_even_with_the_same_ssrc(
    clock: FakeClock,
) -> None:
    """The programme's mix keeps its SSRC when what it mixes changes; its new name is what
    tells the slot that someone may now refuse it."""
    forwarder = audio(clock, first_sequence=0)
    speaker = FakeViewer()
    forwarder.receives = refusing(speaker, "mix:2")  # type: ignore[assignment]
    forwarder.add_viewer(speaker)
    await forward(forwarder, clock, [rtp(n, ssrc=9) for n in range(2)], source="mix:1")
    await forward(forwarder, clock, [rtp(n, ssrc=9) for n in range(2, 4)], source="mix:2")
    assert speaker.sequence_numbers() == [0, 1]
    assert forwarder.stats.source_switches == 2


async def test_a_video_viewer_refusing_the_source_is_kept_in_step_while_others_watch(
    clock: FakeClock,
) -> None:
    forwarder = video(clock, [], first_sequence=0)
    own, other = FakeViewer(), FakeViewer()
    forwarder.receives = refusing(own, "anna")  # type: ignore[assignment]
    forwarder.add_viewer(own)
    forwarder.add_viewer(other)
    frames = vp8_frames("k" + "d" * (KEEP_IN_STEP_EVERY // 2 + 1), ssrc=1)
    await forward(forwarder, clock, frames, VP8, every=0.0, source="anna")
    assert len(other.packets()) == len(frames)
    padding = own.packets()
    assert len(padding) == 1 and padding[0].payload == b"" and padding[0].padding_size > 0
    assert forwarder.waiting_for_keyframe(own)
