from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from server.auth.keys import KeyRing
from server.auth.permissions import Permission, Role
from server.auth.tokens import Claims, TokenService, new_jti, parse_ttl, without_signature
from server.errors import InvalidInput, InvalidToken

ISSUER = "https://plenary.test"
START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
REQUIRED = ["exp", "nbf", "iat", "aud", "iss", "jti", "sub", "name", "role", "rooms"]


class Clock:
    """The wall clock, moved by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ring(tmp_path: Path) -> KeyRing:
    return KeyRing.open(tmp_path / "var")


@pytest.fixture
def service(ring: KeyRing, clock: Clock) -> TokenService:
    return TokenService(ring, ISSUER, clock)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def segment(value: object) -> str:
    return b64url(json.dumps(value).encode())


def unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return (
        json.loads(base64.urlsafe_b64decode(header + "==")),
        json.loads(base64.urlsafe_b64decode(payload + "==")),
    )


def good_payload(clock: Clock) -> dict[str, Any]:
    now = int(clock.now.timestamp())
    return {
        "iss": ISSUER,
        "aud": "plenary",
        "sub": "u_abcdefghijklmnop",
        "name": "Ada Lovelace",
        "role": "speaker",
        "rooms": ["main"],
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "jti": "j" * 22,
    }


def signed(ring: KeyRing, header: object, payload: object) -> str:
    """Signed by hand with the ring's real private key: only what the test chose is wrong."""
    _, key = ring.signing_key()
    signing_input = f"{segment(header)}.{segment(payload)}"
    return f"{signing_input}.{b64url(key.sign(signing_input.encode()))}"


def sign(ring: KeyRing, payload: dict[str, Any], kid: str | None = None) -> str:
    header = {"alg": "EdDSA", "typ": "JWT", "kid": kid or ring.current_kid}
    return signed(ring, header, payload)


def refusal(service: TokenService, token: object) -> str:
    with pytest.raises(InvalidToken) as refused:
        service.verify(token)
    return refused.value.message


# --- issue and verify ---------------------------------------------------------------------


def test_round_trip(service: TokenService) -> None:
    token = service.issue(role=Role.SPEAKER, name="  Ada Lovelace ", rooms=["main", "side"])
    claims = service.verify(token)
    assert claims.role is Role.SPEAKER
    assert claims.name == "Ada Lovelace"
    assert claims.rooms == ("main", "side")
    assert claims.issuer == ISSUER
    assert claims.issued_at == claims.not_before == START
    assert claims.expires_at == START + timedelta(hours=6)


def test_token_carries_exactly_the_contract_claims(service: TokenService, ring: KeyRing) -> None:
    header, payload = unverified(service.issue(role=Role.ATTENDEE, name="Ada"))
    assert header == {"alg": "EdDSA", "kid": ring.current_kid, "typ": "JWT"}
    assert set(payload) == set(REQUIRED)
    assert payload["iss"] == ISSUER
    assert payload["aud"] == "plenary"
    assert payload["role"] == "attendee"
    assert payload["name"] == "Ada"
    assert payload["rooms"] == ["*"]
    for claim in ("iat", "nbf", "exp"):
        assert type(payload[claim]) is int
    assert payload["iat"] == payload["nbf"] == int(START.timestamp())
    assert payload["exp"] == payload["iat"] + 6 * 3600
    assert re.fullmatch(r"u_[a-z2-7]{16}", payload["sub"])
    assert re.fullmatch(r"[A-Za-z0-9_-]{22,}", payload["jti"])


def test_every_token_gets_its_own_jti_and_sub(service: TokenService) -> None:
    payloads = [unverified(service.issue(role=Role.ATTENDEE, name="A"))[1] for _ in range(20)]
    assert len({payload["jti"] for payload in payloads}) == 20
    assert len({payload["sub"] for payload in payloads}) == 20


def test_given_sub_is_kept(service: TokenService) -> None:
    token = service.issue(role=Role.ATTENDEE, name="Ada", sub="reg_42")
    assert service.verify(token).sub == "reg_42"


