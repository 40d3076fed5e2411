"""The composition root: ``create_app(settings)`` builds and wires every part, and its cleanup
context starts them in order and stops them in reverse."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from aiohttp import web

from scheduler.clock import Clock, wall_now
from scheduler.clock_watch import ClockWatch
from scheduler.runner import TransitionRunner
from scheduler.timetable import RoomState
from server.auth.access_watch import AccessWatch
from server.auth.keys import KeyRing
from server.auth.revocation import RevocationList
from server.auth.tokens import TokenService
from server.config import Config
from server.console.health_feed import HealthFeed
from server.data_folder import prepare_data_folder
from server.media import endpoints as media_endpoints
from server.media.admission import AdmissionLimits
from server.media.aiortc_internals.compat import check_compatible
from server.media.demofeed import DemoFeed
from server.media.fanout import C_LOOP_BUILT
from server.media.heap import HeapKeeper
from server.media.ice_servers import IceServers
from server.media.relay import Relay, RelaySettings
from server.media.room_media import StageSettings
from server.operations.health import HealthCheck
from server.operations.metrics import Metrics
from server.operations.request_log import request_log, send_request_id
from server.questions import http as questions_api
from server.questions.live import QuestionChannel
from server.questions.service import QuestionService
from server.registration import http as registration_api
from server.registration.backoff import Backoff
from server.registration.join_links import JoinLinkSender
from server.registration.link_requests import LinkRequests
from server.registration.live import RegistrationFeed
from server.registration.mail import mailer_for
from server.registration.service import Registrar
from server.registration.smtputf8 import smtputf8_support_for
from server.rooms.agenda_calendar import AgendaCalendar, written_at
from server.rooms.live import LiveChannel
from server.rooms.notice_channel import NoticeChannel
from server.rooms.service import RoomService, RoomUpdate
from server.store import Store
from server.web import api, appkeys, pages
from server.web.errors import QuietAboutMalformedRequests, json_errors
from server.web.origins import OriginCheck
from server.web.rate_limit import RateLimiter
from server.web.site import parser_limits

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class Settings:
    config: Config
    data_dir: Path
    clock: Clock
    run: str = "event"
    public_url: str = "http://127.0.0.1:8080"
    ice_addresses: tuple[str, ...] = ()  # given on the command line: instead of the config's
    demo_feed: bool = False
    mail_backoff: Backoff = field(default_factory=Backoff)  # the tests try shorter waits
    wall: Callable[[], datetime] = wall_now
    c_loop: bool = C_LOOP_BUILT  # the relay sends through its C loop; the tests also try without
    own_gcm: bool = True  # the C loop encrypts AES-GCM itself; the tests also try libsrtp
    # Where secrets named in the config are read: each TURN server's shared secret.
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)


def create_app(settings: Settings) -> web.Application:
    config = settings.config
    # Before anything is made on disk: a TURN secret missing from the environment stops here.
    ice_servers = IceServers.from_config(config, settings.environ, settings.wall)
    prepare_data_folder(settings.data_dir)
    app = web.Application(
        middlewares=[request_log, json_errors],
        client_max_size=MAX_BODY_BYTES,
        handler_args={"logger": QuietAboutMalformedRequests(), **parser_limits()},
    )
    store = Store.in_data_dir(settings.data_dir, config.store_url or None)
    keyring = KeyRing.open(settings.data_dir)
    revocations = RevocationList(store.registrations)
    tokens = TokenService(keyring, config.issuer, settings.wall, revocations.is_revoked)
    rooms = RoomService(
        settings.config.timetable,
        settings.clock,
        store.rooms,
        settings.run,
        settings.wall,
        config.rooms.undo_window,
    )
    runner = TransitionRunner(settings.clock, rooms.reconcile, ClockWatch(settings.wall))
    calendar = AgendaCalendar(
        config, rooms, settings.public_url, written_at(config.path, settings.wall())
    )
    live = LiveChannel(
        config, rooms, tokens, OriginCheck(settings.public_url, config.allowed_origins)
    )
    live.server.attach(app)
    notices = NoticeChannel(live, rooms)
    questions = QuestionService(config.questions, rooms, store.questions, settings.wall)
    QuestionChannel(live, questions, rooms)
    heap = HeapKeeper()
    relay = _relay(settings, rooms, live, heap)
    health_feed = HealthFeed(relay, rooms, live, config.alerts)

    def access_until() -> datetime:
        return settings.clock.to_wall(config.timetable.access_ends_at())

    join_links = JoinLinkSender(
        config,
        store.registrations,
        tokens,
        mailer_for(config.mail, settings.data_dir),
        settings.clock,
        settings.public_url,
        settings.wall,
        settings.mail_backoff,
        calendar=lambda: calendar.whole(method="PUBLISH").body,
    )
    registrar = Registrar(
        config.registration,
        store.registrations,
        join_links,
        revocations,
        smtputf8_support_for(config.mail),
        settings.wall,
        access_until,
    )
    registrar.on_withdrawn(questions.forget_asker)
    RegistrationFeed(live, store.registrations)

    async def reschedule(update: RoomUpdate) -> None:
        if update.running_order_changed:
            runner.schedule(rooms.timetable)

    rooms.subscribe(reschedule)
    app[appkeys.CONFIG] = settings.config
    app[appkeys.STORE] = store
    app[appkeys.KEYRING] = keyring
    app[appkeys.TOKENS] = tokens
    app[appkeys.ROOMS] = rooms
    app[appkeys.CALENDAR] = calendar
    app[appkeys.RUNNER] = runner
    app[appkeys.LIVE] = live
    app[appkeys.NOTICES] = notices
    app[appkeys.QUESTIONS] = questions
    app[appkeys.REVOCATIONS] = revocations
    app[appkeys.REGISTRAR] = registrar
    app[appkeys.JOIN_LINKS] = join_links
    app[appkeys.LINK_REQUESTS] = LinkRequests(registrar)
    app[appkeys.RATE_LIMITER] = RateLimiter(config.registration.per_address_per_minute)
    app[appkeys.OFFER_LIMITER] = RateLimiter(config.offers_per_address_per_minute)
    app[appkeys.HEAP] = heap
    app[appkeys.RELAY] = relay
    app[appkeys.HEALTH_FEED] = health_feed
    app[appkeys.ICE_SERVERS] = ice_servers
    metrics = Metrics(rooms, live, relay, heap, app[appkeys.OFFER_LIMITER], questions)
    health_feed.on_alert(metrics.alerts.heard)
    app[appkeys.METRICS] = metrics
    app[appkeys.HEALTH] = HealthCheck(runner, store.health, relay)
    app[appkeys.ACCESS_WATCH] = AccessWatch(
        revocations, [live.end_lapsed, relay.end_lapsed], settings.wall
    )
    app.on_response_prepare.append(send_request_id)
    api.add_routes(app)
    registration_api.add_routes(app)
    questions_api.add_routes(app)
    media_endpoints.add_routes(app)
    pages.add_routes(app)
    app.cleanup_ctx.append(_run_heap)
    app.cleanup_ctx.append(_run_store)
    app.cleanup_ctx.append(_run_access)
    app.cleanup_ctx.append(_run_schedule)
    app.cleanup_ctx.append(_run_health_feed)
    app.on_shutdown.append(_hang_up)
    if settings.demo_feed:
        app.cleanup_ctx.append(_run_demo_feed)
    return app


def _relay(settings: Settings, rooms: RoomService, live: LiveChannel, heap: HeapKeeper) -> Relay:
    """The media relay, told when rooms end, and telling the rooms who is in them."""
    config = settings.config
    check_compatible()  # for every app built, not only by `plenary serve`, which checks first
    if not C_LOOP_BUILT:
        log.warning(
            "relay: the C loop (server/media/_fanout.c) was not built; media goes out "
            "through its Python twin, which serves about a third fewer viewers per core"
        )
    relay = Relay(
        RelaySettings(
            ice_addresses=settings.ice_addresses or config.ice_addresses,
            limits=AdmissionLimits(
                sessions_per_person=config.sessions_per_person,
                max_viewers_per_room=config.max_viewers_per_room,
                max_viewers=config.max_viewers,
                max_connecting_viewers=config.max_connecting_viewers,
            ),
            connect_within_seconds=config.connect_within_seconds,
            c_loop=settings.c_loop,
            own_gcm=settings.own_gcm,
            stage=StageSettings(config.max_stage_sources, config.max_stage_videos),
        ),
        heap,
    )
    rooms.occupancy = relay.counts
    rooms.on_stage = lambda room: relay.stage_payload(room, backstage=False)
    rooms.slots = lambda item: relay.slots(item.audio_only)
    relay.subscribe(live.occupancy_changed)
    relay.subscribe_stage(live.stage_changed)
    live.stage = relay

    async def end_media(update: RoomUpdate) -> None:
        for room in update.rooms:
            if rooms.state(room) is RoomState.ENDED:
                await relay.end_room(room)

    rooms.subscribe(end_media)
    return relay


async def _run_demo_feed(app: web.Application) -> AsyncIterator[None]:
    """After the schedule has started: the rooms already open get their feed at once."""
    demo = DemoFeed(app[appkeys.RELAY], app[appkeys.ROOMS])
    app[appkeys.ROOMS].subscribe(demo.on_room_update)
    await demo.start_open_rooms()
    yield
    await demo.close()


async def _run_heap(app: web.Application) -> AsyncIterator[None]:
    """The collector policy: the first to start and the last to stop."""
    heap = app[appkeys.HEAP]
    heap.start()
    yield
    await heap.close()


async def _run_store(app: web.Application) -> AsyncIterator[None]:
    store = app[appkeys.STORE]
    await store.prepare()
    yield
    await store.close()


async def _run_access(app: web.Application) -> AsyncIterator[None]:
    """Revocations known before the first request; join links and access checks running."""
    await app[appkeys.REVOCATIONS].refresh()
    join_links, watch = app[appkeys.JOIN_LINKS], app[appkeys.ACCESS_WATCH]
    link_requests = app[appkeys.LINK_REQUESTS]
    join_links.start()
    link_requests.start()
    watch.start()
    yield
    await watch.stop()
    await link_requests.stop()
    await join_links.stop()


async def _run_health_feed(app: web.Application) -> AsyncIterator[None]:
    feed = app[appkeys.HEALTH_FEED]
    feed.start()
    yield
    await feed.stop()


async def _hang_up(app: web.Application) -> None:
    """First thing on shutdown: end live connections, or aiohttp waits on them for a minute."""
    await app[appkeys.LIVE].close()
    await app[appkeys.QUESTIONS].close()
    await app[appkeys.RELAY].close()


async def _run_schedule(app: web.Application) -> AsyncIterator[None]:
    rooms, runner, live = app[appkeys.ROOMS], app[appkeys.RUNNER], app[appkeys.LIVE]
    await rooms.load()
    await runner.start(rooms.timetable)
    yield
    await runner.stop()
    await app[appkeys.RELAY].close()
    await live.close()
