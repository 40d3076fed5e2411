"""SDP from outside, checked at the edge: offers to publish or watch, and trickled ICE
fragments (RFC 8840).

An offer is checked whole before aiortc sees it, so one the relay could not serve is refused
here with a message that says what to change, instead of failing deep inside a peer connection
or in a task nobody awaits. aiortc is then handed it with only the codecs the relay forwards
and the candidates it may check (``candidates.py``), so that its answer names no others. When
the relay announces only loopback addresses, remote candidates off loopback are dropped too.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from aiortc import RTCIceCandidate, RTCIceParameters
from aiortc.codecs import is_rtx
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.sdp import MediaDescription, SessionDescription, grouplines

from server.errors import InvalidInput, TooLarge, Unprocessable
from server.media.candidates import Candidate
from server.media.codecs import FORWARDED
from server.media.sessions import Direction

MAX_SDP_BYTES = 64 * 1024
MAX_FRAGMENT_BYTES = 16 * 1024
# A session's remote candidates, offered and trickled: each is a place the relay sends STUN
# checks to, and a browser on a laptop with a few networks gathers a dozen or two.
MAX_CANDIDATES = 100
MEDIA_KINDS = frozenset({"audio", "video"})
MAX_SLOTS = 16  # sections of a WHEP offer: a panel's sources on stage, with room to spare
# Characters no SDP line holds, and those str.splitlines() would end a line at.
NOT_IN_SDP = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x85\u2028\u2029]")
ICE_UFRAG = re.compile(r"[A-Za-z0-9+/]{4,256}")  # RFC 8839 section 5.4
ICE_PWD = re.compile(r"[A-Za-z0-9+/]{22,256}")
SETUP_ROLES = frozenset({"actpass", "active", "passive"})  # RFC 4145; holdconn is obsolete
OFFERED_ROLES = frozenset({"auto", "client"})  # aiortc's names for actpass and active
FINGERPRINT_BYTES = {"sha-256": 32, "sha-384": 48, "sha-512": 64}  # those aiortc verifies
FINGERPRINT = re.compile(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2})*")
FLOWS = {  # the directions of a section that carries media, by the offer's endpoint
    Direction.PUBLISH: frozenset({"sendonly", "sendrecv"}),
    Direction.WATCH: frozenset({"recvonly", "sendrecv"}),
}
CODEC_LINE = re.compile(r"a=(?:rtpmap|fmtp|rtcp-fb):(\S+)")


class BadSdp(InvalidInput):
    code = "bad_sdp"


class NoCommonCodec(BadSdp):
    code = "no_common_codec"


class IceRestartNotSupported(Unprocessable):
    code = "ice_restart_not_supported"


@dataclass(frozen=True)
class Offer:
    sdp: str  # as aiortc is to see it: only the codecs and candidates the relay may use
    kinds: tuple[str, ...]  # of the m-lines, in order


def parse_offer(raw: bytes, direction: Direction, *, loopback_only: bool) -> Offer:
    """An offer to publish (WHIP) or to watch (WHEP), checked whole: RFC 9725 section 4.4.3
    asks for a refusal rather than an answer that rejects what it cannot take."""
    text = _text(raw, MAX_SDP_BYTES)
    if not text.startswith("v=0"):
        raise BadSdp("this is not an SDP offer (it must start with v=0)")
    text = _screened(text, loopback_only=loopback_only)
    description = _parsed(text)
    _check_sections(description, grouplines(text)[1], direction)
    _check_bundle(description)
    for media in description.media:
        _check_transport(media)
        _check_codecs(media)
    kinds = tuple(media.kind for media in description.media)
    text = _forwarded_codecs_only(text, description)
    return Offer(sdp=_tagged_candidates(text, description), kinds=kinds)


def _screened(text: str, *, loopback_only: bool) -> str:
    """The offer without the candidates the relay may not check. Lines aiortc's parser would
    fail on without a word of why are refused here, with one."""
    kept: list[str] = []
    candidates = 0
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("a=setup:") and line[len("a=setup:") :].strip() not in SETUP_ROLES:
            raise BadSdp(f"line {number}: {line[:40]!r} is not a DTLS role; offer actpass")
        if line.startswith("a=candidate:"):
            if not _candidate(line, number).usable(loopback_only=loopback_only):
                continue
            candidates += 1
        kept.append(line)
    if candidates > MAX_CANDIDATES:
        raise BadSdp(f"the offer has {candidates} candidates; a session takes {MAX_CANDIDATES}")
    return "\r\n".join(kept) + "\r\n"


def _parsed(text: str) -> SessionDescription:
    try:
        return SessionDescription.parse(text)
    except Exception as error:  # aiortc's parser refuses through assert, next() and int()
        detail = str(error) or "a line is not as SDP has it"
        raise BadSdp(f"the SDP offer could not be parsed ({detail})") from None


def _check_sections(
    description: SessionDescription, sections: list[list[str]], direction: Direction
) -> None:
    """Audio and video only. A WHIP offer sends one track of each kind at most (RFC 9725
    section 4.4.2); a WHEP offer's sections are its slots, a few for each source on stage."""
    kinds = Counter(media.kind for media in description.media)
    if not kinds:
        raise BadSdp("the offer has no audio or video")
    for kind, count in kinds.items():
        if kind not in MEDIA_KINDS:
            raise BadSdp(f"this relay carries audio and video only; leave out the m={kind} section")
        if count > 1 and direction is Direction.PUBLISH:
            raise BadSdp(f"the offer has {count} {kind} sections; a WHIP offer sends one")
    if len(description.media) > MAX_SLOTS:
        raise BadSdp(f"the offer has {len(description.media)} sections; at most {MAX_SLOTS}")
    flowing = [
        _flows(media, lines, direction)
        for media, lines in zip(description.media, sections, strict=True)
    ]
    if not any(flowing):
        raise BadSdp("every section of the offer is inactive: there is nothing to carry")


