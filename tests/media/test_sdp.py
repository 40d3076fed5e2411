"""SDP from outside, parsed without a server: ICE candidates, trickled fragments, offers."""

from __future__ import annotations

import re

import pytest

from server.errors import TooLarge
from server.media.candidates import Candidate
from server.media.sdp import (
    MAX_CANDIDATES,
    MAX_FRAGMENT_BYTES,
    BadSdp,
    IceRestartNotSupported,
    NoCommonCodec,
    SessionIce,
    parse_fragment,
    parse_offer,
)
from server.media.sessions import Direction

SESSION = SessionIce(
    ufrag="EsAw", pwd="P2uYro0UCOQ4zxjKXaWCBui1", mids=frozenset({"0", "1"}), candidates=0
)
HOST = "a=candidate:1 1 udp 2122260223 127.0.0.1 61764 typ host"
FINGERPRINT = ":".join(f"{byte:02X}" for byte in range(0x40, 0x60))
# An offer as a browser would send it to publish, written for these tests.
OFFER = f"""v=0
o=- 4611731400430051336 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0 1
a=extmap-allow-mixed
a=msid-semantic: WMS hall
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110
c=IN IP4 0.0.0.0
a=rtcp:9 IN IP4 0.0.0.0
{HOST} generation 0 network-id 1
a=ice-ufrag:EsAw
a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1
a=ice-options:trickle
a=fingerprint:sha-256 {FINGERPRINT}
a=setup:actpass
a=mid:0
a=sendonly
a=msid:hall microphone
a=rtcp-mux
a=rtpmap:111 opus/48000/2
a=rtcp-fb:111 transport-cc
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:63 red/48000/2
a=fmtp:63 111/111
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:13 CN/8000
a=rtpmap:110 telephone-event/48000
a=ssrc:1111 cname:hall
m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 35 36
c=IN IP4 0.0.0.0
a=rtcp:9 IN IP4 0.0.0.0
a=ice-ufrag:EsAw
a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1
a=ice-options:trickle
a=fingerprint:sha-256 {FINGERPRINT}
a=setup:actpass
a=mid:1
a=sendonly
a=msid:hall camera
a=rtcp-mux
a=rtcp-rsize
a=rtpmap:96 VP8/90000
a=rtcp-fb:96 nack
a=rtcp-fb:96 nack pli
a=rtpmap:97 rtx/90000
a=fmtp:97 apt=96
a=rtpmap:98 VP9/90000
a=rtcp-fb:98 nack
a=fmtp:98 profile-id=0
a=rtpmap:99 rtx/90000
a=fmtp:99 apt=98
a=rtpmap:35 H264/90000
a=rtcp-fb:35 nack
a=fmtp:35 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f
a=rtpmap:36 rtx/90000
a=fmtp:36 apt=35
a=ssrc-group:FID 2222 3333
a=ssrc:2222 cname:hall
a=ssrc:3333 cname:hall
""".replace("\n", "\r\n")


def fragment(*lines: str, loopback_only: bool = True, session: SessionIce = SESSION) -> list[str]:
    """The candidates a fragment adds, as ``ADDRESS PORT MID``."""
    parsed = parse_fragment(
        "\r\n".join(lines).encode(), session, loopback_only=loopback_only
    ).candidates
    return [f"{c.ip} {c.port} {c.sdpMid or c.sdpMLineIndex}" for c in parsed]


