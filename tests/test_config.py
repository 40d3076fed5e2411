"""Unit tests of server/config.py: every section of the file, good and bad.

Each config is a real file under ``tmp_path``, read by ``load_config`` as ``plenary`` reads it.
A refused config raises ``ConfigError`` and nothing else, and its one message names the file,
the table or item, and the field.
"""

from __future__ import annotations

import tomllib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from scheduler.timetable import ItemKind
from server.config import (
    Config,
    MailSettings,
    QuestionSettings,
    RegistrationMode,
    RegistrationSettings,
    SmtpSecurity,
    load_config,
    parse_config,
)
from server.config_fields import ConfigError
from server.config_media import IceServer
from server.contact import Contact
from tests.helpers import bundled_config, bundled_raw
from tests.serverproc import CONFIG

TIMEZONE = 'timezone = "Europe/Vienna"\n'
DATE = 'date = "2021-06-14"\n'
TITLE = 'title = "Welcome"\n'
BASE = f"""\
[event]
name = "Test Conference"
{TIMEZONE}
[[days]]
{DATE}
[[days.items]]
id = "welcome"
start = "14:00"
end = "14:45"
kind = "remarks"
{TITLE}
[[days.items]]
id = "keynote"
start = "14:45"
end = "15:30"
kind = "keynote"
title = "Keynote"
"""


def swap(old: str, new: str, text: str = BASE) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def event(lines: str) -> str:
    return swap(TIMEZONE, TIMEZONE + lines + "\n")


def table(name: str, lines: str) -> str:
    return swap("[[days]]", f"[{name}]\n{lines}\n\n[[days]]")


def day(lines: str) -> str:
    return swap(DATE, DATE + lines + "\n")


def item(lines: str) -> str:
    """Lines added to the first item, "welcome"."""
    return swap(TITLE, TITLE + lines + "\n")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str) -> Config:
    return load_config(write(tmp_path, text))


def refusal(path: Path) -> str:
    """The message, less the file's name, which it must begin with."""
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: "), message
    assert "\n" not in message  # one line on stderr
    return message[len(f"{path}: ") :]


# -- what loads --------------------------------------------------------------------------------


def test_the_bundled_config_loads() -> None:
    config = load_config(CONFIG)
    assert config.path == CONFIG
    assert config.event.name == "21st Alliance against Trafficking in Persons Conference"
    assert config.event.venue.startswith("Hofburg, Vienna")
    assert config.timetable.zone.key == "Europe/Vienna"
    assert config.timetable.lobby == timedelta(minutes=15)
    assert [on for on, _ in config.timetable.days()] == [
        date(2021, 6, 14),
        date(2021, 6, 15),
        date(2021, 6, 16),
    ]
    assert len(config.timetable.items) == 12
    assert (config.issuer, config.staff_ttl) == ("plenary", timedelta(hours=12))
    assert config.registration.mode is RegistrationMode.APPROVAL
    assert config.registration.per_address_per_minute == 60
    assert config.questions == QuestionSettings(per_person_per_minute=5, open_minutes_after_end=15)
    assert all(item.moderated for item in config.timetable.items)
    assert "Survivors of trafficking speak" in config.registration.privacy_notice
    assert config.mail.sender.endswith("<no-reply@localhost>")
    assert config.mail.smtp_host == ""  # mail goes to the outbox
    assert (config.max_viewers_per_room, config.max_viewers) == (200, 200)
    assert (config.sessions_per_person, config.max_connecting_viewers) == (3, 100)
    assert config.connect_within_seconds == 10
    assert config.offers_per_address_per_minute == 600
    assert (config.ice_addresses, config.ice_servers) == ((), ())
    assert (config.store_url, config.public_url) == ("", "")


def test_a_minimal_config_takes_every_default(tmp_path: Path) -> None:
    config = load(tmp_path, BASE)
    assert (config.event.name, config.event.theme, config.event.venue) == (
        "Test Conference",
        "",
        "",
    )
    assert config.timetable.lobby == timedelta(minutes=15)
    assert (config.issuer, config.staff_ttl) == ("plenary", timedelta(hours=12))
    assert config.registration == RegistrationSettings()
    assert config.registration.mode is RegistrationMode.APPROVAL
    assert config.mail == MailSettings()
    assert config.rooms.undo_window == timedelta(minutes=5)
    assert config.mail.smtp_security is SmtpSecurity.STARTTLS
    assert (config.max_viewers_per_room, config.max_viewers) == (500, 1000)
    assert (config.sessions_per_person, config.max_connecting_viewers) == (3, 100)
    assert config.connect_within_seconds == 10.0
    assert config.offers_per_address_per_minute == 600
    assert (config.ice_addresses, config.ice_servers) == ((), ())
    assert config.turn_credential_ttl == timedelta(hours=2)
    assert (config.store_url, config.public_url) == ("", "")
    welcome = config.timetable.item("welcome")
    assert (welcome.kind, welcome.audio_only, welcome.recorded) == (ItemKind.REMARKS, False, True)
    assert welcome.description == ""


FULL = (
    swap(
        TIMEZONE,
        TIMEZONE + 'theme = "  Confronting Demand "\nvenue = "Hofburg"\nlobby_minutes = 0\n',
    )
    .replace(
        "[[days]]",
        """\
[auth]
issuer = "plenary-vienna"
staff_ttl = "90m"

[media]
ice_addresses = ["127.0.0.1", "::1"]
max_viewers_per_room = 1
max_viewers = 100000
turn_credential_ttl = "45m"
sessions_per_person = 1
max_connecting_viewers = 7
connect_within_seconds = 2.5
offers_per_address_per_minute = 9000

[[media.ice_servers]]
urls = ["stun:stun.example.org:3478"]

[[media.ice_servers]]
urls = ["turn:turn.example.org:3478", "turns:turn.example.org:5349"]
secret_env = "PLENARY_TURN_SECRET"

[registration]
mode = "open"
privacy_notice = \"\"\"
Line one.

Line two.
\"\"\"
per_address_per_minute = 10000

[mail]
sender = "Conference <no-reply@example.org>"
smtp_host = "smtp.example.org"
smtp_port = 465
smtp_security = "tls"
smtp_username = "plenary"
smtp_password_env = "PLENARY_SMTP_PASSWORD"

[store]
url = "postgresql+asyncpg://plenary@db.example.org/plenary"

[server]
public_url = "https://conference.example.org/"

[[days]]""",
        1,
    )
    .replace(
        TITLE,
        TITLE + 'description = "About it."\naudio_only = true\nrecorded = false\n',
        1,
    )
)


