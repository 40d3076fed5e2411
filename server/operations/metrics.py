"""``GET /metrics``: what a technician's dashboard graphs, made by prometheus-client from the
live objects at each scrape.

Each app owns its registry, never the library's process-wide default, so two apps in one
process (the tests run many) never share or clash over a figure. The collectors read the rooms,
the live channel, the relay and the collector policy when scraped, so nothing is counted twice
over. Questions are kept in the store: they are counted once per scrape, before the text is
made, and left out (not shown as zero) while the store cannot answer.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, choose_encoder, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from scheduler.timetable import RoomState
from server.console.alerts import Alert, AlertCode
from server.errors import StoreUnavailable
from server.media.heap import HeapKeeper
from server.media.relay import Relay
from server.operations.media_metrics import HeapFigures, MediaFigures
from server.questions.model import QuestionCount, QuestionStatus
from server.questions.service import QuestionService
from server.rooms.live import LiveChannel
from server.rooms.service import RoomService
from server.web.rate_limit import RateLimiter

# A scrape waits this long for the store's count of questions, then goes without it.
QUESTIONS_WITHIN_SECONDS = 2.0

Encoder = Callable[[CollectorRegistry], bytes]


class Metrics:
    """The app's registry and its collectors; ``alerts.heard`` listens to the alerts."""

    def __init__(
        self,
        rooms: RoomService,
        live: LiveChannel,
        relay: Relay,
        heap: HeapKeeper,
        offers: RateLimiter,
        questions: QuestionService,
    ) -> None:
        self.alerts = AlertCounts()
        self._questions = QuestionFigures(questions, rooms)
        self.registry = CollectorRegistry()
        for collector in (
            RoomFigures(rooms, live),
            MediaFigures(rooms, relay, offers),
            HeapFigures(heap),
            self._questions,
            self.alerts,
        ):
            self.registry.register(collector)

    async def exposition(self, accept: str) -> tuple[bytes, str]:
        """The figures as of now, in the format ``accept`` asks for (Prometheus text unless
        it asks for OpenMetrics), and that format's content type."""
        await self._questions.refresh()
        encode, content_type = encoder_for(accept)
        return encode(self.registry), content_type


def encoder_for(accept: str) -> tuple[Encoder, str]:
    try:
        return choose_encoder(accept)
    except (TypeError, ValueError):
        # prometheus-client 0.26 raises on a version it cannot read ("version=abc"): whatever
        # a client sends, it gets the plain text format.
        return generate_latest, CONTENT_TYPE_PLAIN_0_0_4


class RoomFigures:
    """Rooms by state, each room's liveness, Socket.IO clients, transitions and overrides."""

    def __init__(self, rooms: RoomService, live: LiveChannel) -> None:
        self._rooms = rooms
        self._live = live

    def collect(self) -> Iterator[Metric]:
        rooms = self._rooms
        state_of = {item.id: rooms.state(item.id) for item in rooms.timetable.rooms}
        states = Counter(state_of.values())
        by_state = GaugeMetricFamily(
            "plenary_rooms", "Rooms of the agenda by state.", labels=["state"]
        )
        for state in RoomState:
            by_state.add_metric([state.value], states[state])
        yield by_state
        live = GaugeMetricFamily(
            "plenary_room_live", "Whether each room is live (1) or not (0).", labels=["room"]
        )
        for room, state in state_of.items():
            live.add_metric([room], int(state is RoomState.LIVE))
        yield live
        yield GaugeMetricFamily(
            "plenary_socket_clients", "Connected Socket.IO clients.", value=self._live.connected
        )
        yield CounterMetricFamily(
            "plenary_overrides",
            "Technician overrides applied in this run.",
            value=rooms.override_count,
        )
        yield CounterMetricFamily(
            "plenary_transitions",
            "Room state transitions announced by this process.",
            value=rooms.transition_count,
        )


class QuestionFigures:
    """Each room's questions by status, and the votes they hold, as the store last said."""

    def __init__(self, questions: QuestionService, rooms: RoomService) -> None:
        self._questions = questions
        self._rooms = rooms
        self._counts: list[QuestionCount] | None = None

    async def refresh(self) -> None:
        try:
            async with asyncio.timeout(QUESTIONS_WITHIN_SECONDS):
                self._counts = await self._questions.counts()
        except (StoreUnavailable, TimeoutError):
            self._counts = None  # /healthz says why

    def collect(self) -> Iterator[Metric]:
        if self._counts is None:
            return
        rooms = [item.id for item in self._rooms.timetable.rooms]
        questions = Counter({(room, status): 0 for room in rooms for status in QuestionStatus})
        votes = Counter({room: 0 for room in rooms})
        for count in self._counts:
            questions[count.room, count.status] += count.questions
            votes[count.room] += count.votes
        by_status = GaugeMetricFamily(
            "plenary_questions",
            "Questions of each room by status (withdrawn ones are gone).",
            labels=["room", "status"],
        )
        for (room, status), number in questions.items():
            by_status.add_metric([room, status.value], number)
        yield by_status
        held = GaugeMetricFamily(
            "plenary_question_votes",
            "Votes held by each room's questions.",
            labels=["room"],
        )
        for room, number in votes.items():
            held.add_metric([room], number)
        yield held


class AlertCounts:
    """Alerts raised in this process, by code, each code shown from the first scrape on;
    ``heard`` is told of every alert that starts or clears."""

    def __init__(self) -> None:
        self._raised = Counter(dict.fromkeys(AlertCode, 0))

    def heard(self, alert: Alert) -> None:
        if alert.active:
            self._raised[alert.code] += 1

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "plenary_alerts", "Alerts raised for technicians, by code.", labels=["code"]
        )
        for code, count in self._raised.items():
            family.add_metric([code.value], count)
        yield family
