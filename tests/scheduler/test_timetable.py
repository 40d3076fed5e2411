"""Unit tests of scheduler/timetable.py: parsing, instants, DST and the running order.

Pure: every instant is a constructed datetime; nothing sleeps and nothing reads a clock.
Instants are handed to the timetable in UTC, as the real clock and the override store do.
"""

from __future__ import annotations

import dataclasses
import tomllib
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from scheduler.timetable import (
    AgendaItem,
    ItemKind,
    Override,
    OverrideAction,
    OverrideRefused,
    RoomState,
    Timetable,
    Transition,
)
from scheduler.timetable_config import TimetableError, parse_timetable

CONFIG_PATH = Path(__file__).resolve().parents[2] / "config.toml"
VIENNA = ZoneInfo("Europe/Vienna")
MON, TUE, WED = "2021-06-14", "2021-06-15", "2021-06-16"
TICK = timedelta(microseconds=1)

S, L, V, E = RoomState.SCHEDULED, RoomState.LOBBY, RoomState.LIVE, RoomState.ENDED
START, EXTEND, END = OverrideAction.START, OverrideAction.EXTEND, OverrideAction.END

# The preliminary agenda as published (seed text), checked line by line:
# (id, local date, start, end, kind, title).
SEED_AGENDA = [
    ("welcome", MON, "14:00", "14:45", "remarks", "Welcoming Remarks"),
    ("keynote", MON, "14:45", "15:30", "keynote", "Keynote Address"),
    ("break-mon", MON, "15:30", "16:00", "break", "Coffee Break"),
    (
        "panel-1",
        MON,
        "16:00",
        "17:30",
        "panel",
        "Panel 1 – What is ‘Demand’ and why must it be discouraged",
    ),
    (
        "statement-day-2",
        TUE,
        "14:00",
        "14:05",
        "statement",
        "Opening statement for Day 2 – survivor perspective",
    ),
    (
        "panel-2",
        TUE,
        "14:05",
        "15:35",
        "panel",
        "Panel 2 – Tackling the demand that fosters trafficking for forced labour",
    ),
    ("break-tue", TUE, "15:35", "16:00", "break", "Coffee Break"),
    (
        "panel-3",
        TUE,
        "16:00",
        "17:30",
        "panel",
        "Panel 3 – Tackling the demand that fosters trafficking for sexual exploitation",
    ),
    (
        "statement-day-3",
        WED,
        "14:00",
        "14:05",
        "statement",
        "Opening statement for Day 3 – survivor perspective",
    ),
    ("panel-4", WED, "14:05", "15:35", "panel", "Panel 4 – Pathways for implementation"),
    ("break-wed", WED, "15:35", "16:00", "break", "Coffee Break"),
    ("closing", WED, "16:00", "16:30", "remarks", "Closing Remarks"),
]

# Each panel's description as the seed text opens and closes it.
SEED_DESCRIPTIONS = [
    (
        "panel-1",
        "The obligation for States to discourage the demand that fosters all forms of "
        "exploitation resides in various international instruments,",
        "outline international obligations, and articulate importance of demand as a means "
        "of prevention.",
    ),
    (
        "panel-2",
        "Discouraging the demand that fosters trafficking for forced labour requires States "
        "to enact and enforce laws and regulations",
        "and discuss the benefits of collaboration with civil society actors.",
    ),
    (
        "panel-3",
        "Trafficking for the purpose of sexual exploitation is the most common form of THB "
        "within the OSCE region,",
        "effective legislative measures that target the impunity currently enjoyed by users of "
        "sexual services from victims.",
    ),
    (
        "panel-4",
        "Policies and procedures are only as strong as their level of implementation.",
        "through State-led initiatives and collaboration with civil society and survivor-led "
        "groups.",
    ),
]

# Rooms of the real agenda in running order (breaks have none).
ROOMS = (
    "welcome",
    "keynote",
    "panel-1",
    "statement-day-2",
    "panel-2",
    "panel-3",
    "statement-day-3",
    "panel-4",
    "closing",
)


# -- builders --------------------------------------------------------------------------------


def local(day: str, hhmm: str, zone: ZoneInfo = VIENNA, *, fold: int = 0) -> datetime:
    """The instant a wall clock in ``zone`` shows, as UTC (the form the real clock gives)."""
    wall = datetime.combine(date.fromisoformat(day), time.fromisoformat(hhmm))
    return wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)


def utc(day: str, hhmm: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(hhmm), tzinfo=UTC)


def item(item_id: str, start: Any, end: Any, kind: Any = "panel", **fields: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"id": item_id, "start": start, "end": end, "kind": kind}
    raw["title"] = f"Title of {item_id}"
    raw.update(fields)
    return raw


def day(on: Any, *items: dict[str, Any]) -> dict[str, Any]:
    return {"date": on, "items": list(items)}


def event(**fields: Any) -> dict[str, Any]:
    return {"timezone": "Europe/Vienna", "lobby_minutes": 15, **fields}


def build(*days: dict[str, Any], **event_fields: Any) -> Timetable:
    return parse_timetable(event(**event_fields), list(days))


def refusal(event_table: dict[str, Any], days: list[Any]) -> TimetableError:
    with pytest.raises(TimetableError) as caught:
        parse_timetable(event_table, days)
    return caught.value


def one_day(*items: dict[str, Any], on: str = MON) -> list[dict[str, Any]]:
    return [day(on, *items)]


def shown(moment: datetime, zone: ZoneInfo = VIENNA) -> str:
    return f"{moment.astimezone(zone):%H:%M}"


def span(timetable: Timetable, item_id: str) -> tuple[str, str]:
    """An item's local start and end as the agenda would print them."""
    found = timetable.item(item_id)
    return shown(found.starts_at, timetable.zone), shown(found.ends_at, timetable.zone)


@pytest.fixture(scope="module")
def real() -> Timetable:
    with CONFIG_PATH.open("rb") as file:
        config = tomllib.load(file)
    return parse_timetable(config["event"], config["days"])


# -- the bundled config ----------------------------------------------------------------------


def test_bundled_config_has_the_twelve_seed_items_in_running_order(real: Timetable) -> None:
    assert len(real.items) == 12
    assert [found.id for found in real.items] == [row[0] for row in SEED_AGENDA]


