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
    SessionIce,
    parse_fragment,
)

SESSION = SessionIce(
    ufrag="EsAw", pwd="P2uYro0UCOQ4zxjKXaWCBui1", mids=frozenset({"0", "1"}), candidates=0
)
HOST = "a=candidate:1 1 udp 2122260223 127.0.0.1 61764 typ host"


def fragment(*lines: str, loopback_only: bool = False, session: SessionIce = SESSION) -> list[str]:
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
        ("1 1 udp 1 127.0.0.1 5000 typ host", True, True),
        ("1 1 UDP 1 ::1 5000 typ host", True, True),
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
        "a=candidate:5 1 udp 2122194687 192.0.2.9 61767 typ host",
    )
    assert added == ["127.0.0.1 61764 0", "::1 61765 0", "192.0.2.9 61767 0"]
    assert fragment(HOST) == ["127.0.0.1 61764 0"]  # no MID: the first m-line's
    parsed = parse_fragment(b"a=mid:1\r\na=end-of-candidates\r\n", SESSION, loopback_only=True)
    assert parsed.end_of_candidates and not parsed.candidates


def test_off_loopback_nothing_is_taken_when_the_relay_announces_loopback_only() -> None:
    mdns = "a=candidate:2 1 udp 1 0d4a4c6e-5d4e-4b1a-9c1b-2f3a4b5c6d7e.local 5000 typ host"
    off = "a=candidate:3 1 udp 1 192.0.2.9 5000 typ host"
    assert fragment(HOST, mdns, off, loopback_only=True) == ["127.0.0.1 61764 0"]
    assert len(fragment(HOST, mdns, off)) == 3


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
