from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.auth.keys import KeyRing, KeyRingError, key_id


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_open_creates_a_private_folder_and_a_first_key(tmp_path: Path) -> None:
    ring = KeyRing.open(tmp_path / "var")
    folder = tmp_path / "var" / "keys"
    assert mode(folder) == 0o700
    key_file = folder / f"{ring.current_kid}.pem"
    assert key_file.is_file()
    assert mode(key_file) == 0o600
    assert (folder / "current").read_text().strip() == ring.current_kid
    assert mode(folder / "current") == 0o600
    assert b"PRIVATE KEY" in key_file.read_bytes()


def test_kid_is_the_rfc7638_thumbprint(tmp_path: Path) -> None:
    ring = KeyRing.open(tmp_path)
    kid, key = ring.signing_key()
    # Computed here from RFC 7638 §3 directly, independently of the module.
    members = f'{{"crv":"Ed25519","kty":"OKP","x":"{b64url(raw_public(key))}"}}'
    assert kid == b64url(hashlib.sha256(members.encode()).digest())[:16]
    assert kid == key_id(key.public_key())


def test_reopening_keeps_the_same_key(tmp_path: Path) -> None:
    first = KeyRing.open(tmp_path)
    second = KeyRing.open(tmp_path)
    assert second.current_kid == first.current_kid
    assert len(list((tmp_path / "keys").glob("*.pem"))) == 1


def test_signing_key_matches_public_key(tmp_path: Path) -> None:
    ring = KeyRing.open(tmp_path)
    kid, private = ring.signing_key()
    public = ring.public_key(kid)
    assert public is not None
    public.verify(private.sign(b"hello"), b"hello")  # raises if the pair does not match
    assert ring.public_key("no-such-kid") is None


def test_jwks_lists_public_keys_only(tmp_path: Path) -> None:
    ring = KeyRing.open(tmp_path)
    old = ring.current_kid
    new = ring.rotate()
    jwks = ring.jwks()
    assert [jwk["kid"] for jwk in jwks["keys"]] == [new, old]
    for jwk in jwks["keys"]:
        assert set(jwk) == {"kty", "crv", "x", "kid", "alg", "use"}
        assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == (
            "OKP",
            "Ed25519",
            "EdDSA",
            "sig",
        )
        public = ring.public_key(jwk["kid"])
        assert public is not None
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        assert jwk["x"] == b64url(raw)
        assert len(base64.urlsafe_b64decode(jwk["x"] + "=")) == 32
    assert "PRIVATE" not in json.dumps(jwks)


def test_rotate_makes_a_new_current_key_and_keeps_the_old(tmp_path: Path) -> None:
    ring = KeyRing.open(tmp_path)
    old = ring.current_kid
    new = ring.rotate()
    assert new != old
    assert ring.current_kid == new
    assert ring.signing_key()[0] == new
    assert ring.public_key(old) is not None
    assert mode(tmp_path / "keys" / f"{new}.pem") == 0o600
    assert KeyRing.open(tmp_path).current_kid == new


def test_rotation_leaves_no_temporary_files(tmp_path: Path) -> None:
    ring = KeyRing.open(tmp_path)
    kids = {ring.current_kid, ring.rotate(), ring.rotate()}
    names = {path.name for path in (tmp_path / "keys").iterdir()}
    assert names == {f"{kid}.pem" for kid in kids} | {"current", ".lock"}


def test_another_process_rotation_is_picked_up_by_refresh(tmp_path: Path) -> None:
    server = KeyRing.open(tmp_path)
    cli = KeyRing.open(tmp_path)
    old = server.current_kid
    new = cli.rotate()
    assert server.public_key(new) is None  # not seen yet: no re-read without refresh()
    server.refresh()
    assert server.current_kid == new
    assert server.public_key(new) is not None
    assert server.public_key(old) is not None


def test_refresh_without_changes_keeps_everything(tmp_path: Path) -> None:
    ring = KeyRing.open(tmp_path)
    before = ring.jwks()
    ring.refresh()
    assert ring.jwks() == before


def test_corrupt_key_file_names_the_file(tmp_path: Path) -> None:
    ring = KeyRing.open(tmp_path)
    key_file = tmp_path / "keys" / f"{ring.current_kid}.pem"
    key_file.write_text("-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n")
    with pytest.raises(KeyRingError, match=str(key_file)):
        KeyRing.open(tmp_path)


def test_corrupt_key_written_by_another_process_fails_refresh_but_keeps_keys(
    tmp_path: Path,
) -> None:
    ring = KeyRing.open(tmp_path)
    kid = ring.current_kid
    broken = tmp_path / "keys" / "zzzz.pem"
    broken.write_bytes(b"\x00\x01not a key")
    with pytest.raises(KeyRingError, match=r"zzzz\.pem"):
        ring.refresh()
    assert ring.current_kid == kid
    assert ring.public_key(kid) is not None


def test_non_ed25519_key_is_refused_by_name(tmp_path: Path) -> None:
    KeyRing.open(tmp_path)
    ec_pem = generate_private_key(SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (tmp_path / "keys" / "ec.pem").write_bytes(ec_pem)
    with pytest.raises(KeyRingError, match=r"ec\.pem.*not an Ed25519 key"):
        KeyRing.open(tmp_path)


def test_unreadable_key_file_names_the_file(tmp_path: Path) -> None:
    KeyRing.open(tmp_path)
    (tmp_path / "keys" / "folder.pem").mkdir()  # reading it fails even for root
    with pytest.raises(KeyRingError, match=r"cannot read signing key .*folder\.pem"):
        KeyRing.open(tmp_path)


def test_current_naming_a_missing_key_is_refused(tmp_path: Path) -> None:
    KeyRing.open(tmp_path)
    (tmp_path / "keys" / "current").write_text("nosuchkey\n")
    with pytest.raises(KeyRingError, match=r"current.*nosuchkey"):
        KeyRing.open(tmp_path)


def test_missing_current_falls_back_to_the_newest_key(tmp_path: Path) -> None:
    ring = KeyRing.open(tmp_path)
    oldest = ring.current_kid
    newest = ring.rotate()
    # Fix the mtimes: two writes within one clock tick would otherwise tie.
    os.utime(tmp_path / "keys" / f"{oldest}.pem", (1_000_000, 1_000_000))
    os.utime(tmp_path / "keys" / f"{newest}.pem", (2_000_000, 2_000_000))
    (tmp_path / "keys" / "current").unlink()
    assert KeyRing.open(tmp_path).current_kid == newest
    assert (tmp_path / "keys" / "current").read_text().strip() == newest


def test_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "var").write_text("not a folder")
    with pytest.raises(KeyRingError, match="var"):
        KeyRing.open(tmp_path / "var")