@pytest.mark.parametrize(("item_id", "on", "start", "end", "kind", "title"), SEED_AGENDA)
def test_bundled_item_matches_the_seed_agenda(
    real: Timetable, item_id: str, on: str, start: str, end: str, kind: str, title: str
) -> None:
    found = real.item(item_id)
    assert found.title == title
    assert found.kind is ItemKind(kind)
    assert found.starts_at == local(on, start)
    assert found.ends_at == local(on, end)
    assert real.local_day(found) == date.fromisoformat(on)


def test_bundled_times_are_stored_in_utc_and_shown_as_summer_time_in_vienna(
    real: Timetable,
) -> None:
    assert real.zone.key == "Europe/Vienna"
    assert real.lobby == timedelta(minutes=15)
    for found in real.items:
        assert found.starts_at.tzinfo is UTC
        assert found.ends_at.tzinfo is UTC
    welcome = real.item("welcome")
    assert welcome.starts_at == datetime(2021, 6, 14, 12, 0, tzinfo=UTC)
    assert welcome.starts_at.astimezone(real.zone).isoformat() == "2021-06-14T14:00:00+02:00"
    closing = real.item("closing")
    assert closing.ends_at.astimezone(real.zone).isoformat() == "2021-06-16T16:30:00+02:00"


def test_bundled_breaks_have_no_room(real: Timetable) -> None:
    breaks = [found for found in real.items if found.kind is ItemKind.BREAK]
    assert [found.id for found in breaks] == ["break-mon", "break-tue", "break-wed"]
    assert all(not found.has_room for found in breaks)
    assert all(found.title == "Coffee Break" for found in breaks)


def test_bundled_rooms_are_the_nine_other_items(real: Timetable) -> None:
    assert tuple(found.id for found in real.rooms) == ROOMS
    assert all(found.has_room for found in real.rooms)


def test_bundled_statements_are_audio_only_and_never_recorded(real: Timetable) -> None:
    statements = {found.id for found in real.items if found.kind is ItemKind.STATEMENT}
    assert statements == {"statement-day-2", "statement-day-3"}
    for found in real.items:
        assert found.audio_only is (found.id in statements), found.id
        assert found.recorded is (found.id not in statements), found.id


@pytest.mark.parametrize(("item_id", "opening", "closing"), SEED_DESCRIPTIONS)
def test_bundled_panel_descriptions_follow_the_seed(
    real: Timetable, item_id: str, opening: str, closing: str
) -> None:
    description = real.item(item_id).description
    assert description.startswith(opening)
    assert description.endswith(closing)
    assert "\n" not in description


def test_bundled_items_other_than_panels_have_no_description(real: Timetable) -> None:
    undescribed = [found.id for found in real.items if not found.description]
    assert undescribed == [found.id for found in real.items if found.kind is not ItemKind.PANEL]


def test_bundled_days_hold_four_items_each(real: Timetable) -> None:
    days = real.days()
    assert [on for on, _ in days] == [date(2021, 6, d) for d in (14, 15, 16)]
    assert [[found.id for found in items] for _, items in days] == [
        [row[0] for row in SEED_AGENDA if row[1] == on] for on in (MON, TUE, WED)
    ]


def test_lookup_by_id(real: Timetable) -> None:
    assert "panel-3" in real
    assert "panel-9" not in real
    assert real.item("panel-3").title.startswith("Panel 3 ")
    with pytest.raises(KeyError):
        real.item("panel-9")


def test_value_objects_are_frozen(real: Timetable) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        real.item("welcome").title = "Changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        real.items = ()  # type: ignore[misc]


# -- parsing: what a valid config may look like ----------------------------------------------


def test_minimal_config_parses_with_defaults() -> None:
    timetable = parse_timetable({"timezone": "Europe/Vienna"}, one_day(item("a", "09:00", "10:00")))
    parsed = timetable.item("a")
    assert timetable.lobby == timedelta(minutes=15)
    assert parsed.description == ""
    assert parsed.audio_only is False
    assert parsed.recorded is True
    assert parsed.duration == timedelta(hours=1)


def test_toml_native_dates_and_times_are_accepted() -> None:
    timetable = build(day(date(2021, 6, 14), item("a", time(9, 0), time(9, 30))))
    assert timetable.item("a").starts_at == local(MON, "09:00")
    assert timetable.item("a").ends_at == local(MON, "09:30")


def test_single_digit_hours_and_day_edges_are_accepted() -> None:
    timetable = build(day(MON, item("a", "0:00", "9:05"), item("b", "23:00", "23:59")))
    assert span(timetable, "a") == ("00:00", "09:05")
    assert span(timetable, "b") == ("23:00", "23:59")


def test_title_whitespace_is_collapsed_and_description_stripped() -> None:
    raw = item("a", "09:00", "10:00", title="  Keynote \n  Address ", description="\n Text.\n")
    parsed = build(day(MON, raw)).item("a")
    assert parsed.title == "Keynote Address"
    assert parsed.description == "Text."


def test_items_are_kept_in_time_order_whatever_the_config_order() -> None:
    timetable = build(
        day(TUE, item("c", "09:00", "10:00")),
        day(MON, item("b", "11:00", "12:00"), item("a", "09:00", "10:00")),
    )
    assert [found.id for found in timetable.items] == ["a", "b", "c"]


def test_back_to_back_items_and_same_times_on_other_days_do_not_overlap() -> None:
    timetable = build(
        day(MON, item("a", "09:00", "10:00"), item("b", "10:00", "11:00")),
        day(TUE, item("c", "09:00", "10:00")),
    )
    assert len(timetable.items) == 3


@pytest.mark.parametrize("minutes", [0, 1, 240])
def test_lobby_minutes_bounds_are_accepted(minutes: int) -> None:
    timetable = build(day(MON, item("a", "09:00", "10:00")), lobby_minutes=minutes)
    assert timetable.lobby == timedelta(minutes=minutes)


def test_title_of_exactly_the_limit_is_accepted() -> None:
    timetable = build(day(MON, item("a", "09:00", "10:00", title="t" * 200)))
    assert len(timetable.item("a").title) == 200


@pytest.mark.parametrize("item_id", ["a", "9", "panel-1", "a" * 63, "x-"])
def test_good_ids_are_accepted(item_id: str) -> None:
    assert item_id in build(day(MON, item(item_id, "09:00", "10:00")))


