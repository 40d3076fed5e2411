"""Everything the relay reaches into in aiortc, aioice and pylibsrtp (and asyncio), in one
table, and the start-up check that it is all still there, on the exact versions it was written
against.

Only the standard library is imported here, at first: the check must be able to say what is
wrong when an import elsewhere in the relay would fail.
"""

from __future__ import annotations

import ctypes
import importlib
import inspect
from dataclasses import dataclass
from enum import StrEnum
from importlib import metadata
from typing import Any

# The three the relay reaches into, exactly as pyproject.toml and requirements.lock pin them.
PINS = {"aiortc": "1.16.0", "aioice": "0.13.0", "pylibsrtp": "1.0.0"}
# The libsrtp inside pylibsrtp 1.0.0's wheels. The C loop (_srtp.c) calls its srtp_protect
# through a raw address, on the srtp_t of aiortc's session, with libsrtp 2's signature; libsrtp
# 3 changed that signature, so a different libsrtp must stop the relay before any call.
LIBSRTP = "libsrtp2 2.7.0"

RECEIVER_MANGLED = "_RTCRtpReceiver__"
SENDER_MANGLED = "_RTCRtpSender__"


class Kind(StrEnum):
    NAME = "name"  # it is there
    PARAMETERS = "parameters"  # a callable taking exactly these (the relay calls or replaces it)
    SET_BY = "set by"  # an instance attribute, assigned by this method of its class
    C_TYPE = "C type"  # a cffi function of exactly this C type
    VALUE = "value"  # a constant the C loop mirrors


@dataclass(frozen=True)
class Internal:
    """One thing the relay reaches into: ``module:Qualified.name`` (or a bare module)."""

    where: str
    kind: Kind = Kind.NAME
    expected: object = None

    @property
    def name(self) -> str:
        return self.where.replace(":", ".")


def _calls(where: str, *parameters: str) -> Internal:
    return Internal(where, Kind.PARAMETERS, parameters)


def _set(where: str, by: str = "__init__") -> Internal:
    return Internal(where, Kind.SET_BY, by)


RECEIVER = "aiortc.rtcrtpreceiver:RTCRtpReceiver."
SENDER = "aiortc.rtcrtpsender:RTCRtpSender."
DTLS = "aiortc.rtcdtlstransport:RTCDtlsTransport."
ICE = "aioice.ice:"
RTP = "aiortc.rtp:"