def test_a_candidate_is_read_field_by_field() -> None:
    line = (
        "1387637174 1 udp 1686052607 203.0.113.7 61765 typ srflx raddr 192.0.2.1 rport 61764 "
        "generation 0 ufrag EsAw network-id 1 network-cost 10"
    )
    candidate = Candidate.parse(line)
    assert candidate == Candidate(
        foundation="1387637174",
        component=1,
        transport="udp",
        priority=1686052607,
        address="203.0.113.7",
        port=61765,
        type="srflx",
        related_address="192.0.2.1",
        related_port=61764,
        ufrag="EsAw",
    )
    assert candidate.usable(loopback_only=False) and not candidate.usable(loopback_only=True)
    ours = candidate.for_aiortc("0")
    assert (ours.ip, ours.port, ours.type, ours.sdpMid, ours.relatedPort) == (
        "203.0.113.7",
        61765,
        "srflx",
        "0",
        61764,
    )


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("x", "FOUNDATION COMPONENT"),
        ("1 1 udp 1 127.0.0.1 5000", "FOUNDATION COMPONENT"),
        ("1 1 udp 1 127.0.0.1 5000 type host", "FOUNDATION COMPONENT"),
        ("f-o-o 1 udp 1 127.0.0.1 5000 typ host", "foundation"),
        ("1 0 udp 1 127.0.0.1 5000 typ host", "component"),
        ("1 257 udp 1 127.0.0.1 5000 typ host", "component"),
        ("1 \u0661 udp 1 127.0.0.1 5000 typ host", "component"),  # an Arabic-Indic one
        ("1 1 udp -1 127.0.0.1 5000 typ host", "priority"),
        ("1 1 udp 4294967296 127.0.0.1 5000 typ host", "priority"),
        ("1 1 udp abc 127.0.0.1 5000 typ host", "priority"),
        ("1 1 udp 1 127.0.0.1 65536 typ host", "port"),
        ("1 1 udp 1 127.0.0.1 99999 typ host", "port"),
        ("1 1 udp 1 127.0.0.1 -5 typ host", "port"),
        ("1 1 udp 1 127.0.0.1 5000 typ host raddr 1.2.3.4 rport zz", "port"),
        ("1 1 udp 1 <script> 5000 typ host", "neither an IP address nor a host name"),
        ("1 1 udp 1 127.0.0.1 5000 typ host raddr ~ rport 1", "neither an IP address"),
        ("1 1 udp 1 127.0.0.1 5000 typ host generation", "has no value"),
    ],
)
def test_a_malformed_candidate_says_what_is_wrong(value: str, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        Candidate.parse(value)


@pytest.mark.parametrize(
    ("value", "anywhere", "loopback"),
    [
        ("1 1 udp 1 127.0.0.1 5000 typ host", False, True),  # the relay's own machine
        ("1 1 UDP 1 ::1 5000 typ host", False, True),
        ("1 1 udp 1 ::ffff:127.0.0.1 5000 typ host", False, True),
        ("1 1 udp 1 0.0.0.0 5000 typ host", False, False),
        ("1 1 udp 1 224.0.0.251 5000 typ host", False, False),
        ("1 1 udp 1 ff02::1 5000 typ host", False, False),
        ("1 1 udp 1 255.255.255.255 5000 typ host", False, False),
        ("1 1 udp 1 192.168.1.20 5000 typ host", True, False),  # the venue's network
        ("1 1 udp 1 203.0.113.7 5000 typ srflx", True, False),
        ("1 1 udp 1 2001:db8::1 5000 typ host", True, False),
        ("1 1 udp 1 fe80::1%eth0 5000 typ host", True, False),
        ("1 1 udp 1 0d4a4c6e-5d4e-4b1a-9c1b-2f3a4b5c6d7e.local 5000 typ host", True, False),
        ("1 1 udp 1 relay.example.org 5000 typ relay", False, False),  # not resolved
        ("1 1 tcp 1 127.0.0.1 9 typ host tcptype active", False, False),
        ("1 1 udp 1 127.0.0.1 5000 typ prflx", False, False),
        ("1 1 udp 1 127.0.0.1 5000 typ future-kind", False, False),
        ("1 1 udp 1 127.0.0.1 0 typ host", False, False),
    ],
)
def test_candidates_the_relay_cannot_check_are_left_out(
    value: str, anywhere: bool, loopback: bool
) -> None:
    candidate = Candidate.parse(value)
    assert candidate.usable(loopback_only=False) is anywhere
    assert candidate.usable(loopback_only=True) is loopback


def test_a_fragment_gives_its_candidates_with_their_mid() -> None:
    added = fragment(
        "a=ice-ufrag:EsAw",
        "a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "a=mid:0",
        HOST,
        "a=candidate:2 1 udp 2122194687 ::1 61765 typ host generation 0 ufrag EsAw",
        "a=candidate:3 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active",
        "a=candidate:4 1 udp 2122194687 127.0.0.1 61766 typ host ufrag OldOne",  # stale
    )
    assert added == ["127.0.0.1 61764 0", "::1 61765 0"]
    assert fragment(HOST) == ["127.0.0.1 61764 0"]  # no MID: the first m-line's
    parsed = parse_fragment(b"a=mid:1\r\na=end-of-candidates\r\n", SESSION, loopback_only=True)
    assert parsed.end_of_candidates and not parsed.candidates


def test_off_loopback_nothing_is_taken_when_the_relay_announces_loopback_only() -> None:
    mdns = "a=candidate:2 1 udp 1 0d4a4c6e-5d4e-4b1a-9c1b-2f3a4b5c6d7e.local 5000 typ host"
    off = "a=candidate:3 1 udp 1 192.0.2.9 5000 typ host"
    assert fragment(HOST, mdns, off) == ["127.0.0.1 61764 0"]
    assert [address.split()[0] for address in fragment(HOST, mdns, off, loopback_only=False)] == [
        "0d4a4c6e-5d4e-4b1a-9c1b-2f3a4b5c6d7e.local",
        "192.0.2.9",
    ]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"a=candidate:x", "line 1: a candidate is FOUNDATION"),
        (b"a=mid:0\r\na=candidate:1 1 udp 1 127.0.0.1 70000 typ host", "line 2: the port"),
        (HOST.encode() + b"\x00", "control character (U+0000)"),
        (HOST.encode() + b"\xe2\x80\xa8a=mid:0", "control character (U+2028)"),
        (b"a=candidate:1 1 udp 1 127.0.0.1 5000 typ \xff", "not UTF-8"),
        (b"a=mid:7\r\n" + HOST.encode(), "no m-line with MID '7'"),
        (b"a=mid:\r\n", "no m-line with MID ''"),
        (b"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" + HOST.encode(), "before its a=mid"),
        (b"hello", "does not belong in an ICE fragment: 'hello'"),
        (b"v=0\r\no=- 1 1 IN IP4 0.0.0.0", "does not belong in an ICE fragment: 'v=0'"),
    ],
)
def test_a_malformed_fragment_is_a_bad_sdp_that_says_why(body: bytes, says: str) -> None:
    with pytest.raises(BadSdp, match=re.escape(says)):
        parse_fragment(body, SESSION, loopback_only=False)


