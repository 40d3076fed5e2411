"""The join letter as people read it: plain text and HTML with the same words, the link, the
event's dates, the privacy notice, how to withdraw, and the agenda as a calendar file; through
a real server and a real SMTP server (aiosmtpd), and the outbox."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

from icalendar import Calendar

from scheduler.timetable import OverrideAction
from server.config import MailSettings, SmtpSecurity
from server.registration.join_letter import join_letter
from server.registration.mail import OutboxMailer, SmtpMailer, new_message_id
from server.registration.model import MailStatus, Registration
from server.store import Actor
from server.web import appkeys
from tests.helpers import bundled_config
from tests.registration.test_http import ANA, ClientFactory, Site, make_site
from tests.registration.test_join_links import approved_registration
from tests.smtp import SmtpServer, join_link

CONFIG = bundled_config()
SENDER = "Plenary <plenary@example.org>"
DAY = re.compile(r"^\w+day \d{1,2} \w+ \d{4}, \d\d:\d\d to \d\d:\d\d$")


class TextOf(HTMLParser):
    """The words a reader sees in an HTML part, and every address a link or image loads."""

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self.addresses: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("title", "style", "script")
        self.addresses.extend(value or "" for name, value in attrs if name in ("href", "src"))

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("title", "style", "script")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.words.extend(data.split())


def plain_and_html(message: EmailMessage) -> tuple[str, TextOf]:
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    seen = TextOf()
    seen.feed(html.get_content())
    return plain.get_content(), seen


def calendar_of(message: EmailMessage) -> Calendar:
    (attachment,) = list(message.iter_attachments())
    assert isinstance(attachment, EmailMessage)
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "PUBLISH"
    assert attachment.get_filename() == "agenda.ics"
    return Calendar.from_ical(attachment.get_content())


def registration(name: str = "Ana Pérez", email_address: str = "ana@example.org") -> Registration:
    return approved_registration(
        "r_1", "a_1", name, email_address, datetime(2021, 6, 1, tzinfo=UTC)
    )


async def test_the_mailed_letter_says_the_same_in_text_and_html_and_carries_the_agenda(
    tmp_path: Path, aiohttp_client: ClientFactory, smtp_server: SmtpServer
) -> None:
    site: Site = await make_site("open")(tmp_path, aiohttp_client, smtp_server)
    status, body = await site.register(ANA)
    assert status == 201
    (message,) = await asyncio.to_thread(smtp_server.inbox.wait_for, ANA["email"])
    assert message.get_content_type() == "multipart/mixed"
    assert message["Message-ID"]
    text, html = plain_and_html(message)
    link = join_link(message)
    assert link in html.addresses and link in html.words
    assert html.words == text.split()
    assert not [address for address in html.addresses if address != link]  # nothing to fetch
    lines = text.splitlines()
    assert len([line for line in lines if DAY.match(line)]) == 3
    assert "All times are Vienna time (Europe/Vienna)." in text
    assert "Survivors of trafficking speak at this conference." in text
    assert '"Delete my registration"' in text
    assert re.search(r"Your link works until the end of \w+day \d+ \w+ \d{4}\.", text)
    rooms = site.app[appkeys.ROOMS]
    events = calendar_of(message)
    assert str(events["method"]) == "PUBLISH"
    starts = [event.decoded("dtstart") for event in events.walk("VEVENT")]
    assert starts == [item.starts_at for item in rooms.timetable.items]

    # The running order changes; a letter sent again carries it, its items one revision on.
    await rooms.override("welcome", OverrideAction.EXTEND, 10, Actor("u_tech", "Tess"))
    resent = await site.client.post(
        f"/api/registrations/{body['id']}/resend", headers=site.bearer()
    )
    assert resent.status == 200, await resent.text()
    messages = await asyncio.to_thread(smtp_server.inbox.wait_for, ANA["email"], 2)
    again = {
        str(event["uid"]).split(".", 1)[0]: event
        for event in calendar_of(messages[-1]).walk("VEVENT")
    }
    assert again["welcome"]["sequence"] == 1 and again["panel-2"]["sequence"] == 0
    moved = CONFIG.timetable.item("welcome").ends_at + timedelta(minutes=10)
    assert again["welcome"].decoded("dtend") == moved


def test_html_escapes_what_people_typed() -> None:
    days = [(item.starts_at, item.ends_at) for item in CONFIG.timetable.items[:1]]
    sent = join_letter(
        CONFIG,
        registration(name='<img src="https://tracker.example/x.png"> & "Co"'),
        "https://conference.example.org/#token=a.b-c_d&x=<1>",
        days,
        CONFIG.timetable.access_ends_at(),
        new_message_id(SENDER),
    )
    assert "<img" not in sent.html and "&lt;img src=&quot;https://tracker" in sent.html
    assert 'href="https://conference.example.org/#token=a.b-c_d&amp;x=&lt;1&gt;"' in sent.html
    seen = TextOf()
    seen.feed(sent.html)
    assert seen.words == sent.text.split()
    assert sent.attachments == ()  # no calendar given, none attached


async def test_the_outbox_keeps_the_whole_letter(tmp_path: Path) -> None:
    days = [(item.starts_at, item.ends_at) for item in CONFIG.timetable.items[:2]]
    calendar = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nEND:VCALENDAR\r\n"
    letter = join_letter(
        CONFIG,
        registration(),
        "http://127.0.0.1:8080/#token=abc",
        days,
        CONFIG.timetable.access_ends_at(),
        new_message_id(SENDER),
        calendar,
    )
    mailer = OutboxMailer(MailSettings(sender=SENDER), tmp_path)
    assert await mailer.send(letter) is MailStatus.OUTBOX
    (path,) = mailer.folder.glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    text, html = plain_and_html(message)
    assert html.words == text.split()
    assert calendar_of(message).to_ical() == Calendar.from_ical(calendar).to_ical()


async def test_an_address_beyond_ascii_gets_the_whole_letter_over_smtputf8() -> None:
    server = SmtpServer(smtputf8=True).start()
    try:
        mailer = SmtpMailer(
            MailSettings(
                sender=SENDER,
                smtp_host="127.0.0.1",
                smtp_port=server.port,
                smtp_security=SmtpSecurity.NONE,
            )
        )
        days = [(item.starts_at, item.ends_at) for item in CONFIG.timetable.items[:1]]
        letter = join_letter(
            CONFIG,
            registration("Jürgen", "jürgen@exämple.org"),
            "http://127.0.0.1:8080/#token=abc",
            days,
            CONFIG.timetable.access_ends_at(),
            new_message_id(SENDER),
        )
        assert await mailer.send(letter) is MailStatus.SENT
        (envelope,) = server.inbox.envelopes
        assert envelope.smtputf8
        (message,) = server.inbox.messages
        text, html = plain_and_html(message)
        assert "Dear Jürgen," in text and html.words == text.split()
    finally:
        server.stop()