def test_every_field_is_read(tmp_path: Path) -> None:
    config = load(tmp_path, FULL)
    assert (config.event.theme, config.event.venue) == ("Confronting Demand", "Hofburg")
    assert config.timetable.lobby == timedelta(0)
    assert (config.issuer, config.staff_ttl) == ("plenary-vienna", timedelta(minutes=90))
    assert config.ice_addresses == ("127.0.0.1", "::1")
    assert config.ice_servers == (
        IceServer(urls=("stun:stun.example.org:3478",)),
        IceServer(
            urls=("turn:turn.example.org:3478", "turns:turn.example.org:5349"),
            secret_env="PLENARY_TURN_SECRET",
        ),
    )
    assert config.turn_credential_ttl == timedelta(minutes=45)
    assert (config.max_viewers_per_room, config.max_viewers) == (1, 100_000)
    assert (config.sessions_per_person, config.max_connecting_viewers) == (1, 7)
    assert config.connect_within_seconds == 2.5
    assert config.offers_per_address_per_minute == 9000
    assert config.registration == RegistrationSettings(
        RegistrationMode.OPEN, "Line one.\n\nLine two.", 10_000
    )
    assert config.mail == MailSettings(
        sender="Conference <no-reply@example.org>",
        smtp_host="smtp.example.org",
        smtp_port=465,
        smtp_security=SmtpSecurity.TLS,
        smtp_username="plenary",
        smtp_password_env="PLENARY_SMTP_PASSWORD",
    )
    assert config.store_url == "postgresql+asyncpg://plenary@db.example.org/plenary"
    assert config.public_url == "https://conference.example.org"  # no trailing slash
    welcome = config.timetable.item("welcome")
    assert (welcome.description, welcome.audio_only, welcome.recorded) == ("About it.", True, False)


GOOD = [
    pytest.param(event("lobby_minutes = 240"), "lobby", timedelta(hours=4), id="lobby-240"),
    pytest.param(swap("Test Conference", "  Padded  "), "name", "Padded", id="name-trimmed"),
    pytest.param(swap("Europe/Vienna", "UTC"), "zone", "UTC", id="utc"),
    pytest.param(
        event('contact = "Help@Example.org"'),
        "contact",
        Contact("Help@example.org", "mailto:Help@example.org"),
        id="contact-mail",
    ),
    pytest.param(
        event('contact = "j\u00fcrg@b\u00fccher.example"'),
        "contact",
        Contact("j\u00fcrg@b\u00fccher.example", "mailto:j\u00fcrg@xn--bcher-kva.example"),
        id="contact-international",
    ),
    pytest.param(
        event('contact = "https://example.org/contact"'),
        "contact",
        Contact("https://example.org/contact", "https://example.org/contact"),
        id="contact-page",
    ),
    pytest.param(BASE, "contact", None, id="no-contact"),
    pytest.param(swap("Europe/Vienna", "America/New_York"), "zone", "America/New_York", id="ny"),
    pytest.param(table("auth", 'staff_ttl = "90s"'), "ttl", timedelta(seconds=90), id="ttl-s"),
    pytest.param(table("auth", 'staff_ttl = "400d"'), "ttl", timedelta(days=400), id="ttl-max"),
    pytest.param(table("media", "max_viewers = 1"), "max_viewers", 1, id="viewers-1"),
    pytest.param(
        table("media", "max_viewers_per_room = 100000"), "per_room", 100_000, id="room-max"
    ),
    pytest.param(
        table("media", "sessions_per_person = 100000"), "per_person", 100_000, id="pp-max"
    ),
    pytest.param(table("media", "max_connecting_viewers = 1"), "connecting", 1, id="conn-1"),
    pytest.param(table("media", "connect_within_seconds = 1"), "within", 1.0, id="within-1"),
    pytest.param(table("media", "connect_within_seconds = 120.0"), "within", 120, id="within+"),
    pytest.param(
        table("media", "offers_per_address_per_minute = 100000"), "offers", 100_000, id="offers"
    ),
    pytest.param(table("mail", "smtp_port = 1"), "smtp_port", 1, id="port-1"),
    pytest.param(table("mail", "smtp_port = 65535"), "smtp_port", 65535, id="port-max"),
    pytest.param(table("mail", "smtp_timeout = 1"), "smtp_timeout", 1, id="timeout-1"),
    pytest.param(table("mail", "smtp_timeout = 600"), "smtp_timeout", 600, id="timeout-max"),
    pytest.param(
        table("mail", 'smtp_security = "none"'), "security", SmtpSecurity.NONE, id="smtp-plain"
    ),
    pytest.param(
        table("registration", 'mode = "closed"'), "mode", RegistrationMode.CLOSED, id="closed"
    ),
    pytest.param(table("registration", "per_address_per_minute = 1"), "per_minute", 1, id="rate"),
    pytest.param(table("questions", "per_person_per_minute = 1"), "asks", 1, id="asks-1"),
    pytest.param(table("questions", "per_person_per_minute = 1000"), "asks", 1000, id="asks+"),
    pytest.param(table("questions", "open_minutes_after_end = 0"), "after", 0, id="after-0"),
    pytest.param(table("questions", "open_minutes_after_end = 1440"), "after", 1440, id="after+"),
    pytest.param(table("rooms", "undo_end_minutes = 0"), "undo", timedelta(0), id="undo-0"),
    pytest.param(table("rooms", "undo_end_minutes = 60"), "undo", timedelta(hours=1), id="undo+"),
    pytest.param(item("moderated = false"), "moderated", False, id="unmoderated"),
    pytest.param(
        table("store", 'url = "sqlite+aiosqlite:////var/plenary/db.sqlite"'),
        "store",
        "sqlite+aiosqlite:////var/plenary/db.sqlite",
        id="sqlite-url",
    ),
    pytest.param(
        table("server", 'public_url = "http://127.0.0.1:8080/plenary"'),
        "public_url",
        "http://127.0.0.1:8080/plenary",
        id="url-with-path",
    ),
    pytest.param(
        table(
            "server",
            'allowed_origins = ["HTTPS://Www.Example.org:443/", "http://[::1]:8080", '
            '"http://localhost:8080", "https://www.example.org"]',
        ),
        "origins",
        ("https://www.example.org", "http://[::1]:8080", "http://localhost:8080"),
        id="origins",
    ),
    pytest.param(table("server", "allowed_origins = []"), "origins", (), id="no-origins"),
    pytest.param(table("server", "header_timeout_seconds = 2.5"), "header", 2.5, id="header-2.5"),
    pytest.param(table("server", "max_connections = 16"), "connections", 16, id="conns-16"),
    pytest.param(table("server", 'log_format = "json"'), "log_format", "json", id="json-log"),
    pytest.param(BASE, "log_format", "text", id="text-log"),
    pytest.param(table("media", 'ice_addresses = ["::1"]'), "ice", ("::1",), id="ice-v6"),
    *(
        pytest.param(
            table("media", f"ice_servers = [{{urls = ['{url}']{secrets}}}]"),
            "ice_urls",
            (url,),
            id=url,
        )
        for url, secrets in [
            ("stun:stun.example.org", ""),
            ("stun:192.0.2.1:3478", ""),
            ("turn:[2001:db8::1]:3478?transport=tcp", ', secret_env = "TURN_SECRET"'),
            ("turns:turn.example.org:5349?transport=tcp", ', secret_env = "TURN_SECRET"'),
        ]
    ),
    pytest.param(swap(DATE, "date = 2021-06-14\n"), "day", date(2021, 6, 14), id="toml-date"),
    pytest.param(swap('start = "14:00"', "start = 14:00:00"), "start", "12:00", id="toml-time"),
]


