"""SDP from outside, checked at the edge: offers, and trickled ICE fragments (RFC 8840).

Offers are parsed with aiortc's own parser first, so a malformed offer is refused here with a
clear message instead of failing deep inside a peer connection. Every candidate, offered or
trickled, is parsed by ``candidates.py``; when the relay announces only loopback addresses,
remote candidates off loopback are dropped before aiortc sees them.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from aiortc import RTCIceCandidate, RTCIceParameters
from aiortc.sdp import SessionDescription

from server.errors import InvalidInput, TooLarge, Unprocessable
from server.media.candidates import Candidate

MAX_SDP_BYTES = 64 * 1024
MAX_FRAGMENT_BYTES = 16 * 1024
# A session's remote candidates, offered and trickled: each is a place the relay sends STUN
# checks to, and a browser on a laptop with a few networks gathers a dozen or two.
MAX_CANDIDATES = 100
MEDIA_KINDS = frozenset({"audio", "video"})
# Characters no SDP line holds, and those str.splitlines() would end a line at.
NOT_IN_SDP = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x85\u2028\u2029]")


class BadSdp(InvalidInput):
    code = "bad_sdp"


class NoCommonCodec(BadSdp):
    code = "no_common_codec"


class IceRestartNotSupported(Unprocessable):
    code = "ice_restart_not_supported"


@dataclass(frozen=True)
class Offer:
    sdp: str
    kinds: tuple[str, ...]  # of the m-lines, in order


def parse_offer(raw: bytes, *, loopback_only: bool) -> Offer:
    text = _text(raw, MAX_SDP_BYTES)
    if not text.startswith("v=0"):
        raise BadSdp("this is not an SDP offer (it must start with v=0)")
    if loopback_only:
        text = "".join(
            line
            for line in text.splitlines(keepends=True)
            if not _is_remote_candidate_off_loopback(line)
        )
    try:
        description = SessionDescription.parse(text)
    except (ValueError, IndexError, KeyError, TypeError) as error:
        raise BadSdp(f"the SDP offer could not be parsed ({error})") from None
    kinds = tuple(media.kind for media in description.media)
    if not any(kind in MEDIA_KINDS for kind in kinds):
        raise BadSdp("the offer has no audio or video")
    for media in description.media:
        if media.kind in MEDIA_KINDS and (
            media.ice is None or not media.ice.usernameFragment or not media.dtls
        ):
            raise BadSdp(f"the {media.kind} section lacks ICE credentials or a DTLS fingerprint")
    return Offer(sdp=text, kinds=kinds)


@dataclass(frozen=True)
class SessionIce:
    """What a session's offer settled about ICE, that a trickled fragment must agree with."""

    ufrag: str
    pwd: str
    mids: frozenset[str]
    candidates: int  # remote candidates it holds already, offered and trickled

    @classmethod
    def of(cls, remote_sdp: str) -> SessionIce:
        """From the remote description aiortc keeps (the offer, and what was trickled since)."""
        media = SessionDescription.parse(remote_sdp).media
        ice = media[0].ice or RTCIceParameters()
        return cls(
            ufrag=ice.usernameFragment or "",
            pwd=ice.password or "",
            mids=frozenset(m.rtp.muxId for m in media if m.rtp.muxId is not None),
            candidates=sum(len(m.ice_candidates) for m in media),
        )


@dataclass(frozen=True)
class Fragment:
    """A trickle-ice-sdpfrag (RFC 8840): the candidates to add, and whether that was all."""

    candidates: tuple[RTCIceCandidate, ...]
    end_of_candidates: bool


def parse_fragment(raw: bytes, session: SessionIce, *, loopback_only: bool) -> Fragment:
    text = _text(raw, MAX_FRAGMENT_BYTES)
    candidates: list[RTCIceCandidate] = []
    credentials: dict[str, str] = {}
    mid: str | None = None
    in_media = end_of_candidates = False
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line.startswith("m="):
            in_media, mid = True, None
        elif line.startswith("a=mid:"):
            mid = line[len("a=mid:") :]
            if mid not in session.mids:
                raise BadSdp(f"line {number}: this session has no m-line with MID {mid[:40]!r}")
        elif line.startswith(("a=ice-ufrag:", "a=ice-pwd:")):
            name, value = line[len("a=") :].split(":", 1)
            credentials[name] = value
        elif line.startswith("a=candidate:"):
            if in_media and mid is None:
                raise BadSdp(f"line {number}: a candidate of an m= section before its a=mid")
            candidate = _candidate(line, number)
            stale = candidate.ufrag not in (None, session.ufrag)  # of an earlier ICE session
            if not stale and candidate.usable(loopback_only=loopback_only):
                candidates.append(candidate.for_aiortc(mid))
        elif line == "a=end-of-candidates":
            end_of_candidates = True
        elif line and not line.startswith(("a=", "c=")):
            raise BadSdp(f"line {number} does not belong in an ICE fragment: {line[:40]!r}")
    _refuse_restart(credentials, session)
    if session.candidates + len(candidates) > MAX_CANDIDATES:
        raise BadSdp(
            f"a session takes at most {MAX_CANDIDATES} remote candidates; this one has "
            f"{session.candidates} and the fragment adds {len(candidates)}"
        )
    return Fragment(tuple(candidates), end_of_candidates)


def _candidate(line: str, number: int) -> Candidate:
    try:
        return Candidate.parse(line[len("a=candidate:") :])
    except ValueError as error:
        raise BadSdp(f"line {number}: {error}") from None


def _refuse_restart(credentials: dict[str, str], session: SessionIce) -> None:
    """New ICE credentials ask for an ICE restart (RFC 9725 section 4.3.3), which the relay
    does not do: 422, as section 4.3.1 asks of a session that only trickles."""
    if (
        credentials.get("ice-ufrag", session.ufrag) != session.ufrag
        or credentials.get("ice-pwd", session.pwd) != session.pwd
    ):
        raise IceRestartNotSupported(
            "the fragment's ICE credentials are not the offer's: that is an ICE restart, "
            "which this relay does not do; end the session (DELETE) and offer again"
        )


def _text(raw: bytes, limit: int) -> str:
    if len(raw) > limit:
        raise TooLarge(f"the SDP is larger than {limit} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadSdp("the SDP is not UTF-8 text") from None
    found = NOT_IN_SDP.search(text)
    if found:
        raise BadSdp(
            f"the SDP holds a control character (U+{ord(found[0]):04X}) at offset {found.start()}"
        )
    return text


def _is_remote_candidate_off_loopback(line: str) -> bool:
    if not line.startswith("a=candidate:"):
        return False
    fields = line.split()
    if len(fields) < 5:
        return False  # malformed: left for the parser to refuse
    try:
        return not ipaddress.ip_address(fields[4]).is_loopback
    except ValueError:
        return True  # an mDNS name: cannot be shown to be on this machine
