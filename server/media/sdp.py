"""SDP from outside, checked at the edge: size, syntax, media, and candidates.

Offers are parsed with aiortc's own parser first, so a malformed offer is refused here with a
clear message instead of failing deep inside a peer connection. When the relay announces only
loopback addresses, remote candidates off loopback are dropped before aiortc sees them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from aiortc import RTCIceCandidate
from aiortc.sdp import SessionDescription, candidate_from_sdp

from server.errors import InvalidInput, TooLarge

MAX_SDP_BYTES = 64 * 1024
MAX_FRAGMENT_BYTES = 16 * 1024
MEDIA_KINDS = frozenset({"audio", "video"})


class BadSdp(InvalidInput):
    code = "bad_sdp"


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


def parse_fragment(raw: bytes, *, loopback_only: bool) -> list[RTCIceCandidate]:
    """The candidates of a trickle-ice-sdpfrag (RFC 8840), with their m-line's MID."""
    text = _text(raw, MAX_FRAGMENT_BYTES)
    candidates: list[RTCIceCandidate] = []
    mid: str | None = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("a=mid:"):
            mid = line[len("a=mid:") :]
        elif line.startswith("a=candidate:"):
            if loopback_only and _is_remote_candidate_off_loopback(line):
                continue
            try:
                candidate = candidate_from_sdp(line[len("a=") :])
            except (ValueError, IndexError) as error:
                raise BadSdp(f"a candidate could not be parsed ({error})") from None
            candidate.sdpMid = mid
            candidate.sdpMLineIndex = None if mid is not None else 0
            candidates.append(candidate)
        elif line and not line.startswith(("a=", "m=", "c=")):
            raise BadSdp(f"unexpected line in the ICE fragment: {line[:40]!r}")
    return candidates


def _text(raw: bytes, limit: int) -> str:
    if len(raw) > limit:
        raise TooLarge(f"the SDP is larger than {limit} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadSdp("the SDP is not UTF-8 text") from None


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
