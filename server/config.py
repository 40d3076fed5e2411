"""The config file: one event, checked whole before anything starts.

``load_config(path)`` returns a frozen ``Config`` or raises ``ConfigError`` with one message that
names the file, the place in it and the field, so ``plenary`` can print it and exit. Each field
is read by ``config_fields.py``; the media's STUN/TURN servers and ICE addresses by
``config_media.py``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scheduler.timetable import Timetable
from scheduler.timetable_config import TimetableError, parse_timetable
from server.auth.tokens import parse_ttl
from server.config_fields import (
    ConfigError,
    read_choice,
    read_number,
    read_seconds,
    read_table,
    read_text,
    read_whole,
    refuse_unknown,
)
from server.config_media import (
    DEFAULT_TURN_CREDENTIAL_TTL,
    ENVIRONMENT_NAME,
    IceServer,
    read_ice_addresses,
    read_ice_servers,
    read_turn_credential_ttl,
)
from server.contact import Contact, ContactError
from server.errors import InvalidInput
from server.operations.logs import LogFormat
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
    refuse_unknown(raw, SECTIONS, path, "top level")
    event = read_table(raw, "event", path)
    auth = read_table(raw, "auth", path, required=False)
    media = read_table(raw, "media", path, required=False)
    refuse_unknown(event, EVENT_KEYS, path, "[event]")
    refuse_unknown(auth, AUTH_KEYS, path, "[auth]")
    refuse_unknown(media, MEDIA_KEYS, path, "[media]")
    registration = read_table(raw, "registration", path, required=False)
    questions = read_table(raw, "questions", path, required=False)
    alerts = read_table(raw, "alerts", path, required=False)
    rooms = read_table(raw, "rooms", path, required=False)
    mail = read_table(raw, "mail", path, required=False)
    store = read_table(raw, "store", path, required=False)
    server = read_table(raw, "server", path, required=False)
    refuse_unknown(registration, REGISTRATION_KEYS, path, "[registration]")
    refuse_unknown(questions, QUESTIONS_KEYS, path, "[questions]")
    refuse_unknown(alerts, ALERTS_KEYS, path, "[alerts]")
    refuse_unknown(rooms, ROOMS_KEYS, path, "[rooms]")
    refuse_unknown(mail, MAIL_KEYS, path, "[mail]")
    refuse_unknown(store, STORE_KEYS, path, "[store]")
    refuse_unknown(server, SERVER_KEYS, path, "[server]")
    try:
        timetable = parse_timetable(event, raw.get("days", []))
    except TimetableError as error:
        raise ConfigError(
            path, error.where, f"field {error.field_name!r}: {error.problem}"
        ) from None
    return Config(
        path=path,
        event=EventInfo(
            name=read_text(event, "name", path, "[event]", required=True),
            theme=read_text(event, "theme", path, "[event]"),
            venue=read_text(event, "venue", path, "[event]"),
            contact=_contact(event, path),
        ),
        timetable=timetable,
        # Left out, "plenary"; given, it must be something: no token can carry an empty issuer.
        issuer=read_text(
            auth, "issuer", path, "[auth]", required="issuer" in auth, default="plenary"
        ),
        staff_ttl=_ttl(auth.get("staff_ttl", "12h"), path),
        ice_addresses=read_ice_addresses(media.get("ice_addresses", []), path),
        ice_servers=read_ice_servers(media.get("ice_servers", []), path),
        turn_credential_ttl=read_turn_credential_ttl(media, path),
        max_viewers_per_room=read_whole(
            media, "max_viewers_per_room", path, "[media]", 500, 1, 100_000
        ),
        max_viewers=read_whole(media, "max_viewers", path, "[media]", 1000, 1, 100_000),
        sessions_per_person=read_whole(
            media, "sessions_per_person", path, "[media]", 3, 1, 100_000
        ),
        max_connecting_viewers=read_whole(
            media, "max_connecting_viewers", path, "[media]", 100, 1, 100_000
        ),
        connect_within_seconds=read_seconds(
            media, "connect_within_seconds", path, "[media]", 10, 1, 120
        ),
        offers_per_address_per_minute=read_whole(
            media, "offers_per_address_per_minute", path, "[media]", 600, 1, 100_000
        ),
        # A stage-aware WHEP offer has a section per slot, 16 at most (sdp.MAX_SLOTS).
        max_stage_sources=read_whole(media, "max_stage_sources", path, "[media]", 6, 1, 10),
        max_stage_videos=read_whole(media, "max_stage_videos", path, "[media]", 4, 0, 6),
        registration=_registration(registration, path),
        questions=QuestionSettings(
            per_person_per_minute=read_whole(
                questions, "per_person_per_minute", path, "[questions]", 5, 1, 1000
            ),
            open_minutes_after_end=read_whole(
                questions, "open_minutes_after_end", path, "[questions]", 15, 0, 1440
            ),
        ),
        alerts=_alerts(alerts, path),
        rooms=RoomSettings(
            undo_end_minutes=read_whole(rooms, "undo_end_minutes", path, "[rooms]", 5, 0, 60)
        ),
        mail=_mail(mail, path),
        store_url=_store_url(store, path),
        public_url=_public_url(server, path),
        allowed_origins=_allowed_origins(server.get("allowed_origins", []), path),
        header_timeout_seconds=read_seconds(
            server, "header_timeout_seconds", path, "[server]", 10, 1, 300
        ),
        max_connections=read_whole(
            server, "max_connections", path, "[server]", 4096, 16, 1_000_000
        ),
        log_format=read_choice(server, "log_format", path, "[server]", LogFormat, LogFormat.TEXT),
    )


def _alerts(alerts: Mapping[str, Any], path: Path) -> AlertSettings:
    def number(key: str, bounds: tuple[float, float, float], what: str) -> float:
        return read_number(alerts, key, path, "[alerts]", bounds, what)

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


def _ttl(value: object, path: Path) -> timedelta:
    if not isinstance(value, str):
        raise ConfigError(path, "[auth]", "field 'staff_ttl': must be text like \"12h\"")
    try:
        return parse_ttl(value)
    except InvalidInput as error:
        raise ConfigError(path, "[auth]", f"field 'staff_ttl': {error.message}") from None


def _registration(table: Mapping[str, Any], path: Path) -> RegistrationSettings:
    where = "[registration]"
    return RegistrationSettings(
        mode=read_choice(table, "mode", path, where, RegistrationMode, RegistrationMode.APPROVAL),
        privacy_notice=read_text(
            table, "privacy_notice", path, where, limit=MAX_NOTICE, multiline=True
        ),
        per_address_per_minute=read_whole(
            table, "per_address_per_minute", path, where, 60, 1, 10_000
        ),
    )


def _mail(table: Mapping[str, Any], path: Path) -> MailSettings:
    where = "[mail]"
    sender = read_text(table, "sender", path, where, default=MailSettings.sender)
    if "@" not in sender:
        raise ConfigError(path, where, "field 'sender': must contain an e-mail address")
    return MailSettings(
        sender=sender,
        smtp_host=read_text(table, "smtp_host", path, where),
        smtp_port=read_whole(table, "smtp_port", path, where, 587, 1, 65535),
        smtp_security=read_choice(
            table, "smtp_security", path, where, SmtpSecurity, SmtpSecurity.STARTTLS
        ),
        smtp_username=read_text(table, "smtp_username", path, where),
        smtp_password_env=_password_env(table, path, where),
        smtp_timeout=read_whole(table, "smtp_timeout", path, where, 60, 1, 600),
    )


def _password_env(table: Mapping[str, Any], path: Path, where: str) -> str:
    name = read_text(table, "smtp_password_env", path, where)
    if name and not ENVIRONMENT_NAME.fullmatch(name):
        raise ConfigError(
            path,
            where,
            f"field 'smtp_password_env': {name!r} is not the name of an environment variable "
            "(the password itself never goes in this file)",
        )
    return name


def _store_url(table: Mapping[str, Any], path: Path) -> str:
    url = read_text(table, "url", path, "[store]")
    if url and not url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
        raise ConfigError(
            path,
            "[store]",
            "field 'url': must start with postgresql+asyncpg:// "
            "(or sqlite+aiosqlite://); leave it out for SQLite under --data",
        )
    return url


def _contact(table: Mapping[str, Any], path: Path) -> Contact | None:
    text = read_text(table, "contact", path, "[event]")
    if not text:
        return None
    try:
        return Contact.parse(text)
    except ContactError as error:
        raise ConfigError(path, "[event]", f"field 'contact': {error}") from None


def _public_url(table: Mapping[str, Any], path: Path) -> str:
    url = read_text(table, "public_url", path, "[server]")
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