@pytest.mark.parametrize("sub", ["ada@example.org", "@", "ada@localhost"])
def test_sub_is_never_an_email_address(service: TokenService, ring: KeyRing, sub: str) -> None:
    with pytest.raises(InvalidInput, match="e-mail"):
        service.issue(role=Role.ATTENDEE, name="Ada", sub=sub)
    payload = good_payload(Clock()) | {"sub": sub}
    assert "e-mail" in refusal(service, sign(ring, payload))


def test_ttl_and_expires_at(service: TokenService) -> None:
    by_ttl = service.verify(service.issue(role=Role.ATTENDEE, name="A", ttl=timedelta(minutes=5)))
    assert by_ttl.expires_at == START + timedelta(minutes=5)
    paris = timezone(timedelta(hours=2))
    until = datetime(2026, 5, 4, 18, 0, 30, 999, tzinfo=paris)
    by_date = service.verify(service.issue(role=Role.ATTENDEE, name="A", expires_at=until))
    assert by_date.expires_at == datetime(2026, 5, 4, 16, 0, 30, tzinfo=UTC)


def test_times_are_whole_seconds_rounded_down(service: TokenService, clock: Clock) -> None:
    clock.advance(seconds=0.9)
    claims = service.verify(service.issue(role=Role.ATTENDEE, name="A"))
    assert claims.issued_at == START


def test_issued_token_shape_verified_as_signed_by_hand(
    service: TokenService, ring: KeyRing
) -> None:
    # The helper the forgery tests below start from must itself produce a valid token.
    claims = service.verify(sign(ring, good_payload(Clock())))
    assert claims.sub == "u_abcdefghijklmnop"
    assert claims.rooms == ("main",)


# --- what issue refuses ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["", "   ", "x" * 121, "Ada\nLovelace", "Ada\x00", "\u202eecalevoL", "a\u2028b"]
)
def test_issue_refuses_bad_names(service: TokenService, name: str) -> None:
    with pytest.raises(InvalidInput, match="name"):
        service.issue(role=Role.ATTENDEE, name=name)


@pytest.mark.parametrize("name", ["x" * 120, "Zoë Ñúñez", "李小龍", "Ana 👩‍💻"])
def test_issue_accepts_names_in_any_script(service: TokenService, name: str) -> None:
    assert service.verify(service.issue(role=Role.ATTENDEE, name=name)).name == name


@pytest.mark.parametrize(
    "rooms",
    [
        "main",
        [],
        ["Main"],
        ["-main"],
        ["main\n"],
        ["a" * 64],
        ["*", "main"],
        ["ma in"],
        ["room_1"],
        [f"room-{n}" for n in range(33)],
    ],
)
def test_issue_refuses_bad_rooms(service: TokenService, rooms: list[str]) -> None:
    with pytest.raises(InvalidInput):
        service.issue(role=Role.SPEAKER, name="Ada", rooms=rooms)


def test_issue_accepts_room_ids_at_the_limits(service: TokenService) -> None:
    rooms = ["a" * 63, "0", "main", "main"]
    claims = service.verify(service.issue(role=Role.SPEAKER, name="Ada", rooms=rooms))
    assert claims.rooms == ("a" * 63, "0", "main")


def test_issue_never_returns_a_token_verify_refuses(service: TokenService) -> None:
    rooms = [f"{n:02d}-" + "r" * 60 for n in range(32)]
    try:
        token = service.issue(role=Role.SPEAKER, name="𝔄" * 120, rooms=rooms)
    except InvalidInput as refused:
        assert "too long" in refused.message
    else:
        assert service.verify(token).rooms == tuple(rooms)