def test_a_fragment_has_limits() -> None:
    with pytest.raises(TooLarge):
        parse_fragment(b"a=x\r\n" * (MAX_FRAGMENT_BYTES // 5 + 1), SESSION, loopback_only=False)
    many = [f"a=candidate:{i} 1 udp 1 127.0.0.1 {10000 + i} typ host" for i in range(101)]
    with pytest.raises(BadSdp, match="at most 100 remote candidates; this one has 0"):
        fragment(*many)
    assert len(fragment(*many[:MAX_CANDIDATES])) == MAX_CANDIDATES
    nearly_full = SessionIce(SESSION.ufrag, SESSION.pwd, SESSION.mids, MAX_CANDIDATES - 1)
    assert len(fragment(*many[:1], session=nearly_full)) == 1
    with pytest.raises(BadSdp, match="has 99 and the fragment adds 2"):
        fragment(*many[:2], session=nearly_full)


@pytest.mark.parametrize(
    "credentials",
    [
        ("a=ice-ufrag:ysXw", "a=ice-pwd:vw5LmwG4y/e6dPP/zAP9Gp5k"),
        ("a=ice-ufrag:ysXw",),
        ("a=ice-pwd:vw5LmwG4y/e6dPP/zAP9Gp5k",),
    ],
)
def test_new_ice_credentials_ask_for_a_restart_the_relay_does_not_do(
    credentials: tuple[str, ...],
) -> None:
    with pytest.raises(IceRestartNotSupported) as refused:
        fragment(*credentials, "a=mid:0", HOST)
    assert refused.value.http_status == 422
    assert "DELETE" in refused.value.message


def test_the_session_ice_comes_from_the_remote_description() -> None:
    remote = (
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
        "a=rtpmap:111 opus/48000/2\r\na=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n"
        f"{HOST}\r\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\n"
        "a=rtpmap:96 VP8/90000\r\na=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n"
    )
    assert SessionIce.of(remote) == SessionIce(
        ufrag="EsAw", pwd="P2uYro0UCOQ4zxjKXaWCBui1", mids=frozenset({"0", "1"}), candidates=1
    )


def offer(*changes: tuple[str, str], text: str = OFFER) -> str:
    """``text`` with each (pattern, replacement) applied to it line by line."""
    for pattern, replacement in changes:
        text = re.sub(pattern, replacement, text, flags=re.MULTILINE)
    return text


def test_a_browsers_offer_is_taken() -> None:
    taken = parse_offer(OFFER.encode(), Direction.PUBLISH, loopback_only=True)
    assert taken.kinds == ("audio", "video")
    assert HOST in taken.sdp


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ([(r"^a=fingerprint:.*\r\n", "")], "no a=fingerprint with sha-256"),
        ([(r"^a=fingerprint:sha-256", "a=fingerprint:sha-1")], "no a=fingerprint with sha-256"),
        ([(r"^(a=fingerprint:\S+) .*", r"\1 zz")], "not 32 hexadecimal bytes"),
        ([(r"^(a=fingerprint:\S+) ..:", r"\1 ")], "not 32 hexadecimal bytes"),
        ([(r"^a=fingerprint:.*", "a=fingerprint:sha-256")], "could not be parsed"),
        ([(r"^a=setup:.*\r\n", "")], "no a=setup; offer actpass"),
        ([(r"^a=setup:.*", "a=setup:passive")], "says a=setup:passive; offer actpass"),
        ([(r"^a=setup:.*", "a=setup:holdconn")], "'a=setup:holdconn' is not a DTLS role"),
        ([(r"^a=ice-pwd:.*\r\n", "")], "no ICE credentials (a=ice-ufrag, a=ice-pwd)"),
        ([(r"^a=ice-ufrag:.*\r\n", "")], "no ICE credentials"),
        ([(r"^a=ice-ufrag:.*", "a=ice-ufrag:ab")], "a=ice-ufrag must be 4 to 256"),
        ([(r"^a=ice-ufrag:.*", "a=ice-ufrag:a b c d")], "a=ice-ufrag must be 4 to 256"),
        ([(r"^a=ice-pwd:.*", "a=ice-pwd:short")], "a=ice-pwd must be 22 to 256"),
        ([(r"^a=group:BUNDLE.*\r\n", "")], "must bundle all its media"),
        ([(r"^a=group:BUNDLE.*", "a=group:BUNDLE 0")], "must bundle all its media"),
        ([(r"^a=mid:.*\r\n", "")], "each m= section needs an a=mid"),
        ([(r"^a=mid:1", "a=mid:0")], "two m= sections have the same a=mid"),
        ([(r"^a=rtcp-mux\r\n", "")], "must carry RTCP with RTP (a=rtcp-mux)"),
        ([(r"^a=mid:0", "a=mid:0\r\na=candidate:x")], "line 18: a candidate is FOUNDATION"),
        ([(r"^(a=candidate:\S+ 1 udp \S+ \S+) \d+", r"\1 99999")], "line 11: the port"),
        ([(r"^m=audio 9 (\S+) ", r"m=audio 9 \1 300 ")], "could not be parsed"),
        ([(r"^a=mid:0", "a=mid:0\r\na=fmtp:55 x=1")], "could not be parsed"),
        ([(r"^a=mid:0", "a=mid:0\r\na=rtcp:x")], "could not be parsed"),
        ([(r"^a=ssrc:1111", "a=ssrc:x")], "could not be parsed"),
        ([(r"^a=msid:hall camera", "a=msid:hall camera\x00")], "control character"),
        ([(r"^v=0", "v=0x")], "could not be parsed"),
    ],
)
def test_an_offer_that_could_never_carry_media_is_refused_saying_why(
    changes: list[tuple[str, str]], says: str
) -> None:
    with pytest.raises(BadSdp, match=re.escape(says)):
        parse_offer(offer(*changes).encode(), Direction.PUBLISH, loopback_only=True)