def read(config: Config, what: str) -> object:
    welcome = config.timetable.item("welcome")
    return {
        "lobby": config.timetable.lobby,
        "zone": config.timetable.zone.key,
        "name": config.event.name,
        "contact": config.event.contact,
        "ttl": config.staff_ttl,
        "max_viewers": config.max_viewers,
        "per_room": config.max_viewers_per_room,
        "per_person": config.sessions_per_person,
        "connecting": config.max_connecting_viewers,
        "within": config.connect_within_seconds,
        "offers": config.offers_per_address_per_minute,
        "smtp_port": config.mail.smtp_port,
        "smtp_timeout": config.mail.smtp_timeout,
        "security": config.mail.smtp_security,
        "mode": config.registration.mode,
        "per_minute": config.registration.per_address_per_minute,
        "asks": config.questions.per_person_per_minute,
        "after": config.questions.open_minutes_after_end,
        "undo": config.rooms.undo_window,
        "moderated": welcome.moderated,
        "store": config.store_url,
        "public_url": config.public_url,
        "origins": config.allowed_origins,
        "header": config.header_timeout_seconds,
        "connections": config.max_connections,
        "log_format": config.log_format,
        "ice": config.ice_addresses,
        "ice_urls": config.ice_servers[0].urls if config.ice_servers else (),
        "day": config.timetable.local_day(welcome),
        "start": f"{welcome.starts_at:%H:%M}",  # in UTC: 14:00 in Vienna in June
    }[what]


@pytest.mark.parametrize(("text", "what", "expected"), GOOD)
def test_good_values_at_the_edges(tmp_path: Path, text: str, what: str, expected: object) -> None:
    assert read(load(tmp_path, text), what) == expected


# -- the file ---------------------------------------------------------------------------------


def test_a_missing_file(tmp_path: Path) -> None:
    assert refusal(tmp_path / "nope.toml") == "file: not found"


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    assert refusal(tmp_path).startswith("file: cannot be read")


@pytest.mark.parametrize(
    "content",
    [
        BASE.replace("Test", "Te\xdfst").encode("latin-1"),
        BASE.encode("utf-16"),
        b"\xff\xfe\x00",
    ],
    ids=["latin-1", "utf-16", "garbage"],
)
def test_a_file_that_is_not_utf8(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(content)
    assert refusal(path).startswith("file: cannot be read ('utf-8' codec can't decode")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"], ids=["empty", "blank", "note"])
def test_an_empty_file_lacks_the_event(tmp_path: Path, text: str) -> None:
    assert refusal(write(tmp_path, text)) == "[event]: missing"


@pytest.mark.parametrize(
    "text",
    [
        swap('name = "Test Conference"', "name = "),
        swap('name = "Test Conference"', 'name = "Test Conference'),
        swap('name = "Test Conference"', 'name = "A"\nname = "B"'),
        BASE + "\n[event]\n",
        swap("[event]", "[event"),
        swap("Test", "Te\x00st"),
        "\ufeff" + BASE,  # a byte-order mark, as some editors write
    ],
    ids=["no-value", "unterminated", "key-twice", "table-twice", "bracket", "nul", "bom"],
)
def test_invalid_toml_says_where(tmp_path: Path, text: str) -> None:
    message = refusal(write(tmp_path, text))
    assert message.startswith("TOML: ") and "(at line " in message


@pytest.mark.parametrize(
    "nested",
    ["[" * 5000 + "]" * 5000, "{a = " * 5000 + "1" + "}" * 5000],
    ids=["arrays", "inline-tables"],
)
def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path: Path, nested: str) -> None:
    message = refusal(write(tmp_path, f"x = {nested}\n" + BASE))
    assert message == "TOML: arrays or tables nested too deeply"


# -- every section, refused by name ------------------------------------------------------------


def refused(text: str, expected: str, name: str) -> object:
    return pytest.param(text, expected, id=name)


