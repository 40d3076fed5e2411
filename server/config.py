"""The config file: one event, checked whole before anything starts.

``load_config(path)`` returns a frozen ``Config`` or raises ``ConfigError`` with one message that
names the file, the place in it and the field, so ``plenary`` can print it and exit.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from ipaddress import IPv4Address, ip_address
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from scheduler.timetable import Timetable, TimetableError, parse_timetable
from server.auth.tokens import parse_ttl
from server.contact import Contact, ContactError
from server.errors import InvalidInput
from server.operations.logs import LogFormat
from server.text import has_invisible
from server.web.origins import is_bare_origin, origin_of

SECTIONS = {
    "event",
    "auth",
    "media",
    "registration",
    "questions",
    "alerts",
    "rooms",
    "mail",
    "store",
    "server",
    "days",
}
EVENT_KEYS = {"name", "theme", "venue", "timezone", "lobby_minutes", "contact"}
AUTH_KEYS = {"issuer", "staff_ttl"}
MEDIA_KEYS = {
    "ice_addresses",
    "ice_servers",
    "turn_credential_ttl",
    "max_viewers_per_room",
    "max_viewers",
    "sessions_per_person",
    "max_connecting_viewers",
    "connect_within_seconds",
    "offers_per_address_per_minute",
    "max_stage_sources",
    "max_stage_videos",
}
ICE_SERVER_KEYS = {"urls", "secret_env"}
# A TURN password written here would reach every token holder and work for the whole event, from
# a file that is shipped and copied around; TURN servers get minted credentials instead.
STATIC_CREDENTIAL_KEYS = ("username", "credential")
TURN_SCHEMES = ("turn:", "turns:")
DEFAULT_TURN_CREDENTIAL_TTL = timedelta(hours=2)
TURN_CREDENTIAL_TTL_RANGE = (timedelta(minutes=1), timedelta(days=1))
ENVIRONMENT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
REGISTRATION_KEYS = {"mode", "privacy_notice", "per_address_per_minute"}
QUESTIONS_KEYS = {"per_person_per_minute", "open_minutes_after_end"}
ALERTS_KEYS = {
    "no_video_seconds",
    "loss_pct",
    "loss_seconds",
    "low_bitrate_kbps",
    "low_bitrate_seconds",
    "silent_seconds",
    "soon_minutes",
    "clear_seconds",
}
ROOMS_KEYS = {"undo_end_minutes"}
MAIL_KEYS = {
    "sender",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_username",
    "smtp_password_env",
    "smtp_timeout",
}
STORE_KEYS = {"url"}
SERVER_KEYS = {
    "public_url",
    "allowed_origins",
    "header_timeout_seconds",
    "max_connections",
    "log_format",
}
MAX_ORIGINS = 50
MAX_NOTICE = 20_000
IPV4_BROADCAST = IPv4Address("255.255.255.255")

Choice = TypeVar("Choice", bound=StrEnum)
MAX_TEXT = 300
LINE_BREAKS = frozenset("\n\r\t")
ICE_URL = re.compile(
    r"(?P<scheme>stun|turns?):(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)"
    r"(?::(?P<port>[0-9]{1,5}))?(?P<transport>\?transport=(?:udp|tcp))?"
)


class ConfigError(Exception):
    def __init__(self, path: Path, where: str, problem: str) -> None:
        super().__init__(f"{path}: {where}: {problem}")


@dataclass(frozen=True)
class EventInfo:
    name: str
    theme: str
    venue: str
    contact: Contact | None = None  # who attendees can turn to; None: nobody is named


class RegistrationMode(StrEnum):
    OPEN = "open"
    APPROVAL = "approval"
    CLOSED = "closed"


class SmtpSecurity(StrEnum):
    STARTTLS = "starttls"
    TLS = "tls"
    NONE = "none"


@dataclass(frozen=True)
class RegistrationSettings:
    mode: RegistrationMode = RegistrationMode.APPROVAL
    privacy_notice: str = ""
    per_address_per_minute: int = 60


@dataclass(frozen=True)
class QuestionSettings:
    # Questions one person may ask a minute (and at once) before ``too_many_requests``.
    per_person_per_minute: int = 5
    # How long a room keeps taking questions and votes after it ends.
    open_minutes_after_end: int = 15


@dataclass(frozen=True)
class AlertSettings:
    """When technicians are alerted (``console/alerts.py``): a live room with no picture for
    ``no_video_seconds``; a source losing over ``loss_pct`` for ``loss_seconds``; a picture
    under ``low_bitrate_kbps`` for ``low_bitrate_seconds``; sound with nothing to hear for
    ``silent_seconds``; an item ``soon_minutes`` from its start with nobody publishing."""

    no_video_seconds: float = 10.0
    loss_pct: float = 5.0
    loss_seconds: float = 3.0
    low_bitrate_kbps: float = 150.0
    low_bitrate_seconds: float = 5.0
    silent_seconds: float = 30.0
    soon_minutes: float = 5.0
    clear_seconds: float = 5.0  # how long a condition must be gone before its alert clears


@dataclass(frozen=True)
class RoomSettings:
    # How long after "End now" a technician may still undo it (0: never).
    undo_end_minutes: int = 5

    @property
    def undo_window(self) -> timedelta:
        return timedelta(minutes=self.undo_end_minutes)


@dataclass(frozen=True)
class MailSettings:
    """With no ``smtp_host``, mail lands in the outbox folder under ``--data`` instead."""

    sender: str = "plenary <plenary@localhost>"
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: SmtpSecurity = SmtpSecurity.STARTTLS
    smtp_username: str = ""
    smtp_password_env: str = ""
    # Seconds one conversation with the SMTP server may take; one command is given as long.
    smtp_timeout: int = 60


@dataclass(frozen=True)
class IceServer:
    """A STUN or TURN server handed to browsers and encoders. A TURN server names the
    environment variable that holds the secret it shares with plenary (coturn's
    ``static-auth-secret``); each token holder gets credentials minted from it
    (``server/media/ice_servers.py``). STUN servers take no credentials."""

    urls: tuple[str, ...]
    secret_env: str = ""  # TURN servers only

    @property
    def is_turn(self) -> bool:
        return bool(self.secret_env)


@dataclass(frozen=True)
class Config:
    path: Path
    event: EventInfo
    timetable: Timetable
    issuer: str
    staff_ttl: timedelta
    ice_addresses: tuple[str, ...]
    ice_servers: tuple[IceServer, ...] = ()
    turn_credential_ttl: timedelta = DEFAULT_TURN_CREDENTIAL_TTL
    max_viewers_per_room: int = 500
    max_viewers: int = 1000
    sessions_per_person: int = 3
    max_connecting_viewers: int = 100
    connect_within_seconds: float = 10.0
    offers_per_address_per_minute: int = 600
    max_stage_sources: int = 6  # on stage at once; a WHEP offer's audio slots
    max_stage_videos: int = 4  # pictures at once (the most recent speakers'); its video slots
    registration: RegistrationSettings = RegistrationSettings()
    questions: QuestionSettings = QuestionSettings()
    alerts: AlertSettings = AlertSettings()
    rooms: RoomSettings = RoomSettings()
    mail: MailSettings = MailSettings()
    store_url: str = ""
    public_url: str = ""  # empty: the address the server listens on
    # Pages elsewhere that may open live connections, besides the server's own.
    allowed_origins: tuple[str, ...] = ()
    header_timeout_seconds: float = 10.0  # a connection's first headers must be in by then
    max_connections: int = 4096  # HTTP connections open at once; past it, new ones are closed
    log_format: LogFormat = LogFormat.TEXT  # JSON lines for a log collector


def load_config(path: Path) -> Config:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, "file", "not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(path, "file", f"cannot be read ({error})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path, "TOML", str(error)) from None
    except RecursionError:  # tomllib recurses once per level of nested arrays and tables
        raise ConfigError(path, "TOML", "arrays or tables nested too deeply") from None
    return parse_config(raw, path)


def parse_config(raw: Mapping[str, Any], path: Path) -> Config:
    _refuse_unknown(raw, SECTIONS, path, "top level")
    event = _table(raw, "event", path)
    auth = _table(raw, "auth", path, required=False)
    media = _table(raw, "media", path, required=False)
    _refuse_unknown(event, EVENT_KEYS, path, "[event]")
    _refuse_unknown(auth, AUTH_KEYS, path, "[auth]")
    _refuse_unknown(media, MEDIA_KEYS, path, "[media]")
    registration = _table(raw, "registration", path, required=False)
    questions = _table(raw, "questions", path, required=False)
    alerts = _table(raw, "alerts", path, required=False)
    rooms = _table(raw, "rooms", path, required=False)
    mail = _table(raw, "mail", path, required=False)
    store = _table(raw, "store", path, required=False)
    server = _table(raw, "server", path, required=False)
    _refuse_unknown(registration, REGISTRATION_KEYS, path, "[registration]")
    _refuse_unknown(questions, QUESTIONS_KEYS, path, "[questions]")
    _refuse_unknown(alerts, ALERTS_KEYS, path, "[alerts]")
    _refuse_unknown(rooms, ROOMS_KEYS, path, "[rooms]")
    _refuse_unknown(mail, MAIL_KEYS, path, "[mail]")
    _refuse_unknown(store, STORE_KEYS, path, "[store]")
    _refuse_unknown(server, SERVER_KEYS, path, "[server]")
    try:
        timetable = parse_timetable(event, raw.get("days", []))
    except TimetableError as error:
        raise ConfigError(
            path, error.where, f"field {error.field_name!r}: {error.problem}"
        ) from None
    return Config(
        path=path,
        event=EventInfo(
            name=_text(event, "name", path, "[event]", required=True),
            theme=_text(event, "theme", path, "[event]"),
            venue=_text(event, "venue", path, "[event]"),
            contact=_contact(event, path),
        ),
        timetable=timetable,
        # Left out, "plenary"; given, it must be something: no token can carry an empty issuer.
        issuer=_text(auth, "issuer", path, "[auth]", required="issuer" in auth, default="plenary"),
        staff_ttl=_ttl(auth.get("staff_ttl", "12h"), path),
        ice_addresses=_addresses(media.get("ice_addresses", []), path),
        ice_servers=_ice_servers(media.get("ice_servers", []), path),
        turn_credential_ttl=_turn_credential_ttl(media, path),
        max_viewers_per_room=_whole(
            media, "max_viewers_per_room", path, "[media]", 500, 1, 100_000
        ),
        max_viewers=_whole(media, "max_viewers", path, "[media]", 1000, 1, 100_000),
        sessions_per_person=_whole(media, "sessions_per_person", path, "[media]", 3, 1, 100_000),
        max_connecting_viewers=_whole(
            media, "max_connecting_viewers", path, "[media]", 100, 1, 100_000
        ),
        connect_within_seconds=_seconds(
            media, "connect_within_seconds", path, "[media]", 10, 1, 120
        ),
        offers_per_address_per_minute=_whole(
            media, "offers_per_address_per_minute", path, "[media]", 600, 1, 100_000
        ),
        # A stage-aware WHEP offer has a section per slot, 16 at most (sdp.MAX_SLOTS).
        max_stage_sources=_whole(media, "max_stage_sources", path, "[media]", 6, 1, 10),
        max_stage_videos=_whole(media, "max_stage_videos", path, "[media]", 4, 0, 6),
        registration=_registration(registration, path),
        questions=QuestionSettings(
            per_person_per_minute=_whole(
                questions, "per_person_per_minute", path, "[questions]", 5, 1, 1000
            ),
            open_minutes_after_end=_whole(
                questions, "open_minutes_after_end", path, "[questions]", 15, 0, 1440
            ),
        ),
        alerts=_alerts(alerts, path),
        rooms=RoomSettings(
            undo_end_minutes=_whole(rooms, "undo_end_minutes", path, "[rooms]", 5, 0, 60)
        ),
        mail=_mail(mail, path),
        store_url=_store_url(store, path),
        public_url=_public_url(server, path),
        allowed_origins=_allowed_origins(server.get("allowed_origins", []), path),
        header_timeout_seconds=_seconds(
            server, "header_timeout_seconds", path, "[server]", 10, 1, 300
        ),
        max_connections=_whole(server, "max_connections", path, "[server]", 4096, 16, 1_000_000),
        log_format=_choice(server, "log_format", path, "[server]", LogFormat, LogFormat.TEXT),
    )


def _alerts(alerts: Mapping[str, Any], path: Path) -> AlertSettings:
    def number(key: str, bounds: tuple[float, float, float], what: str) -> float:
        return _number(alerts, key, path, "[alerts]", bounds, what)

    return AlertSettings(
        no_video_seconds=number("no_video_seconds", (10, 1, 600), "a number of seconds"),
        loss_pct=number("loss_pct", (5, 0.1, 100), "a percentage"),
        loss_seconds=number("loss_seconds", (3, 1, 600), "a number of seconds"),
        low_bitrate_kbps=number("low_bitrate_kbps", (150, 1, 100_000), "kilobits a second"),
        low_bitrate_seconds=number("low_bitrate_seconds", (5, 1, 600), "a number of seconds"),
        silent_seconds=number("silent_seconds", (30, 1, 3600), "a number of seconds"),
        soon_minutes=number("soon_minutes", (5, 1, 120), "a number of minutes"),
        clear_seconds=number("clear_seconds", (5, 1, 600), "a number of seconds"),
    )


def _table(raw: Mapping[str, Any], name: str, path: Path, required: bool = True) -> dict[str, Any]:
    value = raw.get(name)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(path, f"[{name}]", "missing" if value is None else "must be a table")
    return value


def _refuse_unknown(table: Mapping[str, Any], known: set[str], path: Path, where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(
            path, where, f"unknown field {unknown[0]!r}; known: {', '.join(sorted(known))}"
        )


def _text(
    table: Mapping[str, Any],
    key: str,
    path: Path,
    where: str,
    *,
    required: bool = False,
    default: str = "",
    limit: int = MAX_TEXT,
    multiline: bool = False,
) -> str:
    value = table.get(key, None if required else default)
    if not isinstance(value, str) or (required and not value.strip()):
        raise ConfigError(path, where, f"field {key!r}: must be non-empty text")
    if len(value) > limit:
        raise ConfigError(path, where, f"field {key!r}: longer than {limit} characters")
    value = value.strip()
    # These go into mail headers, HTTP headers and pages: a line break or a direction
    # override in one is a typo or a trick, and would fail there or mislead.
    allowed = LINE_BREAKS if multiline else frozenset()
    if has_invisible(value, allowed):
        raise ConfigError(
            path, where, f"field {key!r}: contains control or invisible formatting characters"
        )
    return value


def _ttl(value: object, path: Path) -> timedelta:
    if not isinstance(value, str):
        raise ConfigError(path, "[auth]", "field 'staff_ttl': must be text like \"12h\"")
    try:
        return parse_ttl(value)
    except InvalidInput as error:
        raise ConfigError(path, "[auth]", f"field 'staff_ttl': {error.message}") from None


def _turn_credential_ttl(media: Mapping[str, Any], path: Path) -> timedelta:
    value = media.get("turn_credential_ttl")
    if value is None:
        return DEFAULT_TURN_CREDENTIAL_TTL
    shortest, longest = TURN_CREDENTIAL_TTL_RANGE
    try:
        ttl = parse_ttl(value) if isinstance(value, str) else None
    except InvalidInput:
        ttl = None
    if ttl is None or not shortest <= ttl <= longest:
        raise ConfigError(
            path, "[media]", 'field \'turn_credential_ttl\': must be text from "1m" to "24h"'
        )
    return ttl


def _addresses(value: object, path: Path) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ConfigError(path, "[media]", "field 'ice_addresses': must be a list of addresses")
    for address in value:
        problem = ice_address_problem(address)
        if problem is not None:
            raise ConfigError(path, "[media]", f"field 'ice_addresses': {problem}")
    return tuple(value)


def ice_address_problem(address: object) -> str | None:
    """Why ``address`` cannot be a host candidate the relay offers, or None if it can."""
    try:
        # ip_address() also takes whole numbers (and so True): 1 would be 0.0.0.1.
        parsed = ip_address(address) if isinstance(address, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        return f"{address!r} is not an IP address"
    if parsed.is_unspecified or parsed.is_multicast or parsed == IPV4_BROADCAST:
        return (
            f"{address!r} cannot be offered to peers; "
            "give an address of one of this machine's interfaces"
        )
    return None


def _choice(
    table: Mapping[str, Any],
    key: str,
    path: Path,
    where: str,
    choices: type[Choice],
    default: Choice,
) -> Choice:
    value = table.get(key, default.value)
    for choice in choices:
        if value == choice.value:
            return choice
    allowed = ", ".join(choice.value for choice in choices)
    raise ConfigError(path, where, f"field {key!r}: must be one of {allowed}, not {value!r}")


def _whole(
    table: Mapping[str, Any], key: str, path: Path, where: str, default: int, low: int, high: int
) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(
            path, where, f"field {key!r}: must be a whole number from {low} to {high}"
        )
    return value


def _seconds(
    table: Mapping[str, Any], key: str, path: Path, where: str, default: int, low: int, high: int
) -> float:
    return _number(table, key, path, where, (default, low, high), "a number of seconds")


def _number(
    table: Mapping[str, Any],
    key: str,
    path: Path,
    where: str,
    bounds: tuple[float, float, float],
    what: str,
) -> float:
    """``table[key]`` (``bounds``: its default, least and most), ``what`` it is, in words."""
    default, low, high = bounds
    value = table.get(key, default)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not low <= value <= high:  # NaN and inf are outside every range
        raise ConfigError(path, where, f"field {key!r}: must be {what} from {low:g} to {high:g}")
    return float(value)


def _registration(table: Mapping[str, Any], path: Path) -> RegistrationSettings:
    where = "[registration]"
    return RegistrationSettings(
        mode=_choice(table, "mode", path, where, RegistrationMode, RegistrationMode.APPROVAL),
        privacy_notice=_text(
            table, "privacy_notice", path, where, limit=MAX_NOTICE, multiline=True
        ),
        per_address_per_minute=_whole(table, "per_address_per_minute", path, where, 60, 1, 10_000),
    )


def _mail(table: Mapping[str, Any], path: Path) -> MailSettings:
    where = "[mail]"
    sender = _text(table, "sender", path, where, default=MailSettings.sender)
    if "@" not in sender:
        raise ConfigError(path, where, "field 'sender': must contain an e-mail address")
    return MailSettings(
        sender=sender,
        smtp_host=_text(table, "smtp_host", path, where),
        smtp_port=_whole(table, "smtp_port", path, where, 587, 1, 65535),
        smtp_security=_choice(
            table, "smtp_security", path, where, SmtpSecurity, SmtpSecurity.STARTTLS
        ),
        smtp_username=_text(table, "smtp_username", path, where),
        smtp_password_env=_password_env(table, path, where),
        smtp_timeout=_whole(table, "smtp_timeout", path, where, 60, 1, 600),
    )


def _password_env(table: Mapping[str, Any], path: Path, where: str) -> str:
    name = _text(table, "smtp_password_env", path, where)
    if name and not ENVIRONMENT_NAME.fullmatch(name):
        raise ConfigError(
            path,
            where,
            f"field 'smtp_password_env': {name!r} is not the name of an environment variable "
            "(the password itself never goes in this file)",
        )
    return name


def _store_url(table: Mapping[str, Any], path: Path) -> str:
    url = _text(table, "url", path, "[store]")
    if url and not url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
        raise ConfigError(
            path,
            "[store]",
            "field 'url': must start with postgresql+asyncpg:// "
            "(or sqlite+aiosqlite://); leave it out for SQLite under --data",
        )
    return url


def _contact(table: Mapping[str, Any], path: Path) -> Contact | None:
    text = _text(table, "contact", path, "[event]")
    if not text:
        return None
    try:
        return Contact.parse(text)
    except ContactError as error:
        raise ConfigError(path, "[event]", f"field 'contact': {error}") from None


def _public_url(table: Mapping[str, Any], path: Path) -> str:
    url = _text(table, "public_url", path, "[server]")
    if not url:
        return ""
    if not _is_web_address(url):
        raise ConfigError(
            path,
            "[server]",
            f"field 'public_url': {url!r} is not an http(s) "
            "address like https://conference.example.org",
        )
    return url.rstrip("/")


def _allowed_origins(value: object, path: Path) -> tuple[str, ...]:
    where = "[server]"
    if not isinstance(value, list) or len(value) > MAX_ORIGINS:
        raise ConfigError(
            path, where, f"field 'allowed_origins': must be a list of at most {MAX_ORIGINS} origins"
        )
    for origin in value:
        if not isinstance(origin, str) or not is_bare_origin(origin):
            raise ConfigError(
                path,
                where,
                f"field 'allowed_origins': {origin!r} is not an origin like "
                "https://www.example.org (scheme, host and port, nothing after)",
            )
    return tuple(dict.fromkeys(origin_of(origin) for origin in value))


def _is_web_address(url: str) -> bool:
    if any(char.isspace() or not char.isprintable() for char in url):
        return False  # it goes into every join link: one address, nothing after it
    try:
        parts = urlsplit(url)
        port = parts.port  # a port that is not a number from 0 to 65535 raises here
    except ValueError:  # and so does a malformed [IPv6] host
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and port != 0
        and not parts.query
        and not parts.fragment
    )


def _ice_servers(value: object, path: Path) -> tuple[IceServer, ...]:
    where = "[media] ice_servers"
    if not isinstance(value, list):
        raise ConfigError(path, where, "must be a list of {urls = [...]} tables")
    return tuple(_ice_server(entry, path, f"{where}[{index}]") for index, entry in enumerate(value))


def _ice_server(entry: object, path: Path, where: str) -> IceServer:
    if not isinstance(entry, dict):
        raise ConfigError(path, where, "must be a table with urls")
    for key in STATIC_CREDENTIAL_KEYS:
        if key in entry:
            raise ConfigError(
                path,
                where,
                f"field {key!r}: a TURN password does not belong in the config file; name the "
                "environment variable that holds the TURN server's shared secret in secret_env, "
                "and plenary mints short-lived credentials from it",
            )
    _refuse_unknown(entry, ICE_SERVER_KEYS, path, where)
    urls = _ice_urls(entry.get("urls"), path, where)
    secret_env = _text(entry, "secret_env", path, where)
    turn = [url for url in urls if url.startswith(TURN_SCHEMES)]
    if turn and len(turn) < len(urls):
        raise ConfigError(path, where, "field 'urls': stun: and turn: servers go in entries apart")
    if turn and not secret_env:
        raise ConfigError(
            path,
            where,
            "field 'secret_env': a TURN server needs the name of the environment variable "
            "that holds its shared secret (coturn's static-auth-secret)",
        )
    if secret_env and not turn:
        raise ConfigError(path, where, "field 'secret_env': only turn: and turns: servers take one")
    if secret_env and not ENVIRONMENT_NAME.fullmatch(secret_env):
        raise ConfigError(
            path, where, f"field 'secret_env': {secret_env!r} is not an environment variable name"
        )
    return IceServer(urls=urls, secret_env=secret_env)


def _ice_urls(urls: object, path: Path, where: str) -> tuple[str, ...]:
    if not isinstance(urls, list) or not urls or not all(_is_ice_url(url) for url in urls):
        raise ConfigError(
            path,
            where,
            "field 'urls': a list of stun:, turn: or turns: addresses "
            "like turn:turn.example.org:3478",
        )
    return tuple(urls)


def _is_ice_url(url: object) -> bool:
    """A STUN or TURN address as browsers parse it (RFC 7064, 7065): a browser given one it
    cannot parse makes no peer connection at all. And nothing in it can end the <...> of a
    Link header early."""
    found = ICE_URL.fullmatch(url) if isinstance(url, str) else None
    if found is None:
        return False
    port, transport = found["port"], found["transport"]
    return (port is None or 1 <= int(port) <= 65535) and not (
        transport and found["scheme"] == "stun"
    )
