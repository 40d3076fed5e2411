"""The join-link letter: what an approved registrant is sent, in words.

It says what the link is for, when the event is, the privacy notice from the config and how to
withdraw, once as plain text and once as HTML with the same words, and carries the agenda as a
calendar file when there is one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from server.config import Config
from server.registration.letter_body import Block, as_html, as_text, heading, link, paragraphs
from server.registration.mail import Attachment, Letter
from server.registration.model import Registration

CALENDAR_FILE = "agenda.ics"


def join_letter(
    config: Config,
    registration: Registration,
    join_link: str,
    days: Sequence[tuple[datetime, datetime]],
    until: datetime,
    message_id: str,
    calendar: bytes | None = None,
) -> Letter:
    """``days``: when each day of the event begins and ends; ``calendar``: the agenda as
    iCalendar, attached as ``agenda.ics`` (``method=PUBLISH``)."""
    event = config.event
    zone = config.timetable.zone
    blocks = [
        Block(f"Dear {registration.name},"),
        Block(f"you are registered to follow {event.name} online."),
        *([Block(event.theme)] if event.theme else []),
        Block("Your personal join link (it signs you in; please do not share it):"),
        link(join_link),
        heading("When"),
        Block("\n".join(_day_words(start, end, zone) for start, end in days)),
        Block(_when_words(zone, until, calendar is not None)),
        *_privacy(config),
        heading("If you no longer wish to take part"),
        Block(
            'Open your join link and choose "Delete my registration" at the top of the page. '
            "Your registration is deleted, and the link stops working at once."
        ),
    ]
    subject = f"Your join link: {event.name}"
    attachments = () if calendar is None else (_calendar_attachment(calendar),)
    return Letter(
        to=registration.email,
        subject=subject,
        text=as_text(blocks),
        message_id=message_id,
        html=as_html(blocks, subject),
        attachments=attachments,
    )


def zone_words(zone: ZoneInfo) -> str:
    """ "Vienna time" for Europe/Vienna: how a reader names the event's clock."""
    return f"{zone.key.rsplit('/', 1)[-1].replace('_', ' ')} time"


def _day_words(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    start, end = start.astimezone(zone), end.astimezone(zone)
    return f"{start:%A} {start.day} {start:%B %Y}, {start:%H:%M} to {end:%H:%M}"


def _when_words(zone: ZoneInfo, until: datetime, with_calendar: bool) -> str:
    words = f"All times are {zone_words(zone)} ({zone.key})."
    if with_calendar:
        words += (
            f" The attached calendar file ({CALENDAR_FILE}) holds every item of the agenda;"
            " your calendar shows them in your own time."
        )
    # Access ends at the midnight that closes the last day: that day is the last it works.
    last = (until - timedelta(seconds=1)).astimezone(zone)
    return f"{words} Your link works until the end of {last:%A} {last.day} {last:%B %Y}."


def _privacy(config: Config) -> list[Block]:
    notice = paragraphs(config.registration.privacy_notice)
    return [heading("Your privacy"), *notice] if notice else []


def _calendar_attachment(calendar: bytes) -> Attachment:
    params = (("method", "PUBLISH"), ("charset", "utf-8"))
    return Attachment(CALENDAR_FILE, "text/calendar", calendar, params)