ICE = "[media] ice_servers"
BAD = [
    # top level and tables
    refused(BASE + "\n[extra]\nx = 1\n", "top level: unknown field 'extra'; known: ", "extra"),
    refused(
        table("regisration", 'mode = "open"'), "top level: unknown field 'regisration'", "typo"
    ),
    refused('nam = "x"\n' + BASE, "top level: unknown field 'nam'", "stray-key"),
    refused(BASE[BASE.index("[[days]]") :], "[event]: missing", "no-event"),
    refused('event = "x"\n' + BASE[BASE.index("[[days]]") :], "[event]: must be a table", "ev"),
    refused(swap("[[days]]", "[[media]]\nmax_viewers = 1\n[[days]]"), "[media]: must be a ", "aot"),
    refused('registration = "open"\n' + BASE, "[registration]: must be a table", "reg-text"),
    refused('auth = ["x"]\n' + BASE, "[auth]: must be a table", "auth-list"),
    refused("mail = 1\n" + BASE, "[mail]: must be a table", "mail-int"),
    refused("store = true\n" + BASE, "[store]: must be a table", "store-bool"),
    refused('server = "x"\n' + BASE, "[server]: must be a table", "server-text"),
    # [event]
    refused(event("nmae = 1"), "[event]: unknown field 'nmae'; known: contact, lobby", "ev-x"),
    refused(
        swap('name = "Test Conference"\n', ""), "[event]: field 'name': must be non", "no-name"
    ),
    refused(swap('"Test Conference"', '"   "'), "[event]: field 'name': must be non", "blank"),
    refused(swap('"Test Conference"', "42"), "[event]: field 'name': must be non-empty", "name-i"),
    refused(swap('"Test Conference"', '["A"]'), "[event]: field 'name': must be non", "name-list"),
    refused(
        swap('"Test Conference"', '"' + "x" * 301 + '"'), "[event]: field 'name': longer", "301"
    ),
    refused(swap("Test Conference", "x" * 1_000_000), "[event]: field 'name': longer than", "1MB"),
    refused(event("theme = 1"), "[event]: field 'theme': must be", "theme-int"),
    refused(event("contact = 1"), "[event]: field 'contact': must be", "contact-int"),
    refused(event('contact = "help"'), "[event]: field 'contact': not an e-mail", "contact-word"),
    refused(event('contact = "a@b@c.org"'), "[event]: field 'contact': not an e-", "contact-@@"),
    refused(event('contact = "help@x.local"'), "[event]: field 'contact': not an", "contact-local"),
    refused(event('contact = "ftp://x.org"'), "[event]: field 'contact': 'ftp://", "contact-ftp"),
    refused(event('contact = "https://"'), "[event]: field 'contact': 'https://'", "contact-host"),
    refused(event('contact = "https://x.org/a b"'), "[event]: field 'contact': an ", "contact-sp"),
    refused(
        event('contact = "help\u202e@x.org"'),
        "[event]: field 'contact': contains control or invisible",
        "contact-bidi",
    ),
    refused(event("venue = {x = 1}"), "[event]: field 'venue': must be", "venue-table"),
    refused(swap(TIMEZONE, ""), "[event]: field 'timezone': must be an IANA zone", "no-zone"),
    refused(swap(TIMEZONE, 'timezone = ""\n'), "[event]: field 'timezone': must be", "zone-empty"),
    refused(swap(TIMEZONE, "timezone = 1\n"), "[event]: field 'timezone': must be", "zone-int"),
    refused(swap("Europe/Vienna", "Mars/Olympus"), "[event]: field 'timezone': unknown", "mars"),
    refused(swap("Europe/Vienna", "europe/vienna"), "[event]: field 'timezone': unknown", "case"),
    refused(swap("Europe/Vienna", "Europe"), "[event]: field 'timezone': unknown", "zone-folder"),
    refused(swap("Europe/Vienna", "../../etc/passwd"), "[event]: field 'timezone': unk", "dots"),
    refused(swap("Europe/Vienna", "/etc/localtime"), "[event]: field 'timezone': unknown", "abs"),
    refused(swap("Europe/Vienna", "Europe/Vienna\\u0000"), "[event]: field 'timezone': un", "nul"),
    *(
        refused(
            swap("Europe/Vienna", zone),
            f"[event]: field 'timezone': unknown time zone '{zone}'",
            f"zone-{zone}",
        )
        for zone in ("localtime", "Factory", "posix/Europe/Vienna", "right/Europe/Vienna")
    ),
    refused(swap("Europe/Vienna", "x" * 5000), "[event]: field 'timezone': unknown", "zone-long"),
    refused(event('lobby_minutes = "15"'), "[event]: field 'lobby_minutes': must be a", "lob-s"),
    refused(event("lobby_minutes = true"), "[event]: field 'lobby_minutes': must be a", "lob-b"),
    refused(event("lobby_minutes = 15.0"), "[event]: field 'lobby_minutes': must be a", "lob-f"),
    refused(event("lobby_minutes = -1"), "[event]: field 'lobby_minutes': must be from", "lob-"),
    refused(event("lobby_minutes = 241"), "[event]: field 'lobby_minutes': must be from", "lob+"),
    # [auth]
    refused(table("auth", 'ttl = "6h"'), "[auth]: unknown field 'ttl'; known: issuer, staff", "a"),
    refused(table("auth", 'issuer = ""'), "[auth]: field 'issuer': must be non-empty", "iss-0"),
    refused(table("auth", 'issuer = "  "'), "[auth]: field 'issuer': must be non-empty", "iss-_"),
    refused(table("auth", "issuer = 1"), "[auth]: field 'issuer': must be non-empty", "iss-int"),
    refused(table("auth", f'issuer = "{"i" * 301}"'), "[auth]: field 'issuer': longer", "iss-long"),
    refused(table("auth", "staff_ttl = 12"), "[auth]: field 'staff_ttl': must be text", "ttl-int"),
    refused(table("auth", 'staff_ttl = "12"'), "[auth]: field 'staff_ttl': ttl must be", "no-unit"),
    refused(table("auth", 'staff_ttl = "12x"'), "[auth]: field 'staff_ttl': ttl must", "ttl-unit"),
    refused(table("auth", 'staff_ttl = "1.5h"'), "[auth]: field 'staff_ttl': ttl must", "ttl-f"),
    refused(table("auth", 'staff_ttl = "-1h"'), "[auth]: field 'staff_ttl': ttl must", "ttl-neg"),
    refused(table("auth", 'staff_ttl = "１２h"'), "[auth]: field 'staff_ttl': ttl must", "wide"),
    refused(table("auth", 'staff_ttl = "0s"'), "[auth]: field 'staff_ttl': a token must", "ttl-0"),
    refused(table("auth", 'staff_ttl = "401d"'), "[auth]: field 'staff_ttl': a token", "ttl-401"),
    refused(table("auth", 'staff_ttl = "999999d"'), "[auth]: field 'staff_ttl': a token", "huge"),
    # [media]
    refused(table("media", "max_viewer = 5"), "[media]: unknown field 'max_viewer'; known:", "m"),
    refused(table("media", 'max_viewers = "200"'), "[media]: field 'max_viewers': must be", "mv-s"),
    refused(table("media", "max_viewers = true"), "[media]: field 'max_viewers': must be", "mv-b"),
    refused(table("media", "max_viewers = 0"), "[media]: field 'max_viewers': must be a", "mv-0"),
    refused(table("media", "max_viewers = 100001"), "[media]: field 'max_viewers': must", "mv+"),
    refused(table("media", "max_viewers = 2.5"), "[media]: field 'max_viewers': must be", "mv-f"),
    refused(table("media", "max_viewers = -7"), "[media]: field 'max_viewers': must be a", "mv-n"),
    refused(
        table("media", "max_viewers = 9223372036854775807"),
        "[media]: field 'max_viewers': must be a whole number from 1 to 100000",
        "mv-int64",
    ),
    refused(
        table("media", "max_viewers_per_room = [1]"),
        "[media]: field 'max_viewers_per_room': must be a whole number",
        "room-list",
    ),
    refused(
        table("media", "max_viewers_per_room = false"),
        "[media]: field 'max_viewers_per_room': must be a whole number",
        "room-bool",
    ),
    *(
        refused(table("media", f"{key} = {value}"), f"[media]: field {key!r}: must be a", name)
        for key, value, name in [
            ("sessions_per_person", "0", "pp-0"),
            ("sessions_per_person", "100001", "pp+"),
            ("sessions_per_person", "true", "pp-bool"),
            ("sessions_per_person", '"3"', "pp-text"),
            ("sessions_per_person", "2.0", "pp-float"),
            ("max_connecting_viewers", "0", "conn-0"),
            ("max_connecting_viewers", "-1", "conn-neg"),
            ("max_connecting_viewers", "100001", "conn+"),
            ("max_connecting_viewers", "[10]", "conn-list"),
            ("offers_per_address_per_minute", "0", "offers-0"),
            ("offers_per_address_per_minute", "100001", "offers+"),
            ("offers_per_address_per_minute", "1.5", "offers-f"),
            ("offers_per_address_per_minute", "false", "offers-bool"),
            ("connect_within_seconds", "0", "within-0"),
            ("connect_within_seconds", "0.5", "within-half"),
            ("connect_within_seconds", "121", "within+"),
            ("connect_within_seconds", "nan", "within-nan"),
            ("connect_within_seconds", "inf", "within-inf"),
            ("connect_within_seconds", "-10", "within-neg"),
            ("connect_within_seconds", "true", "within-bool"),
            ("connect_within_seconds", '"10s"', "within-text"),
        ]
    ),
    refused(
        table("media", "connect_within_seconds = 0"),
        "[media]: field 'connect_within_seconds': must be a number of seconds from 1 to 120",
        "within-words",
    ),
    refused(
        table("media", "sessions_per_person = 0"),
        "[media]: field 'sessions_per_person': must be a whole number from 1 to 100000",
        "pp-words",
    ),
    refused(
        table("media", 'ice_addresses = "127.0.0.1"'),
        "[media]: field 'ice_addresses': must be a list of addresses",
        "ice-text",
    ),
    refused(
        table("media", 'ice_addresses = ["localhost"]'),
        "[media]: field 'ice_addresses': 'localhost' is not an IP address",
        "ice-name",
    ),
    refused(
        table("media", 'ice_addresses = ["127.0.0.1 "]'),
        "[media]: field 'ice_addresses': '127.0.0.1 ' is not an IP address",
        "ice-space",
    ),
    refused(table("media", 'ice_addresses = ["256.1.1.1"]'), "[media]: field 'ice_addr", "256"),
    refused(table("media", 'ice_addresses = ["::g"]'), "[media]: field 'ice_addresses': ", "v6"),
    refused(table("media", "ice_addresses = [{}]"), "[media]: field 'ice_addresses': ", "ice-t"),
    refused(
        table("media", "ice_addresses = [1]"),
        "[media]: field 'ice_addresses': 1 is not an IP address",
        "ice-number",
    ),
    refused(
        table("media", "ice_addresses = [true]"),
        "[media]: field 'ice_addresses': True is not an IP address",
        "ice-bool",
    ),
    *(
        refused(
            table("media", f'ice_addresses = ["127.0.0.1", "{address}"]'),
            f"[media]: field 'ice_addresses': '{address}' cannot be offered to peers",
            f"ice-{address}",
        )
        for address in ("0.0.0.0", "::", "224.0.0.1", "ff02::1", "255.255.255.255")
    ),
    refused(table("media", "ice_servers = [{}]"), f"{ICE}[0]: field 'urls': a list of", "no-urls"),
    # The rest of [media] ice_servers: test_bad_ice_servers_are_refused_by_name, below.
    *(
        refused(
            table("media", f'ice_servers = [{{urls = ["{url}"]}}]'),
            f"{ICE}[0]: field 'urls': a list of stun:, turn: or turns: addresses",
            f"url-{url}",
        )
        # Each is one that Chromium will not make a peer connection with.
        for url in (
            "stun:",
            "stun:bad host!",
            "stun:stun.example.org:0",
            "stun:stun.example.org:65536",
            "stun:stun.example.org:port",
            "stun:stun.example.org?transport=udp",
            "turn:[::1",
            "turn:t?transport=sctp",
        )
    ),
    # [registration]
    refused(table("registration", 'modes = "open"'), "[registration]: unknown field 'modes'", "r"),
    refused(
        table("registration", 'mode = "Open"'),
        "[registration]: field 'mode': must be one of open, approval, closed, not 'Open'",
        "mode-case",
    ),
    refused(table("registration", 'mode = ["open"]'), "[registration]: field 'mode': ", "mode-l"),
    refused(table("registration", "mode = true"), "[registration]: field 'mode': must be", "m-b"),
    refused(
        table("registration", "privacy_notice = 1"),
        "[registration]: field 'privacy_notice': must be",
        "notice-int",
    ),
    refused(
        table("registration", f'privacy_notice = "{"n" * 20_001}"'),
        "[registration]: field 'privacy_notice': longer than 20000 characters",
        "notice-long",
    ),
    refused(
        table("registration", "per_address_per_minute = 0"),
        "[registration]: field 'per_address_per_minute': must be a whole number from 1 to 10000",
        "rate-0",
    ),
    refused(
        table("registration", "per_address_per_minute = 10001"),
        "[registration]: field 'per_address_per_minute': must be",
        "rate-max",
    ),
    refused(
        table("registration", "per_address_per_minute = true"),
        "[registration]: field 'per_address_per_minute': must be",
        "rate-bool",
    ),
    # [questions]
    refused(
        table("questions", "per_person_per_minute = 0"),
        "[questions]: field 'per_person_per_minute': must be a whole number from 1 to 1000",
        "asks-0",
    ),
    refused(
        table("questions", "per_person_per_minute = 1001"),
        "[questions]: field 'per_person_per_minute': must be",
        "asks-max",
    ),
    refused(
        table("questions", "per_person_per_minute = 2.5"),
        "[questions]: field 'per_person_per_minute': must be",
        "asks-float",
    ),
    refused(
        table("questions", 'per_person_per_minute = "5"'),
        "[questions]: field 'per_person_per_minute': must be",
        "asks-text",
    ),
    refused(
        table("questions", "open_minutes_after_end = -1"),
        "[questions]: field 'open_minutes_after_end': must be a whole number from 0 to 1440",
        "after-negative",
    ),
    refused(
        table("questions", "open_minutes_after_end = 1441"),
        "[questions]: field 'open_minutes_after_end': must be",
        "after-max",
    ),
    refused(
        table("questions", "open_minutes_after_end = true"),
        "[questions]: field 'open_minutes_after_end': must be",
        "after-bool",
    ),
    refused(
        table("questions", "moderated = false"),
        "[questions]: unknown field 'moderated'; known: open_minutes_after_end, "
        "per_person_per_minute",
        "questions-typo",
    ),
    refused("questions = 5\n" + BASE, "[questions]: must be a table", "questions-not-table"),
    # [rooms]
    refused(
        table("rooms", "undo_end_minutes = -1"),
        "[rooms]: field 'undo_end_minutes': must be a whole number from 0 to 60",
        "undo-negative",
    ),
    refused(table("rooms", "undo_end_minutes = 61"), "[rooms]: field 'undo_end_minutes'", "undo+"),
    refused(table("rooms", "undo_end_minutes = 2.5"), "[rooms]: field 'undo_end_minutes'", "undo."),
    refused(table("rooms", 'undo_end_minutes = "5"'), "[rooms]: field 'undo_end_minutes'", "undo$"),
    refused(
        table("rooms", "undo_end_minutes = true"), "[rooms]: field 'undo_end_minutes'", "undo?"
    ),
    refused(
        table("rooms", "undo_minutes = 5"),
        "[rooms]: unknown field 'undo_minutes'; known: undo_end_minutes",
        "rooms-typo",
    ),
    # [mail]
    refused(
        table("mail", 'smtp_password = "hunter2"'),
        "[mail]: unknown field 'smtp_password'; known: ",
        "password-in-file",
    ),
    refused(
        table("mail", 'sender = "Conference"'),
        "[mail]: field 'sender': must contain an e-mail address",
        "sender-no-at",
    ),
    refused(table("mail", "sender = 1"), "[mail]: field 'sender': must be", "sender-int"),
    refused(table("mail", "smtp_host = 1"), "[mail]: field 'smtp_host': must be", "host-int"),
    refused(table("mail", "smtp_port = 0"), "[mail]: field 'smtp_port': must be a whole", "p0"),
    refused(table("mail", "smtp_port = 65536"), "[mail]: field 'smtp_port': must be a", "p+"),
    refused(table("mail", 'smtp_port = "587"'), "[mail]: field 'smtp_port': must be a", "p-s"),
    refused(table("mail", "smtp_port = true"), "[mail]: field 'smtp_port': must be a", "p-b"),
    refused(
        table("mail", 'smtp_security = "ssl"'),
        "[mail]: field 'smtp_security': must be one of starttls, tls, none, not 'ssl'",
        "ssl",
    ),
    *(
        refused(
            table("mail", f'smtp_password_env = "{value}"'),
            f"[mail]: field 'smtp_password_env': '{value}' is not the name of an environment",
            f"env-{value}",
        )
        for value in ("hunter2!", "SMTP PASSWORD", "A=B", "1PASSWORD", "$PASSWORD", "PASSWÖRD")
    ),
    refused(table("mail", "smtp_username = 1"), "[mail]: field 'smtp_username': must", "user"),
    refused(table("mail", "smtp_timeout = 0"), "[mail]: field 'smtp_timeout': must be a", "t0"),
    refused(table("mail", "smtp_timeout = 601"), "[mail]: field 'smtp_timeout': must be a", "t+"),
    refused(table("mail", "smtp_timeout = 2.5"), "[mail]: field 'smtp_timeout': must be a", "tf"),
    # [store]
    refused(table("store", 'uri = "x"'), "[store]: unknown field 'uri'; known: url", "store-key"),
    refused(table("store", 'url = "sqlite:///x.db"'), "[store]: field 'url': must start", "sync"),
    refused(
        table("store", 'url = "postgresql://db/plenary"'),
        "[store]: field 'url': must start with postgresql+asyncpg://",
        "pg-driver",
    ),
    refused(table("store", "url = 1"), "[store]: field 'url': must be", "store-int"),
    # [server]
    refused(
        table("server", 'url = "x"'),
        "[server]: unknown field 'url'; known: allowed_origins, header_timeout_seconds, "
        "log_format, max_connections, public_url",
        "s",
    ),
    refused(table("server", 'public_url = "ftp://x"'), "[server]: field 'public_url': ", "ftp"),
    *(
        refused(table("server", f"{key} = {value}"), f"[server]: field {key!r}: {message}", name)
        for name, key, value, message in [
            ("timeout-0", "header_timeout_seconds", "0", "must be a number of seconds from 1"),
            ("timeout-big", "header_timeout_seconds", "301", "must be a number of seconds"),
            ("timeout-nan", "header_timeout_seconds", "nan", "must be a number of seconds"),
            ("timeout-text", "header_timeout_seconds", '"10"', "must be a number of seconds"),
            ("timeout-bool", "header_timeout_seconds", "true", "must be a number of seconds"),
            ("conns-small", "max_connections", "15", "must be a whole number from 16"),
            ("conns-float", "max_connections", "100.5", "must be a whole number"),
            ("conns-bool", "max_connections", "true", "must be a whole number"),
            ("log-xml", "log_format", '"xml"', "must be one of text, json, not 'xml'"),
            ("log-upper", "log_format", '"JSON"', "must be one of text, json, not 'JSON'"),
            ("log-bool", "log_format", "true", "must be one of text, json, not True"),
        ]
    ),
    refused(
        table("server", 'public_url = "conference.example.org"'),
        "[server]: field 'public_url': 'conference.example.org' is not an http(s) address",
        "no-scheme",
    ),
    refused(table("server", 'public_url = "https://"'), "[server]: field 'public_url'", "no-host"),
    refused(table("server", 'public_url = "https://x/?a=1"'), "[server]: field 'public_url'", "?"),
    refused(table("server", 'public_url = "https://x/#a"'), "[server]: field 'public_url'", "#"),
    refused(table("server", "public_url = 1"), "[server]: field 'public_url': must be", "url-i"),
    *(
        refused(
            table("server", f"allowed_origins = {value}"),
            f"[server]: field 'allowed_origins': {message}",
            f"origins-{name}",
        )
        for name, value, message in [
            ("text", '"https://x.org"', "must be a list"),
            ("many", "[" + '"https://x.org", ' * 51 + "]", "must be a list of at most 50"),
            ("int", "[1]", "1 is not an origin like https://www.example.org"),
            ("path", '["https://x.org/app"]', "'https://x.org/app' is not an origin"),
            ("query", '["https://x.org/?a"]', "'https://x.org/?a' is not an origin"),
            ("hash", '["https://x.org#a"]', "'https://x.org#a' is not an origin"),
            ("user", '["https://me@x.org"]', "'https://me@x.org' is not an origin"),
            ("scheme", '["ftp://x.org"]', "'ftp://x.org' is not an origin"),
            ("bare", '["x.org"]', "'x.org' is not an origin"),
            ("star", '["*"]', "'*' is not an origin"),
            ("null", '["null"]', "'null' is not an origin"),
            ("port", '["https://x.org:99999"]', "'https://x.org:99999' is not an origin"),
            ("idn", '["https://exämple.org"]', "'https://exämple.org' is not an origin"),
            ("empty", '[""]', "'' is not an origin"),
        ]
    ),
    *(
        refused(
            table("server", f'public_url = "{url}"'),
            "[server]: field 'public_url': ",
            name,
        )
        for name, url in [
            ("broken-ipv6", "http://[::1"),
            ("port-too-big", "http://conference.example.org:99999"),
            ("port-zero", "http://conference.example.org:0"),
            ("port-text", "http://conference.example.org:http"),
            ("port-only", "https://:8080"),
            ("space", "https://conference.example .org"),
            ("newline", "https://conference.example.org\\n/x"),
            ("tab", "https://conference.example.org/\\tx"),
        ]
    ),
]


