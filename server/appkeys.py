"""The shared state of the aiohttp application, declared together as typed keys."""

from __future__ import annotations

from aiohttp import web

from scheduler.runner import TransitionRunner
from server.access_watch import AccessWatch
from server.config import Config
from server.joinlinks import JoinLinkSender
from server.keys import KeyRing
from server.live import LiveChannel
from server.media.relay import Relay
from server.ratelimit import RateLimiter
from server.registrar import Registrar
from server.revocation import RevocationList
from server.rooms import RoomService
from server.store import Store
from server.tokens import TokenService

CONFIG = web.AppKey("config", Config)
STORE = web.AppKey("store", Store)
KEYRING = web.AppKey("keyring", KeyRing)
TOKENS = web.AppKey("tokens", TokenService)
ROOMS = web.AppKey("rooms", RoomService)
RUNNER = web.AppKey("runner", TransitionRunner)
LIVE = web.AppKey("live", LiveChannel)
REGISTRAR = web.AppKey("registrar", Registrar)
RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)
REVOCATIONS = web.AppKey("revocations", RevocationList)
JOIN_LINKS = web.AppKey("join_links", JoinLinkSender)
ACCESS_WATCH = web.AppKey("access_watch", AccessWatch)
RELAY = web.AppKey("relay", Relay)
