"""The stage pages' pure logic (client_web/stage.js, stagewords.js and the agenda's sources),
run in headless Chromium as the pages load it: which source each video slot shows, which
picture is large, who is heard but not seen, and what the pages say in words."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HALL = {"id": "h1", "name": "Hall", "role": "technician", "kinds": ["audio", "video"]}
ANA = {"id": "a1", "name": "Ana", "role": "speaker", "kinds": ["audio", "video"]}
BEN = {"id": "b1", "name": "Ben", "role": "speaker", "kinds": ["audio", "video"]}
CARLA = {"id": "c1", "name": "Carla", "role": "speaker", "kinds": ["audio"]}


def on_stage(source: dict[str, Any], slot: int | None, speaking: bool = False) -> dict[str, Any]:
    return {**source, "on_stage": True, "slot": slot, "speaking": speaking}


def backstage(source: dict[str, Any]) -> dict[str, Any]:
    return {**source, "on_stage": False, "slot": None, "speaking": False}


def arrange(page: Page, sources: Any, offered: dict[str, int], **options: Any) -> Any:
    return page.evaluate(
        """async ([sources, offered, options]) => {
             const { arrangeStage, parseSources } = await import('/app/stage.js');
             return arrangeStage(parseSources(sources), offered, options);
           }""",
        [sources, offered, options],
    )


@pytest.fixture(scope="module")
def page(module_page: Page) -> Page:
    return module_page


SIX_BY_FOUR = {"audio": 6, "video": 4}


def names(arrangement: dict[str, Any]) -> list[tuple[str, int, bool]]:
    return [(tile["name"], tile["slot"], tile["feature"]) for tile in arrangement["tiles"]]


def test_the_hall_is_large_and_the_panelists_beside_it_in_slot_order(page: Page) -> None:
    sources = [
        on_stage(BEN, 2, speaking=True),
        on_stage(HALL, 1),
        on_stage(ANA, 0),
        backstage({**CARLA, "kinds": ["audio", "video"]}),
    ]
    arrangement = arrange(page, sources, SIX_BY_FOUR)
    assert arrangement["layout"] == "feature"
    assert names(arrangement) == [("Hall", 1, True), ("Ana", 0, False), ("Ben", 2, False)]
    assert [tile["speaking"] for tile in arrangement["tiles"]] == [False, False, True]
    assert arrangement["heard"] == []
    assert arrangement["onStage"] == 3


def test_without_the_hall_every_picture_is_the_same_size(page: Page) -> None:
    for count, columns in ((1, 1), (2, 2), (3, 2), (4, 2)):
        sources = [on_stage({**ANA, "id": f"s{k}", "name": f"S{k}"}, k) for k in range(count)]
        arrangement = arrange(page, sources, SIX_BY_FOUR)
        assert arrangement["layout"] == "grid"
        assert arrangement["columns"] == columns
        assert [tile["slot"] for tile in arrangement["tiles"]] == list(range(count))
    alone = arrange(page, [on_stage(HALL, 0)], SIX_BY_FOUR)
    assert alone["layout"] == "grid" and names(alone) == [("Hall", 0, False)]
    columns = page.evaluate(
        """import('/app/stage.js').then(({ gridColumns }) =>
             [0, 1, 2, 4, 5, 9, 10].map(gridColumns))"""
    )
    assert columns == [1, 1, 2, 2, 3, 3, 4]


def test_a_slot_without_a_source_shows_nothing_and_sound_only_is_named(page: Page) -> None:
    sources = [
        on_stage(HALL, 0),
        on_stage(CARLA, None, speaking=True),  # sound only: no slot
        on_stage(BEN, None),  # a picture past the video slots: heard, not seen
        on_stage(ANA, 5),  # a slot this session did not offer
    ]
    arrangement = arrange(page, sources, SIX_BY_FOUR)
    assert names(arrangement) == [("Hall", 0, False)]
    assert arrangement["heard"] == [
        {"id": "c1", "name": "Carla", "speaking": True},
        {"id": "b1", "name": "Ben", "speaking": False},
        {"id": "a1", "name": "Ana", "speaking": False},
    ]
    nobody = arrange(page, [backstage(ANA)], SIX_BY_FOUR)
    assert nobody["layout"] == "empty" and nobody["tiles"] == [] and nobody["onStage"] == 0


def test_a_speaker_never_sees_a_tile_of_their_own(page: Page) -> None:
    sources = [on_stage(HALL, 0), on_stage(ANA, 1), on_stage(BEN, 2)]
    arrangement = arrange(page, sources, SIX_BY_FOUR, without="a1")
    assert names(arrangement) == [("Hall", 0, True), ("Ben", 2, False)]
    assert arrangement["onStage"] == 2


def test_the_hall_sees_the_remote_panelists_only_all_the_same_size(page: Page) -> None:
    sources = [on_stage(HALL, 0, speaking=True), on_stage(ANA, 1), on_stage(BEN, 3)]
    options = {"remoteOnly": True, "featureHall": False}
    arrangement = arrange(page, sources, SIX_BY_FOUR, **options)
    assert arrangement["layout"] == "grid"
    assert names(arrangement) == [("Ana", 1, False), ("Ben", 3, False)]
    only_hall = arrange(page, [on_stage(HALL, 0)], SIX_BY_FOUR, **options)
    assert only_hall["layout"] == "empty" and only_hall["onStage"] == 0


def test_sound_only_sessions_hear_everyone_on_stage_and_show_no_picture(page: Page) -> None:
    sources = [on_stage(HALL, 0), on_stage(ANA, 1, speaking=True), backstage(BEN)]
    arrangement = arrange(page, sources, {"audio": 6, "video": 0})
    assert arrangement["tiles"] == [] and arrangement["layout"] == "empty"
    assert [source["name"] for source in arrangement["heard"]] == ["Hall", "Ana"]


def test_one_audio_and_one_video_m_line_is_the_programme_without_names(page: Page) -> None:
    plain = {"audio": 1, "video": 1}
    unknown = arrange(page, None, plain)
    assert names(unknown) == [("", 0, False)] and unknown["onStage"] is None
    known = arrange(page, [on_stage(HALL, 0), on_stage(ANA, 1)], plain)
    assert names(known) == [("", 0, False)] and known["onStage"] == 2
    assert arrange(page, [backstage(ANA)], plain)["tiles"] == []


def test_the_offer_follows_the_rooms_slots(page: Page) -> None:
    offers = page.evaluate(
        """import('/app/stage.js').then(({ offeredSlots, parseSlots }) => [
             offeredSlots(parseSlots({audio: 6, video: 4})),
             offeredSlots(parseSlots({audio: 6, video: 4}), {soundOnly: true}),
             offeredSlots(parseSlots({audio: 6, video: 0})),
             offeredSlots(parseSlots(undefined)),
             offeredSlots(parseSlots({audio: 6})),
             offeredSlots(parseSlots({audio: 500, video: 400})),
             offeredSlots(null, {soundOnly: true}),
           ])"""
    )
    assert offers == [
        {"audio": 6, "video": 4},
        {"audio": 6, "video": 0},
        {"audio": 6, "video": 0},
        {"audio": 1, "video": 1},
        {"audio": 1, "video": 1},
        {"audio": 16, "video": 16},
        {"audio": 1, "video": 0},
    ]


def test_sources_that_are_not_sources_are_left_out(page: Page) -> None:
    parsed = page.evaluate(
        """import('/app/stage.js').then(({ parseSources, parseStage }) => [
             parseSources([null, 7, {id: ''}, {id: 'x', name: 3, kinds: ['audio', 'smell'],
                           on_stage: 'yes', slot: 2, speaking: 1},
                           {id: 'y', on_stage: true, slot: -1},
                           {id: 'z', on_stage: true, slot: 1.5}]),
             parseSources('nope'),
             (() => { try { parseStage({room: 'r'}); return 'parsed'; }
                      catch (error) { return error.name; } })(),
           ])"""
    )
    assert parsed[0] == [
        {
            "id": "x",
            "name": "",
            "role": "",
            "kinds": ["audio"],
            "onStage": False,
            "slot": None,
            "speaking": False,
        },
        {
            "id": "y",
            "name": "",
            "role": "",
            "kinds": [],
            "onStage": True,
            "slot": None,
            "speaking": False,
        },
        {
            "id": "z",
            "name": "",
            "role": "",
            "kinds": [],
            "onStage": True,
            "slot": None,
            "speaking": False,
        },
    ]
    assert parsed[1] is None
    assert parsed[2] == "TypeError"


def test_a_stage_event_reaches_its_room_and_outranks_the_room_state(page: Page) -> None:
    rooms = page.evaluate(
        """async ([stage, audience]) => {
             const { fetchAgenda } = await import('/app/api.js');
             const { parseStage } = await import('/app/stage.js');
             const { carrySources, parseAgenda, parseRoomState, withRoomState, withStage } =
               await import('/app/timetable.js');
             const body = await fetchAgenda();
             const names = (list, id) =>
               list.find((item) => item.id === id).room.sources?.map((s) => s.name) ?? null;
             const state = (sources) => parseRoomState({room: 'welcome', state: 'live',
                                                        slots: {audio: 6, video: 4}, sources});
             // Before any stage event, the room state's sources are all there is.
             const first = withRoomState(parseAgenda(body).items, state(audience));
             // A stage event (backstage too, for staff) is not undone by a room state that
             // carries the audience's list.
             let items = withStage(first, parseStage(stage));
             items = withRoomState(items, state(audience));
             const room = items.find((item) => item.id === 'welcome').room;
             // A new agenda without sources keeps those known; one with sources brings its own.
             for (const item of body.items) if (item.room) delete item.room.sources;
             const kept = carrySources(items, parseAgenda(body).items);
             return [names(first, 'welcome'), names(items, 'welcome'), room.slots, room.state,
                     names(kept, 'welcome'), names(kept, 'keynote')];
           }""",
        [
            {"room": "welcome", "sources": [on_stage(HALL, 0), backstage(ANA)]},
            [on_stage(HALL, 0)],
        ],
    )
    assert rooms == [
        ["Hall"],
        ["Hall", "Ana"],
        {"audio": 6, "video": 4},
        "live",
        ["Hall", "Ana"],
        [],
    ]


def test_what_the_pages_say_about_the_stage(page: Page) -> None:
    words = page.evaluate(
        """async () => {
             const w = await import('/app/stagewords.js');
             const { withToken } = await import('/app/token.js');
             const ana = {id: 'a', name: 'Ana', role: 'speaker', kinds: ['audio', 'video'],
                          onStage: false, slot: null, speaking: false};
             const live = {...ana, onStage: true, slot: 1};
             return {
               joining: w.speakerPlace(null, 'live'),
               backstage: w.speakerPlace(ana, 'live'),
               stage: w.speakerPlace(live, 'live'),
               lobby: w.speakerPlace(live, 'lobby').text,
               roles: ['technician', 'speaker', 'moderator', 'guest', ''].map(w.roleWords),
               kinds: [['audio', 'video'], ['audio'], ['video'], []].map(w.kindsWords),
               places: [ana, live].map(w.placeWords),
               moves: [ana, live].map(w.stageMove),
               moved: [w.movedWords('Ana', 'stage'), w.movedWords('', 'backstage')],
               empty: [w.emptyStageWords({onStage: 0, heard: [], tiles: []}, 'Nobody'),
                       w.emptyStageWords({onStage: 1, heard: [ana], tiles: []}, 'Nobody').big],
               heard: [w.heardLabel({tiles: []}), w.heardLabel({tiles: [1]}),
                       w.heardLabel({tiles: []}, {soundOnly: true})],
               link: withToken('/hall/keynote', 'abc.def-g_h'),
             };
           }"""
    )
    assert words["joining"] == {"text": "Connected — joining the backstage…", "place": "joining"}
    assert words["backstage"] == {
        "text": "Backstage — a technician or moderator will bring you on stage",
        "place": "backstage",
    }
    assert words["stage"] == {"text": "On stage — you are live", "place": "stage"}
    assert words["lobby"] == "On stage — the public joins when the item starts"
    assert words["roles"] == ["Hall", "Remote speaker", "Moderator", "Guest", "Source"]
    assert words["kinds"] == ["sound and picture", "sound only", "picture only", "nothing yet"]
    assert words["places"] == ["Backstage", "On stage"]
    assert words["moves"] == [
        {"action": "stage", "label": "Bring on stage"},
        {"action": "backstage", "label": "Send backstage"},
    ]
    assert words["moved"] == ["Ana is on stage.", "The source is backstage."]
    assert words["empty"] == [{"big": "Nobody", "small": ""}, "Sound only from the stage"]
    assert words["heard"] == ["On stage, sound only", "Also on stage, sound only", "On stage"]
    assert words["link"] == "/hall/keynote#token=abc.def-g_h"