INVISIBLE = "contains control or invisible formatting characters"
# TOML escapes, as a config would hold them: what each stands for never reaches a header.
HIDDEN = [
    ("\\n", "newline"),
    ("\\r\\n", "crlf"),
    ("\\t", "tab"),
    ("\\u0007", "bell"),
    ("\\u202e", "rtl-override"),
    ("\\u2066", "isolate"),
    ("\\u200b", "zero-width-space"),
    ("\\u2028", "line-separator"),
    ("\\ufeff", "bom"),
]
BAD += [
    refused(text, f"{where}: field {field!r}: {INVISIBLE}", f"{field}-{name}")
    for char, name in HIDDEN
    for text, where, field in [
        (swap("Test Conference", f"Test{char}Conference"), "[event]", "name"),
        (event(f'venue = "Hof{char}burg"'), "[event]", "venue"),
        (table("auth", f'issuer = "plen{char}ary"'), "[auth]", "issuer"),
        (table("mail", f'sender = "x{char}Bcc: y@example.org"'), "[mail]", "sender"),
        (table("mail", f'smtp_host = "smtp{char}.example.org"'), "[mail]", "smtp_host"),
        (
            table("media", f'ice_servers = [{{urls = ["turn:a"], secret_env = "S{char}X"}}]'),
            f"{ICE}[0]",
            "secret_env",
        ),
    ]
]
BAD += [
    refused(
        table("media", f'ice_servers = [{{urls = ["turn:a.example.org{char}x"]}}]'),
        f"{ICE}[0]: field 'urls': a list of",
        f"urls-{name}",
    )
    for char, name in [*HIDDEN, (" ", "space"), ("<", "angle")]
]
BAD += [
    refused(
        table("registration", f'privacy_notice = "We ask{char}for your name."'),
        f"[registration]: field 'privacy_notice': {INVISIBLE}",
        f"notice-{name}",
    )
    for char, name in HIDDEN
    if name not in ("newline", "crlf", "tab")  # a notice has paragraphs
]


