"""HTTP endpoints other than media and registration: health, metrics, the agenda (and as
iCalendar), the audit log and the public keys."""

from __future__ import annotations

import hashlib

from aiohttp import hdrs, web

from server.auth.bearer import require
from server.auth.permissions import Permission
from server.rooms.agenda_calendar import CalendarFile
from server.rooms.messages import agenda_payload, local_iso
from server.web import appkeys
from server.web.request_input import query_date, query_whole


async def healthz(request: web.Request) -> web.Response:
    """200 while the scheduler, the store and the relay work; 503 naming those that do not,
    what failed and, where known, since when."""
    rooms = request.app[appkeys.ROOMS]
    parts = await request.app[appkeys.HEALTH].parts()
    failing = [name for name, part in parts.items() if part.problem is not None]
    return web.json_response(
        {
            "status": "failing" if failing else "ok",
            "failing": failing,
            "now": rooms.clock.now().isoformat(),
            "rehearsal": rooms.clock.rehearsal,
            **{name: part.payload() for name, part in parts.items()},
        },
        status=503 if failing else 200,
        headers={"Cache-Control": "no-store"},
    )


async def agenda(request: web.Request) -> web.Response:
    payload = agenda_payload(request.app[appkeys.CONFIG], request.app[appkeys.ROOMS])
    return web.json_response(payload, headers={"Cache-Control": "no-store"})


async def agenda_ics(request: web.Request) -> web.StreamResponse:
    """The whole agenda, for a calendar to subscribe to."""
    return _calendar_response(request, request.app[appkeys.CALENDAR].whole())


async def item_ics(request: web.Request) -> web.StreamResponse:
    """One item (a break too), for "Add to calendar"; 404 ``unknown_item``."""
    item_id = request.match_info["item"]
    return _calendar_response(request, request.app[appkeys.CALENDAR].of_item(item_id))


def _calendar_response(request: web.Request, file: CalendarFile) -> web.StreamResponse:
    """Calendars poll: each asks again every time (no-cache) and gets 304 while the entity tag
    it holds still names the feed, which changes with every change of the running order."""
    etag = hashlib.sha256(file.body).hexdigest()[:32]
    headers = {
        hdrs.CACHE_CONTROL: "no-cache",
        hdrs.CONTENT_DISPOSITION: f'attachment; filename="{file.filename}"',
        "X-Content-Type-Options": "nosniff",
    }
    held = request.if_none_match or ()
    if any(tag.value in (etag, "*") for tag in held):
        response = web.Response(status=304, headers=headers)
    else:
        response = web.Response(
            body=file.body, content_type="text/calendar", charset="utf-8", headers=headers
        )
    response.etag = etag
    response.last_modified = file.modified_at
    return response


async def jwks(request: web.Request) -> web.Response:
    keyring = request.app[appkeys.KEYRING]
    keyring.refresh()
    return web.json_response(keyring.jwks(), headers={"Cache-Control": "max-age=60"})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text, or OpenMetrics for a scraper that asks for it."""
    accept = request.headers.get(hdrs.ACCEPT, "")
    body, content_type = await request.app[appkeys.METRICS].exposition(accept)
    return web.Response(
        body=body,
        headers={
            hdrs.CONTENT_TYPE: content_type,
            hdrs.CACHE_CONTROL: "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def audit(request: web.Request) -> web.Response:
    """The newest entries of the audit log: transitions and overrides, when, what and who;
    with ``day``, only those of that day (agenda time, in the event's zone)."""
    require(request, Permission.CONTROL_ROOMS)
    limit = query_whole(request.query, "limit", 100, 1, 1000)
    day = query_date(request.query, "day")
    rooms = request.app[appkeys.ROOMS]
    entries = await rooms.audit_log(limit, day)
    return web.json_response(
        {
            "entries": [
                {
                    "at": entry.wall_at.isoformat(),
                    "agenda_at": local_iso(entry.agenda_at, rooms),
                    "room": entry.room,
                    "action": entry.action,
                    "by": entry.actor.name,
                    "detail": entry.detail,
                }
                for entry in entries
            ]
        },
        headers={"Cache-Control": "no-store"},
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/api/agenda", agenda)
    app.router.add_get("/api/agenda.ics", agenda_ics)
    app.router.add_get("/api/agenda/{item}.ics", item_ics)
    app.router.add_get("/api/audit", audit)
    app.router.add_get("/.well-known/jwks.json", jwks)
