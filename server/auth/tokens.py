"""Access tokens: EdDSA-signed JWTs saying who someone is, their role and their rooms.

``TokenService.issue`` signs with the key ring's current key. ``verify`` returns the claims
only when everything about a token is right and raises ``InvalidToken`` with a short reason
otherwise. Time comes from an injected wall clock, so tests reach expiry without sleeping.
"""

from __future__ import annotations

import base64
import re
import secrets
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from jwt.types import Options

from server.auth.keys import KeyRing
from server.auth.permissions import Permission, Role, allows, parse_role
from server.errors import Forbidden, InvalidInput, InvalidToken

AUDIENCE = "plenary"
ALGORITHM = "EdDSA"
ALL_ROOMS = "*"
MAX_TOKEN_LENGTH = 4096
MAX_NAME_LENGTH = 120
MAX_ROOMS = 32
MAX_TTL = timedelta(days=400)
DEFAULT_TTL = timedelta(hours=6)
# Tolerates clocks a little apart: the CLI that issued a token may run ahead of the server.
CLOCK_LEEWAY = timedelta(seconds=30)
REQUIRED_CLAIMS = ["exp", "nbf", "iat", "aud", "iss", "jti", "sub", "name", "role", "rooms"]

# Time checks are ours, against the injected clock; the rest is PyJWT's.
_DECODE_OPTIONS: Options = {
    "require": REQUIRED_CLAIMS,
    "strict_aud": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
}
_REFUSALS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.InvalidSignatureError, "bad signature"),
    (jwt.InvalidAudienceError, "wrong audience"),
    (jwt.InvalidIssuerError, "wrong issuer"),
)

ROOM_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
SUB = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
JTI = re.compile(r"[A-Za-z0-9_-]{22,128}")
TTL = re.compile(r"([0-9]{1,6})([smhd])")
TTL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Names are shown to everyone; these would break lines or make a name display as another.
_BAD_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@dataclass(frozen=True)
class Claims:
    """What a valid token says. issue() and verify() both build one, so it checks its shape."""

    sub: str
    name: str
    role: Role
    rooms: tuple[str, ...]
    jti: str
    issued_at: datetime
    not_before: datetime
    expires_at: datetime
    issuer: str

    def __post_init__(self) -> None:
        # verify() fills the fields straight from a token's JSON, so types are checked too.
        texts = (self.sub, self.name, self.jti, self.issuer)
        if not all(isinstance(text, str) for text in texts):
            raise ValueError("sub, name, jti and iss must be strings")
        if not isinstance(self.rooms, tuple) or not all(isinstance(r, str) for r in self.rooms):
            raise ValueError("rooms must be a list of strings")
        _check_sub(self.sub)
        _check_name(self.name)
        _check_rooms(self.rooms)
        if not JTI.fullmatch(self.jti):
            raise ValueError("jti must be 22 to 128 url-safe characters")
        if not self.issuer:
            raise ValueError("issuer must not be empty")
        if self.expires_at <= self.not_before:
            raise ValueError("the token expires before it becomes valid")

    def allows_room(self, room_id: str) -> bool:
        return ALL_ROOMS in self.rooms or room_id in self.rooms

    @property
    def allows_every_room(self) -> bool:
        return ALL_ROOMS in self.rooms

    def can(self, permission: Permission) -> bool:
        return allows(self.role, permission)


def require(claims: Claims | None, permission: Permission) -> Claims:
    """The caller's claims, if it signed in with a role that has ``permission``."""
    if claims is None:
        raise Forbidden("sign in with an access token to do that")
    if not claims.can(permission):
        raise Forbidden(f"the {claims.role.value} role may not do that")
    return claims


def parse_ttl(text: str) -> timedelta:
    """A token lifetime written like "90s", "30m", "6h" or "2d"."""
    match = TTL.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise InvalidInput('ttl must be a number followed by s, m, h or d, like "6h"')
    ttl = timedelta(seconds=int(match[1]) * TTL_UNITS[match[2]])
    _check_lifetime(ttl)
    return ttl