def test_joiners_and_direction_marks_belong_to_some_names(tmp_path: Path) -> None:
    name = "\u0930\u093e\u092e\u200d\u0915\u0941\u092e\u093e\u0930 \u200fConference"
    assert load(tmp_path, swap("Test Conference", name)).event.name == name


@pytest.mark.parametrize(("text", "expected"), BAD)
def test_bad_input_is_refused_by_name(tmp_path: Path, text: str, expected: str) -> None:
    assert refusal(write(tmp_path, text)).startswith(expected)


# -- the agenda, through the config -----------------------------------------------------------

FIRST = "days[0].items[0]"
AGENDA = [
    refused(BASE[: BASE.index("[[days]]")], "days: field 'days': the agenda needs", "no-days"),
    refused("days = []\n" + BASE[: BASE.index("[[days]]")], "days: field 'days': the", "empty"),
    refused(
        BASE[: BASE.index("[[days]]")] + '[days]\ndate = "2021-06-14"\n',
        "days: field 'days': the agenda needs at least one [[days]] table",
        "days-table",
    ),
    refused(
        swap("[event]", 'days = ["2021-06-14"]\n[event]', BASE[: BASE.index("[[days]]")]),
        "days[0]: field 'days': each day must be a table",
        "day-text",
    ),
    refused(swap(DATE, ""), "days[0]: field 'date': must be a date like 2021-06-14", "no-date"),
    refused(swap(DATE, 'date = "2021-02-29"\n'), "days[0]: field 'date': must be a", "feb-29"),
    refused(swap(DATE, 'date = "14.06.2021"\n'), "days[0]: field 'date': must be a", "european"),
    refused(swap(DATE, 'date = "2021-13-01"\n'), "days[0]: field 'date': must be a", "month-13"),
    refused(swap(DATE, "date = 20210614\n"), "days[0]: field 'date': must be a", "date-int"),
    refused(swap(DATE, "date = 2021-06-14T09:00:00\n"), "days[0]: field 'date': must", "datetime"),
    refused(swap(DATE, 'date = ""\n'), "days[0]: field 'date': must be a date", "date-empty"),
    *(
        refused(
            swap(DATE, f'date = "{on}"\n'),
            f"days[0]: field 'date': must be from 2000 to 2100, not {on}",
            f"date-{on}",
        )
        for on in ("0001-01-01", "1999-12-31", "2101-01-01", "9999-12-31")
    ),
    refused(
        BASE[: BASE.index("[[days.items]]")], "days[0]: field 'items': each day needs", "no-items"
    ),
    refused(
        BASE[: BASE.index("[[days.items]]")] + "items = []\n",
        "days[0]: field 'items': each day needs at least one",
        "items-empty",
    ),
    refused(
        BASE[: BASE.index("[[days.items]]")] + 'items = ["welcome"]\n',
        f"{FIRST}: field 'items': each item must be a table",
        "item-text",
    ),
    refused(swap('id = "welcome"\n', ""), f"{FIRST}: field 'id': must be lower-case", "no-id"),
    refused(swap('"welcome"', '"Welcome"'), f"{FIRST}: field 'id': must be lower-case", "upper"),
    refused(swap('"welcome"', '"w\u0435lcome"'), f"{FIRST}: field 'id': must be", "cyrillic-e"),
    refused(swap('"welcome"', '"\uff57elcome"'), f"{FIRST}: field 'id': must be", "fullwidth"),
    refused(swap('"welcome"', '"welcome\\n"'), f"{FIRST}: field 'id': must be", "id-newline"),
    refused(swap('"welcome"', '"wel\u200bcome"'), f"{FIRST}: field 'id': must be", "zero-width"),
    refused(swap('"welcome"', '"we\u0301lcome"'), f"{FIRST}: field 'id': must be", "combining"),
    refused(swap('"welcome"', '"١٢"'), f"{FIRST}: field 'id': must be", "arabic-digits"),
    refused(swap('"welcome"', '"-welcome"'), f"{FIRST}: field 'id': must be", "dash-first"),
    refused(swap('"welcome"', '"wel come"'), f"{FIRST}: field 'id': must be", "space"),
    refused(swap('"welcome"', '"wel_come"'), f"{FIRST}: field 'id': must be", "underscore"),
    refused(swap('"welcome"', '"../x"'), f"{FIRST}: field 'id': must be", "path"),
    refused(swap('"welcome"', f'"{"a" * 64}"'), f"{FIRST}: field 'id': must be", "id-64"),
    refused(swap('"welcome"', "1"), f"{FIRST}: field 'id': must be lower-case", "id-int"),
    refused(swap(TITLE, ""), "item 'welcome': field 'title': is required", "no-title"),
    refused(swap(TITLE, 'title = "  "\n'), "item 'welcome': field 'title': must be", "blank-t"),
    refused(swap(TITLE, "title = 1\n"), "item 'welcome': field 'title': must be text", "title-i"),
    refused(swap(TITLE, f'title = "{"t" * 201}"\n'), "item 'welcome': field 'title': is lo", "t+"),
    refused(item("description = 1"), "item 'welcome': field 'description': must be", "desc-int"),
    refused(
        item(f'description = "{"d" * 5001}"'),
        "item 'welcome': field 'description': is longer than 5000 characters",
        "desc-long",
    ),
    refused(swap('kind = "remarks"', 'kind = "workshop"'), "item 'welcome': field 'kind': ", "k"),
    refused(swap('kind = "remarks"\n', ""), "item 'welcome': field 'kind': unknown kind", "no-k"),
    refused(swap('kind = "remarks"', 'kind = "Remarks"'), "item 'welcome': field 'kind'", "k-up"),
    refused(swap('kind = "remarks"', "kind = 1"), "item 'welcome': field 'kind': unknown", "k-int"),
    refused(swap('start = "14:00"\n', ""), "item 'welcome': field 'start': is required", "no-s"),
    refused(swap('"14:00"', '"25:00"'), "item 'welcome': field 'start': must be a local", "25h"),
    refused(swap('"14:00"', '"14:60"'), "item 'welcome': field 'start': must be a local", "60m"),
    refused(swap('"14:00"', '"2pm"'), "item 'welcome': field 'start': must be a local", "2pm"),
    refused(swap('"14:00"', '"14:00:30"'), "item 'welcome': field 'start': must be a", "secs"),
    refused(swap('"14:00"', '"\uff11\uff14:00"'), "item 'welcome': field 'start': must", "wide"),
    refused(swap('"14:00"', "1400"), "item 'welcome': field 'start': must be a local", "s-int"),
    refused(swap('"14:00"', "2021-06-14T14:00:00"), "item 'welcome': field 'start': must", "dt"),
    refused(
        swap('end = "14:45"', 'end = "13:00"'), "item 'welcome': field 'end': must be aft", "<"
    ),
    refused(swap('end = "14:45"', 'end = "14:00"'), "item 'welcome': field 'end': must be af", "="),
    refused(item('audio_only = "yes"'), "item 'welcome': field 'audio_only': must be true", "ao"),
    refused(item("audio_only = 1"), "item 'welcome': field 'audio_only': must be true or", "ao-1"),
    refused(item('recorded = "no"'), "item 'welcome': field 'recorded': must be true or", "rec"),
    refused(
        swap(DATE, 'date = "2021-03-28"\n').replace('"14:00"', '"02:30"', 1),
        "item 'welcome': field 'start': 2021-03-28 02:30 does not exist in Europe/Vienna",
        "dst-gap",
    ),
    refused(
        swap(DATE, 'date = "2021-10-31"\n').replace('"14:00"', '"02:30"', 1),
        "item 'welcome': field 'start': 2021-10-31 02:30 happens twice in Europe/Vienna",
        "dst-twice",
    ),
    refused(
        swap('start = "14:45"', 'start = "14:30"'),
        "item 'keynote': field 'start': overlaps 'welcome', which ends at 14:45",
        "overlap",
    ),
    refused(
        swap('start = "14:45"\nend = "15:30"', 'start = "13:00"\nend = "16:00"'),
        "item 'welcome': field 'start': overlaps 'keynote', which ends at 16:00",
        "inside",
    ),
    refused(
        swap('id = "keynote"', 'id = "welcome"'),
        "item 'welcome': field 'id': is used by more than one item",
        "duplicate-id",
    ),
    refused(
        BASE + '\n[[days]]\ndate = "2021-06-15"\n\n[[days.items]]\nid = "welcome"\n'
        'start = "10:00"\nend = "11:00"\nkind = "remarks"\ntitle = "Again"\n',
        "item 'welcome': field 'id': is used by more than one item",
        "duplicate-id-next-day",
    ),
    refused(
        BASE + '\n[[days]]\ndate = "2021-06-14"\n\n[[days.items]]\nid = "late"\n'
        'start = "15:00"\nend = "16:00"\nkind = "panel"\ntitle = "Late"\n',
        "item 'late': field 'start': overlaps 'keynote', which ends at 15:30",
        "overlap-same-date-twice",
    ),
]