# -- parsing: every refusal names the item and the field -------------------------------------


def without(raw: dict[str, Any], name: str) -> dict[str, Any]:
    return {key: value for key, value in raw.items() if key != name}


@pytest.mark.parametrize("name", ["title", "kind", "start", "end"])
def test_missing_item_field_is_refused(name: str) -> None:
    error = refusal(event(), one_day(without(item("talk", "09:00", "10:00"), name)))
    assert (error.where, error.field_name) == ("item 'talk'", name)


def test_missing_id_is_refused_naming_the_items_position() -> None:
    days = [
        day(MON, item("a", "08:00", "08:30")),
        day(TUE, item("b", "08:00", "08:30"), without(item("c", "09:00", "10:00"), "id")),
    ]
    error = refusal(event(), days)
    assert (error.where, error.field_name) == ("days[1].items[1]", "id")


@pytest.mark.parametrize(
    "item_id",
    [
        "Welcome",
        "-welcome",
        "wel come",
        "wel_come",
        "welcome!",
        "ü",
        "a" * 64,
        "",
        "welcome\n",
        7,
        None,
    ],
)
def test_bad_id_format_is_refused(item_id: object) -> None:
    days = one_day(item("first", "08:00", "08:30"), item("x", "09:00", "10:00", id=item_id))
    error = refusal(event(), days)
    assert (error.where, error.field_name) == ("days[0].items[1]", "id")
    assert repr(item_id) in error.problem


def test_duplicate_id_is_refused_across_days() -> None:
    days = [day(MON, item("talk", "09:00", "10:00")), day(TUE, item("talk", "09:00", "10:00"))]
    error = refusal(event(), days)
    assert (error.where, error.field_name) == ("item 'talk'", "id")


@pytest.mark.parametrize("title", ["", "   ", 7, None, ["a"]])
def test_blank_or_non_text_title_is_refused(title: object) -> None:
    error = refusal(event(), one_day(item("talk", "09:00", "10:00", title=title)))
    assert (error.where, error.field_name) == ("item 'talk'", "title")


def test_title_too_long_is_refused() -> None:
    error = refusal(event(), one_day(item("talk", "09:00", "10:00", title="t" * 201)))
    assert (error.where, error.field_name) == ("item 'talk'", "title")
    assert "200" in error.problem


@pytest.mark.parametrize("description", [7, ["text"], "d" * 5001])
def test_bad_description_is_refused(description: object) -> None:
    error = refusal(event(), one_day(item("talk", "09:00", "10:00", description=description)))
    assert (error.where, error.field_name) == ("item 'talk'", "description")


@pytest.mark.parametrize("kind", ["workshop", "Panel", "", 3, None])
def test_unknown_kind_is_refused(kind: object) -> None:
    error = refusal(event(), one_day(item("talk", "09:00", "10:00", kind=kind)))
    assert (error.where, error.field_name) == ("item 'talk'", "kind")


@pytest.mark.parametrize("name", ["start", "end"])
@pytest.mark.parametrize(
    "value", ["1400", "25:00", 14, "14:60", "24:00", "14.00", "2pm", "", "14:00:00", 14.5]
)
def test_bad_time_format_is_refused(name: str, value: object) -> None:
    raw = item("talk", "09:00", "23:00")
    raw[name] = value
    error = refusal(event(), one_day(raw))
    assert (error.where, error.field_name) == ("item 'talk'", name)


@pytest.mark.parametrize(("start", "end"), [("10:00", "10:00"), ("10:00", "09:59")])
def test_end_not_after_start_is_refused(start: str, end: str) -> None:
    error = refusal(event(), one_day(item("talk", start, end)))
    assert (error.where, error.field_name) == ("item 'talk'", "end")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("09:00", "10:00"), ("09:30", "10:30")),
        (("09:00", "10:00"), ("09:00", "09:15")),
        (("09:00", "12:00"), ("10:00", "11:00")),
        (("09:00", "10:00"), ("09:59", "11:00")),
    ],
)
def test_overlap_within_a_day_is_refused_naming_both_items(
    first: tuple[str, str], second: tuple[str, str]
) -> None:
    days = one_day(item("alpha", *first), item("beta", *second))
    error = refusal(event(), days)
    assert (error.where, error.field_name) == ("item 'beta'", "start")
    assert "'alpha'" in str(error)
    assert "'beta'" in str(error)
    assert first[1] in error.problem


def test_overlap_is_found_when_two_day_tables_share_a_date() -> None:
    days = [day(MON, item("alpha", "09:00", "10:00")), day(MON, item("beta", "09:30", "10:30"))]
    error = refusal(event(), days)
    assert (error.where, error.field_name) == ("item 'beta'", "start")


@pytest.mark.parametrize("days", [[], (), {}, "2021-06-14", None])
def test_no_days_is_refused(days: Any) -> None:
    error = refusal(event(), days)
    assert (error.where, error.field_name) == ("days", "days")


def test_a_day_that_is_not_a_table_is_refused() -> None:
    error = refusal(event(), [day(MON, item("a", "09:00", "10:00")), "2021-06-15"])
    assert (error.where, error.field_name) == ("days[1]", "days")


@pytest.mark.parametrize("items", [[], None, "talk", {"id": "talk"}])
def test_day_without_items_is_refused(items: object) -> None:
    days = [day(MON, item("a", "09:00", "10:00")), {"date": TUE, "items": items}]
    error = refusal(event(), days)
    assert (error.where, error.field_name) == ("days[1]", "items")


def test_day_with_items_key_missing_is_refused() -> None:
    error = refusal(event(), [{"date": MON}])
    assert (error.where, error.field_name) == ("days[0]", "items")


def test_an_item_that_is_not_a_table_is_refused() -> None:
    error = refusal(event(), one_day(item("a", "09:00", "10:00"), "talk"))  # type: ignore[arg-type]
    assert (error.where, error.field_name) == ("days[0].items[1]", "items")


