"""Unit tests of the technicians' safe running order in scheduler/timetable.py: start now keeps
the item's length and only for today, an end undone within a window, the day's delay.

Pure, like test_timetable.py, whose builders these share.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from scheduler.timetable import (
    Override,
    OverrideAction,
    OverrideRefused,
    Refusal,
    RoomState,
    Timetable,
)
from tests.scheduler.test_timetable import MON, TUE, build, day, item, local, span
from tests.scheduler.test_timetable import real as real  # the bundled agenda, a fixture

START, EXTEND, END = OverrideAction.START, OverrideAction.EXTEND, OverrideAction.END
REOPEN, DELAY = OverrideAction.REOPEN, OverrideAction.DELAY
FIVE_MINUTES = timedelta(minutes=5)
S, L, V, E = RoomState.SCHEDULED, RoomState.LOBBY, RoomState.LIVE, RoomState.ENDED


def at(on: str, hhmm: str, room: str, action: OverrideAction, minutes: int = 0) -> Override:
    return Override(room, action, local(on, hhmm), minutes)


def refused(timetable: Timetable, override: Override, **kwargs: timedelta) -> OverrideRefused:
    with pytest.raises(OverrideRefused) as caught:
        timetable.apply(override, **kwargs)
    return caught.value


# -- start now -------------------------------------------------------------------------------


@pytest.mark.parametrize("hhmm", ["09:00", "14:10", "15:59"])
def test_start_now_keeps_the_items_length(real: Timetable, hhmm: str) -> None:
    started = real.apply(at(MON, hhmm, "panel-1", START))
    assert started.item("panel-1").starts_at == local(MON, hhmm)
    assert started.item("panel-1").duration == timedelta(minutes=90)


def test_start_now_of_another_days_item_is_refused_with_its_own_code(real: Timetable) -> None:
    refusal = refused(real, at(MON, "16:30", "panel-2", START))
    assert refusal.reason is Refusal.NOT_TODAY
    assert "Tuesday 15 June" in str(refusal)


def test_start_now_of_an_item_whose_lobby_opened_the_evening_before() -> None:
    timetable = build(
        day(MON, item("late", "20:00", "21:00")), day(TUE, item("night", "00:05", "01:00"))
    )
    assert timetable.state_at(timetable.item("night"), local(MON, "23:55")) is L
    started = timetable.apply(at(MON, "23:55", "night", START))
    assert span(started, "night") == ("23:55", "00:50")
    assert started.local_day(started.item("night")) == date(2021, 6, 15)
    assert refused(timetable, at(MON, "23:45", "night", START)).reason is Refusal.NOT_TODAY


def test_start_now_after_midnight_starts_an_item_of_the_new_day(real: Timetable) -> None:
    started = real.apply(at(TUE, "00:10", "panel-2", START))
    assert span(started, "panel-2") == ("00:10", "01:40")


# -- undoing an end ----------------------------------------------------------------------------


def test_an_end_undone_at_once_restores_the_room_as_it_was(real: Timetable) -> None:
    ended = real.apply(at(MON, "15:00", "keynote", END))
    assert ended.reopen_deadline("keynote", FIVE_MINUTES) == local(MON, "15:05")
    reopened = ended.apply(at(MON, "15:04", "keynote", REOPEN), undo_within=FIVE_MINUTES)
    assert reopened.item("keynote") == real.item("keynote")
    assert reopened.state_at(reopened.item("keynote"), local(MON, "15:04")) is V
    assert reopened.reopen_deadline("keynote", FIVE_MINUTES) is None
    assert reopened == real


def test_an_end_can_be_undone_only_within_the_window(real: Timetable) -> None:
    ended = real.apply(at(MON, "15:00", "keynote", END))
    refusal = refused(ended, at(MON, "15:05", "keynote", REOPEN), undo_within=FIVE_MINUTES)
    assert refusal.reason is Refusal.UNDO_EXPIRED
    assert "more than 5 minutes ago" in str(refusal)
    zero = refused(ended, at(MON, "15:00", "keynote", REOPEN), undo_within=timedelta(0))
    assert zero.reason is Refusal.UNDO_EXPIRED
    assert ended.reopen_deadline("keynote", timedelta(0)) is None
    # Replaying what was accepted once, the window is not judged again.
    assert ended.apply(at(MON, "15:30", "keynote", REOPEN)).item("keynote").ends_at > local(
        MON, "15:30"
    )


def test_an_end_undone_after_the_planned_end_gives_back_the_time_that_was_left(
    real: Timetable,
) -> None:
    ended = real.apply(at(MON, "15:28", "keynote", END))  # two minutes before its end
    reopened = ended.apply(at(MON, "15:31", "keynote", REOPEN), undo_within=FIVE_MINUTES)
    assert span(reopened, "keynote") == ("14:45", "15:33")
    assert span(reopened, "break-mon") == ("15:33", "16:03")  # pushed back, as by an extend
    assert span(reopened, "panel-1") == ("16:03", "17:33")


def test_an_end_before_the_start_is_undone_back_to_the_lobby(real: Timetable) -> None:
    ended = real.apply(at(MON, "14:35", "keynote", END))
    reopened = ended.apply(at(MON, "14:36", "keynote", REOPEN), undo_within=FIVE_MINUTES)
    assert reopened.state_at(reopened.item("keynote"), local(MON, "14:36")) is L
    assert span(reopened, "keynote") == ("14:45", "15:30")


@pytest.mark.parametrize(
    ("hhmm", "problem"), [("14:30", "has not ended"), ("14:50", "ended on schedule")]
)
def test_only_an_end_now_can_be_undone(real: Timetable, hhmm: str, problem: str) -> None:
    refusal = refused(real, at(MON, hhmm, "welcome", REOPEN), undo_within=FIVE_MINUTES)
    assert refusal.reason is Refusal.CONFLICT
    assert problem in str(refusal)


def test_an_end_is_undone_once(real: Timetable) -> None:
    reopened = real.apply(at(MON, "15:00", "keynote", END)).apply(
        at(MON, "15:01", "keynote", REOPEN)
    )
    ended_again = reopened.apply(at(MON, "15:02", "keynote", END))
    assert ended_again.reopen_deadline("keynote", FIVE_MINUTES) == local(MON, "15:07")
    assert refused(reopened, at(MON, "15:02", "keynote", REOPEN)).reason is Refusal.CONFLICT


# -- the day's delay ---------------------------------------------------------------------------


def test_delay_from_the_live_room_moves_the_rest_of_the_day(real: Timetable) -> None:
    delayed = real.apply(at(MON, "14:30", "welcome", DELAY, 10))
    assert [span(delayed, room) for room in ("welcome", "keynote", "break-mon", "panel-1")] == [
        ("14:00", "14:55"),  # live: it keeps its start and ends later
        ("14:55", "15:40"),
        ("15:40", "16:10"),
        ("16:10", "17:40"),
    ]
    assert delayed.items[4:] == real.items[4:]  # the next days stay


def test_delay_moves_every_later_item_even_across_a_gap() -> None:
    gappy = build(
        day(
            MON,
            item("a", "14:00", "14:30"),
            item("b", "15:00", "15:30"),
            item("d", "17:00", "18:00"),
        )
    )
    delayed = gappy.apply(at(MON, "14:40", "b", DELAY, 5))
    assert [span(delayed, room) for room in "abd"] == [
        ("14:00", "14:30"),  # over already
        ("15:05", "15:35"),
        ("17:05", "18:05"),  # an extend would have stopped at the gap
    ]


def test_delay_from_the_next_room_leaves_earlier_items_alone(real: Timetable) -> None:
    delayed = real.apply(at(MON, "15:40", "panel-1", DELAY, 15))  # during the coffee break
    assert span(delayed, "break-mon") == ("15:30", "16:00")
    assert span(delayed, "panel-1") == ("16:15", "17:45")
    assert delayed.state_at(delayed.item("panel-1"), local(MON, "15:59")) is S
    assert delayed.state_at(delayed.item("panel-1"), local(MON, "16:00")) is L  # lobby moved too


def test_delay_leaves_rooms_ended_early_where_they_ended(real: Timetable) -> None:
    panel_ended = real.apply(at(MON, "14:10", "panel-1", END))  # before it began
    delayed = panel_ended.apply(at(MON, "14:20", "welcome", DELAY, 30))
    assert delayed.item("panel-1") == panel_ended.item("panel-1")
    assert delayed.state_at(delayed.item("panel-1"), local(MON, "14:20")) is E


def test_delay_past_midnight_keeps_the_items_on_their_day() -> None:
    timetable = build(
        day(MON, item("late", "22:00", "23:00"), item("later", "23:00", "23:45")),
        day(TUE, item("morning", "09:00", "10:00")),
    )
    delayed = timetable.apply(at(MON, "22:30", "late", DELAY, 60))
    assert span(delayed, "later") == ("00:00", "00:45")
    assert delayed.local_day(delayed.item("later")) == date(2021, 6, 14)
    assert [found.id for found in dict(delayed.days())[date(2021, 6, 14)]] == ["late", "later"]
    assert delayed.item("morning") == timetable.item("morning")
    # Still Monday's: a later delay from it moves only Monday's rest.
    again = delayed.apply(at(MON, "23:30", "later", DELAY, 5))
    assert span(again, "later") == ("00:05", "00:50")


def test_delay_of_another_days_item_is_refused(real: Timetable) -> None:
    refusal = refused(real, at(MON, "14:30", "panel-2", DELAY, 10))
    assert refusal.reason is Refusal.NOT_TODAY
    assert "Tuesday 15 June" in str(refusal)


@pytest.mark.parametrize("minutes", [0, -5, 241, 100_000])
def test_delay_outside_one_to_240_minutes_is_refused(real: Timetable, minutes: int) -> None:
    assert "between 1 and 240" in str(refused(real, at(MON, "14:30", "welcome", DELAY, minutes)))


def test_delay_of_an_ended_room_is_refused(real: Timetable) -> None:
    assert "already ended" in str(refused(real, at(MON, "15:00", "welcome", DELAY, 5)))


# -- a pushed-back running order -------------------------------------------------------------


def test_an_extend_does_not_bring_back_a_room_ended_before_it_began(real: Timetable) -> None:
    keynote_ended = real.apply(at(MON, "14:35", "keynote", END))  # from its lobby
    extended = keynote_ended.apply(at(MON, "14:36", "welcome", EXTEND, 10))
    assert extended.item("keynote") == keynote_ended.item("keynote")
    assert extended.state_at(extended.item("keynote"), local(MON, "14:36")) is E
    assert span(extended, "break-mon") == ("15:30", "16:00")


def test_an_end_replayed_after_a_restart_can_still_be_undone(real: Timetable) -> None:
    replayed = real.with_overrides([at(MON, "15:00", "keynote", END)])
    assert replayed.reopen_deadline("keynote", FIVE_MINUTES) == local(MON, "15:05")
    reopened = replayed.with_overrides([at(MON, "15:02", "keynote", REOPEN)])
    assert reopened.item("keynote") == real.item("keynote")
