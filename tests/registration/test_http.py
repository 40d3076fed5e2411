"""Registration over real HTTP, with mail through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import socketio
from aiohttp import web
from aiohttp.test_utils import TestClient

from server.auth.permissions import Role
from server.config import load_config
from server.registration.backoff import Backoff
from server.web import appkeys
from server.web.app import create_app
from tests.helpers import Listener, fast_rehearsal, settings
from tests.serverproc import event_config
from tests.smtp import SmtpServer, join_link

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[..., Awaitable[Client]]
ANA = {"name": "Ana Pérez", "email": "ana@example.org", "affiliation": "NGO", "consent": True}
# Waits of a tenth of a second, for a sender on the real clock.
QUICK = Backoff(first=timedelta(seconds=0.1), longest=timedelta(seconds=0.2), tries=100)


class Site:
    def __init__(self, client: Client, smtp: SmtpServer) -> None:
        self.client = client
        self.smtp = smtp
        assert client.app is not None
        self.app = client.app

    def app_token(self, role: Role = Role.ORGANIZER) -> str:
        return str(self.app[appkeys.TOKENS].issue(role=role, name=f"A {role.value}"))

    def bearer(self, role: Role = Role.ORGANIZER) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.app_token(role)}"}

    async def register(self, body: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        response = await self.client.post("/api/registrations", json=body, **kwargs)
        return response.status, await response.json()

    async def decide(self, ids: list[str], decision: str) -> list[dict[str, Any]]:
        response = await self.client.post(
            "/api/registrations/decisions",
            headers=self.bearer(),
            json={"ids": ids, "decision": decision},
        )
        assert response.status == 200, await response.text()
        return list((await response.json())["registrations"])

    async def listing(self, query: str = "") -> dict[str, Any]:
        response = await self.client.get(f"/api/registrations{query}", headers=self.bearer())
        assert response.status == 200, await response.text()
        return dict(await response.json())

    async def mail_status(self, registration_id: str) -> str | None:
        listing = await self.listing("?limit=200")
        found = [r for r in listing["registrations"] if r["id"] == registration_id]
        assert found, registration_id
        mail = found[0]["mail"]
        assert mail is None or isinstance(mail, str)
        return mail

    async def mail_a_witness(self) -> None:
        """Approve a later registrant and wait until their link is mailed and marked sent.
        The sender's pass then began after everything before it, and any registration it had
        been asked to mail shows as queued, sent or failed."""
        _, body = await self.register({**ANA, "email": "witness@example.org"})
        await self.decide([body["id"]], "approve")
        await asyncio.to_thread(self.smtp.inbox.wait_for, "witness@example.org")
        await self.marked_sent(body["id"])

    async def marked_sent(self, registration_id: str) -> None:
        """Until the registration's letter is marked sent: the mail server has it some moments
        before the sender hears so and records it."""
        async with asyncio.timeout(10):
            while await self.mail_status(registration_id) != "sent":
                await asyncio.sleep(0.05)

    async def link_token(self, address: str, count: int = 1) -> str:
        messages = await asyncio.to_thread(self.smtp.inbox.wait_for, address, count)
        return join_link(messages[-1]).split("#token=", 1)[1]


def make_site(
    mode: str, per_minute: int = 60, backoff: Backoff | None = None
) -> Callable[..., Awaitable[Site]]:
    async def build(tmp_path: Path, aiohttp_client: ClientFactory, smtp_server: SmtpServer) -> Site:
        config = load_config(
            event_config(tmp_path, mode=mode, smtp_port=smtp_server.port, per_minute=per_minute)
        )
        site_settings = settings(tmp_path, fast_rehearsal(config, lead=60, speed=1), config)
        if backoff is not None:
            site_settings = replace(site_settings, mail_backoff=backoff)
        return Site(await aiohttp_client(create_app(site_settings)), smtp_server)

    return build


@pytest.fixture
async def approval(tmp_path: Path, aiohttp_client: ClientFactory, smtp_server: SmtpServer) -> Site:
    return await make_site("approval")(tmp_path, aiohttp_client, smtp_server)


@pytest.fixture
async def open_site(tmp_path: Path, aiohttp_client: ClientFactory, smtp_server: SmtpServer) -> Site:
    return await make_site("open")(tmp_path, aiohttp_client, smtp_server)


async def test_open_mode_mails_a_link_that_signs_in(open_site: Site) -> None:
    status, body = await open_site.register(ANA)
    assert (status, body["status"]) == (201, "approved")
    message = (await asyncio.to_thread(open_site.smtp.inbox.wait_for, "ana@example.org"))[0]
    assert "Your join link" in message["Subject"]
    link = join_link(message)
    assert link.startswith("http://127.0.0.1:8080/#token=")  # the token is in the fragment
    token = link.split("#token=", 1)[1]
    me = await open_site.client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status == 200
    profile = await me.json()
    assert profile["name"] == "Ana Pérez" and profile["role"] == "attendee"
    assert profile["registration"] == {"id": body["id"], "status": "approved"}
    claims = open_site.app[appkeys.TOKENS].verify(token)
    assert "@" not in claims.sub and "ana" not in claims.sub.lower()
    rooms = open_site.app[appkeys.ROOMS]
    expected_end = rooms.clock.to_wall(rooms.published.access_ends_at())
    assert abs((claims.expires_at - expected_end).total_seconds()) < 1  # end of the last day
    listing = await open_site.listing()
    assert listing["registrations"][0]["mail"] == "sent"


async def test_approval_mode_waits_for_an_organizer(approval: Site) -> None:
    status, body = await approval.register(ANA)
    assert (status, body["status"]) == (201, "pending")
    await approval.mail_a_witness()
    assert approval.smtp.inbox.to("ana@example.org") == []
    assert await approval.mail_status(body["id"]) is None  # and none is on its way
    decided = await approval.decide([body["id"]], "approve")
    assert [(r["status"], r["decided_by"]) for r in decided] == [("approved", "A organizer")]
    token = await approval.link_token("ana@example.org")
    assert approval.app[appkeys.TOKENS].verify(token).name == "Ana Pérez"


async def test_reject_many_and_nothing_is_mailed(approval: Site) -> None:
    ids = [
        (await approval.register({**ANA, "email": f"p{n}@example.org"}))[1]["id"] for n in range(3)
    ]
    decided = await approval.decide([*ids, "r_unknown"], "reject")
    assert sorted(r["id"] for r in decided) == sorted(ids)
    assert {r["status"] for r in decided} == {"rejected"}
    assert (await approval.listing())["counts"]["rejected"] == 3
    again = await approval.decide(ids, "reject")  # already rejected: nothing to do
    assert again == []
    await approval.mail_a_witness()
    assert [m["To"] for m in approval.smtp.inbox.messages] == ["witness@example.org"]
    assert [await approval.mail_status(rid) for rid in ids] == [None] * 3


async def test_closed_mode_refuses(
    tmp_path: Path, aiohttp_client: ClientFactory, smtp_server: SmtpServer
) -> None:
    site = await make_site("closed")(tmp_path, aiohttp_client, smtp_server)
    status, body = await site.register(ANA)
    assert (status, body["error"]) == (403, "registration_closed")
    policy = await (await site.client.get("/api/registrations/policy")).json()
    assert policy["mode"] == "closed"
    assert "survivors" in policy["privacy_notice"].lower()


BAD_BODIES: list[tuple[Any, str | None]] = [
    ({}, "consent"),
    ({**ANA, "consent": False}, "consent"),
    ({**ANA, "consent": "yes"}, "consent"),
    ({k: v for k, v in ANA.items() if k != "name"}, "name"),
    ({**ANA, "name": "   "}, "name"),
    ({**ANA, "name": 42}, "name"),
    ({**ANA, "name": "x" * 121}, "name"),
    ({**ANA, "name": "Ana\u202eevil"}, "name"),
    ({**ANA, "name": "Ana\nPérez"}, "name"),
    ({k: v for k, v in ANA.items() if k != "email"}, "email"),
    ({**ANA, "email": "ana"}, "email"),
    ({**ANA, "email": "ana@localhost"}, "email"),
    ({**ANA, "email": "ana @example.org"}, "email"),
    ({**ANA, "email": "a@b@example.org"}, "email"),
    ({**ANA, "email": ["ana@example.org"]}, "email"),
    ({**ANA, "email": "a" * 65 + "@example.org"}, "email"),
    ({**ANA, "email": "ana@" + "d" * 250 + ".org"}, "email"),
    ({**ANA, "email": "\u202eorg.elpmaxe@moc.evil"}, "email"),
    ({**ANA, "email": "a\u200b@example.org"}, "email"),
    ({**ANA, "email": "<dup@example.org>"}, "email"),
    ({**ANA, "email": "(c)dup@example.org"}, "email"),
    ({**ANA, "email": "a,dup2@example.org"}, "email"),
    ({**ANA, "name": "\u3164"}, "name"),
    ({**ANA, "name": "\u2800\u200d"}, "name"),
    ({**ANA, "affiliation": {"org": 1}}, "affiliation"),
    ({**ANA, "affiliation": "y" * 201}, "affiliation"),
    ({**ANA, "admin": True}, "admin"),
    ({**ANA, "status": "approved"}, "status"),
    ([ANA], None),
    ("ana", None),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
async def test_every_field_is_checked(approval: Site, body: Any, field: str | None) -> None:
    status, answer = await approval.register(body)
    assert status == 400, answer
    assert answer["error"] == "invalid_input" and answer["message"]
    assert answer.get("field") == field
    assert (await approval.listing())["total"] == 0  # nothing half-written


async def test_body_problems(approval: Site) -> None:
    client = approval.client
    not_json = await client.post(
        "/api/registrations", data="{oops", headers={"Content-Type": "application/json"}
    )
    assert (not_json.status, (await not_json.json())["error"]) == (400, "invalid_input")
    null = await client.post(
        "/api/registrations", data="null", headers={"Content-Type": "application/json"}
    )
    assert null.status == 400
    wrong_type = await client.post(
        "/api/registrations",
        data="name=Ana",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert wrong_type.status == 415
    huge = await client.post("/api/registrations", json={**ANA, "name": "x" * 20_000})
    assert (huge.status, (await huge.json())["error"]) == (413, "too_large")
    enormous = await client.post(
        "/api/registrations", data=b"x" * 200_000, headers={"Content-Type": "application/json"}
    )
    assert enormous.status == 413
    assert (await client.get("/healthz")).status == 200


async def test_same_address_in_any_case_is_409(approval: Site) -> None:
    assert (await approval.register(ANA))[0] == 201
    for email in ("ANA@example.org", "Ana@Example.Org", "  ana@example.org "):
        status, body = await approval.register({**ANA, "email": email})
        assert (status, body["error"]) == (409, "already_registered")
    assert (await approval.listing())["total"] == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("jürgen@exämple.org", "ju\u0308rgen@exa\u0308mple.org"),  # composed, decomposed
        ("jürgen@exämple.org", "jürgen@xn--exmple-cua.org"),  # a U-label, its A-label
        ("ana@example.org", "ana@ｅｘａｍｐｌｅ.org"),  # a full-width domain
    ],
)
async def test_one_mailbox_spelled_two_ways_is_409(
    utf8_approval: Site, first: str, second: str
) -> None:
    assert (await utf8_approval.register({**ANA, "email": first}))[0] == 201
    status, body = await utf8_approval.register({**ANA, "email": second})
    assert (status, body["error"]) == (409, "already_registered")
    assert (await utf8_approval.listing())["total"] == 1


async def test_the_kelvin_sign_registers_kelvin_whose_mailbox_it_is(approval: Site) -> None:
    assert (await approval.register({**ANA, "email": "\u212aelvin@example.org"}))[0] == 201
    listed = (await approval.listing())["registrations"]
    assert [r["email"] for r in listed] == ["Kelvin@example.org"]  # no Kelvin sign kept
    status, _ = await approval.register({**ANA, "email": "kelvin@example.org"})
    assert status == 409


@pytest.fixture
def smtputf8_server() -> Iterator[SmtpServer]:
    """A real SMTP server that offers SMTPUTF8, as Postfix and Exim can."""
    server = SmtpServer(smtputf8=True).start()
    yield server
    server.stop()


@pytest.fixture
async def utf8_approval(
    tmp_path: Path, aiohttp_client: ClientFactory, smtputf8_server: SmtpServer
) -> Site:
    return await make_site("approval")(tmp_path, aiohttp_client, smtputf8_server)


async def test_an_address_beyond_ascii_arrives_as_written_where_smtputf8_is_offered(
    tmp_path: Path, aiohttp_client: ClientFactory, smtputf8_server: SmtpServer
) -> None:
    site = await make_site("open")(tmp_path, aiohttp_client, smtputf8_server)
    status, _ = await site.register({**ANA, "email": "Ju\u0308rgen@Exa\u0308mple.org"})
    assert status == 201
    await asyncio.to_thread(smtputf8_server.inbox.wait_for, "Jürgen@exämple.org")
    envelope = smtputf8_server.inbox.envelopes[0]
    assert envelope.smtputf8
    assert (envelope.mail_from, envelope.rcpt_tos) == (
        "no-reply@localhost",
        ("Jürgen@exämple.org",),
    )
    headers = envelope.content.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert "To: Jürgen@exämple.org".encode() in headers  # UTF-8 itself, no encoded-word


async def test_without_smtputf8_an_address_beyond_ascii_is_refused_in_words(
    approval: Site,
) -> None:
    status, body = await approval.register({**ANA, "email": "jürgen@exämple.org"})
    assert (status, body["field"]) == (400, "email")
    assert "SMTPUTF8" in body["message"] and "another address" in body["message"]
    assert (await approval.listing())["total"] == 0


async def test_a_domain_beyond_ascii_is_mailed_by_its_ascii_name(open_site: Site) -> None:
    """Only the part before the @ needs SMTPUTF8: a domain has an ASCII form (its A-labels)."""
    assert (await open_site.register({**ANA, "email": "ana@exämple.org"}))[0] == 201
    inbox = open_site.smtp.inbox
    await asyncio.to_thread(inbox.wait_for, "ana@xn--exmple-cua.org")
    envelope = inbox.envelopes[0]
    assert (envelope.rcpt_tos, envelope.smtputf8) == (("ana@xn--exmple-cua.org",), False)
    assert b"\r\nTo: ana@xn--exmple-cua.org\r\n" in envelope.content
    assert (await open_site.listing())["registrations"][0]["email"] == "ana@exämple.org"


async def test_concurrent_duplicates_leave_exactly_one(approval: Site) -> None:
    results = await asyncio.gather(
        *(approval.register({**ANA, "email": "Twin@example.org"}) for _ in range(10))
    )
    assert sorted(status for status, _ in results) == [201] + [409] * 9
    assert (await approval.listing())["total"] == 1


async def test_markup_and_any_script_are_stored_as_given(approval: Site) -> None:
    names = [
        "<script>alert(1)</script>",
        "أحمد الفارسي",
        "Ольга Смирнова",
        "李小龙",
        "Zoë O'Brien-Łukasiewicz",
        "राम\u200dकुमार",
    ]
    for n, name in enumerate(names):
        assert (await approval.register({**ANA, "name": name, "email": f"n{n}@example.org"}))[
            0
        ] == 201
    stored = {r["name"] for r in (await approval.listing("?limit=50"))["registrations"]}
    assert stored == set(names)


async def test_a_flood_from_one_address_gets_429(
    tmp_path: Path, aiohttp_client: ClientFactory, smtp_server: SmtpServer
) -> None:
    site = await make_site("approval", per_minute=5)(tmp_path, aiohttp_client, smtp_server)
    statuses = []
    for n in range(7):
        response = await site.client.post(
            "/api/registrations", json={**ANA, "email": f"f{n}@example.org"}
        )
        statuses.append(response.status)
        if response.status == 429:
            assert int(response.headers["Retry-After"]) >= 1
            assert (await response.json())["error"] == "too_many_requests"
    assert statuses == [201] * 5 + [429] * 2
    assert (await site.listing())["total"] == 5


@pytest.mark.parametrize("role", [None, Role.ATTENDEE, Role.TECHNICIAN, Role.MODERATOR])
async def test_the_list_is_for_organizers_only(approval: Site, role: Role | None) -> None:
    await approval.register(ANA)
    headers = approval.bearer(role) if role else {}
    for method, path in [
        ("GET", "/api/registrations"),
        ("GET", "/api/registrations.csv"),
        ("POST", "/api/registrations/decisions"),
        ("POST", "/api/registrations/r_x/revoke"),
    ]:
        response = await approval.client.request(method, path, headers=headers, json={})
        assert response.status == (401 if role is None else 403), (method, path)
        assert "ana@example.org" not in await response.text()


async def test_search_paging_and_counts(approval: Site) -> None:
    for n in range(12):
        await approval.register(
            {
                **ANA,
                "name": f"Person {n}",
                "email": f"p{n}@example.org",
                "affiliation": "Ministry" if n % 3 == 0 else "NGO 100%",
            }
        )
    page = await approval.listing("?limit=5&offset=10")
    assert (page["total"], len(page["registrations"])) == (12, 2)
    assert (await approval.listing("?q=ministry"))["total"] == 4
    assert (await approval.listing("?q=P11@EXAMPLE"))["total"] == 1
    assert (await approval.listing("?q=100%25"))["total"] == 8  # % is a character, not a wildcard
    assert (await approval.listing("?q=_"))["total"] == 0
    assert (await approval.listing("?status=pending"))["counts"]["pending"] == 12
    for bad in ("?status=maybe", "?limit=0", "?limit=9999", "?offset=-1", "?q=" + "x" * 201):
        response = await approval.client.get(f"/api/registrations{bad}", headers=approval.bearer())
        assert response.status == 400, bad


async def test_the_list_can_be_asked_for_some_registrations_only(approval: Site) -> None:
    ids = [
        (await approval.register({**ANA, "email": f"p{n}@example.org"}))[1]["id"] for n in range(4)
    ]
    await approval.decide(ids[:1], "approve")
    some = await approval.listing(f"?id={ids[0]}&id={ids[2]}&id=r_unknown")
    assert sorted(r["id"] for r in some["registrations"]) == sorted([ids[0], ids[2]])
    assert some["total"] == 2 and some["counts"]["pending"] == 3  # counts are of everyone
    assert (await approval.listing(f"?id={ids[0]}&status=pending"))["total"] == 0
    too_many = "&".join(f"id=r_{n}" for n in range(201))
    for bad in (f"?{too_many}", "?id=", "?id=" + "r" * 33):
        response = await approval.client.get(f"/api/registrations{bad}", headers=approval.bearer())
        assert response.status == 400, bad
        assert (await response.json())["error"] == "invalid_input"


async def test_csv_export_is_safe_to_open_in_a_spreadsheet(approval: Site) -> None:
    await approval.register({**ANA, "name": '=HYPERLINK("http://x")', "affiliation": "@org"})
    await approval.register({**ANA, "name": "Ольга", "email": "olga@example.org"})
    response = await approval.client.get("/api/registrations.csv", headers=approval.bearer())
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    assert [row["name"] for row in rows] == ['\'=HYPERLINK("http://x")', "Ольга"]
    assert rows[0]["affiliation"] == "'@org"
    assert rows[0]["email"] == "ana@example.org" and rows[1]["status"] == "pending"


async def test_attendee_deletes_their_registration_and_the_link_dies(open_site: Site) -> None:
    await open_site.register(ANA)
    headers = {"Authorization": f"Bearer {await open_site.link_token('ana@example.org')}"}
    deleted = await open_site.client.delete("/api/me/registration", headers=headers)
    assert (deleted.status, (await deleted.json())["status"]) == (200, "withdrawn")
    after = await open_site.client.get("/api/me", headers=headers)
    assert (after.status, (await after.json())["error"]) == (401, "invalid_token")
    listing = await open_site.listing()
    assert listing["registrations"][0]["status"] == "withdrawn"
    staff = await open_site.client.delete(
        "/api/me/registration", headers=open_site.bearer(Role.TECHNICIAN)
    )
    assert staff.status == 404


async def test_revocation_ends_a_live_connection_within_5_seconds(open_site: Site) -> None:
    _, body = await open_site.register(ANA)
    token = await open_site.link_token("ana@example.org")
    url = str(open_site.client.make_url("")).rstrip("/")
    listener = await Listener(url, token).connect()
    assert listener.client.connected
    revoked = await open_site.client.post(
        f"/api/registrations/{body['id']}/revoke", headers=open_site.bearer()
    )
    assert (await revoked.json())["registration"]["status"] == "revoked"
    async with asyncio.timeout(5):
        while listener.client.connected:
            await asyncio.sleep(0.05)
    again = Listener(url, token)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await again.connect()
    assert again.received("connect_error")[0]["data"]["error"] == "invalid_token"
    await again.close()


async def test_resend_mails_a_fresh_link_and_both_work(open_site: Site) -> None:
    _, body = await open_site.register(ANA)
    first = await open_site.link_token("ana@example.org")
    response = await open_site.client.post(
        f"/api/registrations/{body['id']}/resend", headers=open_site.bearer()
    )
    assert response.status == 200
    second = await open_site.link_token("ana@example.org", count=2)
    assert first != second
    tokens = open_site.app[appkeys.TOKENS]
    assert tokens.verify(first).sub == tokens.verify(second).sub
    missing = await open_site.client.post(
        "/api/registrations/r_nope/resend", headers=open_site.bearer()
    )
    assert missing.status == 404


async def test_mail_is_tried_again_on_its_own_until_the_smtp_server_is_back(
    tmp_path: Path, aiohttp_client: ClientFactory, smtp_server: SmtpServer
) -> None:
    """Nothing wakes the sender (no other sign-up, no resend): it keeps its own schedule."""
    site = await make_site("open", backoff=QUICK)(tmp_path, aiohttp_client, smtp_server)
    smtp_server.stop()
    status, body = await site.register(ANA)
    assert status == 201
    records = site.app[appkeys.STORE].registrations
    async with asyncio.timeout(10):
        while (waiting := await records.get(body["id"])) is None or waiting.mail_attempts < 3:
            await asyncio.sleep(0.05)
    assert waiting.mail is not None and waiting.mail.value in ("queued", "sending")
    assert waiting.mail_error and "could not be reached" in waiting.mail_error
    smtp_server.start()
    assert await site.link_token("ana@example.org")
    async with asyncio.timeout(10):
        while await site.mail_status(body["id"]) != "sent":
            await asyncio.sleep(0.05)
    assert len(smtp_server.inbox.to("ana@example.org")) == 1


async def wait_for_mail(site: Site, registration_id: str, status: str) -> dict[str, Any]:
    """The registration as organizers see it, once its mail has that status."""
    async with asyncio.timeout(10):
        while True:
            listing = await site.listing("?limit=200")
            found = [r for r in listing["registrations"] if r["id"] == registration_id]
            if found and found[0]["mail"] == status:
                return dict(found[0])
            await asyncio.sleep(0.05)


async def test_a_refused_address_is_shown_failed_with_the_reason(open_site: Site) -> None:
    open_site.smtp.inbox.refuse_next("RCPT", "550 5.1.1 No such user here")
    _, body = await open_site.register(ANA)
    failed = await wait_for_mail(open_site, body["id"], "failed")
    assert failed["mail_error"] == "the mail server answered 550 5.1.1 No such user here"
    assert (failed["mail_attempts"], failed["mail_due_at"]) == (1, None)
    response = await open_site.client.get("/api/registrations.csv", headers=open_site.bearer())
    rows = list(csv.DictReader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    assert rows[0]["mail_error"] == failed["mail_error"]

    resent = await open_site.client.post(
        f"/api/registrations/{body['id']}/resend", headers=open_site.bearer()
    )
    queued = (await resent.json())["registration"]
    assert (queued["mail"], queued["mail_error"], queued["mail_attempts"]) == ("queued", None, 0)
    assert await open_site.link_token("ana@example.org")
    sent = await wait_for_mail(open_site, body["id"], "sent")
    assert (sent["mail_error"], sent["mail_attempts"]) == (None, 1)


async def test_a_letter_waiting_to_be_tried_again_says_why_and_when(open_site: Site) -> None:
    open_site.smtp.inbox.refuse_next("RCPT", "451 4.7.1 Greylisted, try again later")
    _, body = await open_site.register(ANA)
    async with asyncio.timeout(10):
        while not (waiting := await wait_for_mail(open_site, body["id"], "queued"))["mail_error"]:
            await asyncio.sleep(0.05)
    assert waiting["mail_error"] == "the mail server answered 451 4.7.1 Greylisted, try again later"
    assert waiting["mail_attempts"] == 1
    due_in = datetime.fromisoformat(waiting["mail_due_at"]) - datetime.now(UTC)
    assert timedelta(seconds=20) < due_in <= timedelta(seconds=30)  # 30 s, less its jitter


@pytest.fixture
async def outbox_site(tmp_path: Path, aiohttp_client: ClientFactory) -> AsyncIterator[Site]:
    config = load_config(event_config(tmp_path, mode="open"))
    app = create_app(settings(tmp_path, fast_rehearsal(config, lead=60, speed=1), config))
    yield Site(await aiohttp_client(app), SmtpServer())


async def test_without_smtp_the_mail_lands_in_the_outbox(outbox_site: Site, tmp_path: Path) -> None:
    await outbox_site.register(ANA)
    outbox = tmp_path / "data" / "outbox"
    async with asyncio.timeout(5):
        while not list(outbox.glob("*.eml")):
            await asyncio.sleep(0.05)
    text = next(outbox.glob("*.eml")).read_bytes()
    assert b"To: ana@example.org" in text
    assert oct(next(outbox.glob("*.eml")).stat().st_mode & 0o777) == "0o600"
    assert (await outbox_site.listing())["registrations"][0]["mail"] == "outbox"


async def test_the_outbox_writes_an_address_beyond_ascii_as_an_address(
    outbox_site: Site, tmp_path: Path
) -> None:
    assert (await outbox_site.register({**ANA, "email": "jürgen@exämple.org"}))[0] == 201
    outbox = tmp_path / "data" / "outbox"
    async with asyncio.timeout(5):
        while not list(outbox.glob("*.eml")):
            await asyncio.sleep(0.05)
    headers = next(outbox.glob("*.eml")).read_bytes().split(b"\n\n", 1)[0].split(b"\n")
    assert "To: jürgen@exämple.org".encode() in headers  # as SMTPUTF8 sends it, not =?utf-8?


async def test_a_bulk_decision_takes_its_full_500_ids(approval: Site) -> None:
    _, body = await approval.register(ANA)
    ids = [body["id"], *(f"r_{n:020x}" for n in range(499))]
    decided = await approval.decide(ids, "approve")
    assert [r["id"] for r in decided] == [body["id"]]
    too_many = await approval.client.post(
        "/api/registrations/decisions",
        headers=approval.bearer(),
        json={"ids": [*ids, "r_one_more"], "decision": "approve"},
    )
    assert too_many.status == 400