@pytest.mark.parametrize(
    "on", ["2021-13-01", "2021-02-30", "14 June 2021", "", 20210614, None, datetime(2021, 6, 14)]
)
def test_bad_date_is_refused(on: object) -> None:
    days = [day(MON, item("a", "09:00", "10:00")), day(on, item("b", "09:00", "10:00"))]
    error = refusal(event(), days)
    assert (error.where, error.field_name) == ("days[1]", "date")


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus", "europe/vienna", "Europe", "Europe/", "/etc/localtime", "../UTC"]
)
def test_unknown_time_zone_is_refused(zone: str) -> None:
    error = refusal(event(timezone=zone), one_day(item("a", "09:00", "10:00")))
    assert (error.where, error.field_name) == ("[event]", "timezone")
    assert repr(zone) in error.problem


@pytest.mark.parametrize("zone", [None, "", 1, VIENNA])
def test_missing_or_non_text_time_zone_is_refused(zone: object) -> None:
    error = refusal(event(timezone=zone), one_day(item("a", "09:00", "10:00")))
    assert (error.where, error.field_name) == ("[event]", "timezone")


def test_absent_time_zone_is_refused() -> None:
    error = refusal({"lobby_minutes": 15}, one_day(item("a", "09:00", "10:00")))
    assert (error.where, error.field_name) == ("[event]", "timezone")


@pytest.mark.parametrize("minutes", [-1, 241, 10_000, True, False, 15.0, "15", None])
def test_bad_lobby_minutes_is_refused(minutes: object) -> None:
    error = refusal(event(lobby_minutes=minutes), one_day(item("a", "09:00", "10:00")))
    assert (error.where, error.field_name) == ("[event]", "lobby_minutes")


@pytest.mark.parametrize("name", ["audio_only", "recorded"])
@pytest.mark.parametrize("value", ["yes", "true", 1, 0, None])
def test_flag_that_is_not_a_bool_is_refused(name: str, value: object) -> None:
    error = refusal(event(), one_day(item("talk", "09:00", "10:00", **{name: value})))
    assert (error.where, error.field_name) == ("item 'talk'", name)


@pytest.mark.parametrize(
    ("start", "end", "field_name"),
    [("02:30", "04:00", "start"), ("01:00", "02:30", "end"), ("02:00", "02:59", "start")],
)
def test_local_time_in_the_spring_forward_gap_is_refused(
    start: str, end: str, field_name: str
) -> None:
    error = refusal(event(), one_day(item("night", start, end), on="2021-03-28"))
    assert (error.where, error.field_name) == ("item 'night'", field_name)
    assert "does not exist" in error.problem


@pytest.mark.parametrize(
    ("start", "end", "field_name"),
    [("02:30", "04:00", "start"), ("01:00", "02:30", "end"), ("02:00", "02:59", "start")],
)
def test_local_time_repeated_when_clocks_go_back_is_refused(
    start: str, end: str, field_name: str
) -> None:
    error = refusal(event(), one_day(item("night", start, end), on="2021-10-31"))
    assert (error.where, error.field_name) == ("item 'night'", field_name)
    assert "happens twice" in error.problem


def test_the_first_valid_times_around_a_change_are_accepted() -> None:
    spring = build(day("2021-03-28", item("a", "01:59", "03:00")))
    assert spring.item("a").duration == timedelta(minutes=1)
    autumn = build(day("2021-10-31", item("a", "01:59", "03:00")))
    assert autumn.item("a").duration == timedelta(hours=2, minutes=1)


def test_a_misspelt_field_is_refused_not_left_to_its_default() -> None:
    statement = item("s", "14:00", "14:05", kind="statement", audio_onyl=True)
    error = refusal(event(), one_day(statement))
    assert (error.where, error.field_name) == ("item 's'", "audio_onyl")
    error = refusal(event(), [{**day(MON, item("a", "09:00", "10:00")), "note": "Monday"}])
    assert (error.where, error.field_name) == ("days[0]", "note")


@pytest.mark.parametrize(
    ("on", "zone"), [("0001-01-01", "Europe/Vienna"), ("9999-12-31", "America/New_York")]
)
def test_dates_near_the_ends_of_time_are_refused_not_an_overflow(on: str, zone: str) -> None:
    # In UTC, midnight in Vienna is the day before and 23:00 in New York the day after.
    error = refusal(event(timezone=zone), one_day(item("a", "00:00", "23:00"), on=on))
    assert (error.where, error.field_name) == ("days[0]", "date")


def test_error_message_names_where_and_field() -> None:
    error = refusal(event(), one_day(item("talk", "09:00", "10:00", kind="workshop")))
    assert str(error).startswith("item 'talk': field 'kind': ")
    assert isinstance(error, ValueError)


# -- the real agenda at many instants --------------------------------------------------------

# Every room's state, in ROOMS order grouped by day (S scheduled, L lobby, V live, E ended).
STATE_CODES = {"S": S, "L": L, "V": V, "E": E}
REAL_STATES = [
    ("2021-06-13", "23:59", "SSS SSS SSS"),
    (MON, "13:44", "SSS SSS SSS"),
    (MON, "13:45", "LSS SSS SSS"),
    (MON, "13:59", "LSS SSS SSS"),
    (MON, "14:00", "VSS SSS SSS"),
    (MON, "14:29", "VSS SSS SSS"),
    (MON, "14:30", "VLS SSS SSS"),
    (MON, "14:44", "VLS SSS SSS"),
    (MON, "14:45", "EVS SSS SSS"),
    (MON, "15:29", "EVS SSS SSS"),
    (MON, "15:30", "EES SSS SSS"),
    (MON, "15:44", "EES SSS SSS"),
    (MON, "15:45", "EEL SSS SSS"),
    (MON, "16:00", "EEV SSS SSS"),
    (MON, "17:29", "EEV SSS SSS"),
    (MON, "17:30", "EEE SSS SSS"),
    (TUE, "09:00", "EEE SSS SSS"),
    (TUE, "13:44", "EEE SSS SSS"),
    (TUE, "13:45", "EEE LSS SSS"),
    (TUE, "13:50", "EEE LLS SSS"),
    (TUE, "14:00", "EEE VLS SSS"),
    (TUE, "14:04", "EEE VLS SSS"),
    (TUE, "14:05", "EEE EVS SSS"),
    (TUE, "15:34", "EEE EVS SSS"),
    (TUE, "15:35", "EEE EES SSS"),
    (TUE, "15:45", "EEE EEL SSS"),
    (TUE, "16:00", "EEE EEV SSS"),
    (TUE, "17:30", "EEE EEE SSS"),
    (WED, "13:45", "EEE EEE LSS"),
    (WED, "13:50", "EEE EEE LLS"),
    (WED, "14:00", "EEE EEE VLS"),
    (WED, "14:05", "EEE EEE EVS"),
    (WED, "15:35", "EEE EEE EES"),
    (WED, "15:45", "EEE EEE EEL"),
    (WED, "16:00", "EEE EEE EEV"),
    (WED, "16:29", "EEE EEE EEV"),
    (WED, "16:30", "EEE EEE EEE"),
    ("2021-06-17", "14:00", "EEE EEE EEE"),
]


