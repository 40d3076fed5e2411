"""The shared state of the aiohttp application, declared together as typed keys."""

from __future__ import annotations

from aiohttp import web

from scheduler.runner import TransitionRunner
from server.auth.access_watch import AccessWatch
from server.auth.keys import KeyRing
from server.auth.revocation import RevocationList
from server.auth.tokens import TokenService
from server.config import Config
from server.console.health_feed import HealthFeed
from server.media.heap import HeapKeeper
from server.media.ice_servers import IceServers
from server.media.relay import Relay
from server.operations.health import HealthCheck
from server.operations.metrics import Metrics
from server.questions.service import QuestionService
from server.registration.join_links import JoinLinkSender
from server.registration.link_requests import LinkRequests
from server.registration.service import Registrar
from server.rooms.agenda_calendar import AgendaCalendar
from server.rooms.live import LiveChannel
from server.rooms.notice_channel import NoticeChannel
from server.rooms.service import RoomService
from server.store import Store
from server.web.rate_limit import RateLimiter

CONFIG = web.AppKey("config", Config)
STORE = web.AppKey("store", Store)
KEYRING = web.AppKey("keyring", KeyRing)
TOKENS = web.AppKey("tokens", TokenService)
ROOMS = web.AppKey("rooms", RoomService)
CALENDAR = web.AppKey("calendar", AgendaCalendar)
RUNNER = web.AppKey("runner", TransitionRunner)
LIVE = web.AppKey("live", LiveChannel)
NOTICES = web.AppKey("notices", NoticeChannel)
QUESTIONS = web.AppKey("questions", QuestionService)
REGISTRAR = web.AppKey("registrar", Registrar)
RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)  # sign-ups and link requests
OFFER_LIMITER = web.AppKey("offer_limiter", RateLimiter)  # WHIP and WHEP offers
REVOCATIONS = web.AppKey("revocations", RevocationList)
JOIN_LINKS = web.AppKey("join_links", JoinLinkSender)
LINK_REQUESTS = web.AppKey("link_requests", LinkRequests)  # "e-mail me my link again"
ACCESS_WATCH = web.AppKey("access_watch", AccessWatch)
RELAY = web.AppKey("relay", Relay)
HEALTH_FEED = web.AppKey("health_feed", HealthFeed)
HEAP = web.AppKey("heap", HeapKeeper)
ICE_SERVERS = web.AppKey("ice_servers", IceServers)
METRICS = web.AppKey("metrics", Metrics)
HEALTH = web.AppKey("health", HealthCheck)
