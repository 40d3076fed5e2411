"""The published agenda as data, and what it says about any instant.

Pure: no I/O, no clock. ``parse_timetable`` (``timetable_config.py``) turns the ``[event]`` and
``[[days]]`` tables of a config into a validated ``Timetable``; ``Timetable.state_at``,
``on_now`` and ``up_next`` answer
questions about an instant the caller supplies. Overrides (start now, extend, end now, undo
an end, delay the rest of the day) are applied by ``Timetable.apply`` one at a time and by
``Timetable.with_overrides`` in order; each returns the effective running order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

# What one extend or delay may add: a whole afternoon, and nothing absurd.
MAX_OVERRIDE_MINUTES = 240
# The roles that may publish into a room, and so the ones ``auto_stage`` may name: the hall
# encoder runs on a technician's token, remote panelists on speakers'.
PUBLISHING_ROLES = ("technician", "speaker")
DEFAULT_AUTO_STAGE = frozenset({"technician"})


class ItemKind(StrEnum):
    REMARKS = "remarks"
    KEYNOTE = "keynote"
    PANEL = "panel"
    STATEMENT = "statement"
    BREAK = "break"


class RoomState(StrEnum):
    SCHEDULED = "scheduled"
    LOBBY = "lobby"
    LIVE = "live"
    ENDED = "ended"


class OverrideAction(StrEnum):
    START = "start"
    EXTEND = "extend"
    END = "end"
    REOPEN = "reopen"  # undo a recent end
    DELAY = "delay"  # this item and the rest of its day, by some minutes


class Refusal(StrEnum):
    """Why an override was refused, as a stable code for the client."""

    CONFLICT = "conflict"  # not in the room's present state
    NOT_TODAY = "not_today"  # an item of another day
    UNDO_EXPIRED = "undo_expired"  # an end too long ago to undo


@dataclass(frozen=True)
class AgendaItem:
    id: str
    title: str
    kind: ItemKind
    starts_at: datetime
    ends_at: datetime
    description: str = ""
    audio_only: bool = False
    recorded: bool = True
    # Whose sources go on stage when they connect; the others wait backstage to be brought on.
    auto_stage: frozenset[str] = DEFAULT_AUTO_STAGE
    # Whether the audience's questions wait for a moderator; if not, they are approved at once.
    moderated: bool = True
    # The day it is published on, in the event's zone; it stays that day's, however far it is
    # pushed past midnight. None: the day it starts on.
    day: date | None = None

    @property
    def has_room(self) -> bool:
        return self.kind is not ItemKind.BREAK

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at

    def shifted(self, delta: timedelta) -> AgendaItem:
        return replace(self, starts_at=self.starts_at + delta, ends_at=self.ends_at + delta)


@dataclass(frozen=True)
class Override:
    """A technician's decision about one room, taken at agenda instant ``at``."""

    room: str
    action: OverrideAction
    at: datetime
    minutes: int = 0


@dataclass(frozen=True)
class EndedEarly:
    """How a room looked before someone ended it at ``at``: what undoing the end restores."""

    before: AgendaItem
    at: datetime


@dataclass(frozen=True)
class Transition:
    """The moment ``room`` enters ``state``."""

    room: str
    state: RoomState
    at: datetime


