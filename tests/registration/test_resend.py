"""``POST /api/registrations/resend``: "e-mail me my link again", over real HTTP with mail
through a real SMTP server (aiosmtpd).

Whatever the address, a well-formed request gets the same answer; only an approved
registration's mailbox gets a letter, and no earlier link stops working. A request is carried
out in the background, one after another in the order they came, so a test that says "no
letter went" asks for a witness's link after it and waits for that letter. A letter still on its
way is not sent twice, so a test asks again only once the earlier letter is marked sent.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from server.registration.link_requests import PER_MAILBOX_BURST
from server.web import appkeys
from tests.registration.test_http import ANA, ClientFactory, Site, make_site
from tests.smtp import SmtpServer

RESEND = "/api/registrations/resend"


@pytest.fixture
async def open_site(tmp_path: Path, aiohttp_client: ClientFactory, smtp_server: SmtpServer) -> Site:
    return await make_site("open")(tmp_path, aiohttp_client, smtp_server)


@pytest.fixture
async def approval(tmp_path: Path, aiohttp_client: ClientFactory, smtp_server: SmtpServer) -> Site:
    return await make_site("approval")(tmp_path, aiohttp_client, smtp_server)


async def ask_again(site: Site, body: Any, **kwargs: Any) -> tuple[int, Any]:
    response = await site.client.post(RESEND, json=body, **kwargs)
    return response.status, await response.json()


async def signed_in(site: Site, token: str) -> int:
    response = await site.client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    return response.status


async def witness(site: Site, address: str = "witness@example.org") -> None:
    """An approved registrant asks for their link again, and it arrives: every request asked
    before has been carried out, and any letter it queued has been sent."""
    _, body = await site.register({**ANA, "email": address})
    await site.decide([body["id"]], "approve")
    await site.link_token(address)
    await site.marked_sent(body["id"])
    status, _ = await ask_again(site, {"email": address})
    assert status == 202
    await site.link_token(address, count=2)


async def test_an_approved_address_gets_a_new_link_and_the_old_one_keeps_working(
    open_site: Site,
) -> None:
    _, registered = await open_site.register(ANA)
    first = await open_site.link_token("ana@example.org")
    await open_site.marked_sent(registered["id"])
    status, body = await ask_again(open_site, {"email": "  ANA@Example.ORG "})
    assert status == 202
    assert body["status"] == "requested"
    second = await open_site.link_token("ana@example.org", count=2)
    assert second != first
    assert await signed_in(open_site, first) == 200  # nothing was revoked
    assert await signed_in(open_site, second) == 200


async def test_unknown_pending_and_rejected_addresses_get_the_same_answer_and_no_mail(
    approval: Site,
) -> None:
    _, pending = await approval.register({**ANA, "email": "pending@example.org"})
    _, rejected = await approval.register({**ANA, "email": "rejected@example.org"})
    await approval.decide([rejected["id"]], "reject")
    _, approved = await approval.register(ANA)
    await approval.decide([approved["id"]], "approve")
    await approval.link_token("ana@example.org")
    await approval.marked_sent(approved["id"])
    answers = [
        await ask_again(approval, {"email": address})
        for address in (
            "nobody@example.org",
            "pending@example.org",
            "rejected@example.org",
            "ana@example.org",
        )
    ]
    assert all(answer == answers[0] for answer in answers), answers
    assert answers[0][0] == 202
    await witness(approval)
    inbox = approval.smtp.inbox
    assert inbox.to("nobody@example.org") == []
    assert inbox.to("pending@example.org") == []
    assert inbox.to("rejected@example.org") == []
    assert len(inbox.to("ana@example.org")) == 2
    assert await approval.mail_status(pending["id"]) is None


async def test_a_withdrawn_registration_gets_no_link(open_site: Site) -> None:
    await open_site.register(ANA)
    token = await open_site.link_token("ana@example.org")
    headers = {"Authorization": f"Bearer {token}"}
    assert (await open_site.client.delete("/api/me/registration", headers=headers)).status == 200
    assert (await ask_again(open_site, {"email": "ana@example.org"}))[0] == 202
    await witness(open_site)
    assert len(open_site.smtp.inbox.to("ana@example.org")) == 1


async def test_one_mailbox_asking_over_and_over_gets_a_few_letters_only(open_site: Site) -> None:
    _, registered = await open_site.register(ANA)
    await open_site.link_token("ana@example.org")
    for count in range(2, PER_MAILBOX_BURST + 2):
        await open_site.marked_sent(registered["id"])
        assert (await ask_again(open_site, {"email": "ana@example.org"}))[0] == 202
        await open_site.link_token("ana@example.org", count=count)
    # One more than the burst: the same answer, and no letter.
    assert (await ask_again(open_site, {"email": "Ana@example.org"}))[0] == 202
    await witness(open_site)
    assert len(open_site.smtp.inbox.to("ana@example.org")) == PER_MAILBOX_BURST + 1
    assert open_site.app[appkeys.LINK_REQUESTS].dropped == 1


async def test_a_flood_from_one_client_is_refused_whatever_the_address(
    tmp_path: Path, aiohttp_client: ClientFactory, smtp_server: SmtpServer
) -> None:
    site = await make_site("open", per_minute=5)(tmp_path, aiohttp_client, smtp_server)
    statuses = []
    for number in range(8):
        response = await site.client.post(RESEND, json={"email": f"n{number}@example.org"})
        statuses.append(response.status)
        if response.status == 429:
            assert int(response.headers["Retry-After"]) >= 1
            assert (await response.json())["error"] == "too_many_requests"
    assert statuses == [202] * 5 + [429] * 3


BAD_BODIES = [
    pytest.param({}, "email", id="no-email"),
    pytest.param({"email": ""}, "email", id="empty"),
    pytest.param({"email": "   "}, "email", id="blank"),
    pytest.param({"email": None}, "email", id="null"),
    pytest.param({"email": 5}, "email", id="number"),
    pytest.param({"email": ["ana@example.org"]}, "email", id="list"),
    pytest.param({"email": {"address": "ana@example.org"}}, "email", id="object"),
    pytest.param({"email": "ana"}, "email", id="no-at"),
    pytest.param({"email": "ana@example.org, bo@example.org"}, "email", id="two"),
    pytest.param({"email": "Ana <ana@example.org>"}, "email", id="display-name"),
    pytest.param({"email": "ana@example.local"}, "email", id="special-use"),
    pytest.param({"email": "an\u200ba@example.org"}, "email", id="zero-width"),
    pytest.param({"email": "ana\u202e@example.org"}, "email", id="bidi-override"),
    pytest.param({"email": "\uff41na@example.org"}, "email", id="full-width"),
    pytest.param({"email": "a" * 65 + "@example.org"}, "email", id="local-too-long"),
    pytest.param({"email": "a@" + "b" * 300 + ".org"}, "email", id="too-long"),
    pytest.param({"email": "ana@example.org", "name": "Ana"}, "name", id="extra-field"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
async def test_a_malformed_address_is_a_400_naming_the_field(
    open_site: Site, body: Any, field: str
) -> None:
    status, answer = await ask_again(open_site, body)
    assert status == 400, answer
    assert answer["error"] == "invalid_input"
    assert answer["field"] == field
    assert answer["message"]


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        pytest.param(b'"ana@example.org"', "application/json", 400, id="a-string"),
        pytest.param(b"[]", "application/json", 400, id="a-list"),
        pytest.param(b"null", "application/json", 400, id="null"),
        pytest.param(b"{", "application/json", 400, id="broken-json"),
        pytest.param(b'{"email": "\\ud800@example.org"}', "application/json", 400, id="surrogate"),
        pytest.param(b"\xff\xfe", "application/json", 400, id="not-utf8"),
        pytest.param(b"[" * 1_000, "application/json", 400, id="deep"),
        pytest.param(b'{"email": "' + b"a" * 20_000 + b'"}', "application/json", 413, id="big"),
        pytest.param(b"email=ana@example.org", "application/x-www-form-urlencoded", 415, id="form"),
    ],
)
async def test_bodies_as_an_attacker_sends_them_are_4xx_never_500(
    open_site: Site, data: bytes, content_type: str, status: int
) -> None:
    response = await open_site.client.post(
        RESEND, data=data, headers={"Content-Type": content_type}
    )
    assert response.status == status, await response.text()
    assert set(await response.json()) >= {"error", "message"}


async def test_the_answer_does_not_wait_for_the_lookup(open_site: Site) -> None:
    """The handler only queues: with the worker stopped, a registered address and an unknown
    one are still answered at once, and alike."""
    await open_site.register(ANA)
    await open_site.link_token("ana@example.org")
    await open_site.app[appkeys.LINK_REQUESTS].stop()
    async with asyncio.timeout(5):
        answers = [
            await ask_again(open_site, {"email": address})
            for address in ("nobody@example.org", "ana@example.org")
        ]
    assert answers[0] == answers[1]
    assert answers[0][0] == 202


async def test_stopping_lets_the_request_in_hand_finish(open_site: Site) -> None:
    """A lookup cut off halfway by the shutdown would answer into a closed event loop."""
    requests = open_site.app[appkeys.LINK_REQUESTS]
    for number in range(5):
        assert (await ask_again(open_site, {"email": f"n{number}@example.org"}))[0] == 202
    await requests.stop()
    assert requests._in_hand is not None and requests._in_hand.done()
    assert not requests._in_hand.cancelled()
