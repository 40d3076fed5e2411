"""A real server whose wall clock steps (libfaketime) keeps its rooms right: a step either
way is reconciled within about a second, and the transitions after it come on time."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.faketime import FakeTime
from tests.helpers import Listener
from tests.serverproc import ServerProcess, utc_in

pytestmark = pytest.mark.slow

FORWARD = timedelta(minutes=50)  # from ten seconds into the welcome to five into the keynote
WELCOME_LASTS = timedelta(minutes=45)
# Noticed within a quarter of a second; then one write to the store and one Socket.IO message,
# which on a busy two-core machine have taken up to 1.4 s between them.
FOLLOWS_WITHIN = 2.0


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def states(server: ServerProcess) -> dict[str, str]:
    agenda = get_json(f"{server.url}/api/agenda")
    return {item["id"]: item["room"]["state"] for item in agenda["items"] if item["room"]}


def is_state(room: str, state: str) -> Callable[[str, Any], bool]:
    def announced(event: str, data: Any) -> bool:
        return event == "room_state" and data["id"] == room and data["state"] == state

    return announced


async def step_and_wait(
    faketime: FakeTime, listener: Listener, offset: timedelta, room: str, state: str
) -> float:
    """Set the server's wall clock ``offset`` from the real one; seconds until ``room`` was
    announced in ``state``."""
    listener.events.clear()
    stepped = time.monotonic()
    faketime.set_offset(offset.total_seconds())
    await listener.wait_for(is_state(room, state), within=5.0)
    return time.monotonic() - stepped


async def test_a_clock_step_forward_and_back_is_followed_within_a_second(
    start_server: Callable[..., ServerProcess], faketime: FakeTime
) -> None:
    rehearse = utc_in(-10)  # the welcome began ten seconds ago and lasts 45 minutes
    server = start_server(rehearse=rehearse, env=faketime.environment())
    assert states(server)["welcome"] == "live"
    pending = get_json(f"{server.url}/healthz")["scheduler"]["pending_transitions"]
    listener = await Listener(server.url).connect()
    try:
        forward = await step_and_wait(faketime, listener, FORWARD, "welcome", "ended")
        assert forward < FOLLOWS_WITHIN
        assert states(server)["keynote"] == "live"

        back = await step_and_wait(faketime, listener, timedelta(0), "welcome", "live")
        assert back < FOLLOWS_WITHIN
        assert states(server)["keynote"] == "scheduled"
        assert get_json(f"{server.url}/healthz")["scheduler"]["pending_transitions"] == pending

        # To two seconds before the welcome's end: still live, and it ends by its own timer,
        # placed again after the steps, not one left waiting 45 minutes from before them.
        to_end = rehearse + WELCOME_LASTS - datetime.now(UTC) - timedelta(seconds=2)
        ended = await step_and_wait(faketime, listener, to_end, "welcome", "ended")
        assert 1.0 < ended < 2.0 + FOLLOWS_WITHIN
        print(f"\nfollowed a step forward in {forward * 1000:.0f} ms, back in {back * 1000:.0f} ms")
    finally:
        await listener.close()
    assert "the wall clock stepped +3000" in server.log()
