from __future__ import annotations

import pytest

from server.auth.permissions import PERMISSIONS, Permission, Role, allows, parse_role
from server.errors import InvalidInput

P = Permission

EXPECTED = {
    Role.ATTENDEE: {P.WATCH, P.ASK, P.VOTE},
    Role.SPEAKER: {P.WATCH, P.WATCH_LOBBY, P.ASK, P.VOTE, P.PUBLISH, P.SEE_BACKSTAGE},
    Role.INTERPRETER: {P.WATCH, P.WATCH_LOBBY, P.PUBLISH_INTERPRETATION, P.SEE_BACKSTAGE},
    Role.MODERATOR: {
        P.WATCH,
        P.WATCH_LOBBY,
        P.ASK,
        P.VOTE,
        P.MODERATE,
        P.SEND_NOTICE,
        P.MOVE_SOURCES,
        P.SEE_BACKSTAGE,
    },
    Role.TECHNICIAN: {
        P.WATCH,
        P.WATCH_LOBBY,
        P.PUBLISH,
        P.CONTROL_ROOMS,
        P.MOVE_SOURCES,
        P.SEE_BACKSTAGE,
        P.SEE_HEALTH,
        P.SEND_NOTICE,
    },
    Role.ORGANIZER: set(Permission),
}


def test_role_and_permission_values_are_the_contract_names() -> None:
    assert [role.value for role in Role] == [
        "attendee",
        "speaker",
        "interpreter",
        "moderator",
        "technician",
        "organizer",
    ]
    assert P.PUBLISH_INTERPRETATION == "publish_interpretation"
    assert len(Permission) == 15


@pytest.mark.parametrize("role", list(Role))
def test_table_matches_the_contract_for(role: Role) -> None:
    assert set(PERMISSIONS[role]) == EXPECTED[role]
    for permission in Permission:
        assert allows(role, permission) is (permission in EXPECTED[role])


def test_every_role_has_an_entry() -> None:
    assert set(PERMISSIONS) == set(Role)


def test_attendee_watches_asks_votes_but_cannot_publish_or_control() -> None:
    assert allows(Role.ATTENDEE, P.WATCH)
    assert allows(Role.ATTENDEE, P.ASK)
    assert allows(Role.ATTENDEE, P.VOTE)
    for refused in (P.PUBLISH, P.CONTROL_ROOMS, P.WATCH_LOBBY, P.MODERATE, P.SEE_HEALTH):
        assert not allows(Role.ATTENDEE, refused)


def test_speaker_publishes_and_watches_the_lobby_but_does_not_moderate() -> None:
    assert allows(Role.SPEAKER, P.PUBLISH)
    assert allows(Role.SPEAKER, P.WATCH_LOBBY)
    assert not allows(Role.SPEAKER, P.MODERATE)
    assert not allows(Role.SPEAKER, P.CONTROL_ROOMS)


def test_interpreter_publishes_interpretation_only() -> None:
    assert allows(Role.INTERPRETER, P.PUBLISH_INTERPRETATION)
    assert not allows(Role.INTERPRETER, P.PUBLISH)


def test_moderator_moderates_but_does_not_control_rooms() -> None:
    assert allows(Role.MODERATOR, P.MODERATE)
    assert not allows(Role.MODERATOR, P.CONTROL_ROOMS)
    assert not allows(Role.MODERATOR, P.PUBLISH)


def test_technician_controls_rooms_sees_health_and_runs_the_encoder() -> None:
    assert allows(Role.TECHNICIAN, P.CONTROL_ROOMS)
    assert allows(Role.TECHNICIAN, P.SEE_HEALTH)
    assert allows(Role.TECHNICIAN, P.PUBLISH)
    assert not allows(Role.TECHNICIAN, P.MANAGE_TOKENS)
    assert not allows(Role.TECHNICIAN, P.MODERATE)


def test_only_organizers_manage_registrations_and_tokens_and_export_questions() -> None:
    for permission in (P.MANAGE_REGISTRATIONS, P.MANAGE_TOKENS, P.EXPORT_QUESTIONS):
        assert [role for role in Role if allows(role, permission)] == [Role.ORGANIZER]


def test_organizer_can_everything() -> None:
    assert all(allows(Role.ORGANIZER, permission) for permission in Permission)


def test_table_cannot_be_changed_at_runtime() -> None:
    with pytest.raises(TypeError):
        PERMISSIONS[Role.ATTENDEE] = frozenset(Permission)  # type: ignore[index]
    assert not allows(Role.ATTENDEE, P.MANAGE_TOKENS)


@pytest.mark.parametrize("role", list(Role))
def test_parse_role_accepts_each_name(role: Role) -> None:
    assert parse_role(role.value) is role


@pytest.mark.parametrize("text", ["", "Attendee", " attendee", "admin", "root", None, 3, ["a"]])
def test_parse_role_refuses_anything_else(text: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_role(text)
    for role in Role:
        assert role.value in refused.value.message


def test_parse_role_does_not_echo_huge_input() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_role("x" * 10_000)
    assert len(refused.value.message) < 200
