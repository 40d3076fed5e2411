"""WHIP and WHEP over HTTP (RFC 9725): parse, authorise, gate by the room's state, and hand
the offer to the relay.

Publishers may start from the lobby on; viewers while the room is live, and roles allowed to
watch the lobby (speakers, interpreters, moderators, technicians) from the lobby on.
"""

from __future__ import annotations

import asyncio

from aiohttp import ETag, web

from scheduler.timetable import AgendaItem, RoomState
from server.auth.bearer import bearer_claims
from server.auth.permissions import Permission
from server.auth.tokens import Claims
from server.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    UnsupportedMediaType,
)
from server.media.room_media import RoomSpec
from server.media.sdp import SessionIce, parse_fragment, parse_offer
from server.media.sessions import Direction, MediaSession, Owner
from server.media.stage import View
from server.web import appkeys

SDP = "application/sdp"
SOURCE_HEADER = "X-Plenary-Source"
TRICKLE = "application/trickle-ice-sdpfrag"
OPEN_FOR = {
    Direction.PUBLISH: frozenset({RoomState.LOBBY, RoomState.LIVE}),
    Direction.WATCH: frozenset({RoomState.LIVE}),
}


class RoomNotOpen(Conflict):
    code = "room_not_open"


def may_enter(direction: Direction, state: RoomState, claims: Claims) -> bool:
    """Whether the room's state lets this person publish or watch now."""
    if state in OPEN_FOR[direction]:
        return True
    return (
        direction is Direction.WATCH
        and state is RoomState.LOBBY
        and claims.can(Permission.WATCH_LOBBY)
    )


def authorise(request: web.Request, direction: Direction) -> tuple[AgendaItem, Claims]:
    rooms = request.app[appkeys.ROOMS]
    item = rooms.room(request.match_info["room"])
    claims = bearer_claims(request)
    needed = Permission.PUBLISH if direction is Direction.PUBLISH else Permission.WATCH
    if not claims.can(needed):
        raise Forbidden(f"the {claims.role.value} role may not {direction.value} here")
    if not claims.allows_room(item.id):
        raise Forbidden(f"your access does not include room {item.id!r}")
    state = rooms.state(item.id)
    if not may_enter(direction, state, claims):
        raise RoomNotOpen(
            f"room {item.id!r} is {state.value}; "
            f"{direction.value} opens when it is "
            f"{'in its lobby' if direction is Direction.PUBLISH else 'live'}"
        )
    return item, claims


def requested_view(request: web.Request, direction: Direction) -> View:
    """``?view=remote`` asks a WHEP session for the remote panelists only (the hall's
    return); the whole stage otherwise."""
    asked = request.query.getall("view", [])
    if not asked:
        return View.STAGE
    if direction is Direction.PUBLISH:
        raise InvalidInput("'view' is for watching (WHEP), not publishing")
    if len(asked) > 1 or asked[0] not in View.__members__.values():
        shown = ", ".join(view.value for view in View)
        raise InvalidInput(f"'view' must be one of {shown}")
    return View(asked[0])


async def open_session(request: web.Request, direction: Direction) -> web.Response:
    # First, before any work: every offer costs a peer connection, a valid one or not.
    request.app[appkeys.OFFER_LIMITER].check(request.remote or "unknown")
    item, claims = authorise(request, direction)
    view = requested_view(request, direction)
    if request.content_type != SDP:
        raise UnsupportedMediaType(f"send the offer as {SDP}")
    relay = request.app[appkeys.RELAY]
    offer = parse_offer(await request.read(), direction, loopback_only=relay.settings.loopback_only)
    owner = Owner(
        sub=claims.sub,
        name=claims.name,
        role=claims.role.value,
        jti=claims.jti,
        expires_at=claims.expires_at,
    )
    room = RoomSpec(item.id, item.audio_only, item.auto_stage)
    if direction is Direction.PUBLISH:
        session = await relay.publish(room, owner, offer)
    else:
        session = await relay.watch(room, owner, offer, view)
    response = web.Response(status=201, text=session.answer, content_type=SDP)
    response.headers["Location"] = session.path
    response.headers["ETag"] = session.etag
    if direction is Direction.PUBLISH:  # so a speaker's page knows its own entry on the stage
        response.headers[SOURCE_HEADER] = session.source_id
    for server in request.app[appkeys.ICE_SERVERS].for_holder(claims):
        for link in server.link_headers():
            response.headers.add("Link", link)
    return response


