"""The HTTP surface: health, metrics, agenda, public keys, pages, and JSON errors."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from scheduler.timetable import OverrideAction
from server.auth.permissions import Role
from server.media import fanout
from server.store import Actor
from server.web import appkeys
from server.web.app import create_app
from tests.helpers import bundled_config, fast_rehearsal, settings
from tests.metrics import parse

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[..., Awaitable[Client]]


@pytest.fixture
async def client(tmp_path: Path, aiohttp_client: ClientFactory) -> Client:
    clock = fast_rehearsal(bundled_config(), lead=-60, speed=1.0)  # a minute into the welcome
    return await aiohttp_client(create_app(settings(tmp_path, clock)))


async def test_healthz(client: Client) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    body = await response.json()
    assert (body["status"], body["failing"]) == ("ok", [])
    assert body["scheduler"]["status"] == "ok" and body["scheduler"]["pending_transitions"] > 0
    assert body["store"] == {"status": "ok"}
    loop = "c" if fanout.C_LOOP_BUILT else "python"  # CI builds the C loop
    assert body["relay"] == {"status": "ok", "sessions": 0, "loop": loop}


async def test_agenda_has_every_item_in_vienna_time(client: Client) -> None:
    response = await client.get("/api/agenda")
    assert response.status == 200
    body = await response.json()
    assert body["event"]["name"] == "21st Alliance against Trafficking in Persons Conference"
    assert body["event"]["timezone"] == "Europe/Vienna"
    items = body["items"]
    assert [item["kind"] for item in items].count("break") == 3
    assert all(item["room"] is None for item in items if item["kind"] == "break")
    assert all(
        re.fullmatch(r"2021-06-1[456]T\d\d:\d\d:00\+02:00", item["starts_at"]) for item in items
    )
    welcome = items[0]
    assert welcome["room"]["state"] == "live"
    assert welcome["room"]["opens_at"] == "2021-06-14T13:45:00+02:00"
    statement = next(item for item in items if item["id"] == "statement-day-2")
    assert statement["audio_only"] is True and statement["recorded"] is False


async def test_jwks_lists_the_signing_key(client: Client) -> None:
    body = await (await client.get("/.well-known/jwks.json")).json()
    assert client.app is not None
    kid = client.app[appkeys.KEYRING].current_kid
    assert [key["kid"] for key in body["keys"]] == [kid]
    assert body["keys"][0]["kty"] == "OKP" and body["keys"][0]["crv"] == "Ed25519"
    assert "d" not in body["keys"][0]  # never the private part


async def test_metrics_in_prometheus_text(client: Client) -> None:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.content_type == "text/plain"
    assert response.headers["Cache-Control"] == "no-store"
    metrics = parse(await response.text())
    assert metrics.value("plenary_rooms", state="live") == 1
    assert metrics.value("plenary_room_live", room="welcome") == 1
    assert metrics.types["plenary_socket_clients"] == "gauge"
    assert metrics.types["plenary_media_stall_seconds"] == "histogram"
    assert metrics.value("plenary_media_stall_seconds_bucket", le="0.02") >= 0
    assert metrics.value("plenary_media_stall_seconds_count") >= 0
    assert metrics.value("plenary_heap_frozen_objects") > 0  # start-up froze the modules


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/api/nothing", 404, "not_found"),
        ("POST", "/api/agenda", 405, "method_not_allowed"),
        ("GET", "/nowhere", 404, "not_found"),  # asked for as JSON
        ("POST", "/nowhere", 404, "not_found"),  # not a GET: never the page
        ("GET", "/whep/nothing/else/at/all", 404, "not_found"),
        ("GET", "/app/..%2Fconfig.toml", 404, "not_found"),
        ("GET", "/app/node_modules", 404, "not_found"),
        ("GET", "/app/missing.js", 404, "not_found"),
    ],
)
async def test_errors_are_json(
    client: Client,
    method: str,
    path: str,
    status: int,
    code: str,
) -> None:
    response = await client.request(method, path, headers={"Accept": "application/json"})
    assert response.status == status
    body = await response.json()
    assert body["error"] == code and body["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/nothing",
        "/whip/x/y/z/w",
        "/whep/x/y/z/w",
        "/.well-known/x",
        "/app/x.js",
        "/vendor/x.js",
    ],
)
async def test_a_program_missing_gets_json_even_as_a_browser_asks(
    client: Client, path: str
) -> None:
    response = await client.get(path, headers={"Accept": "text/html,*/*;q=0.8"})
    assert response.status == 404
    assert (await response.json())["error"] == "not_found"


@pytest.mark.parametrize(
    "path", ["/nowhere", "/Watch/keynote", "/watch/keynote/more", "/watch/", "/%E2%80%AEevil"]
)
async def test_an_unknown_page_is_a_page_leading_to_the_agenda(client: Client, path: str) -> None:
    for accept in ("text/html,application/xhtml+xml,*/*;q=0.8", "*/*", None):
        headers = {"Accept": accept} if accept else {}
        response = await client.get(path, headers=headers, skip_auto_headers=["Accept"])
        assert response.status == 404, (path, accept)
        assert response.content_type == "text/html"
        text = await response.text()
        assert "Page not found" in text and 'href="/"' in text
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]


async def test_pages_are_served_with_a_strict_policy(client: Client) -> None:
    for path in ("/", "/technician"):
        response = await client.get(path)
        assert response.status == 200, path
        assert "<html" in (await response.text()).lower()
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["Referrer-Policy"] == "no-referrer"
    script = await client.get("/vendor/socket.io.esm.min.js")
    assert script.status == 200


async def test_room_pages_are_served_for_any_room_name_the_agenda_could_have(
    client: Client,
) -> None:
    for page in ("watch", "speak", "hall", "moderate", "screen"):
        script = f"{page}.js"
        response = await client.get(f"/{page}/keynote")
        assert response.status == 200, page
        assert f'src="/app/{script}"' in await response.text()
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    for path in (
        "/hall/",
        "/hall/Keynote",
        "/hall/keynote/more",
        "/halls/keynote",
        "/moderate/",
        "/screen/keynote/x",
    ):
        response = await client.get(path, headers={"Accept": "application/json"})
        assert response.status == 404, path
        assert (await response.json())["error"] == "not_found"


def bearer(client: Client, role: str) -> dict[str, str]:
    assert client.app is not None
    token = client.app[appkeys.TOKENS].issue(role=Role(role), name=f"A {role}")
    return {"Authorization": f"Bearer {token}"}


async def test_audit_log_needs_a_technician(client: Client) -> None:
    missing = await client.get("/api/audit")
    assert missing.status == 401
    assert (await missing.json())["error"] == "invalid_token"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    garbage = await client.get("/api/audit", headers={"Authorization": "Bearer x.y.z"})
    assert garbage.status == 401
    attendee = await client.get("/api/audit", headers=bearer(client, "attendee"))
    assert attendee.status == 403
    assert (await attendee.json())["error"] == "forbidden"
    # Unicode digits pass str.isdigit() but not int(): "²", "①", Arabic-Indic and full-width.
    for limit in (
        "0",
        "-1",
        "abc",
        "5000",
        "%C2%B2",
        "%E2%91%A0",
        "%D9%A3",
        "%EF%BC%95",
        "9" * 400,
    ):
        bad = await client.get(f"/api/audit?limit={limit}", headers=bearer(client, "technician"))
        assert bad.status == 400, limit
        assert (await bad.json())["error"] == "invalid_input"

    for day in ("2021-6-14", "2021-02-30", "14.06.2021", "0001-01-01", "9999-12-31", "%D9%A3" * 8):
        bad = await client.get(f"/api/audit?day={day}", headers=bearer(client, "technician"))
        assert bad.status == 400, day
        assert (await bad.json())["message"] == (
            "day must be a date from 1970-01-01 to 9998-12-31, written as YYYY-MM-DD"
        )


async def test_audit_log_says_when_what_and_who(client: Client) -> None:
    assert client.app is not None
    rooms = client.app[appkeys.ROOMS]
    await rooms.override("keynote", OverrideAction.START, 0, Actor("u_x", "Tess"))
    response = await client.get("/api/audit?limit=5", headers=bearer(client, "technician"))
    assert response.status == 200
    entries = (await response.json())["entries"]
    override = next(entry for entry in entries if entry["action"] == "override")
    assert (override["room"], override["by"], override["detail"]["action"]) == (
        "keynote",
        "Tess",
        "start",
    )
    transition = entries[-1]
    assert transition["action"] == "transition" and transition["room"] == "keynote"
    assert transition["detail"] == {"from": "scheduled", "to": "live"}
    assert transition["agenda_at"].endswith("+02:00")


async def test_audit_log_of_one_day(client: Client) -> None:
    """The rehearsal replays Monday 14 June: its entries are that day's, in Vienna."""
    technician = bearer(client, "technician")
    monday = await (await client.get("/api/audit?day=2021-06-14", headers=technician)).json()
    assert monday["entries"] and all(
        entry["agenda_at"].startswith("2021-06-14T") for entry in monday["entries"]
    )
    tuesday = await (await client.get("/api/audit?day=2021-06-15", headers=technician)).json()
    assert tuesday == {"entries": []}


@pytest.mark.parametrize(
    ("role", "rooms", "can_control"),
    [(Role.TECHNICIAN, ("panel-1",), True), (Role.MODERATOR, ("*",), False)],
)
async def test_me_says_what_the_pages_may_offer(
    client: Client, role: Role, rooms: tuple[str, ...], can_control: bool
) -> None:
    assert client.app is not None
    token = client.app[appkeys.TOKENS].issue(role=role, name="Tess", rooms=rooms)
    response = await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    body = await response.json()
    assert body["role"] == role.value
    assert body["rooms"] == list(rooms)
    assert ("control_rooms" in body["permissions"]) is can_control
    assert "send_notice" in body["permissions"]
    assert body["permissions"] == sorted(body["permissions"])