@pytest.mark.parametrize(("on", "hhmm", "codes"), REAL_STATES)
def test_every_room_state_across_the_three_days(
    real: Timetable, on: str, hhmm: str, codes: str
) -> None:
    expected = dict(zip(ROOMS, (STATE_CODES[code] for code in codes.replace(" ", "")), strict=True))
    assert real.states_at(local(on, hhmm)) == expected


@pytest.mark.parametrize("room", ROOMS)
def test_room_state_boundaries_are_exact(real: Timetable, room: str) -> None:
    found = real.item(room)
    lobby_opens = found.starts_at - timedelta(minutes=15)
    assert real.state_at(found, lobby_opens - TICK) is S
    assert real.state_at(found, lobby_opens) is L
    assert real.state_at(found, found.starts_at - TICK) is L
    assert real.state_at(found, found.starts_at) is V
    assert real.state_at(found, found.ends_at - TICK) is V
    assert real.state_at(found, found.ends_at) is E


def test_state_does_not_depend_on_the_instants_time_zone(real: Timetable) -> None:
    keynote = real.item("keynote")
    in_vienna = datetime(2021, 6, 14, 14, 30, tzinfo=VIENNA)
    in_new_york = in_vienna.astimezone(ZoneInfo("America/New_York"))
    assert real.state_at(keynote, in_vienna) is L
    assert real.state_at(keynote, in_new_york) is L
    assert real.state_at(keynote, in_vienna.astimezone(UTC) - TICK) is S


def test_states_at_covers_rooms_only(real: Timetable) -> None:
    states = real.states_at(local(MON, "15:40"))
    assert "break-mon" not in states
    assert len(states) == 9


@pytest.mark.parametrize(
    ("on", "hhmm", "now", "after"),
    [
        (MON, "09:00", [], "welcome"),
        (MON, "13:50", [], "welcome"),
        (MON, "14:00", ["welcome"], "keynote"),
        (MON, "14:44", ["welcome"], "keynote"),
        (MON, "14:45", ["keynote"], "break-mon"),
        (MON, "15:30", ["break-mon"], "panel-1"),
        (MON, "15:40", ["break-mon"], "panel-1"),
        (MON, "16:00", ["panel-1"], "statement-day-2"),
        (MON, "20:00", [], "statement-day-2"),
        (TUE, "14:03", ["statement-day-2"], "panel-2"),
        (TUE, "15:50", ["break-tue"], "panel-3"),
        (WED, "15:59", ["break-wed"], "closing"),
        (WED, "16:00", ["closing"], None),
        (WED, "16:30", [], None),
        ("2021-06-20", "12:00", [], None),
    ],
)
def test_on_now_and_up_next(
    real: Timetable, on: str, hhmm: str, now: list[str], after: str | None
) -> None:
    instant = local(on, hhmm)
    assert [found.id for found in real.on_now(instant)] == now
    following = real.up_next(instant)
    assert (following.id if following else None) == after


def test_transitions_are_three_per_room_in_time_order(real: Timetable) -> None:
    transitions = real.transitions()
    assert len(transitions) == 27
    instants = [transition.at for transition in transitions]
    assert instants == sorted(instants)
    for room in ROOMS:
        found = real.item(room)
        assert [t for t in transitions if t.room == room] == [
            Transition(room, L, found.starts_at - timedelta(minutes=15)),
            Transition(room, V, found.starts_at),
            Transition(room, E, found.ends_at),
        ]


def test_transitions_of_monday(real: Timetable) -> None:
    monday = [t for t in real.transitions() if t.at < local(TUE, "00:00")]
    assert sorted((shown(t.at), t.room, t.state) for t in monday) == sorted(
        [
            ("13:45", "welcome", L),
            ("14:00", "welcome", V),
            ("14:30", "keynote", L),
            ("14:45", "welcome", E),
            ("14:45", "keynote", V),
            ("15:30", "keynote", E),
            ("15:45", "panel-1", L),
            ("16:00", "panel-1", V),
            ("17:30", "panel-1", E),
        ]
    )
    assert (monday[0].room, monday[0].state) == ("welcome", L)
    assert (monday[-1].room, monday[-1].state) == ("panel-1", E)


def test_transitions_skip_breaks(real: Timetable) -> None:
    rooms_seen = {transition.room for transition in real.transitions()}
    assert rooms_seen == set(ROOMS)


def test_zero_lobby_goes_straight_to_live() -> None:
    timetable = build(day(MON, item("a", "09:00", "10:00")), lobby_minutes=0)
    found = timetable.item("a")
    assert timetable.state_at(found, found.starts_at - TICK) is S
    assert timetable.state_at(found, found.starts_at) is V


# -- daylight saving time --------------------------------------------------------------------

# Vienna, spring 2021: at 02:00 CET on 28 March clocks jump to 03:00 CEST (01:00 UTC).
SPRING_DAY, AUTUMN_DAY = "2021-03-28", "2021-10-31"


@pytest.fixture
def spring() -> Timetable:
    return build(
        day("2021-03-27", item("saturday", "10:00", "11:00")),
        day(SPRING_DAY, item("early", "01:30", "01:45"), item("after-gap", "03:15", "04:00")),
        lobby_minutes=30,
    )


# Vienna, autumn 2021: at 03:00 CEST on 31 October clocks go back to 02:00 CET (01:00 UTC).
@pytest.fixture
def autumn() -> Timetable:
    return build(
        day("2021-10-30", item("saturday", "10:00", "11:00")),
        day(AUTUMN_DAY, item("early", "01:30", "01:45"), item("after-change", "03:15", "04:00")),
        lobby_minutes=30,
    )


