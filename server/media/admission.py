"""Who may open a media session, and at whose cost.

Seats are what capacity is made of: a viewer's session takes one of its room's and one of the
server's from the moment its offer is taken, connected or not, since once connected it costs
what any viewer costs. So that seats cannot be held by sessions that never carry media, only
so many viewers may be connecting at once, and each has a few seconds to connect
(``MediaSession.watch_connection``).

A person (a token's subject) holds at most ``sessions_per_person`` sessions of each kind in a
room: a phone, a laptop and a reconnect in flight. One more replaces that person's own oldest,
as LiveKit replaces a participant who joins again with the same identity, and so does a
newcomer who finds the room full while already holding a seat in it. A reload, a second
device or a reconnect never locks anyone out of their own stream, and never takes anyone
else's seat. Pure: the relay says what is open and carries out the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from server.errors import AtCapacity, TooManyRequests

ROOM_FULL_RETRY_SECONDS = 15  # seats free up as people leave: no point asking much sooner
# Connecting takes a second or two at most; a crowd turned away retries as it arrived, spread.
JOINING_RETRY_SECONDS = 3
OWN_SESSIONS_RETRY_SECONDS = 2


class Busy(AtCapacity):
    """Too many viewers are connecting at this moment; the room itself may have seats."""

    code = "busy"


class TooManySessions(TooManyRequests):
    """A person's sessions in a room are all still being answered: a flood, not a reload."""

    code = "too_many_sessions"


@dataclass(frozen=True)
class AdmissionLimits:
    sessions_per_person: int = 3
    max_viewers_per_room: int = 500
    max_viewers: int = 1000
    max_connecting_viewers: int = 100


@dataclass(frozen=True)
class Occupancy:
    """The viewers' seats taken now, connected or not yet."""

    room_viewers: int  # in the room asked for
    viewers: int  # in every room
    connecting_viewers: int  # in every room, not yet connected


class Held(Protocol):
    """An open session as admission sees it."""

    @property
    def answered(self) -> bool: ...


Session = TypeVar("Session", bound=Held)


def admit_viewer(
    mine: Sequence[Session], occupancy: Occupancy, limits: AdmissionLimits
) -> Session | None:
    """Admit one more viewer whose own sessions in the room are ``mine`` (oldest first).
    Returns the one of them it replaces, if any; raises the refusal otherwise."""
    if occupancy.connecting_viewers >= limits.max_connecting_viewers:
        raise Busy(
            "many people are joining at this moment; try again in a few seconds",
            retry_after=JOINING_RETRY_SECONDS,
        )
    full = (
        occupancy.room_viewers >= limits.max_viewers_per_room
        or occupancy.viewers >= limits.max_viewers
    )
    if len(mine) >= limits.sessions_per_person or (full and mine):
        return _oldest_answered(mine)
    if occupancy.room_viewers >= limits.max_viewers_per_room:
        raise AtCapacity("this room is full", retry_after=ROOM_FULL_RETRY_SECONDS)
    if full:
        raise AtCapacity("the server is full", retry_after=ROOM_FULL_RETRY_SECONDS)
    return None


def admit_publisher(mine: Sequence[Session], limits: AdmissionLimits) -> Session | None:
    """Admit one more publisher whose own sessions in the room are ``mine`` (oldest first).
    Publishers take no viewer's seat: only a person's own count bounds them."""
    if len(mine) >= limits.sessions_per_person:
        return _oldest_answered(mine)
    return None


def _oldest_answered(mine: Sequence[Session]) -> Session:
    """A session still being answered is not replaced: that would fail its own offer, and a
    person whose every session is still being answered is flooding, not reconnecting."""
    for session in mine:
        if session.answered:
            return session
    raise TooManySessions(
        "you are opening too many sessions in this room at once",
        retry_after=OWN_SESSIONS_RETRY_SECONDS,
    )