@pytest.mark.parametrize(
    "lifetime",
    [
        {"ttl": timedelta(0)},
        {"ttl": timedelta(seconds=-5)},
        {"ttl": timedelta(milliseconds=500)},
        {"ttl": timedelta(days=401)},
        {"expires_at": START - timedelta(seconds=1)},
        {"expires_at": START},
        {"expires_at": datetime(2026, 5, 4, 18, 0)},  # naive
        {"ttl": timedelta(hours=1), "expires_at": START + timedelta(hours=1)},
    ],
)
def test_issue_refuses_bad_lifetimes(service: TokenService, lifetime: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        service.issue(role=Role.ATTENDEE, name="Ada", **lifetime)


def test_issue_accepts_the_longest_lifetime(service: TokenService) -> None:
    token = service.issue(role=Role.ORGANIZER, name="Ada", ttl=timedelta(days=400))
    assert service.verify(token).expires_at == START + timedelta(days=400)


# --- forgeries -------------------------------------------------------------------------------


def test_unsigned_alg_none_is_refused(service: TokenService, ring: KeyRing) -> None:
    payload = segment(good_payload(Clock()))
    for alg in ("none", "None", "NONE"):
        header = segment({"alg": alg, "typ": "JWT", "kid": ring.current_kid})
        assert refusal(service, f"{header}.{payload}.") == "algorithm must be EdDSA"
    no_alg = segment({"typ": "JWT", "kid": ring.current_kid})
    assert refusal(service, f"{no_alg}.{payload}.") == "algorithm must be EdDSA"


def test_hs256_keyed_with_the_public_key_is_refused(service: TokenService, ring: KeyRing) -> None:
    kid, private = ring.signing_key()
    public = private.public_key()
    secrets = [
        public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        ring.jwks()["keys"][0]["x"].encode(),
    ]
    signing_input = f"{segment({'alg': 'HS256', 'kid': kid})}.{segment(good_payload(Clock()))}"
    for secret in secrets:
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        assert refusal(service, f"{signing_input}.{b64url(mac)}") == "algorithm must be EdDSA"


@pytest.mark.parametrize("alg", ["Ed25519", "eddsa", "EdDSA ", "ES256", "RS256", ["EdDSA"]])
def test_any_alg_but_exactly_eddsa_is_refused(
    service: TokenService, ring: KeyRing, alg: object
) -> None:
    # Even correctly signed by our key: the header must say exactly EdDSA.
    token = signed(ring, {"alg": alg, "kid": ring.current_kid}, good_payload(Clock()))
    assert refusal(service, token) == "algorithm must be EdDSA"


def test_tampered_payload_with_the_original_signature_is_refused(
    service: TokenService,
) -> None:
    token = service.issue(role=Role.ATTENDEE, name="Eve", rooms=["main"])
    header, _, signature = token.split(".")
    claims = unverified(token)[1]
    for change in ({"role": "organizer"}, {"rooms": ["*"]}, {"exp": claims["exp"] + 86400}):
        forged = f"{header}.{segment(claims | change)}.{signature}"
        assert refusal(service, forged) == "bad signature"


def test_corrupted_signature_is_refused(service: TokenService) -> None:
    token = service.issue(role=Role.ATTENDEE, name="Eve")
    head, _, signature = token.rpartition(".")
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
    assert refusal(service, f"{head}.{flipped}") == "bad signature"
    assert refusal(service, f"{head}.") == "bad signature"
    assert refusal(service, f"{head}.{signature[:-4]}") in {"bad signature", "malformed token"}


def test_another_servers_key_is_refused(
    service: TokenService, ring: KeyRing, tmp_path: Path
) -> None:
    other = KeyRing.open(tmp_path / "other-server")
    other_service = TokenService(other, ISSUER, Clock())
    # Its own kid: unknown here.
    token = other_service.issue(role=Role.ORGANIZER, name="Mallory")
    assert refusal(service, token) == "unknown signing key"
    # Our kid forged into the header: the signature does not match our key.
    assert refusal(service, sign(other, good_payload(Clock()), kid=ring.current_kid)) == (
        "bad signature"
    )


def test_kid_of_another_key_in_our_ring_is_refused(service: TokenService, ring: KeyRing) -> None:
    old = ring.current_kid
    ring.rotate()
    assert refusal(service, sign(ring, good_payload(Clock()), kid=old)) == "bad signature"


@pytest.mark.parametrize("kid", [None, "", 7, ["x"]])
def test_missing_or_malformed_kid_is_refused(
    service: TokenService, ring: KeyRing, kid: object
) -> None:
    header: dict[str, object] = {"alg": "EdDSA", "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    refusal(service, signed(ring, header, good_payload(Clock())))


# --- time --------------------------------------------------------------------------------


def test_expired_token_is_refused(service: TokenService, clock: Clock) -> None:
    token = service.issue(role=Role.ATTENDEE, name="Ada", ttl=timedelta(hours=1))
    clock.advance(minutes=59, seconds=59)
    assert service.verify(token).name == "Ada"
    clock.advance(seconds=1)
    assert refusal(service, token) == "token expired"


def test_not_yet_valid_token_is_refused(service: TokenService, ring: KeyRing) -> None:
    clock = Clock()
    now = int(clock.now.timestamp())
    early = good_payload(clock) | {"nbf": now + 31}
    assert refusal(service, sign(ring, early)) == "token not yet valid"
    within_leeway = good_payload(clock) | {"nbf": now + 30}
    assert service.verify(sign(ring, within_leeway)).not_before == START + timedelta(seconds=30)


def test_token_issued_in_the_future_is_refused(service: TokenService, ring: KeyRing) -> None:
    clock = Clock()
    now = int(clock.now.timestamp())
    future = good_payload(clock) | {"iat": now + 120}
    assert refusal(service, sign(ring, future)) == "token issued in the future"


def test_token_from_a_clock_slightly_ahead_is_accepted(ring: KeyRing, clock: Clock) -> None:
    ahead = Clock()
    ahead.advance(seconds=20)
    token = TokenService(ring, ISSUER, ahead).issue(role=Role.ATTENDEE, name="Ada")
    assert TokenService(ring, ISSUER, clock).verify(token).name == "Ada"


def test_verify_reads_the_clock_each_time(service: TokenService, clock: Clock) -> None:
    token = service.issue(role=Role.ATTENDEE, name="Ada", ttl=parse_ttl("90s"))
    clock.advance(seconds=89)
    service.verify(token)
    clock.advance(days=3)
    assert refusal(service, token) == "token expired"


# --- audience, issuer, claims ------------------------------------------------------------


@pytest.mark.parametrize("aud", ["other", "plenary2", "", ["plenary"], ["plenary", "other"], 5])
def test_wrong_audience_is_refused(service: TokenService, ring: KeyRing, aud: object) -> None:
    token = sign(ring, good_payload(Clock()) | {"aud": aud})
    assert refusal(service, token) in {"wrong audience", "missing claim aud"}


@pytest.mark.parametrize("iss", ["https://evil.test", ISSUER + "/", ISSUER[:-1], 5, [ISSUER]])
def test_wrong_issuer_is_refused(service: TokenService, ring: KeyRing, iss: object) -> None:
    assert refusal(service, sign(ring, good_payload(Clock()) | {"iss": iss})) == "wrong issuer"


def test_token_of_another_issuer_with_the_same_keys_is_refused(ring: KeyRing, clock: Clock) -> None:
    token = TokenService(ring, "https://other.test", clock).issue(role=Role.ATTENDEE, name="A")
    assert refusal(TokenService(ring, ISSUER, clock), token) == "wrong issuer"


@pytest.mark.parametrize("claim", REQUIRED)
def test_each_missing_claim_is_refused(service: TokenService, ring: KeyRing, claim: str) -> None:
    payload = good_payload(Clock())
    del payload[claim]
    assert refusal(service, sign(ring, payload)) == f"missing claim {claim}"
    assert refusal(service, sign(ring, payload | {claim: None})) == f"missing claim {claim}"


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("exp", "9999999999"),
        ("exp", 1.9e9),
        ("exp", 10**30),
        ("iat", True),
        ("nbf", [1]),
        ("rooms", "main"),
        ("rooms", "*"),
        ("rooms", {"main": True}),
        ("rooms", [1]),
        ("rooms", []),
        ("rooms", ["*", "main"]),
        ("rooms", ["Main"]),
        ("rooms", ["../etc"]),
        ("role", "admin"),
        ("role", "Organizer"),
        ("role", 1),
        ("name", ["Ada"]),
        ("name", ""),
        ("name", "Ada\r\nrole: organizer"),
        ("name", "x" * 121),
        ("sub", 12),
        ("sub", ""),
        ("sub", "has space"),
        ("jti", 5),
        ("jti", "short"),
        ("jti", "j" * 21),
    ],
)
def test_malformed_claims_are_refused(
    service: TokenService, ring: KeyRing, claim: str, value: object
) -> None:
    refusal(service, sign(ring, good_payload(Clock()) | {claim: value}))


