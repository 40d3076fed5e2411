"""The Ed25519 keys that sign access tokens, kept as PEM files under ``<data>/keys/``.

The folder is shared by the running server and ``plenary keys rotate``: every write is atomic
(a temp file renamed into place), writers take a lock, and the server notices another
process's rotation through ``refresh()``. Old keys stay, so the tokens they signed keep
verifying until they expire.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEYS_FOLDER = "keys"
CURRENT_FILE = "current"
LOCK_FILE = ".lock"
KID_LENGTH = 16

# What refresh() compares: folder mtime (a key was added) and the `current` file's identity.
_Stamp = tuple[int, int, int]


class KeyRingError(Exception):
    """The key folder cannot be used as it is; the message names the file at fault."""


def key_id(public_key: Ed25519PublicKey) -> str:
    """The RFC 7638 JWK thumbprint, shortened: derived from the key alone, so it is stable."""
    members = {"crv": "Ed25519", "kty": "OKP", "x": _b64url(_raw(public_key))}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())[:KID_LENGTH]


class KeyRing:
    """Every signing key in one folder, and which of them signs new tokens."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._private: dict[str, Ed25519PrivateKey] = {}
        self._public: dict[str, Ed25519PublicKey] = {}
        self._current = ""
        self._stamp: _Stamp | None = None

    @classmethod
    def open(cls, data_dir: Path) -> KeyRing:
        folder = data_dir / KEYS_FOLDER
        if not folder.is_dir():
            try:
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as error:
                raise KeyRingError(f"cannot create key folder {folder}: {error}") from None
            folder.chmod(0o700)  # mkdir's mode is narrowed by the umask, never widened
        ring = cls(folder)
        with ring._locked():
            ring._ensure_current()
        ring._reload()
        return ring

    @property
    def current_kid(self) -> str:
        return self._current

    def signing_key(self) -> tuple[str, Ed25519PrivateKey]:
        return self._current, self._private[self._current]

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        return self._public.get(kid)

    def private_key(self, kid: str) -> Ed25519PrivateKey | None:
        """Any key of the ring, current or not: to sign a recorded token again."""
        return self._private.get(kid)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        # The current key first: clients that try keys in order find it at once.
        kids = sorted(self._public, key=lambda kid: (kid != self._current, kid))
        return {"keys": [self._jwk(kid) for kid in kids]}

    def rotate(self) -> str:
        """Make a new key current; the old ones stay to verify what they already signed."""
        with self._locked():
            kid = self._add_key()
        self._reload()
        return kid

    def refresh(self) -> None:
        """Re-read the folder if another process changed it; two stat calls otherwise."""
        if self._read_stamp() != self._stamp:
            self._reload()

    def _jwk(self, kid: str) -> dict[str, str]:
        x = _b64url(_raw(self._public[kid]))
        return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"}

    def _ensure_current(self) -> None:
        pem_files = sorted(self._folder.glob("*.pem"), key=lambda path: path.stat().st_mtime_ns)
        if not pem_files:
            self._add_key()
        elif not (self._folder / CURRENT_FILE).exists():
            # A crash between writing a key and naming it current: the newest key wins.
            newest = _load_key(pem_files[-1])
            _write_atomically(self._folder / CURRENT_FILE, key_id(newest.public_key()))

    def _add_key(self) -> str:
        key = Ed25519PrivateKey.generate()
        kid = key_id(key.public_key())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # The key file first: whoever reads the new `current` must find its key.
        _write_atomically(self._folder / f"{kid}.pem", pem.decode("ascii"))
        _write_atomically(self._folder / CURRENT_FILE, kid)
        return kid

    def _reload(self) -> None:
        # Stamp before reading: a change made while we read is seen by the next refresh().
        stamp = self._read_stamp()
        private = {}
        for path in sorted(self._folder.glob("*.pem")):
            key = _load_key(path)
            private[key_id(key.public_key())] = key
        current = self._read_current(private)
        # Swap only once everything loaded: a failed reload leaves the working keys in place.
        self._private = private
        self._public = {kid: key.public_key() for kid, key in private.items()}
        self._current = current
        self._stamp = stamp

    def _read_current(self, keys: dict[str, Ed25519PrivateKey]) -> str:
        path = self._folder / CURRENT_FILE
        try:
            kid = path.read_text("ascii").strip()
        except (OSError, ValueError) as error:
            raise KeyRingError(f"cannot read {path}: {error}") from None
        if kid not in keys:
            raise KeyRingError(f"{path} names key {kid[:32]!r}, which is not in {self._folder}")
        return kid

    def _read_stamp(self) -> _Stamp:
        try:
            folder_mtime = self._folder.stat().st_mtime_ns
        except OSError as error:
            raise KeyRingError(f"cannot read key folder {self._folder}: {error}") from None
        try:
            current = (self._folder / CURRENT_FILE).stat()
        except FileNotFoundError:
            return folder_mtime, 0, 0
        # os.replace gives `current` a new inode, caught even when mtimes are coarse.
        return folder_mtime, current.st_ino, current.st_mtime_ns

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        # Serialises writers (server start-up, the CLI) so two never create a first key at once.
        path = self._folder / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise KeyRingError(f"cannot open {path}: {error.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


def _load_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as error:
        raise KeyRingError(f"cannot read signing key {path}: {error.strerror}") from None
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise KeyRingError(f"signing key {path} is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyRingError(f"signing key {path} is not an Ed25519 key")
    return key


def _write_atomically(path: Path, text: str) -> None:
    # Readers in other processes see the old file or the whole new one, never a half.
    # mkstemp creates the file readable and writable by its owner only (0600).
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as temp:
            temp.write(text)
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable, so a power cut cannot lose a key already named current.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