def _flows(media: MediaDescription, lines: list[str], direction: Direction) -> bool:
    """Whether the section carries media, which must then go the endpoint's way."""
    if media.port == 0 and "a=bundle-only" not in (line.strip() for line in lines):
        raise BadSdp(f"the {media.kind} section is rejected (port 0); leave it out")
    way = media.direction or "sendrecv"
    if way == "inactive":
        return False
    if way not in FLOWS[direction]:
        endpoint, does, should = (
            ("WHIP", "sends", "sendonly")
            if direction is Direction.PUBLISH
            else ("WHEP", "receives", "recvonly")
        )
        raise BadSdp(
            f"the {media.kind} section is {way}, but a {endpoint} offer {does} media: "
            f"make it {should}"
        )
    return True


def _check_bundle(description: SessionDescription) -> None:
    """WHIP and WHEP bundle all media on one transport (RFC 9725 section 4.4.1), as the
    relay's answer does; an offer that does not would leave its peer listening elsewhere."""
    mids = [media.rtp.muxId for media in description.media]
    if None in mids or "" in mids:
        raise BadSdp("each m= section needs an a=mid")
    if len(set(mids)) < len(mids):
        raise BadSdp("two m= sections have the same a=mid")
    bundle = next((group for group in description.group if group.semantic == "BUNDLE"), None)
    if bundle is None or set(mids) - {str(item) for item in bundle.items}:
        raise BadSdp("the offer must bundle all its media: a=group:BUNDLE with every a=mid")