def test_aiortc_is_handed_only_the_candidates_the_relay_may_check() -> None:
    more = [
        "a=candidate:2 1 udp 2122260223 ::1 5000 typ host",
        "a=candidate:3 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active",
        "a=candidate:4 1 udp 1686052607 203.0.113.7 5001 typ srflx raddr 0.0.0.0 rport 0",
        "a=candidate:5 1 udp 2122260223 0d4a4c6e-5d4e-4b1a-9c1b-2f3a4b5c6d7e.local 5002 typ host",
    ]
    text = offer((r"^a=mid:0", "\r\n".join(["a=mid:0", *more])))
    kept = re.findall(
        r"a=candidate:(\d+) ", parse_offer(text.encode(), Direction.PUBLISH, loopback_only=True).sdp
    )
    assert kept == ["1", "2"] * 2  # in each section: the BUNDLE tag's
    anywhere = parse_offer(text.encode(), Direction.PUBLISH, loopback_only=False).sdp
    assert re.findall(r"a=candidate:(\d+) ", anywhere) == ["4", "5"] * 2
    many = [f"a=candidate:{i} 1 udp 1 127.0.0.1 {10000 + i} typ host" for i in range(100)]
    with pytest.raises(BadSdp, match="the offer has 101 candidates; a session takes 100"):
        text = offer((r"^a=mid:0", "\r\n".join(["a=mid:0", *many])))
        parse_offer(text.encode(), Direction.PUBLISH, loopback_only=True)


