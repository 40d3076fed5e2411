"""The join-link letter: what an approved registrant is sent, in words."""

from __future__ import annotations

from datetime import datetime

from server.config import Config
from server.registration.mail import Letter
from server.registration.model import Registration


def join_letter(
    config: Config,
    registration: Registration,
    link: str,
    starts: datetime,
    until: datetime,
    message_id: str,
) -> Letter:
    event = config.event
    zone = config.timetable.zone
    first_day = starts.astimezone(zone)
    text = "\n".join(
        [
            f"Dear {registration.name},",
            "",
            f"you are registered to follow {event.name} online.",
            f"{event.theme}" if event.theme else "",
            "",
            "Your personal join link (it signs you in; please do not share it):",
            "",
            link,
            "",
            f"The conference begins on {first_day:%A %d %B %Y} at {first_day:%H:%M} "
            f"({zone.key} time). Your link works until {until.astimezone(zone):%d %B %Y}.",
            "",
            'To delete your registration, open the link and choose "Delete my registration";',
            "the link stops working at once.",
        ]
    )
    return Letter(
        to=registration.email,
        subject=f"Your join link: {event.name}",
        text=text,
        message_id=message_id,
    )