INTERNALS = (
    # publisher.py: a publisher's receiver hands each packet over, decodes nothing
    _calls(RECEIVER + "_handle_rtp_packet", "packet", "arrival_time_ms"),
    _calls(RECEIVER + "receive", "parameters"),
    _calls(RECEIVER + "_send_rtcp_pli", "media_ssrc"),
    _calls(RECEIVER + RECEIVER_MANGLED + "stop_decoder"),
    _set(RECEIVER + RECEIVER_MANGLED + "codecs"),
    _set(RECEIVER + RECEIVER_MANGLED + "rtx_ssrc"),
    _set(RECEIVER + RECEIVER_MANGLED + "jitter_buffer"),
    _calls("aiortc.jitterbuffer:JitterBuffer.add", "packet"),
    _calls("aiortc.codecs:is_rtx", "codec"),
    _calls(RTP + "unwrap_rtx", "rtx", "payload_type", "ssrc"),
    # media_first.py and viewer_sender.py: the nominated ICE pair and its socket
    _set("aiortc.rtcicetransport:RTCIceTransport._connection"),
    _set(ICE + "Connection._nominated"),
    _set(ICE + "Connection._queue"),
    _set(ICE + "CandidatePair.protocol"),
    Internal(ICE + "CandidatePair.remote_addr"),
    _set(ICE + "StunProtocol.transport", by="connection_made"),
    _calls(ICE + "StunProtocol.datagram_received", "data", "addr"),
    _calls(ICE + "StunProtocol.error_received", "exc"),
    # round_trip.py: a publisher's consent checks, timed
    _calls(ICE + "StunProtocol.request", "request", "addr", "integrity_key", "retransmissions"),
    _set("asyncio.selector_events:_SelectorTransport._sock"),
    # ice.py: the DTLS role and the addresses gathered on
    _set(DTLS + "_role"),
    _calls(DTLS + "_set_role", "role"),
    _calls(ICE + "Connection.get_component_candidates", "component", "addresses", "timeout"),
    # dtls_keys.py: the SRTP keys exported again for the C loop's AES-GCM
    _set(DTLS + "_ssl"),
    # viewer_sender.py: a viewer's sender without an encoder
    _set(DTLS + "_tx_srtp"),
    _set(SENDER + "_ssrc"),
    _set(SENDER + "_rtx_ssrc"),
    _calls(SENDER + "_run_rtp", "codec"),
    _calls(SENDER + "_run_rtcp"),
    _calls(SENDER + "_send_keyframe"),
    _calls(SENDER + "_retransmit", "sequence_number"),
    _calls(SENDER + "_send_rtcp", "packets"),
    _calls(SENDER + "send", "parameters"),
    *(
        _set(SENDER + SENDER_MANGLED + name)
        for name in (
            "rtp_history",
            "rtp_started",
            "rtp_exited",
            "rtcp_started",
            "rtcp_exited",
            "lsr",
            "lsr_time",
            "cname",
            "packet_count",
            "octet_count",
            "ntp_timestamp",
            "rtp_timestamp",
            "rtx_payload_type",
            "stats",  # round_trip.py: the viewer's receiver reports
            "rtt",
        )
    ),
    Internal("aiortc.rtcrtpparameters:RTCRtpSendParameters"),
    Internal(RTP + "RTP_HISTORY_SIZE"),
    _calls(RTP + "HeaderExtensionsMap"),
    _calls(RTP + "HeaderExtensionsMap.configure", "parameters"),
    _calls(
        RTP + "RtpPacket",
        "payload_type",
        "marker",
        "sequence_number",
        "timestamp",
        "ssrc",
        "payload",
    ),
    _calls(RTP + "RtpPacket.serialize", "extensions_map"),
    _calls(RTP + "RtcpSrPacket", "ssrc", "sender_info", "reports"),
    _calls(RTP + "RtcpSenderInfo", "ntp_timestamp", "rtp_timestamp", "packet_count", "octet_count"),
    _calls(RTP + "RtcpSdesPacket", "chunks"),
    _calls(RTP + "RtcpSourceInfo", "ssrc", "items"),
    _calls(RTP + "RtcpByePacket", "sources"),
    _calls("aiortc.utils:random16"),
    _calls("aiortc.utils:random32"),
    # srtp.py and viewer_sender.py: pylibsrtp's session, and srtp_protect for the C loop
    _set("pylibsrtp:Session._srtp"),
    _set("pylibsrtp:Session._cdata"),
    _set("pylibsrtp:Session._buffer"),
    Internal("pylibsrtp._binding:ffi"),
    Internal(
        "pylibsrtp._binding:lib.srtp_protect",
        Kind.C_TYPE,
        "srtp_err_status_t(*)(struct srtp_ctx_t_ *, void *, int *)",
    ),
    Internal("pylibsrtp:SRTP_MAX_TRAILER_LEN", Kind.VALUE, 144),  # _srtp.h's TRAILER_BYTES
    # forwarder.py, keyframes.py, sdp.py, relay.py: aiortc's modules outside its public API
    _calls("aiortc.clock:current_ntp_time"),
    _calls("aiortc.codecs.vpx:VpxPayloadDescriptor.parse", "data"),
    _calls("aiortc.sdp:SessionDescription.parse", "sdp"),
    _calls("aiortc.sdp:grouplines", "sdp"),  # sdp.py splits an offer into sections as aiortc
    Internal("aiortc.sdp:MediaDescription"),
    Internal("aiortc.exceptions:OperationError"),
)


class InternalsChanged(RuntimeError):
    """The aiortc, aioice or pylibsrtp installed is not the one the relay was written against."""


def check_compatible() -> None:
    """Raise ``InternalsChanged``, naming everything that differs, unless the installed
    versions are the pinned ones and every internal in ``INTERNALS`` is as the relay uses it."""
    problems = _version_problems() + [
        problem for internal in INTERNALS if (problem := internal_problem(internal))
    ]
    if problems:
        raise InternalsChanged(explain(problems))


