"""The admission rules alone: seats, a person's own sessions, and viewers still connecting."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from server.errors import AtCapacity
from server.media.admission import (
    AdmissionLimits,
    Busy,
    Occupancy,
    TooManySessions,
    admit_publisher,
    admit_viewer,
)

LIMITS = AdmissionLimits(
    sessions_per_person=3, max_viewers_per_room=10, max_viewers=15, max_connecting_viewers=4
)


@dataclass
class Seat:
    name: str
    answered: bool = True


def occupancy(room: int = 0, everywhere: int | None = None, connecting: int = 0) -> Occupancy:
    return Occupancy(
        room_viewers=room,
        viewers=room if everywhere is None else everywhere,
        connecting_viewers=connecting,
    )


def test_a_newcomer_with_seats_to_spare_replaces_nobody() -> None:
    assert admit_viewer([], occupancy(room=9, everywhere=14, connecting=3), LIMITS) is None
    assert admit_viewer([Seat("phone")], occupancy(room=5), LIMITS) is None


def test_past_their_own_limit_a_person_replaces_their_oldest_session() -> None:
    phone, laptop, reload = Seat("phone"), Seat("laptop"), Seat("reload")
    assert admit_viewer([phone, laptop, reload], occupancy(room=3), LIMITS) is phone
    assert admit_publisher([phone, laptop, reload], LIMITS) is phone
    assert admit_publisher([phone, laptop], LIMITS) is None


def test_a_session_still_being_answered_is_never_replaced() -> None:
    answering, answered = Seat("answering", answered=False), Seat("answered")
    mine = [answering, answered, Seat("third")]
    assert admit_viewer(mine, occupancy(room=3), LIMITS) is answered
    flood = [Seat(str(n), answered=False) for n in range(3)]
    with pytest.raises(TooManySessions) as refused:
        admit_viewer(flood, occupancy(room=3), LIMITS)
    assert (refused.value.http_status, refused.value.code) == (429, "too_many_sessions")
    assert refused.value.retry_after > 0
    with pytest.raises(TooManySessions):
        admit_publisher(flood, LIMITS)


def test_a_full_room_turns_newcomers_away_but_lets_a_person_take_back_their_seat() -> None:
    with pytest.raises(AtCapacity) as full:
        admit_viewer([], occupancy(room=10), LIMITS)
    assert (full.value.code, full.value.message) == ("at_capacity", "this room is full")
    with pytest.raises(AtCapacity) as server_full:
        admit_viewer([], occupancy(room=2, everywhere=15), LIMITS)
    assert server_full.value.message == "the server is full"
    stale = Seat("stale")
    assert admit_viewer([stale], occupancy(room=10), LIMITS) is stale
    assert admit_viewer([stale], occupancy(room=2, everywhere=15), LIMITS) is stale


def test_only_so_many_viewers_may_be_connecting_at_once() -> None:
    for mine in ([], [Seat("stale")]):
        with pytest.raises(Busy) as busy:
            admit_viewer(mine, occupancy(room=4, connecting=4), LIMITS)
        assert (busy.value.http_status, busy.value.code) == (503, "busy")
        assert 0 < busy.value.retry_after < 15
    assert admit_publisher([], LIMITS) is None  # publishers take no viewer's seat