def test_every_section_is_handed_the_bundle_tags_candidates() -> None:
    """aiortc gives the one bundled transport the last section's candidates; an offerer that
    gathered for each section apart would be checked at the wrong ones (seen as prflx)."""
    own = "a=candidate:7 1 udp 2122260223 127.0.0.1 6000 typ host"
    text = offer((r"^a=mid:1", "a=mid:1\r\n" + own))
    lines = parse_offer(text.encode(), Direction.PUBLISH, loopback_only=True).sdp.splitlines()
    sections = "\n".join(lines).split("m=")[1:]
    assert [re.findall(r"a=candidate:(\d+) ", section) for section in sections] == [
        ["1"],
        ["1"],
    ]


def codecs_of(sdp: str) -> dict[str, list[str]]:
    """Per section, its m-line's payload types and every line that names one."""
    sections = {}
    for section in sdp.split("m=")[1:]:
        lines = section.splitlines()
        named = [line for line in lines if re.match(r"a=(rtpmap|fmtp|rtcp-fb):", line)]
        sections[lines[0].split()[0]] = lines[0].split()[3:] + named
    return sections


def test_aiortc_is_handed_only_the_codecs_the_relay_forwards() -> None:
    """So that its answer names no other: PCMU would reach viewers who agreed to Opus."""
    taken = codecs_of(parse_offer(OFFER.encode(), Direction.PUBLISH, loopback_only=True).sdp)
    assert taken["audio"] == [
        "111",
        "a=rtpmap:111 opus/48000/2",
        "a=rtcp-fb:111 transport-cc",
        "a=fmtp:111 minptime=10;useinbandfec=1",
    ]
    assert taken["video"][:4] == ["96", "97", "35", "36"]  # VP9 and its RTX are gone
    assert not [line for line in taken["video"][4:] if re.match(r"a=\S+:(98|99) ", line)]
    assert len(taken["video"]) == 4 + 10


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        (
            [
                (r"^m=audio 9 (\S+) .*", r"m=audio 9 \1 0 8"),
                (r"^a=(rtpmap|fmtp|rtcp-fb):(111|63|9|13|110) .*\r\n", ""),
            ],
            "the audio section offers PCMA, PCMU, none of which this relay forwards",
        ),
        (
            [(r"^m=video 9 (\S+) .*", r"m=video 9 \1 98 99")],
            "the video section offers VP9, none of which",
        ),
        ([(r"^m=video 9 (\S+) .*", r"m=video 9 \1 34")], "the video section offers no codec"),
    ],
)
def test_an_offer_without_a_codec_the_relay_forwards_is_no_common_codec(
    changes: list[tuple[str, str]], says: str
) -> None:
    with pytest.raises(NoCommonCodec, match=re.escape(says)):
        parse_offer(offer(*changes).encode(), Direction.PUBLISH, loopback_only=True)


