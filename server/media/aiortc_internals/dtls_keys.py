"""The SRTP keys of a DTLS connection, exported again for the C loop's own AES-GCM."""

from __future__ import annotations

from aiortc import RTCDtlsTransport

from server.media.srtp_keys import (
    GCM_PROFILES,
    SessionKeys,
    rtp_session_keys,
    split_keying_material,
)


def gcm_keys(transport: RTCDtlsTransport) -> SessionKeys | None:
    """The RTP session keys this end of a DTLS connection sends with, when its SRTP profile
    is AES-GCM: exported again from the DTLS session as aiortc does (``_setup_srtp``)."""
    ssl = transport._ssl
    if ssl is None:
        return None
    try:
        profile = ssl.get_selected_srtp_profile()
        if profile not in GCM_PROFILES:
            return None
        key_bytes, salt_bytes = GCM_PROFILES[profile]
        material = ssl.export_keying_material(b"EXTRACTOR-dtls_srtp", 2 * (key_bytes + salt_bytes))
    except Exception:  # no DTLS session (closed, or never up): libsrtp it is
        return None
    key, salt = split_keying_material(material, profile, transport._role == "server")
    return rtp_session_keys(key, salt)
