"""Who may do what: the one permission table of plenary.

Every check in the server asks ``allows(role, permission)`` (or ``Claims.can``); no handler
compares role names itself, so changing what a role may do means changing this table only.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from enum import StrEnum
from types import MappingProxyType

from server.errors import InvalidInput


class Role(StrEnum):
    ATTENDEE = "attendee"
    SPEAKER = "speaker"
    INTERPRETER = "interpreter"
    MODERATOR = "moderator"
    TECHNICIAN = "technician"
    ORGANIZER = "organizer"


class Permission(StrEnum):
    WATCH = "watch"  # watch a live room
    WATCH_LOBBY = "watch_lobby"  # watch while the room is still a lobby
    ASK = "ask"
    VOTE = "vote"
    PUBLISH = "publish"  # audio/video into a room
    PUBLISH_INTERPRETATION = "publish_interpretation"  # one audio channel with a language
    MODERATE = "moderate"  # questions
    CONTROL_ROOMS = "control_rooms"  # start, extend, end
    MOVE_SOURCES = "move_sources"  # bring a source on stage, send it backstage
    SEE_BACKSTAGE = "see_backstage"  # who is connected but not on stage
    SEE_HEALTH = "see_health"  # stream health and alerts
    SEND_NOTICE = "send_notice"
    MANAGE_REGISTRATIONS = "manage_registrations"
    MANAGE_TOKENS = "manage_tokens"
    EXPORT_QUESTIONS = "export_questions"  # a room's questions, for the report after the event


_ATTENDEE = frozenset({Permission.WATCH, Permission.ASK, Permission.VOTE})

# Read-only view: a caller cannot widen a role by mutating the table at runtime.
PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType(
    {
        Role.ATTENDEE: _ATTENDEE,
        # Speakers test their camera and microphone in the lobby before going live.
        Role.SPEAKER: _ATTENDEE
        | {Permission.WATCH_LOBBY, Permission.PUBLISH, Permission.SEE_BACKSTAGE},
        Role.INTERPRETER: frozenset(
            {
                Permission.WATCH,
                Permission.WATCH_LOBBY,
                Permission.PUBLISH_INTERPRETATION,
                Permission.SEE_BACKSTAGE,
            }
        ),
        # Moderators run the panel, and bring panelists on stage as technicians do.
        Role.MODERATOR: _ATTENDEE
        | {
            Permission.WATCH_LOBBY,
            Permission.MODERATE,
            Permission.SEND_NOTICE,
            Permission.MOVE_SOURCES,
            Permission.SEE_BACKSTAGE,
        },
        # Technicians run the hall encoder, hence PUBLISH.
        Role.TECHNICIAN: frozenset(
            {
                Permission.WATCH,
                Permission.WATCH_LOBBY,
                Permission.PUBLISH,
                Permission.CONTROL_ROOMS,
                Permission.MOVE_SOURCES,
                Permission.SEE_BACKSTAGE,
                Permission.SEE_HEALTH,
                Permission.SEND_NOTICE,
            }
        ),
        Role.ORGANIZER: frozenset(Permission),
    }
)

_VALID_ROLES = ", ".join(role.value for role in Role)


def allows(role: Role, permission: Permission) -> bool:
    return permission in PERMISSIONS[role]


def parse_role(text: object) -> Role:
    """The role named by ``text`` exactly; anything else is refused with the valid names."""
    if isinstance(text, str):
        with suppress(ValueError):
            return Role(text)
    shown = repr(text) if isinstance(text, str) and len(text) <= 40 else "that value"
    raise InvalidInput(f"unknown role {shown}; valid roles: {_VALID_ROLES}")