WATCHING = offer((r"^a=sendonly", "a=recvonly"), (r"^a=ssrc.*\r\n", ""))


@pytest.mark.parametrize(
    ("direction", "changes", "says"),
    [
        (
            Direction.PUBLISH,
            [(r"^a=sendonly", "a=recvonly")],
            "the audio section is recvonly, but a WHIP offer sends media: make it sendonly",
        ),
        (
            Direction.PUBLISH,
            [(r"^a=sendonly", "a=inactive")],
            "every section of the offer is inactive",
        ),
        (
            Direction.WATCH,
            [(r"^a=recvonly", "a=sendonly")],
            "the audio section is sendonly, but a WHEP offer receives media: make it recvonly",
        ),
        (
            Direction.WATCH,
            [(r"^a=recvonly", "a=inactive")],
            "every section of the offer is inactive",
        ),
        (
            Direction.WATCH,
            [(r"^m=(audio|video) 9 ", r"m=\1 0 ")],
            "the audio section is rejected (port 0)",
        ),
        (
            Direction.WATCH,
            [(r"^m=video 9 ", "m=video 0 ")],
            "the video section is rejected (port 0)",
        ),
        (
            Direction.PUBLISH,
            [(r"^(m=video[\s\S]*)", r"\1\1"), (r"^a=group:BUNDLE 0 1", "a=group:BUNDLE 0 1 2")],
            "the offer has 2 video sections; a WHIP offer sends one",
        ),
        (
            Direction.WATCH,
            [(r"^(m=video[\s\S]*)", r"\1" * 16)],
            "the offer has 17 sections; at most 16",
        ),
        (
            Direction.WATCH,
            [
                (r"\Z", "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n"),
                (r"^a=group:BUNDLE 0 1", "a=group:BUNDLE 0 1 2"),
            ],
            "this relay carries audio and video only; leave out the m=application section",
        ),
        (Direction.WATCH, [(r"^m=[\s\S]*", "")], "the offer has no audio or video"),
    ],
)
def test_an_offer_must_carry_one_programme_the_endpoints_way(
    direction: Direction, changes: list[tuple[str, str]], says: str
) -> None:
    text = OFFER if direction is Direction.PUBLISH else WATCHING
    with pytest.raises(BadSdp, match=re.escape(says)):
        parse_offer(offer(*changes, text=text).encode(), direction, loopback_only=True)


def test_what_an_offer_may_leave_idle() -> None:
    bundle_only = offer((r"^m=video 9 (.*)", r"m=video 0 \1\r\na=bundle-only"), text=WATCHING)
    assert parse_offer(bundle_only.encode(), Direction.WATCH, loopback_only=True).kinds == (
        "audio",
        "video",
    )
    for way in ("sendrecv", "inactive"):  # one section idle is fine, as is sending both ways
        one_idle = WATCHING.replace("a=recvonly", f"a={way}", 1)
        assert parse_offer(one_idle.encode(), Direction.WATCH, loopback_only=True)
    second_video = WATCHING[WATCHING.index("m=video") :].replace("a=mid:1", "a=mid:2")
    slots = offer((r"^a=group:BUNDLE 0 1", "a=group:BUNDLE 0 1 2"), text=WATCHING + second_video)
    taken = parse_offer(slots.encode(), Direction.WATCH, loopback_only=True)
    assert taken.kinds == ("audio", "video", "video")  # a viewer's slots, for the stage
    audio_only = offer((r"^m=video[\s\S]*", ""), (r"^a=group:BUNDLE 0 1", "a=group:BUNDLE 0"))
    assert parse_offer(audio_only.encode(), Direction.PUBLISH, loopback_only=True).kinds == (
        "audio",
    )
