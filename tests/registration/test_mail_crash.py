"""A real ``plenary serve`` killed with SIGKILL while it is sending a join link, then started
again: the letter is sent again, and it is the same letter (one token, one link, one
Message-ID), as often as the mail server saw it."""

from __future__ import annotations

import base64
import json
import sqlite3
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.serverproc import ServerProcess, event_config, free_port
from tests.smtp import SmtpServer, join_link

pytestmark = pytest.mark.slow

ANA = "ana@example.org"
SMTP_TIMEOUT = 2  # a letter being sent is its sender's for twice this


def call(
    server: ServerProcess, method: str, path: str, token: str | None = None, body: object = None
) -> object:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(server.url + path, data, headers, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def issued_tokens(data_dir: Path, registration_id: str) -> list[str]:
    with sqlite3.connect(data_dir / "plenary.db") as db:
        rows = db.execute(
            "SELECT jti FROM issued_tokens WHERE registration_id = ?", (registration_id,)
        )
        return [jti for (jti,) in rows]


def test_a_server_killed_while_sending_sends_the_same_letter_after_a_restart(
    start_server: Callable[..., ServerProcess], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    port = free_port()
    config = event_config(
        tmp_path,
        mode="open",
        smtp_port=smtp_server.port,
        public_url=f"http://127.0.0.1:{port}",
        smtp_timeout=SMTP_TIMEOUT,
    )
    inbox = smtp_server.inbox
    inbox.hold_data()  # the mail server has the whole letter, and keeps the sender waiting
    server = start_server(config=config, port=port)
    body = {"name": "Ana Pérez", "email": ANA, "consent": True}
    registration = call(server, "POST", "/api/registrations", body=body)
    assert isinstance(registration, dict)
    deadline = time.monotonic() + 10
    while not inbox.arrivals and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(inbox.arrivals) == 1, "the server never reached DATA"

    server.kill()  # SIGKILL, in the middle of DATA
    killed_at = time.monotonic()
    inbox.release.set()
    restarted = start_server(config=config, port=port)
    delivered = inbox.wait_for(ANA, within=30)
    resent_after = time.monotonic() - killed_at

    assert len(delivered) == 1 and len(inbox.arrivals) == 2
    links = {join_link(message) for message in inbox.arrivals}
    message_ids = {message["Message-ID"] for message in inbox.arrivals}
    assert len(links) == 1 and len(message_ids) == 1, (links, message_ids)
    assert issued_tokens(server.data_dir, registration["id"]) == [
        jwt_id(restarted, links.pop().split("#token=", 1)[1])
    ]
    organizer = restarted.token("organizer", "Olga")
    deadline = time.monotonic() + 10
    while (mail := mail_of(restarted, organizer, registration["id"]))["mail"] != "sent":
        assert time.monotonic() < deadline, mail
        time.sleep(0.05)
    assert mail["mail_attempts"] == 2 and mail["mail_error"] is None
    assert len(inbox.arrivals) == 2  # sent and recorded: nothing more is coming
    # The lease is twice the SMTP timeout (4 s from the first try); the rest is the restart.
    assert resent_after < 2 * SMTP_TIMEOUT + 15


def jwt_id(server: ServerProcess, token: str) -> str:
    """The jti of a link's token, as the server that verifies it reads it."""
    me = call(server, "GET", "/api/me", token)
    assert isinstance(me, dict) and me["role"] == "attendee"
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["jti"])


def mail_of(server: ServerProcess, token: str, registration_id: str) -> dict[str, object]:
    listing = call(server, "GET", f"/api/registrations?id={registration_id}", token)
    assert isinstance(listing, dict)
    found = listing["registrations"]
    assert isinstance(found, list) and len(found) == 1
    return dict(found[0])