async def whip(request: web.Request) -> web.Response:
    return await open_session(request, Direction.PUBLISH)


async def whep(request: web.Request) -> web.Response:
    return await open_session(request, Direction.WATCH)


def may_act_on(session: MediaSession, claims: Claims) -> bool:
    """Its owner may end or trickle a session; besides, only staff who control rooms, and
    only in the rooms their token covers."""
    if session.owner.sub == claims.sub:
        return True
    return claims.can(Permission.CONTROL_ROOMS) and claims.allows_room(session.room)


def owned_session(request: web.Request) -> MediaSession:
    claims = bearer_claims(request)
    session = request.app[appkeys.RELAY].session(request.match_info["session"])
    # Only at the Location it was given: its kind and room, as well as its id.
    if session is None or session.path != request.path:
        raise NotFound("no such session (it may have ended already)")
    if not may_act_on(session, claims):
        raise Forbidden(
            f"your access does not include room {session.room!r}"
            if claims.can(Permission.CONTROL_ROOMS)
            else "this session belongs to someone else"
        )
    return session


def matches(if_match: tuple[ETag, ...] | None, etag: str) -> bool:
    """RFC 9110 section 13.1.1, comparing strongly. A PATCH without If-Match is taken, as
    from clients written before RFC 9725 asked for one."""
    if if_match is None:
        return True
    return any(
        tag.value == "*" or (not tag.is_weak and f'"{tag.value}"' == etag) for tag in if_match
    )


async def end_session(request: web.Request) -> web.Response:
    session = owned_session(request)
    await session.close("ended by its owner")
    return web.json_response({"ended": session.id})


async def trickle(request: web.Request) -> web.Response:
    session = owned_session(request)
    if request.content_type != TRICKLE:
        raise UnsupportedMediaType(f"send candidates as {TRICKLE}")
    if not matches(request.if_match, session.etag):
        raise PreconditionFailed(
            "If-Match names another entity tag than this session's (RFC 9725 section 4.3.1)"
        )
    remote = session.pc.remoteDescription
    if remote is None:
        raise NotFound("no such session (it may have ended already)")
    fragment = parse_fragment(
        await request.read(),
        SessionIce.of(remote.sdp),
        loopback_only=request.app[appkeys.RELAY].settings.loopback_only,
    )
    # Together: an mDNS name may take aioice a second to resolve, or not to.
    await asyncio.gather(*map(session.pc.addIceCandidate, fragment.candidates))
    if fragment.end_of_candidates:
        await session.pc.addIceCandidate(None)
    return web.Response(status=204)


async def ice_servers(request: web.Request) -> web.Response:
    """For pages that build their peer connection before they have an answer. Only for token
    holders: a TURN server relays for whoever holds its credentials."""
    servers = request.app[appkeys.ICE_SERVERS].for_holder(bearer_claims(request))
    return web.json_response(
        {"iceServers": [server.as_dict() for server in servers]},
        headers={"Cache-Control": "no-store"},  # credentials: no cache may keep them
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/media/ice-servers", ice_servers)
    for endpoint, handler in (("whip", whip), ("whep", whep)):
        app.router.add_post(f"/{endpoint}/{{room}}", handler)
        app.router.add_delete(f"/{endpoint}/{{room}}/{{session}}", end_session)
        app.router.add_patch(f"/{endpoint}/{{room}}/{{session}}", trickle)