def test_unknown_role_reason(service: TokenService, ring: KeyRing) -> None:
    assert refusal(service, sign(ring, good_payload(Clock()) | {"role": "root"})) == (
        "unknown role"
    )


def test_payload_that_is_not_an_object_is_refused(service: TokenService, ring: KeyRing) -> None:
    header = {"alg": "EdDSA", "kid": ring.current_kid}
    for payload in ([1, 2], "text", 5, None):
        assert refusal(service, signed(ring, header, payload)) == "malformed token"


def test_signed_header_with_unknown_critical_extension_is_refused(
    service: TokenService, ring: KeyRing
) -> None:
    header = {"alg": "EdDSA", "kid": ring.current_kid, "crit": ["exp"], "exp": 1}
    assert refusal(service, signed(ring, header, good_payload(Clock()))) == "malformed token"


# --- garbage ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        None,
        42,
        b"a.b.c",
        {"token": "a.b.c"},
        "",
        "Bearer",
        "a.b",
        "a.b.c",
        "a.b.c.d",
        "..",
        "!!!.!!!.!!!",
        "é.é.é",
        "\ud800.a.b",
        "eyJhbGciOiJFZERTQSJ9.e30.@@@",
        f"{segment([1])}.{segment({})}.AAAA",
        f"{segment('x')}.{segment({})}.AAAA",
        f"{b64url(b'not json')}.{segment({})}.AAAA",
    ],
)
def test_garbage_is_refused(service: TokenService, token: object) -> None:
    refusal(service, token)


