"""Bearer tokens on HTTP requests: ``Authorization: Bearer TOKEN`` to verified claims."""

from __future__ import annotations

from aiohttp import web

from server.auth.permissions import Permission
from server.auth.tokens import Claims
from server.errors import Forbidden, InvalidToken
from server.web import appkeys

SCHEME = "bearer "


def bearer_claims(request: web.Request) -> Claims:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith(SCHEME):
        raise InvalidToken("send the access token as 'Authorization: Bearer TOKEN'")
    return request.app[appkeys.TOKENS].verify(header[len(SCHEME) :].strip())


def require(request: web.Request, permission: Permission) -> Claims:
    claims = bearer_claims(request)
    if not claims.can(permission):
        raise Forbidden(f"the {claims.role.value} role may not do that")
    return claims
