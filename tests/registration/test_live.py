"""Registrations pushed live to real python-socketio clients: organizers see each sign-up and
each letter's state as it changes; nobody else ever receives an entry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from server.auth.permissions import Role
from tests.helpers import Listener
from tests.registration.test_http import ANA, ClientFactory, Site, make_site
from tests.smtp import SmtpServer


async def join(site: Site, role: Role | None) -> Listener:
    url = str(site.client.make_url("")).rstrip("/")
    token = None if role is None else site.app_token(role)
    return await Listener(url, token).connect()


def entries(listener: Listener, registration_id: str) -> list[dict[str, Any]]:
    return [entry for entry in listener.received("registration") if entry["id"] == registration_id]


async def test_organizers_see_a_sign_up_and_its_letter_and_nobody_else_does(
    tmp_path: Path, aiohttp_client: ClientFactory, smtp_server: SmtpServer
) -> None:
    site = await make_site("open")(tmp_path, aiohttp_client, smtp_server)
    organizer = await join(site, Role.ORGANIZER)
    others = [
        await join(site, role)
        for role in (None, Role.ATTENDEE, Role.SPEAKER, Role.MODERATOR, Role.TECHNICIAN)
    ]
    status, body = await site.register(ANA)
    assert status == 201

    sent = await organizer.wait_for(
        lambda event, data: event == "registration" and data["mail"] == "sent", within=10
    )
    listing = await site.listing()
    assert sent == listing["registrations"][0]  # the same entry the API lists
    states = [entry["mail"] for entry in entries(organizer, body["id"])]
    assert states[0] == "queued" and states[-1] == "sent"
    assert entries(organizer, body["id"])[0]["email"] == "ana@example.org"

    # Each client receives its events in order: once a notice sent after the letter has reached
    # the others, anything for them before it has too.
    technician = others[-1]
    answer = await technician.call("notice", {"text": "Doors open", "level": "info"})
    assert answer["ok"] is True
    for listener in others:
        await listener.wait_for(lambda event, _: event == "notice")
        assert listener.received("registration") == []
    for listener in [organizer, *others]:
        await listener.close()
