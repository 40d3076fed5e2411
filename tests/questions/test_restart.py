"""A restart in the middle of a session loses no question, vote, status, edit or pin."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from server.auth.permissions import Role
from server.web.app import create_app
from tests.helpers import Listener, bundled_config, settings
from tests.questions.harness import Hall, ServerFactory, ask, clock_at, moderate


async def listing(client: Listener) -> dict[str, dict[str, Any]]:
    answer = await client.call("questions", {"room": "welcome"})
    assert answer["ok"], answer
    return {question["id"]: question for question in answer["questions"]}


async def test_a_new_app_on_the_same_data_sees_everything(
    tmp_path: Path, aiohttp_server: ServerFactory, store_url: str
) -> None:
    config = bundled_config()
    config = replace(
        config, store_url=store_url, questions=replace(config.questions, per_person_per_minute=20)
    )
    app = create_app(settings(tmp_path, clock_at(10), config))
    first = Hall(await aiohttp_server(app), app)
    moderator_token = first.token(Role.MODERATOR, sub="u_mod")
    asker_token = first.token(Role.ATTENDEE, name="Ann", sub="u_ann")
    voter_tokens = [first.token(Role.ATTENDEE, sub=f"u_voter{n}") for n in range(3)]
    moderator = await first.join_with(moderator_token)
    asker = await first.join_with(asker_token)
    asked = {
        name: (await ask(asker, f"{name.capitalize()} question?", anonymous=name == "hidden"))["id"]
        for name in ("pending", "edited", "pinned", "answered", "dismissed", "hidden")
    }
    for name in ("edited", "pinned", "answered", "hidden"):
        await moderate(moderator, asked[name], "approve")
    await moderate(moderator, asked["edited"], "edit", text="Edited, and better?")
    await moderate(moderator, asked["pinned"], "pin")
    await moderate(moderator, asked["answered"], "answer")
    await moderate(moderator, asked["dismissed"], "dismiss")
    for n, token in enumerate(voter_tokens):
        voter = await first.join_with(token)
        for name in ("pinned", "edited")[: 1 + n % 2]:
            answer = await voter.call("vote", {"question": asked[name], "up": True})
            assert answer["ok"], answer
    before = await listing(moderator)
    await first.close()
    await first.server.close()  # the app's shutdown and cleanup, as on SIGTERM

    app = create_app(settings(tmp_path, clock_at(10), config))
    second = Hall(await aiohttp_server(app), app)
    try:
        after = await listing(await second.join_with(moderator_token))
        assert after == before
        assert (after[asked["pinned"]]["votes"], after[asked["edited"]]["votes"]) == (3, 1)
        assert after[asked["edited"]]["text"] == "Edited, and better?"
        assert after[asked["pinned"]]["pinned"] is True
        assert after[asked["hidden"]]["author"] is None
        statuses = {name: after[asked[name]]["status"] for name in asked}
        assert statuses == {
            "pending": "pending",
            "edited": "approved",
            "pinned": "approved",
            "answered": "answered",
            "dismissed": "dismissed",
            "hidden": "approved",
        }
        mine = await listing(await second.join_with(asker_token))
        assert all(question["mine"] for question in mine.values())
        voter = await second.join_with(voter_tokens[1])
        seen = await listing(voter)
        assert seen[asked["pinned"]]["voted"] and seen[asked["edited"]]["voted"]
        # Up again after the restart still counts once.
        again = await voter.call("vote", {"question": asked["pinned"], "up": True})
        assert again["question"]["votes"] == 3
    finally:
        await second.close()