def test_spring_items_are_stored_at_their_real_utc_instants(spring: Timetable) -> None:
    assert spring.item("saturday").starts_at == utc("2021-03-27", "09:00")
    assert spring.item("early").starts_at == utc(SPRING_DAY, "00:30")
    assert spring.item("early").ends_at == utc(SPRING_DAY, "00:45")
    assert spring.item("after-gap").starts_at == utc(SPRING_DAY, "01:15")
    assert spring.item("after-gap").ends_at == utc(SPRING_DAY, "02:00")
    assert spring.item("early").duration == timedelta(minutes=15)
    assert spring.item("after-gap").duration == timedelta(minutes=45)
    assert spring.item("after-gap").starts_at - spring.item("early").ends_at == timedelta(
        minutes=30
    )


@pytest.mark.parametrize(
    ("on", "start", "end", "real_length"),
    [
        (SPRING_DAY, "01:30", "03:30", timedelta(hours=1)),
        ("2021-03-27", "01:30", "03:30", timedelta(hours=2)),
        (AUTUMN_DAY, "01:30", "03:30", timedelta(hours=3)),
        ("2021-10-30", "01:30", "03:30", timedelta(hours=2)),
        (SPRING_DAY, "00:00", "23:59", timedelta(hours=22, minutes=59)),
        (AUTUMN_DAY, "00:00", "23:59", timedelta(hours=24, minutes=59)),
    ],
)
def test_durations_across_a_change_are_real_durations(
    on: str, start: str, end: str, real_length: timedelta
) -> None:
    timetable = build(day(on, item("across", start, end)))
    assert timetable.item("across").duration == real_length


@pytest.mark.parametrize(
    ("instant", "early", "after_gap"),
    [
        (utc("2021-03-27", "23:59"), S, S),  # 00:59 CET
        (utc(SPRING_DAY, "00:00"), L, S),  # 01:00 CET, 30 min before 01:30
        (utc(SPRING_DAY, "00:30"), V, S),  # 01:30 CET
        (utc(SPRING_DAY, "00:44"), V, S),  # 01:44 CET
        (utc(SPRING_DAY, "00:45"), E, L),  # 01:45 CET: 30 real minutes before 03:15 CEST
        (utc(SPRING_DAY, "00:59"), E, L),  # 01:59 CET, the last minute before the jump
        (utc(SPRING_DAY, "01:00"), E, L),  # 03:00 CEST, the first minute after it
        (utc(SPRING_DAY, "01:14"), E, L),  # 03:14 CEST
        (utc(SPRING_DAY, "01:15"), E, V),  # 03:15 CEST
        (utc(SPRING_DAY, "01:59"), E, V),  # 03:59 CEST
        (utc(SPRING_DAY, "02:00"), E, E),  # 04:00 CEST
    ],
)
def test_spring_states_at_utc_instants_around_the_gap(
    spring: Timetable, instant: datetime, early: RoomState, after_gap: RoomState
) -> None:
    assert spring.states_at(instant) == {"saturday": E, "early": early, "after-gap": after_gap}


def test_spring_lobby_opens_thirty_real_minutes_before_across_the_gap(spring: Timetable) -> None:
    after_gap = spring.item("after-gap")
    lobby = [t for t in spring.transitions() if t.room == "after-gap" and t.state is L]
    assert [t.at for t in lobby] == [utc(SPRING_DAY, "00:45")]
    assert shown(lobby[0].at) == "01:45"  # the wall clock still shows winter time
    assert after_gap.starts_at - lobby[0].at == timedelta(minutes=30)


def test_autumn_items_are_stored_at_their_real_utc_instants(autumn: Timetable) -> None:
    assert autumn.item("early").starts_at == utc("2021-10-30", "23:30")
    assert autumn.item("early").ends_at == utc("2021-10-30", "23:45")
    assert autumn.item("after-change").starts_at == utc(AUTUMN_DAY, "02:15")
    assert autumn.item("after-change").ends_at == utc(AUTUMN_DAY, "03:00")
    assert autumn.item("after-change").duration == timedelta(minutes=45)


def test_autumn_item_after_midnight_local_belongs_to_its_local_day(autumn: Timetable) -> None:
    # 01:30 CEST on 31 October is still 30 October in UTC.
    assert autumn.local_day(autumn.item("early")) == date(2021, 10, 31)
    assert [[found.id for found in items] for _, items in autumn.days()] == [
        ["saturday"],
        ["early", "after-change"],
    ]


@pytest.mark.parametrize(
    ("instant", "early", "after_change"),
    [
        (local(AUTUMN_DAY, "01:00"), L, S),
        (local(AUTUMN_DAY, "01:30"), V, S),
        (local(AUTUMN_DAY, "01:45"), E, S),
        (local(AUTUMN_DAY, "02:30", fold=0), E, S),  # 00:30 UTC, first pass (summer time)
        (local(AUTUMN_DAY, "02:45", fold=0), E, S),  # 00:45 UTC, first pass: not yet the lobby
        (local(AUTUMN_DAY, "02:30", fold=1), E, S),  # 01:30 UTC, second pass (winter time)
        (local(AUTUMN_DAY, "02:45", fold=1), E, L),  # 01:45 UTC, second pass: lobby opens
        (local(AUTUMN_DAY, "03:15"), E, V),
        (local(AUTUMN_DAY, "04:00"), E, E),
    ],
)
def test_autumn_states_around_the_repeated_hour(
    autumn: Timetable, instant: datetime, early: RoomState, after_change: RoomState
) -> None:
    assert autumn.states_at(instant) == {
        "saturday": E,
        "early": early,
        "after-change": after_change,
    }


def test_autumn_repeated_wall_times_are_different_instants() -> None:
    assert local(AUTUMN_DAY, "02:45", fold=1) - local(AUTUMN_DAY, "02:45", fold=0) == timedelta(
        hours=1
    )


@pytest.mark.parametrize(
    ("minutes", "after_gap_starts"),
    [
        (29, utc(SPRING_DAY, "01:15")),
        (30, utc(SPRING_DAY, "01:15")),
        (31, utc(SPRING_DAY, "01:16")),
    ],
)
def test_extend_across_the_gap_counts_real_minutes(
    spring: Timetable, minutes: int, after_gap_starts: datetime
) -> None:
    # 01:45 CET + 30 real minutes is 03:15 CEST, exactly when the next item starts.
    moved = spring.apply(Override("early", EXTEND, utc(SPRING_DAY, "00:35"), minutes))
    assert moved.item("early").ends_at == utc(SPRING_DAY, "00:45") + timedelta(minutes=minutes)
    assert moved.item("after-gap").starts_at == after_gap_starts
    assert moved.item("after-gap").duration == timedelta(minutes=45)