ITEM_FIELDS = (
    "audio_only, auto_stage, description, end, id, kind, moderated, recorded, start, title"
)
AGENDA += [
    refused(
        item("audio_onyl = true"),
        f"item 'welcome': field 'audio_onyl': is not a field of an item; known: {ITEM_FIELDS}",
        "item-typo",
    ),
    refused(item("recorde = false"), "item 'welcome': field 'recorde': is not a field", "rec"),
    refused(item('moderated = "no"'), "item 'welcome': field 'moderated': must be true", "mod"),
    refused(item("moderated = 0"), "item 'welcome': field 'moderated': must be true", "mod-0"),
    refused(item('speaker = "Ana"'), "item 'welcome': field 'speaker': is not a field", "extra"),
    refused(
        day('note = "Monday"'),
        "days[0]: field 'note': is not a field of a day; known: date, items",
        "day-extra",
    ),
    refused(
        swap("[[days.items]]", "[[days.item]]"),
        "days[0]: field 'item': is not a field of a day",
        "day-item-typo",
    ),
]


@pytest.mark.parametrize(("text", "expected"), AGENDA)
def test_bad_agenda_is_refused_by_item_and_field(tmp_path: Path, text: str, expected: str) -> None:
    assert refusal(write(tmp_path, text)).startswith(expected)


