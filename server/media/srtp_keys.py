"""SRTP session keys for the C loop's own AES-GCM (``GcmSender`` in ``_srtp.c``).

DTLS-SRTP (RFC 5764) gives each side of a connection a master key and a master salt. SRTP
derives the keys it encrypts with from them (RFC 3711 section 4.3, with RFC 7714 section 11
for AES-GCM): AES in counter mode over the master salt, with a label saying which key. With a
key derivation rate of zero, as in WebRTC, they are derived once per connection. libsrtp does
this for aiortc's sessions; the relay's C loop encrypts a viewer's media itself, so it needs the
same keys, and the tests check them byte for byte against libsrtp.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

LABEL_RTP_ENCRYPTION = 0x00
LABEL_RTP_SALT = 0x02
SESSION_SALT_BYTES = 12

# The DTLS-SRTP profiles (as OpenSSL names them) that the C loop encrypts itself, and the
# lengths of their master key and salt. Any other profile stays with libsrtp.
GCM_PROFILES = {
    b"SRTP_AEAD_AES_128_GCM": (16, 12),
    b"SRTP_AEAD_AES_256_GCM": (32, 12),
}


@dataclass(frozen=True)
class SessionKeys:
    """The key and salt one side encrypts its RTP with."""

    key: bytes
    salt: bytes

    def __post_init__(self) -> None:
        if len(self.key) not in (16, 32) or len(self.salt) != SESSION_SALT_BYTES:
            raise ValueError("an AES-GCM session key is 16 or 32 bytes and its salt 12")

    def __repr__(self) -> str:
        return "SessionKeys(...)"  # never in a log


def rtp_session_keys(master_key: bytes, master_salt: bytes) -> SessionKeys:
    """The RTP encryption key and salt derived from one side's master key and salt."""
    if len(master_key) not in (16, 32) or len(master_salt) != SESSION_SALT_BYTES:
        raise ValueError("an AES-GCM master key is 16 or 32 bytes and its salt 12")
    return SessionKeys(
        key=_derive(master_key, master_salt, LABEL_RTP_ENCRYPTION, len(master_key)),
        salt=_derive(master_key, master_salt, LABEL_RTP_SALT, SESSION_SALT_BYTES),
    )


def _derive(master_key: bytes, master_salt: bytes, label: int, length: int) -> bytes:
    """The AES-CM pseudo-random function: the 96-bit salt is padded to the 112 bits of RFC
    3711's, the label sits in its eighth byte, and the counter takes the last two."""
    block = bytearray(master_salt.ljust(14, b"\0") + b"\0\0")
    block[7] ^= label
    encryptor = Cipher(algorithms.AES(master_key), modes.CTR(bytes(block))).encryptor()
    return encryptor.update(bytes(length)) + encryptor.finalize()


def split_keying_material(
    material: bytes, profile: bytes, sending_as_server: bool
) -> tuple[bytes, bytes]:
    """One side's master key and salt from the exported DTLS-SRTP keying material (RFC 5764
    section 4.2: client key, server key, client salt, server salt)."""
    key_bytes, salt_bytes = GCM_PROFILES[profile]
    if len(material) != 2 * (key_bytes + salt_bytes):
        raise ValueError("keying material of the wrong length for " + profile.decode())
    side = 1 if sending_as_server else 0
    key = material[side * key_bytes : (side + 1) * key_bytes]
    salts = material[2 * key_bytes :]
    return key, salts[side * salt_bytes : (side + 1) * salt_bytes]