# -- overrides -------------------------------------------------------------------------------


def override(room: str, action: OverrideAction, on: str, hhmm: str, minutes: int = 0) -> Override:
    return Override(room, action, local(on, hhmm), minutes)


def test_start_in_lobby_makes_the_room_live_at_that_instant(real: Timetable) -> None:
    at = local(MON, "14:35")
    assert real.state_at(real.item("keynote"), at) is L
    started = real.apply(Override("keynote", START, at))
    keynote = started.item("keynote")
    assert keynote.starts_at == at
    assert keynote.ends_at == local(MON, "15:20")  # it keeps its 45 minutes
    assert started.state_at(keynote, at) is V
    assert started.state_at(keynote, at - TICK) is L
    assert span(started, "break-mon") == ("15:30", "16:00")


def test_start_before_the_lobby_opens_starts_early(real: Timetable) -> None:
    at = local(MON, "15:35")
    assert real.state_at(real.item("panel-1"), at) is S
    started = real.apply(Override("panel-1", START, at))
    assert started.state_at(started.item("panel-1"), at) is V
    assert span(started, "panel-1") == ("15:35", "17:05")


@pytest.mark.parametrize("hhmm", ["14:45", "15:00", "15:29"])
def test_start_when_already_live_is_refused(real: Timetable, hhmm: str) -> None:
    with pytest.raises(OverrideRefused, match="already live"):
        real.apply(override("keynote", START, MON, hhmm))


@pytest.mark.parametrize(("action", "minutes"), [(START, 0), (END, 0), (EXTEND, 10), (EXTEND, 240)])
@pytest.mark.parametrize(("on", "hhmm"), [(MON, "14:45"), (MON, "16:00"), (TUE, "14:00")])
def test_anything_on_an_ended_room_is_refused(
    real: Timetable, action: OverrideAction, minutes: int, on: str, hhmm: str
) -> None:
    with pytest.raises(OverrideRefused, match="already ended"):
        real.apply(override("welcome", action, on, hhmm, minutes))


def test_end_now_ends_a_live_room_at_that_instant(real: Timetable) -> None:
    at = local(MON, "15:10")
    ended = real.apply(Override("keynote", END, at))
    keynote = ended.item("keynote")
    assert keynote.starts_at == local(MON, "14:45")
    assert keynote.ends_at == at
    assert ended.state_at(keynote, at - TICK) is V
    assert ended.state_at(keynote, at) is E
    assert span(ended, "break-mon") == ("15:30", "16:00")
    assert span(ended, "panel-1") == ("16:00", "17:30")


@pytest.mark.parametrize("hhmm", ["14:10", "15:50"])  # scheduled, then in the lobby
def test_end_a_room_that_has_not_started(real: Timetable, hhmm: str) -> None:
    at = local(MON, hhmm)
    ended = real.apply(Override("panel-1", END, at))
    panel = ended.item("panel-1")
    assert (panel.starts_at, panel.ends_at) == (at, at)
    for later in (at, local(MON, "16:00"), local(MON, "17:00"), local(TUE, "14:00")):
        assert ended.state_at(panel, later) is E
    # It no longer waits anywhere ahead: not up next, and no transition after `at`.
    assert ended.up_next(at) != panel
    assert all(t.at <= at for t in ended.transitions() if t.room == "panel-1")
    starts = [found.starts_at for found in ended.items]
    assert starts == sorted(starts)


def test_end_then_start_the_same_room_is_refused(real: Timetable) -> None:
    ended = real.apply(override("keynote", END, MON, "15:00"))
    with pytest.raises(OverrideRefused):
        ended.apply(override("keynote", START, MON, "15:05"))


def test_extend_welcome_by_ten_minutes_pushes_the_rest_of_monday_back(real: Timetable) -> None:
    extended = real.apply(override("welcome", EXTEND, MON, "14:30", 10))
    assert [span(extended, room) for room in ("welcome", "keynote", "break-mon", "panel-1")] == [
        ("14:00", "14:55"),
        ("14:55", "15:40"),
        ("15:40", "16:10"),
        ("16:10", "17:40"),
    ]
    for room in ("keynote", "break-mon", "panel-1"):
        assert extended.item(room).duration == real.item(room).duration
    for later_day in extended.items[4:]:
        assert later_day == real.item(later_day.id)


def test_extend_moves_the_pushed_rooms_lobby_too(real: Timetable) -> None:
    extended = real.apply(override("welcome", EXTEND, MON, "14:30", 10))
    keynote = extended.item("keynote")
    assert extended.state_at(keynote, local(MON, "14:39")) is S
    assert extended.state_at(keynote, local(MON, "14:40")) is L
    assert extended.state_at(extended.item("welcome"), local(MON, "14:50")) is V


def test_extend_in_the_middle_of_a_day_leaves_earlier_items_alone(real: Timetable) -> None:
    extended = real.apply(override("panel-2", EXTEND, TUE, "15:00", 5))
    assert span(extended, "statement-day-2") == ("14:00", "14:05")
    assert span(extended, "panel-2") == ("14:05", "15:40")
    assert span(extended, "break-tue") == ("15:40", "16:05")
    assert span(extended, "panel-3") == ("16:05", "17:35")


def test_extend_the_last_item_of_a_day_never_moves_the_next_day(real: Timetable) -> None:
    extended = real.apply(override("panel-1", EXTEND, MON, "17:00", 240))
    assert span(extended, "panel-1") == ("16:00", "21:30")
    assert extended.items[4:] == real.items[4:]


def test_extend_into_the_next_days_hours_still_leaves_that_day_alone() -> None:
    timetable = build(
        day(MON, item("late", "22:00", "23:00")), day(TUE, item("early", "00:30", "01:00"))
    )
    extended = timetable.apply(override("late", EXTEND, MON, "22:30", 120))
    assert extended.item("late").ends_at == local(TUE, "01:00")
    assert extended.item("early") == timetable.item("early")