# -- [media] ice_servers, as raw tables ---------------------------------------------------------

PATH = Path("event.toml")
ICE_0 = "[media] ice_servers[0]"
STUN = {"urls": ["stun:turn.example.org:3478"]}
TURN = {"urls": ["turn:turn.example.org:3478?transport=udp"], "secret_env": "PLENARY_TURN_SECRET"}


def with_media(**media: Any) -> dict[str, Any]:
    raw = bundled_raw()
    raw["media"] = {**raw["media"], **media}
    return raw


def test_the_bundled_config_names_no_turn_server() -> None:
    config = bundled_config()
    assert not any(server.is_turn for server in config.ice_servers)
    assert config.turn_credential_ttl == timedelta(hours=2)


def test_stun_and_turn_servers_are_read() -> None:
    config = parse_config(with_media(ice_servers=[STUN, TURN], turn_credential_ttl="45m"), PATH)
    assert config.ice_servers == (
        IceServer(urls=("stun:turn.example.org:3478",)),
        IceServer(
            urls=("turn:turn.example.org:3478?transport=udp",), secret_env="PLENARY_TURN_SECRET"
        ),
    )
    assert [server.is_turn for server in config.ice_servers] == [False, True]
    assert config.turn_credential_ttl == timedelta(minutes=45)


def test_turns_servers_take_a_secret_too() -> None:
    turns = {"urls": ["turns:turn.example.org:5349"], "secret_env": "TURN_KEY"}
    (server,) = parse_config(with_media(ice_servers=[turns]), PATH).ice_servers
    assert server.is_turn and server.secret_env == "TURN_KEY"


@pytest.mark.parametrize(
    ("media", "where", "problem"),
    [
        (
            {"ice_servers": [{**TURN, "username": "hall", "credential": "s3cret"}]},
            ICE_0,
            "field 'username': a TURN password does not belong in the config file",
        ),
        (
            {"ice_servers": [STUN, {"urls": TURN["urls"], "credential": "s3cret"}]},
            "[media] ice_servers[1]",
            "field 'credential': a TURN password does not belong in the config file",
        ),
        (
            {"ice_servers": [{"urls": TURN["urls"]}]},
            ICE_0,
            "field 'secret_env': a TURN server needs the name of the environment variable",
        ),
        (
            {"ice_servers": [{**STUN, "secret_env": "PLENARY_TURN_SECRET"}]},
            ICE_0,
            "field 'secret_env': only turn: and turns: servers take one",
        ),
        (
            {"ice_servers": [{**TURN, "urls": [*STUN["urls"], *TURN["urls"]]}]},
            ICE_0,
            "field 'urls': stun: and turn: servers go in entries apart",
        ),
        (
            {"ice_servers": [{**TURN, "secret_env": "PLENARY TURN SECRET"}]},
            ICE_0,
            "field 'secret_env': 'PLENARY TURN SECRET' is not an environment variable name",
        ),
        (
            {"ice_servers": [{**TURN, "secret_env": 7}]},
            ICE_0,
            "field 'secret_env': must be non-empty text",
        ),
        (
            {"ice_servers": [{**TURN, "secret_env": ""}]},
            ICE_0,
            "field 'secret_env': a TURN server needs",
        ),
        (
            {"ice_servers": [{**TURN, "realm": "plenary"}]},
            ICE_0,
            "unknown field 'realm'; known: secret_env, urls",
        ),
        (
            {"ice_servers": [{"url": "stun:turn.example.org"}]},
            ICE_0,
            "unknown field 'url'",
        ),
        ({"ice_servers": [{"urls": "stun:turn.example.org"}]}, ICE_0, "urls"),
        ({"ice_servers": [{"urls": []}]}, ICE_0, "field 'urls'"),
        ({"ice_servers": [{"urls": ["https://turn.example.org"]}]}, ICE_0, "field 'urls'"),
        ({"ice_servers": [{"urls": ['turn:a>; rel="x"']}]}, ICE_0, "field 'urls'"),
        ({"ice_servers": [{"urls": [3478]}]}, ICE_0, "field 'urls'"),
        ({"ice_servers": ["stun:turn.example.org"]}, ICE_0, "a table"),
        ({"ice_servers": STUN}, "[media] ice_servers", "must be a list"),
        ({"turn_credential_ttl": 3600}, "[media]", "field 'turn_credential_ttl'"),
        ({"turn_credential_ttl": "forever"}, "[media]", "field 'turn_credential_ttl'"),
        ({"turn_credential_ttl": "0m"}, "[media]", 'from "1m" to "24h"'),
        ({"turn_credential_ttl": "30s"}, "[media]", 'from "1m" to "24h"'),
        ({"turn_credential_ttl": "25h"}, "[media]", 'from "1m" to "24h"'),
        ({"turn_ttl": "2h"}, "[media]", "unknown field 'turn_ttl'"),
    ],
)
def test_bad_ice_servers_are_refused_by_name(
    media: dict[str, Any], where: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config(with_media(**media), PATH)
    message = str(refused.value)
    assert message.startswith(f"{PATH}: {where}"), message
    assert problem in message, message
    assert "s3cret" not in message


def test_the_commented_example_in_the_bundled_config_is_accepted() -> None:
    text = CONFIG.read_text(encoding="utf-8")
    start = text.index("# ice_servers = [")
    end = text.index("\n", text.index("# turn_credential_ttl", start))
    example = "\n".join(line.removeprefix("# ") for line in text[start:end].splitlines())
    config = parse_config(with_media(**tomllib.loads(example)), PATH)
    assert [server.is_turn for server in config.ice_servers] == [False, True]
    assert config.ice_servers[1].secret_env == "PLENARY_TURN_SECRET"
    assert config.turn_credential_ttl == timedelta(hours=2)