def check_libsrtp() -> None:
    """The part of ``check_compatible`` that guards the raw address the C loop calls: the
    libsrtp version, and the C type of ``srtp_protect``."""
    problems = libsrtp_problems() + [
        problem
        for internal in INTERNALS
        if internal.kind is Kind.C_TYPE and (problem := internal_problem(internal))
    ]
    if problems:
        raise InternalsChanged(explain(problems))


def explain(problems: list[str]) -> str:
    return (
        "the media relay cannot run on the aiortc, aioice and pylibsrtp installed here: "
        + "; ".join(problems)
        + ". It reaches into their internals (the table in "
        "server/media/aiortc_internals/compat.py), so it runs only on the exact versions "
        "requirements.lock pins: reinstall from it (`make install`, or `pip install "
        "--require-hashes -r requirements.lock`). To upgrade them, change the pins, the table "
        "and the relay together."
    )


def _version_problems() -> list[str]:
    problems = []
    for distribution, pinned in PINS.items():
        try:
            installed = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            problems.append(f"{distribution} is not installed ({pinned} is pinned)")
            continue
        if installed != pinned:
            problems.append(f"{distribution} is {installed}, not {pinned}")
    return problems + libsrtp_problems()


def libsrtp_problems() -> list[str]:
    """What differs in the libsrtp whose ``srtp_protect`` the C loop is handed."""
    version = libsrtp_version()
    if version is None:
        return [f"the version of pylibsrtp's libsrtp cannot be read ({LIBSRTP} is expected)"]
    return [] if version == LIBSRTP else [f"pylibsrtp's libsrtp is {version}, not {LIBSRTP}"]


def libsrtp_version() -> str | None:
    """What the libsrtp bundled in pylibsrtp's binding says it is, or None if it cannot tell."""
    try:
        binding = importlib.import_module("pylibsrtp._binding")
        # The module is loaded already: this is the same library, so the same libsrtp.
        say = ctypes.CDLL(binding.__file__).srtp_get_version_string
    except (ImportError, OSError, AttributeError, TypeError):
        return None
    say.argtypes = []
    say.restype = ctypes.c_char_p
    version = say()
    return version.decode(errors="replace") if isinstance(version, bytes) else None


def internal_problem(internal: Internal) -> str | None:
    """What is wrong with one internal, or None if it is as the relay uses it."""
    try:
        if internal.kind is Kind.SET_BY:
            owner, _, attribute = internal.where.rpartition(".")
            return _set_by(internal, _resolve(owner), attribute)
        target = _resolve(internal.where)
        if internal.kind is Kind.PARAMETERS:
            return _takes(internal, target)
        if internal.kind is Kind.C_TYPE:
            ffi = _resolve(internal.where.partition(":")[0] + ":ffi")
            found = ffi.typeof(target).cname
            return None if found == internal.expected else f"{internal.name} is {found}"
        if internal.kind is Kind.VALUE:
            return None if target == internal.expected else f"{internal.name} is {target!r}"
        return None
    except (ImportError, AttributeError):
        return f"{internal.name} is gone"
    except (TypeError, ValueError) as error:
        return f"{internal.name} cannot be checked ({error})"


def _resolve(where: str) -> Any:
    """The object at ``module:Qualified.name``, or the module itself."""
    module, _, path = where.partition(":")
    target: Any = importlib.import_module(module)
    for part in path.split(".") if path else ():
        target = getattr(target, part)
    return target


def _set_by(internal: Internal, owner: object, attribute: str) -> str | None:
    method = getattr(owner, str(internal.expected))
    if attribute in method.__code__.co_names:
        return None
    return f"{internal.name} is no longer set by {internal.expected}"


def _takes(internal: Internal, target: object) -> str | None:
    if not callable(target):
        return f"{internal.name} is no longer callable"
    expected = internal.expected
    assert isinstance(expected, tuple)
    found = tuple(inspect.signature(target).parameters)
    if found[:1] == ("self",):
        found = found[1:]
    if found == expected:
        return None
    return f"{internal.name} takes ({', '.join(found)}), not ({', '.join(expected)})"