def _check_transport(media: MediaDescription) -> None:
    """ICE credentials, a DTLS fingerprint aiortc can verify, a role it can answer, and RTCP
    on the RTP port: without any of them the session could never carry media."""
    ice, dtls = media.ice, media.dtls
    if ice is None or not ice.usernameFragment or not ice.password:
        raise BadSdp(f"the {media.kind} section has no ICE credentials (a=ice-ufrag, a=ice-pwd)")
    if not ICE_UFRAG.fullmatch(ice.usernameFragment):
        raise BadSdp("a=ice-ufrag must be 4 to 256 letters, digits, + or /")
    if not ICE_PWD.fullmatch(ice.password):
        raise BadSdp("a=ice-pwd must be 22 to 256 letters, digits, + or /")
    if dtls is None:
        raise BadSdp(f"the {media.kind} section has no a=setup; offer actpass")
    if dtls.role not in OFFERED_ROLES:
        raise BadSdp(f"the {media.kind} section says a=setup:passive; offer actpass")
    verifiable = [f for f in dtls.fingerprints if f.algorithm.lower() in FINGERPRINT_BYTES]
    if not verifiable:
        raise BadSdp(
            f"the {media.kind} section has no a=fingerprint with sha-256, sha-384 or sha-512: "
            "DTLS needs one to know its peer"
        )
    for fingerprint in verifiable:
        size = FINGERPRINT_BYTES[fingerprint.algorithm.lower()]
        if not FINGERPRINT.fullmatch(fingerprint.value) or fingerprint.value.count(":") != size - 1:
            raise BadSdp(
                f"the {fingerprint.algorithm} fingerprint is not {size} hexadecimal bytes "
                "separated by colons"
            )
    if not media.rtcp_mux:
        raise BadSdp(f"the {media.kind} section must carry RTCP with RTP (a=rtcp-mux)")


def _check_codecs(media: MediaDescription) -> None:
    if not any(map(_forwards, _offered(media))):
        offered = sorted({codec.name for codec in _offered(media) if not is_rtx(codec)})
        raise NoCommonCodec(
            f"the {media.kind} section offers {', '.join(offered) or 'no codec'}, none of "
            "which this relay forwards (Opus; VP8, H.264)"
        )


def _offered(media: MediaDescription) -> list[RTCRtpCodecParameters]:
    """The codecs of the section's m= line: aiortc takes every a=rtpmap, listed there or not."""
    return [codec for codec in media.rtp.codecs if codec.payloadType in media.fmt]


def _forwarded_codecs_only(text: str, description: SessionDescription) -> str:
    """The offer with only the codecs the relay forwards, so that aiortc's answer names no
    other: aiortc settles an answer's codecs as the offer arrives, before the relay could
    prefer any (``codecs.py``). A publisher could otherwise send PCMU to Opus viewers."""
    session, sections = grouplines(text)
    lines = list(session)
    for media, section in zip(description.media, sections, strict=True):
        lines.extend(_only_payload_types(section, _forwarded_payload_types(media)))
    return "\r\n".join(lines) + "\r\n"


def _tagged_candidates(text: str, description: SessionDescription) -> str:
    """Every section with the candidates of the BUNDLE tag's (the group's first MID), whose
    transport is the one that carries everything (RFC 9143). aiortc gives the one bundled
    transport the candidates of the offer's last section; an offerer that gathered for each
    section apart (aiortc itself, by default) would then be checked at the wrong ones."""
    bundle = next(group for group in description.group if group.semantic == "BUNDLE")
    tag = str(bundle.items[0])
    session, sections = grouplines(text)
    mids = [media.rtp.muxId for media in description.media]
    tagged = [line for line in sections[mids.index(tag)] if _about_candidates(line)]
    lines = list(session)
    for section in sections:
        lines.extend(line for line in section if not _about_candidates(line))
        lines.extend(tagged)
    return "\r\n".join(lines) + "\r\n"


def _about_candidates(line: str) -> bool:
    return line.startswith("a=candidate:") or line == "a=end-of-candidates"


def _forwards(codec: RTCRtpCodecParameters) -> bool:
    return codec.mimeType.lower() in FORWARDED and not is_rtx(codec)


def _forwarded_payload_types(media: MediaDescription) -> set[int]:
    kept = {codec.payloadType for codec in _offered(media) if _forwards(codec)}
    kept |= {  # and the RTX of each
        codec.payloadType
        for codec in _offered(media)
        if is_rtx(codec) and codec.parameters.get("apt") in kept
    }
    return {payload_type for payload_type in kept if payload_type is not None}


def _only_payload_types(section: list[str], kept: set[int]) -> list[str]:
    m_line = section[0].split()
    lines = [" ".join(m_line[:3] + [pt for pt in m_line[3:] if _payload_type(pt) in kept])]
    for line in section[1:]:
        codec_line = CODEC_LINE.match(line)
        if codec_line is None or codec_line[1] == "*" or _payload_type(codec_line[1]) in kept:
            lines.append(line)
    return lines


def _payload_type(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


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