class TokenService:
    """Issues and verifies tokens. ``now`` is the wall clock and returns aware UTC datetimes."""

    def __init__(
        self,
        keyring: KeyRing,
        issuer: str,
        now: Callable[[], datetime],
        is_revoked: Callable[[str], bool] | None = None,
    ) -> None:
        self._keyring = keyring
        self._issuer = issuer
        self._now = now
        self._is_revoked = is_revoked

    def issue(
        self,
        *,
        role: Role,
        name: str,
        rooms: Sequence[str] = (ALL_ROOMS,),
        ttl: timedelta | None = None,
        expires_at: datetime | None = None,
        sub: str | None = None,
    ) -> str:
        return self.mint(
            role=role, name=name, rooms=rooms, ttl=ttl, expires_at=expires_at, sub=sub
        )[0]

    def mint(
        self,
        *,
        role: Role,
        name: str,
        rooms: Sequence[str] = (ALL_ROOMS,),
        ttl: timedelta | None = None,
        expires_at: datetime | None = None,
        sub: str | None = None,
    ) -> tuple[str, Claims]:
        """A signed token and the claims it carries (to record its ``jti``, say)."""
        issued_at = _whole_seconds(self._now())
        try:
            claims = Claims(
                sub=_new_sub() if sub is None else sub,
                name=name.strip(),
                role=role,
                rooms=_room_tuple(rooms),
                jti=new_jti(),
                issued_at=issued_at,
                not_before=issued_at,
                expires_at=_expiry(issued_at, ttl, expires_at),
                issuer=self._issuer,
            )
        except ValueError as error:
            raise InvalidInput(str(error)) from None
        self._keyring.refresh()  # sign with a key another process rotated in
        kid, key = self._keyring.signing_key()
        headers = {"kid": kid, "typ": "JWT"}
        token = jwt.encode(_payload(claims), key, algorithm=ALGORITHM, headers=headers)
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidInput("the token would be too long: shorten the name or list fewer rooms")
        return token, claims

    def sign_again(self, unsigned: str) -> str:
        """The token that ``without_signature`` cut ``unsigned`` from, signed again with the key
        that signed it first and verified like any other. Ed25519 signatures are deterministic
        (RFC 8032), so it is the very same token, character for character. InvalidToken if the
        key is gone, or the token has expired or been revoked since."""
        if not unsigned.isascii() or unsigned.count(".") != 1:
            raise InvalidToken("not a token's header and claims")
        kid = _signing_kid(unsigned + ".")  # an empty signature: only the header is read
        key = self._keyring.private_key(kid)
        if key is None:
            self._keyring.refresh()
            key = self._keyring.private_key(kid)
        if key is None:
            raise InvalidToken("its signing key is gone")
        token = f"{unsigned}.{_b64url(key.sign(unsigned.encode('ascii')))}"
        self.verify(token)
        return token

    def verify(self, token: object) -> Claims:
        """The token's claims if it is genuine, current and well formed; InvalidToken if not."""
        text = _well_formed(token)
        key = self._key_for(_signing_kid(text))
        claims = _claims_from(self._decode(text, key))
        self._check_times(claims)
        if self._is_revoked is not None and self._is_revoked(claims.jti):
            raise InvalidToken("token revoked")
        return claims

    def _key_for(self, kid: str) -> Ed25519PublicKey:
        key = self._keyring.public_key(kid)
        if key is None:
            # Perhaps `plenary keys rotate` ran in another process since we last looked.
            self._keyring.refresh()
            key = self._keyring.public_key(kid)
        if key is None:
            raise InvalidToken("unknown signing key")
        return key

    def _decode(self, token: str, key: Ed25519PublicKey) -> dict[str, Any]:
        try:
            return jwt.decode(
                token, key, [ALGORITHM], _DECODE_OPTIONS, audience=AUDIENCE, issuer=self._issuer
            )
        except jwt.MissingRequiredClaimError as error:
            raise InvalidToken(f"missing claim {error.claim}") from None
        except jwt.PyJWTError as error:
            reason = next((text for kind, text in _REFUSALS if isinstance(error, kind)), None)
            raise InvalidToken(reason or "malformed token") from None

    def _check_times(self, claims: Claims) -> None:
        now = self._now()
        if claims.expires_at <= now:
            raise InvalidToken("token expired")
        if claims.not_before > now + CLOCK_LEEWAY:
            raise InvalidToken("token not yet valid")
        if claims.issued_at > now + CLOCK_LEEWAY:
            raise InvalidToken("token issued in the future")


def without_signature(token: str) -> str:
    """A token's header and claims: enough for ``sign_again``, and no credential by itself."""
    return token.rpartition(".")[0]


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _well_formed(token: object) -> str:
    # Cheap refusals first: no parsing of anything huge or outside the token alphabet.
    if not isinstance(token, str):
        raise InvalidToken("token must be a string")
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("token too long")
    if not token.isascii():
        raise InvalidToken("token must be ASCII")
    if token.count(".") != 2:
        raise InvalidToken("token must have three segments")
    return token


