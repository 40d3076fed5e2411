"""HTTP adapter for registration: sign-up, the organizer's list and decisions, CSV export,
and an attendee's own access (``/api/me``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiohttp import web

from server.auth.bearer import bearer_claims, require
from server.auth.permissions import Permission
from server.errors import InvalidInput
from server.registration.model import (
    Decision,
    MailStatus,
    Registration,
    RegistrationForm,
    RegistrationStatus,
    parse_link_request,
)
from server.web import appkeys
from server.web.request_input import query_whole, read_json
from server.web.spreadsheet import cell, csv_line

MAX_IDS = 500
DECISIONS_LIMIT = 32 * 1024  # room for MAX_IDS ids of 32 characters, quoted
MAX_QUERY = 200
PAGE_LIMIT = 200
LINK_REQUESTED = {
    "status": "requested",
    "message": "If this address has an approved registration, its join link is on its way."
    " Check your inbox (and spam folder) in a few minutes.",
}
CSV_COLUMNS = [
    "id",
    "name",
    "email",
    "affiliation",
    "status",
    "created_at",
    "decided_at",
    "decided_by",
    "mail",
    "mail_error",
]


def organizer_view(registration: Registration) -> dict[str, Any]:
    """The whole record, e-mail included: only organizers ever receive this."""
    return {
        "id": registration.id,
        "name": registration.name,
        "email": registration.email,
        "affiliation": registration.affiliation,
        "status": registration.status.value,
        "created_at": registration.created_at.isoformat(),
        "decided_at": _when(registration.decided_at),
        "decided_by": registration.decided_by,
        "mail": registration.mail.value if registration.mail else None,
        "mail_error": registration.mail_error,  # why the last try failed
        "mail_attempts": registration.mail_attempts,
        # When a waiting letter is tried next; a letter being sent has no such time.
        "mail_due_at": _when(registration.mail_due_at)
        if registration.mail is MailStatus.QUEUED
        else None,
    }


async def policy(request: web.Request) -> web.Response:
    registrar = request.app[appkeys.REGISTRAR]
    event = request.app[appkeys.CONFIG].event
    return web.json_response(
        {
            "mode": registrar.mode.value,
            "privacy_notice": registrar.settings.privacy_notice,
            "contact": event.contact.payload() if event.contact else None,
            "event": {"name": event.name, "theme": event.theme, "venue": event.venue},
        }
    )


async def register(request: web.Request) -> web.Response:
    request.app[appkeys.RATE_LIMITER].check(request.remote or "unknown")
    form = RegistrationForm.parse(await read_json(request))
    registration = await request.app[appkeys.REGISTRAR].register(form)
    return web.json_response(
        {"id": registration.id, "status": registration.status.value}, status=201
    )


async def send_link_again(request: web.Request) -> web.Response:
    """Always the same answer, at once, for any well-formed address: whether it is registered
    is for its mailbox to learn (``link_requests.py``)."""
    request.app[appkeys.RATE_LIMITER].check(request.remote or "unknown")
    address = parse_link_request(await read_json(request))
    request.app[appkeys.LINK_REQUESTS].ask(address)
    return web.json_response(LINK_REQUESTED, status=202)


async def list_registrations(request: web.Request) -> web.Response:
    require(request, Permission.MANAGE_REGISTRATIONS)
    query = request.query
    status = _status(query.get("status"))
    text = query.get("q", "").strip()
    if len(text) > MAX_QUERY:
        raise InvalidInput(f"q is longer than {MAX_QUERY} characters")
    limit = query_whole(query, "limit", 50, 1, PAGE_LIMIT)
    offset = query_whole(query, "offset", 0, 0, 10**9)
    ids = _ids(query.getall("id", []))
    registrar = request.app[appkeys.REGISTRAR]
    found, total = await registrar.search(status, text, limit, offset, ids)
    counts = await registrar.counts()
    return web.json_response(
        {
            "registrations": [organizer_view(registration) for registration in found],
            "total": total,
            "counts": {status.value: count for status, count in counts.items()},
        },
        headers={"Cache-Control": "no-store"},
    )


async def decide(request: web.Request) -> web.Response:
    claims = require(request, Permission.MANAGE_REGISTRATIONS)
    body = await read_json(request, limit=DECISIONS_LIMIT)
    if not isinstance(body, Mapping) or set(body) != {"ids", "decision"}:
        raise InvalidInput('the body must be {"ids": [...], "decision": "approve"|"reject"}')
    ids = body["ids"]
    if (
        not isinstance(ids, list)
        or not 1 <= len(ids) <= MAX_IDS
        or not all(isinstance(one, str) and 0 < len(one) <= 32 for one in ids)
    ):
        raise InvalidInput(f"ids must be a list of 1 to {MAX_IDS} registration ids")
    decision = next((d for d in Decision if d.value == body["decision"]), None)
    if decision is None:
        raise InvalidInput("decision must be approve or reject")
    decided = await request.app[appkeys.REGISTRAR].decide(ids, decision, claims.name)
    return web.json_response({"registrations": [organizer_view(r) for r in decided]})


async def revoke(request: web.Request) -> web.Response:
    claims = require(request, Permission.MANAGE_REGISTRATIONS)
    registration = await request.app[appkeys.REGISTRAR].revoke(
        request.match_info["id"], claims.name
    )
    return web.json_response({"registration": organizer_view(registration)})


async def resend(request: web.Request) -> web.Response:
    require(request, Permission.MANAGE_REGISTRATIONS)
    registration = await request.app[appkeys.REGISTRAR].resend(request.match_info["id"])
    return web.json_response({"registration": organizer_view(registration)})


async def export_csv(request: web.Request) -> web.StreamResponse:
    require(request, Permission.MANAGE_REGISTRATIONS)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="registrations.csv"',
            "Cache-Control": "no-store",
        }
    )
    await response.prepare(request)
    await response.write(csv_line(CSV_COLUMNS).encode("utf-8-sig"))
    async for registration in request.app[appkeys.REGISTRAR].export():
        row = organizer_view(registration)
        await response.write(csv_line([cell(row[column]) for column in CSV_COLUMNS]).encode())
    await response.write_eof()
    return response


async def me(request: web.Request) -> web.Response:
    claims = bearer_claims(request)
    registration = await request.app[appkeys.REGISTRAR].by_sub(claims.sub)
    return web.json_response(
        {
            "name": claims.name,
            "role": claims.role.value,
            # What the pages may offer this bearer: the permission table decides, not them.
            "permissions": sorted(p.value for p in Permission if claims.can(p)),
            "rooms": list(claims.rooms),
            "expires_at": claims.expires_at.isoformat(),
            "registration": None
            if registration is None
            else {"id": registration.id, "status": registration.status.value},
        },
        headers={"Cache-Control": "no-store"},
    )


async def withdraw(request: web.Request) -> web.Response:
    claims = bearer_claims(request)
    registration = await request.app[appkeys.REGISTRAR].withdraw(claims.sub)
    return web.json_response({"status": registration.status.value})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/registrations/policy", policy)
    app.router.add_post("/api/registrations", register)
    app.router.add_post("/api/registrations/resend", send_link_again)
    app.router.add_get("/api/registrations", list_registrations)
    app.router.add_post("/api/registrations/decisions", decide)
    app.router.add_post("/api/registrations/{id}/revoke", revoke)
    app.router.add_post("/api/registrations/{id}/resend", resend)
    app.router.add_get("/api/registrations.csv", export_csv)
    app.router.add_get("/api/me", me)
    app.router.add_delete("/api/me/registration", withdraw)


def _ids(values: list[str]) -> tuple[str, ...]:
    """``?id=…&id=…``: only these registrations (a page following its letters asks so)."""
    if len(values) > PAGE_LIMIT or not all(0 < len(one) <= 32 for one in values):
        raise InvalidInput(f"id may be given up to {PAGE_LIMIT} times, each a registration id")
    return tuple(values)


def _when(instant: datetime | None) -> str | None:
    return instant.isoformat() if instant else None


def _status(value: str | None) -> RegistrationStatus | None:
    if value in (None, "", "all"):
        return None
    for status in RegistrationStatus:
        if status.value == value:
            return status
    raise InvalidInput(f"status must be one of {', '.join(s.value for s in RegistrationStatus)}")