def test_oversize_token_is_refused_before_parsing(service: TokenService) -> None:
    assert refusal(service, "a" * 5000) == "token too long"


def test_size_limit_is_4096_characters(service: TokenService, ring: KeyRing) -> None:
    # Signed by the real key, with an extra claim as padding: only the length can be wrong.
    pad = 2500
    while len(sign(ring, good_payload(Clock()) | {"pad": "x" * (pad + 1)})) <= 4096:
        pad += 1
    largest_accepted = sign(ring, good_payload(Clock()) | {"pad": "x" * pad})
    refused = sign(ring, good_payload(Clock()) | {"pad": "x" * (pad + 1)})
    assert len(largest_accepted) <= 4096 < len(refused)
    assert service.verify(largest_accepted).name == "Ada Lovelace"
    assert refusal(service, refused) == "token too long"


# --- rotation ------------------------------------------------------------------------------


def test_rotation_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key(
    service: TokenService, ring: KeyRing
) -> None:
    old_kid = ring.current_kid
    old_token = service.issue(role=Role.ATTENDEE, name="Ada")
    new_kid = ring.rotate()
    new_token = service.issue(role=Role.ATTENDEE, name="Bob")
    assert unverified(old_token)[0]["kid"] == old_kid
    assert unverified(new_token)[0]["kid"] == new_kid != old_kid
    assert service.verify(old_token).name == "Ada"
    assert service.verify(new_token).name == "Bob"


def test_rotation_by_another_process_verifies_without_restart(tmp_path: Path, clock: Clock) -> None:
    server_ring = KeyRing.open(tmp_path / "var")
    server = TokenService(server_ring, ISSUER, clock)
    cli_ring = KeyRing.open(tmp_path / "var")  # as `plenary keys rotate` would open it
    new_kid = cli_ring.rotate()
    token = TokenService(cli_ring, ISSUER, clock).issue(role=Role.ATTENDEE, name="Ada")
    assert unverified(token)[0]["kid"] == new_kid
    assert server.verify(token).name == "Ada"  # verify() refreshed the ring on the unknown kid
    assert server_ring.current_kid == new_kid
    assert unverified(server.issue(role=Role.ATTENDEE, name="Bob"))[0]["kid"] == new_kid


# --- signing a recorded token again --------------------------------------------------------


def test_sign_again_gives_the_very_same_token(
    service: TokenService, ring: KeyRing, clock: Clock, tmp_path: Path
) -> None:
    token = service.issue(role=Role.ATTENDEE, name="Ada", sub="a_0001")
    unsigned = without_signature(token)
    assert token.startswith(unsigned + ".") and unsigned.count(".") == 1
    ring.rotate()  # signed again with the key that signed it, not the current one
    assert service.sign_again(unsigned) == token
    reopened = TokenService(KeyRing.open(tmp_path / "var"), ISSUER, clock)
    assert reopened.sign_again(unsigned) == token  # a restarted server too