@dataclass(frozen=True)
class Timetable:
    items: tuple[AgendaItem, ...]
    zone: ZoneInfo
    lobby: timedelta
    # The rooms ended by "End now", by id: how to undo it. Not part of the running order.
    ended_early: Mapping[str, EndedEarly] = field(default_factory=dict, compare=False)
    _by_id: Mapping[str, AgendaItem] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {item.id: item for item in self.items})

    # -- lookups ---------------------------------------------------------------------------

    def item(self, item_id: str) -> AgendaItem:
        return self._by_id[item_id]

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._by_id

    @property
    def rooms(self) -> tuple[AgendaItem, ...]:
        return tuple(item for item in self.items if item.has_room)

    def local_day(self, item: AgendaItem) -> date:
        return item.day or item.starts_at.astimezone(self.zone).date()

    def today(self, instant: datetime) -> date:
        """The event's calendar day at ``instant``, in its zone."""
        return instant.astimezone(self.zone).date()

    def reopen_deadline(self, item_id: str, window: timedelta) -> datetime | None:
        """Until when the end of a room ended early can be undone; None if it cannot be."""
        ended = self.ended_early.get(item_id)
        if ended is None or window <= timedelta(0):
            return None
        return ended.at + window

    def days(self) -> list[tuple[date, list[AgendaItem]]]:
        by_day: dict[date, list[AgendaItem]] = {}
        for item in self.items:
            by_day.setdefault(self.local_day(item), []).append(item)
        return sorted(by_day.items())

    def access_ends_at(self) -> datetime:
        """Midnight after the event's last day, in its zone: when attendees' access ends."""
        last_day = max(self.local_day(item) for item in self.items)
        midnight = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=self.zone)
        return midnight.astimezone(UTC)

    # -- instants --------------------------------------------------------------------------

    def state_at(self, item: AgendaItem, instant: datetime) -> RoomState:
        if instant >= item.ends_at:
            return RoomState.ENDED
        if instant >= item.starts_at:
            return RoomState.LIVE
        if instant >= item.starts_at - self.lobby:
            return RoomState.LOBBY
        return RoomState.SCHEDULED

    def states_at(self, instant: datetime) -> dict[str, RoomState]:
        return {item.id: self.state_at(item, instant) for item in self.rooms}

    def on_now(self, instant: datetime) -> list[AgendaItem]:
        return [item for item in self.items if item.starts_at <= instant < item.ends_at]

    def up_next(self, instant: datetime) -> AgendaItem | None:
        upcoming = [item for item in self.items if item.starts_at > instant]
        return min(upcoming, key=lambda item: item.starts_at, default=None)

    def transitions(self) -> list[Transition]:
        """Every instant at which some room changes state, in order."""
        found = []
        for item in self.rooms:
            found.append(Transition(item.id, RoomState.LOBBY, item.starts_at - self.lobby))
            found.append(Transition(item.id, RoomState.LIVE, item.starts_at))
            found.append(Transition(item.id, RoomState.ENDED, item.ends_at))
        return sorted(found, key=lambda transition: transition.at)

    # -- the running order -----------------------------------------------------------------

    def with_overrides(self, overrides: Iterable[Override]) -> Timetable:
        """The effective timetable once the stored overrides, in order, are applied.

        An override that no longer fits (its item was removed from a later config) is passed
        over: the audit log keeps it, the running order cannot.
        """
        current = self
        for _, _, after in self.replay(overrides):
            current = after
        return current

    def replay(
        self, overrides: Iterable[Override]
    ) -> Iterator[tuple[Override, Timetable, Timetable]]:
        """Each stored override that still fits, in order, with the running order before and
        after it (``with_overrides``, one step at a time)."""
        current = self
        for override in overrides:
            try:
                after = current.apply(override)
            except OverrideRefused:
                continue
            yield override, current, after
            current = after

    def moved_since(self, before: Timetable) -> tuple[str, ...]:
        """The items whose times differ from those they have in ``before``."""
        return tuple(
            item.id
            for item in self.items
            if (item.starts_at, item.ends_at)
            != (before.item(item.id).starts_at, before.item(item.id).ends_at)
        )

    def apply(self, override: Override, *, undo_within: timedelta | None = None) -> Timetable:
        """One override; raises ``OverrideRefused`` if the room's state does not allow it.

        ``undo_within``: how recent an end must be to be undone; None (replaying overrides
        already accepted) for no limit.
        """
        item = self._by_id.get(override.room)
        if item is None or not item.has_room:
            raise OverrideRefused(f"no room {override.room!r} in the agenda")
        at = override.at
        state = self.state_at(item, at)
        if override.action is OverrideAction.REOPEN:
            return self._reopen(item, state, at, undo_within)
        if state is RoomState.ENDED:
            raise OverrideRefused(f"room {item.id!r} has already ended")
        if override.action is OverrideAction.START:
            return self._start(item, state, at)
        if override.action is OverrideAction.END:
            ended = replace(item, starts_at=min(item.starts_at, at), ends_at=at)
            undo = {**self.ended_early, item.id: EndedEarly(item, at)}
            return replace(self._replace_item(ended), ended_early=undo)
        if not 1 <= override.minutes <= MAX_OVERRIDE_MINUTES:
            raise OverrideRefused(
                f"{override.action.value} takes between 1 and {MAX_OVERRIDE_MINUTES} minutes"
            )
        minutes = timedelta(minutes=override.minutes)
        if override.action is OverrideAction.DELAY:
            return self._delay(item, state, at, minutes)
        extended = replace(item, ends_at=item.ends_at + minutes)
        return self._replace_item(extended)._push_back_after(extended, at)

    def _start(self, item: AgendaItem, state: RoomState, at: datetime) -> Timetable:
        """Start now: the item goes live at ``at`` and keeps its length."""
        if state is RoomState.LIVE:
            raise OverrideRefused(f"room {item.id!r} is already live")
        if state is RoomState.SCHEDULED and self.local_day(item) != self.today(at):
            raise OverrideRefused(
                f"room {item.id!r} is on {_day_words(self.local_day(item))}: only a room of today, "
                "or one whose lobby is open, can be started now",
                Refusal.NOT_TODAY,
            )
        return self._replace_item(item.shifted(at - item.starts_at))

    def _reopen(
        self, item: AgendaItem, state: RoomState, at: datetime, within: timedelta | None
    ) -> Timetable:
        """Undo an end: the room as it was before, or, if its end has passed meanwhile, with
        the time it had left when it was ended."""
        ended = self.ended_early.get(item.id)
        if state is not RoomState.ENDED or ended is None:
            problem = "has not ended" if state is not RoomState.ENDED else "ended on schedule"
            raise OverrideRefused(f"room {item.id!r} {problem}: there is no end to undo")
        if within is not None and at - ended.at >= within:
            minutes = int(within.total_seconds() // 60)
            raise OverrideRefused(
                f"room {item.id!r} was ended more than {minutes} minutes ago; "
                "it can no longer be reopened",
                Refusal.UNDO_EXPIRED,
            )
        restored = ended.before
        if restored.ends_at <= at:
            restored = replace(restored, ends_at=at + (restored.ends_at - ended.at))
        undo = {room: e for room, e in self.ended_early.items() if room != item.id}
        reopened = replace(self._replace_item(restored), ended_early=undo)
        return reopened._push_back_after(restored, at)

    def _delay(
        self, anchor: AgendaItem, state: RoomState, at: datetime, delta: timedelta
    ) -> Timetable:
        """``anchor`` and every later item of its day that has not ended move by ``delta``; an
        item already live keeps its start and ends later."""
        day = self.local_day(anchor)
        open_now = state in (RoomState.LOBBY, RoomState.LIVE)
        if day != self.today(at) and not open_now:
            raise OverrideRefused(
                f"room {anchor.id!r} is on {_day_words(day)}: only today's running order can be "
                "delayed",
                Refusal.NOT_TODAY,
            )
        moved = {
            item.id: _delayed(item, delta, at)
            for item in self.items
            if item.starts_at >= anchor.starts_at
            and self.local_day(item) == day
            and at < item.ends_at
        }
        items = tuple(moved.get(item.id, item) for item in self.items)
        return replace(self, items=in_order(items))

    def _replace_item(self, new: AgendaItem) -> Timetable:
        items = tuple(new if item.id == new.id else item for item in self.items)
        return replace(self, items=in_order(items))

    def _push_back_after(self, anchor: AgendaItem, at: datetime) -> Timetable:
        """Later items of the same day that now overlap move back, keeping their length;
        those already over at ``at`` stay where they ended."""
        day = self.local_day(anchor)
        later = [
            item
            for item in self.items
            if item.id != anchor.id
            and self.local_day(item) == day
            and item.starts_at >= anchor.starts_at
            and at < item.ends_at
        ]
        moved: dict[str, AgendaItem] = {}
        boundary = anchor.ends_at
        for item in sorted(later, key=lambda item: item.starts_at):
            if item.starts_at >= boundary:
                break
            shifted = item.shifted(boundary - item.starts_at)
            moved[item.id] = shifted
            boundary = shifted.ends_at
        items = tuple(moved.get(item.id, item) for item in self.items)
        return replace(self, items=in_order(items))


class OverrideRefused(ValueError):
    """An override that does not fit the room's present state, or the day."""

    def __init__(self, message: str, reason: Refusal = Refusal.CONFLICT) -> None:
        super().__init__(message)
        self.reason = reason


def _day_words(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


def _delayed(item: AgendaItem, delta: timedelta, at: datetime) -> AgendaItem:
    """An item moved later by ``delta``; one already started only ends later."""
    if item.starts_at <= at:
        return replace(item, ends_at=item.ends_at + delta)
    return item.shifted(delta)


def in_order(items: Iterable[AgendaItem]) -> tuple[AgendaItem, ...]:
    """Items as a running order holds them: by start, then end."""
    return tuple(sorted(items, key=lambda item: (item.starts_at, item.ends_at)))