@pytest.fixture
def gappy() -> Timetable:
    return build(
        day(
            MON,
            item("a", "14:00", "14:30"),
            item("b", "15:00", "15:30"),
            item("c", "15:30", "16:00"),
            item("d", "17:00", "17:30"),
        ),
        day(TUE, item("e", "14:00", "14:30")),
    )


@pytest.mark.parametrize(
    ("minutes", "spans"),
    [
        (1, [("14:00", "14:31"), ("15:00", "15:30"), ("15:30", "16:00"), ("17:00", "17:30")]),
        (30, [("14:00", "15:00"), ("15:00", "15:30"), ("15:30", "16:00"), ("17:00", "17:30")]),
        (31, [("14:00", "15:01"), ("15:01", "15:31"), ("15:31", "16:01"), ("17:00", "17:30")]),
        (90, [("14:00", "16:00"), ("16:00", "16:30"), ("16:30", "17:00"), ("17:00", "17:30")]),
        (91, [("14:00", "16:01"), ("16:01", "16:31"), ("16:31", "17:01"), ("17:01", "17:31")]),
    ],
)
def test_extend_pushes_only_what_it_reaches_and_stops_at_a_gap(
    gappy: Timetable, minutes: int, spans: list[tuple[str, str]]
) -> None:
    extended = gappy.apply(override("a", EXTEND, MON, "14:10", minutes))
    assert [span(extended, room) for room in "abcd"] == spans
    assert extended.item("e") == gappy.item("e")


def test_extend_a_room_that_has_not_started(gappy: Timetable) -> None:
    extended = gappy.apply(override("b", EXTEND, MON, "09:00", 45))
    assert [span(extended, room) for room in "abcd"] == [
        ("14:00", "14:30"),
        ("15:00", "16:15"),
        ("16:15", "16:45"),
        ("17:00", "17:30"),
    ]


@pytest.mark.parametrize("minutes", [0, -5, 241, 10_000])
def test_extend_outside_one_to_240_minutes_is_refused(real: Timetable, minutes: int) -> None:
    with pytest.raises(OverrideRefused, match="between 1 and 240"):
        real.apply(override("keynote", EXTEND, MON, "15:00", minutes))


def test_extend_without_minutes_is_refused(real: Timetable) -> None:
    with pytest.raises(OverrideRefused):
        real.apply(Override("keynote", EXTEND, local(MON, "15:00")))


@pytest.mark.parametrize("room", ["nope", "break-mon", "break-wed", "", "Welcome"])
@pytest.mark.parametrize(("action", "minutes"), [(START, 0), (END, 0), (EXTEND, 10)])
def test_override_on_an_unknown_room_or_a_break_is_refused(
    real: Timetable, room: str, action: OverrideAction, minutes: int
) -> None:
    with pytest.raises(OverrideRefused, match="no room"):
        real.apply(override(room, action, MON, "15:40", minutes))


def test_with_overrides_skips_refused_ones_and_applies_the_rest_in_order(
    real: Timetable,
) -> None:
    overrides = [
        override("welcome", EXTEND, MON, "14:30", 10),
        override("keynote", START, MON, "14:52"),  # in its (moved) lobby since 14:40
        override("keynote", START, MON, "14:53"),  # refused: already live
        override("break-mon", EXTEND, MON, "15:00", 5),  # refused: a break has no room
        override("panel-9", END, MON, "15:00"),  # refused: removed from the agenda
        override("keynote", END, MON, "15:35"),
        override("keynote", EXTEND, MON, "15:36", 5),  # refused: ended
    ]
    effective = real.with_overrides(overrides)
    assert [span(effective, room) for room in ("welcome", "keynote", "break-mon", "panel-1")] == [
        ("14:00", "14:55"),
        ("14:52", "15:35"),
        ("15:40", "16:10"),
        ("16:10", "17:40"),
    ]
    accepted = (overrides[0], overrides[1], overrides[5])
    assert effective == real.apply(accepted[0]).apply(accepted[1]).apply(accepted[2])


def test_each_override_is_judged_against_the_running_order_before_it(real: Timetable) -> None:
    start_at_1450 = override("keynote", START, MON, "14:50")
    alone = real.with_overrides([start_at_1450])  # refused: the keynote is live at 14:50
    after_extend = real.with_overrides(
        [override("welcome", EXTEND, MON, "14:30", 10), start_at_1450]
    )
    assert alone == real
    assert span(after_extend, "keynote") == ("14:50", "15:35")


def test_with_no_overrides_is_the_same_timetable(real: Timetable) -> None:
    assert real.with_overrides([]) == real
    assert real.with_overrides(iter([])) == real


def test_overrides_leave_the_original_timetable_unchanged(real: Timetable) -> None:
    before = real.items
    snapshot = [dataclasses.astuple(found) for found in real.items]
    changed = real.with_overrides(
        [
            override("welcome", EXTEND, MON, "14:30", 10),
            override("keynote", START, MON, "14:50"),
            override("panel-1", END, MON, "16:30"),
        ]
    )
    assert changed is not real
    assert changed != real
    assert real.items is before
    assert [dataclasses.astuple(found) for found in real.items] == snapshot
    assert span(real, "keynote") == ("14:45", "15:30")
    assert real.item("keynote") is before[1]
    with CONFIG_PATH.open("rb") as file:
        config = tomllib.load(file)
    assert real == parse_timetable(config["event"], config["days"])


def test_apply_returns_a_new_timetable_whose_lookup_matches_its_items(real: Timetable) -> None:
    started = real.apply(override("keynote", START, MON, "14:35"))
    assert started is not real
    for found in started.items:
        assert started.item(found.id) is found
    assert started.zone is real.zone
    assert started.lobby == real.lobby


def test_agenda_item_shifted_keeps_length() -> None:
    original = AgendaItem(
        "a", "A", ItemKind.PANEL, utc(MON, "12:00"), utc(MON, "13:30"), recorded=False
    )
    moved = original.shifted(timedelta(minutes=25))
    assert (moved.starts_at, moved.ends_at) == (utc(MON, "12:25"), utc(MON, "13:55"))
    assert moved.duration == original.duration
    assert moved.recorded is False
    assert original.starts_at == utc(MON, "12:00")