def test_sign_again_refuses_what_verify_refuses(ring: KeyRing, clock: Clock) -> None:
    revoked: set[str] = set()
    service = TokenService(ring, ISSUER, clock, is_revoked=revoked.__contains__)
    token = service.issue(role=Role.ATTENDEE, name="Ada", ttl=timedelta(hours=1))
    unsigned = without_signature(token)
    revoked.add(service.verify(token).jti)
    with pytest.raises(InvalidToken, match="revoked"):
        service.sign_again(unsigned)
    revoked.clear()
    clock.advance(hours=2)
    with pytest.raises(InvalidToken, match="expired"):
        service.sign_again(unsigned)


def test_sign_again_refuses_a_forged_header_or_an_unknown_key(service: TokenService) -> None:
    token = service.issue(role=Role.ATTENDEE, name="Ada")
    header, payload = without_signature(token).split(".")
    forged = {"alg": "EdDSA", "typ": "JWT", "kid": "k" * 16}
    with pytest.raises(InvalidToken, match="key is gone"):
        service.sign_again(f"{segment(forged)}.{payload}")
    with pytest.raises(InvalidToken, match="EdDSA"):
        service.sign_again(f"{segment({**forged, 'alg': 'HS256'})}.{payload}")
    for bad in (token, header, "é.x", ""):
        with pytest.raises(InvalidToken):
            service.sign_again(bad)


# --- revocation hook and claims ------------------------------------------------------------


def test_revoked_jti_is_refused(ring: KeyRing, clock: Clock) -> None:
    revoked: set[str] = set()
    asked: list[str] = []

    def is_revoked(jti: str) -> bool:
        asked.append(jti)
        return jti in revoked

    service = TokenService(ring, ISSUER, clock, is_revoked=is_revoked)
    token = service.issue(role=Role.ATTENDEE, name="Ada")
    jti = service.verify(token).jti
    assert asked == [jti]
    revoked.add(jti)
    assert refusal(service, token) == "token revoked"
    other = service.issue(role=Role.ATTENDEE, name="Bob")
    assert service.verify(other).name == "Bob"


def test_claims_rooms_and_permissions(service: TokenService) -> None:
    everywhere = service.verify(service.issue(role=Role.ATTENDEE, name="Ada"))
    assert everywhere.allows_room("main")
    assert everywhere.allows_room("side-hall")
    speaker = service.verify(service.issue(role=Role.SPEAKER, name="Bo", rooms=["main"]))
    assert speaker.allows_room("main")
    assert not speaker.allows_room("side-hall")
    assert not speaker.allows_room("*")
    assert speaker.can(Permission.PUBLISH)
    assert not speaker.can(Permission.CONTROL_ROOMS)
    assert not everywhere.can(Permission.PUBLISH)


def test_claims_validate_themselves() -> None:
    good: dict[str, Any] = {
        "sub": "u_x",
        "name": "Ada",
        "role": Role.ATTENDEE,
        "rooms": ("main",),
        "jti": "j" * 22,
        "issued_at": START,
        "not_before": START,
        "expires_at": START + timedelta(hours=1),
        "issuer": ISSUER,
    }
    assert Claims(**good).name == "Ada"
    for change in (
        {"sub": "a@b"},
        {"rooms": ("Main",)},
        {"rooms": ["main"]},
        {"expires_at": START},
        {"issuer": ""},
    ):
        with pytest.raises(ValueError):
            Claims(**(good | change))


# --- parse_ttl -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("6h", timedelta(hours=6)),
        ("2d", timedelta(days=2)),
        ("400d", timedelta(days=400)),
        (" 1h ", timedelta(hours=1)),
    ],
)
def test_parse_ttl(text: str, expected: timedelta) -> None:
    assert parse_ttl(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "6", "h", "6x", "6H", "1h30m", "-1h", "0s", "0d", "401d", "1.5h", "9999999d", "٣h"],
)
def test_parse_ttl_refuses(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_ttl(text)


def test_a_token_id_never_starts_with_a_dash() -> None:
    """`plenary token revoke JTI` takes it as it is: one in 64 random ids would otherwise read
    as an option."""
    ids = [new_jti() for _ in range(2000)]
    assert not any(jti.startswith("-") for jti in ids) and len(set(ids)) == 2000
