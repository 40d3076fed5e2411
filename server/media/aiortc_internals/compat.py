"""The aiortc, aioice and pylibsrtp internals the relay reaches into, and the check that
they are all still there."""

from __future__ import annotations

from aioice import Connection
from aiortc import RTCDtlsTransport, RTCRtpReceiver, RTCRtpSender
from pylibsrtp import Session
from pylibsrtp._binding import lib

from server.media.aiortc_internals.srtp import protect_address

RECEIVER_MANGLED = "_RTCRtpReceiver__"
SENDER_MANGLED = "_RTCRtpSender__"
RECEIVER_ATTRIBUTES = ("codecs", "rtx_ssrc", "jitter_buffer", "stop_decoder")
SENDER_ATTRIBUTES = (
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
)


class AiortcChanged(RuntimeError):
    """The aiortc installed is not the one this relay was written against."""


def check_compatible() -> None:
    """Raise ``AiortcChanged`` naming whatever this module relies on that is gone."""
    missing = []
    receiver_methods = ("_handle_rtp_packet", "receive", "_send_rtcp_pli")
    sender_methods = (
        "_run_rtp",
        "_run_rtcp",
        "_send_rtcp",
        "_send_keyframe",
        "_retransmit",
        "send",
    )
    missing += [
        f"RTCRtpReceiver.{name}" for name in receiver_methods if not hasattr(RTCRtpReceiver, name)
    ]
    missing += [
        f"RTCRtpSender.{name}" for name in sender_methods if not hasattr(RTCRtpSender, name)
    ]
    source_receiver = RTCRtpReceiver.__init__.__code__.co_names
    source_sender = RTCRtpSender.__init__.__code__.co_names
    missing += [
        f"RTCRtpReceiver.__{name}"
        for name in RECEIVER_ATTRIBUTES
        if RECEIVER_MANGLED + name not in source_receiver + _method_names(RTCRtpReceiver)
    ]
    missing += [
        f"RTCRtpSender.__{name}"
        for name in SENDER_ATTRIBUTES
        if SENDER_MANGLED + name not in source_sender
    ]
    dtls_names = RTCDtlsTransport._setup_srtp.__code__.co_names
    missing += [
        f"RTCDtlsTransport {name}"
        for name in ("_ssl", "_role", "export_keying_material", "get_selected_srtp_profile")
        if name not in dtls_names
    ]
    missing += [
        f"aioice.Connection.{name}"
        for name in ("_nominated", "_queue")
        if name not in Connection.__init__.__code__.co_names
    ]
    missing += [
        f"pylibsrtp.Session.{name}"
        for name in ("_cdata", "_buffer", "_srtp")
        if name not in Session.__init__.__code__.co_names
    ]
    if not hasattr(lib, "srtp_protect"):
        missing.append("pylibsrtp lib.srtp_protect")
    elif protect_address() == 0:
        missing.append("the address of pylibsrtp's srtp_protect")
    if missing:
        raise AiortcChanged("aiortc changed; the relay needs: " + ", ".join(missing))


def _method_names(cls: type) -> tuple[str, ...]:
    return tuple(name for name in vars(cls) if callable(getattr(cls, name)))