def _signing_kid(token: str) -> str:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidToken("malformed token") from None
    # Pinned before any key is looked up: no "none", no HMAC keyed with a public key.
    if header.get("alg") != ALGORITHM:
        raise InvalidToken("algorithm must be EdDSA")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidToken("token header has no kid")
    return kid


def _claims_from(payload: dict[str, Any]) -> Claims:
    try:
        role = parse_role(payload["role"])
    except InvalidInput:
        raise InvalidToken("unknown role") from None
    rooms = payload["rooms"]
    try:
        return Claims(
            sub=payload["sub"],
            name=payload["name"],
            role=role,
            rooms=tuple(rooms) if isinstance(rooms, list) else rooms,
            jti=payload["jti"],
            issued_at=_claim_time(payload, "iat"),
            not_before=_claim_time(payload, "nbf"),
            expires_at=_claim_time(payload, "exp"),
            issuer=payload["iss"],
        )
    except ValueError as error:
        raise InvalidToken(f"malformed claims: {error}") from None


def _claim_time(payload: dict[str, Any], claim: str) -> datetime:
    value = payload[claim]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{claim} must be an integer")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{claim} is out of range") from None


def _payload(claims: Claims) -> dict[str, Any]:
    return {
        "iss": claims.issuer,
        "aud": AUDIENCE,
        "sub": claims.sub,
        "name": claims.name,
        "role": str(claims.role),
        "rooms": list(claims.rooms),
        "iat": int(claims.issued_at.timestamp()),
        "nbf": int(claims.not_before.timestamp()),
        "exp": int(claims.expires_at.timestamp()),
        "jti": claims.jti,
    }


def _expiry(issued_at: datetime, ttl: timedelta | None, expires_at: datetime | None) -> datetime:
    if ttl is not None and expires_at is not None:
        raise InvalidInput("give ttl or expires_at, not both")
    if expires_at is None:
        expires_at = issued_at + (DEFAULT_TTL if ttl is None else ttl)
    elif expires_at.tzinfo is None:
        raise InvalidInput("expires_at must carry a time zone")
    expires = _whole_seconds(expires_at)
    _check_lifetime(expires - issued_at)
    return expires


def _check_lifetime(lifetime: timedelta) -> None:
    if not timedelta(0) < lifetime <= MAX_TTL:
        raise InvalidInput(f"a token must live more than 0 s and at most {MAX_TTL.days} days")


def _check_sub(sub: str) -> None:
    if "@" in sub:
        raise ValueError("sub must be an opaque id, never an e-mail address")
    if not SUB.fullmatch(sub):
        raise ValueError("sub must be 1 to 128 letters, digits or _.:-")


def _check_name(name: str) -> None:
    if name != name.strip() or not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise ValueError(f"name must be 1 to {MAX_NAME_LENGTH} characters")
    if any(_is_control(character) for character in name):
        raise ValueError("name must not contain control characters")


def _is_control(character: str) -> bool:
    return unicodedata.category(character) in _BAD_CATEGORIES or character in _BIDI_CONTROLS


def _check_rooms(rooms: tuple[str, ...]) -> None:
    if rooms == (ALL_ROOMS,):
        return
    if ALL_ROOMS in rooms:
        raise ValueError('"*" stands for all rooms and cannot be listed with room ids')
    if not 1 <= len(rooms) <= MAX_ROOMS:
        raise ValueError(f'rooms must list 1 to {MAX_ROOMS} room ids, or only "*"')
    for room in rooms:
        if not ROOM_ID.fullmatch(room):
            raise ValueError(f"invalid room id {room[:70]!r}: use a-z, 0-9 and -, 1 to 63")


def _room_tuple(rooms: Sequence[str]) -> tuple[str, ...]:
    if isinstance(rooms, str):
        raise InvalidInput("rooms must be a list of room ids, not one string")
    return tuple(dict.fromkeys(rooms))  # drops repeats, keeps order


def _whole_seconds(moment: datetime) -> datetime:
    # JWT times are whole seconds; round down so what we sign is what verify() reads back.
    return moment.astimezone(UTC).replace(microsecond=0)


def new_jti() -> str:
    """A token's id: random and URL-safe, and never starting with "-", so that it can be given
    to ``plenary token revoke`` as it is (a leading "-" would read as an option)."""
    while (jti := secrets.token_urlsafe(16)).startswith("-"):
        pass
    return jti


def _new_sub() -> str:
    return "u_" + base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()
