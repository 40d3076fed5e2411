"""The stage model, pure: who is on stage, which slot each holds, the programme's picture."""

from __future__ import annotations

import pytest

from server.errors import Conflict, NotFound
from server.media.stage import REJOIN_SECONDS, Source, Stage, StageFull, View

AV = ("audio", "video")


def hall(name: str = "Hall") -> Source:
    return Source(name=name, role="technician", sub=f"sub-{name}", kinds=AV)


def panelist(name: str, kinds: tuple[str, ...] = AV, sub: str | None = None) -> Source:
    return Source(name=name, role="speaker", sub=sub or f"sub-{name}", kinds=kinds)


def test_the_hall_goes_on_stage_and_a_speaker_waits_backstage() -> None:
    stage = Stage(audio_slots=6, video_slots=4)
    encoder, anna = hall(), panelist("Anna")
    stage.add(encoder, 0.0)
    stage.add(anna, 0.0)
    assert stage.on_stage == [encoder]
    assert (stage.video_slot(encoder), stage.video_slot(anna)) == (0, None)
    assert stage.payload(backstage=False) == [
        {
            "id": encoder.id,
            "name": "Hall",
            "role": "technician",
            "kinds": ["audio", "video"],
            "on_stage": True,
            "slot": 0,
            "speaking": False,
        }
    ]
    assert [s["name"] for s in stage.payload(backstage=True)] == ["Hall", "Anna"]


def test_auto_stage_can_bring_speakers_on_by_themselves() -> None:
    stage = Stage(6, 4, auto_stage=frozenset({"technician", "speaker"}))
    anna = panelist("Anna")
    stage.add(anna, 0.0)
    assert anna.on_stage and stage.audio_slot(anna) == 0


def test_on_and_off_stage_and_what_is_refused() -> None:
    stage = Stage(6, 4)
    encoder, anna = hall(), panelist("Anna")
    stage.add(encoder, 0.0)
    stage.add(anna, 0.0)
    assert stage.bring_on(anna.id) is anna
    assert (stage.video_slot(anna), stage.audio_slot(anna)) == (1, 1)
    with pytest.raises(Conflict, match="already on stage"):
        stage.bring_on(anna.id)
    stage.send_back(anna.id)
    assert stage.video_slot(anna) is None and stage.audio_slot(anna) is None
    with pytest.raises(Conflict, match="already backstage"):
        stage.send_back(anna.id)
    for unknown in ("nope", "", None, 7, ["x"], {"id": anna.id}):
        with pytest.raises(NotFound):
            stage.bring_on(unknown)
    other_room = Stage(6, 4)
    stranger = panelist("Stranger")
    other_room.add(stranger, 0.0)
    with pytest.raises(NotFound):  # another room's source is unknown here
        stage.bring_on(stranger.id)


def test_the_stage_has_as_many_places_as_audio_slots() -> None:
    stage = Stage(audio_slots=2, video_slots=2)
    people = [panelist(name) for name in "ABC"]
    for person in people:
        stage.add(person, 0.0)
    stage.bring_on(people[0].id)
    stage.bring_on(people[1].id)
    with pytest.raises(StageFull) as full:
        stage.bring_on(people[2].id)
    assert full.value.code == "stage_full"
    assert not people[2].on_stage


def test_slots_are_kept_while_on_stage_and_freed_slots_are_reused() -> None:
    stage = Stage(6, 4)
    people = [panelist(name) for name in "ABC"]
    for person in people:
        stage.add(person, 0.0)
        stage.bring_on(person.id)
    assert [stage.video_slot(p) for p in people] == [0, 1, 2]
    stage.send_back(people[0].id)
    assert [stage.video_slot(p) for p in people] == [None, 1, 2]  # nobody moved
    newcomer = panelist("D")
    stage.add(newcomer, 0.0)
    stage.bring_on(newcomer.id)
    assert stage.video_slot(newcomer) == 0


def test_with_more_pictures_than_slots_the_most_recent_speakers_are_seen() -> None:
    stage = Stage(audio_slots=6, video_slots=2)
    a, b, c = (panelist(name) for name in "ABC")
    for person in (a, b, c):
        stage.add(person, 0.0)
        stage.bring_on(person.id)
    assert [stage.video_slot(p) for p in (a, b, c)] == [0, 1, None]
    assert stage.audio_slot(c) == 2  # always heard, even unseen
    assert stage.speaking_changed(c, True)  # C speaks: takes the slot of whoever spoke least
    assert stage.video_slot(c) in (0, 1)
    assert stage.speaking_changed(a, True) is (stage.video_slot(a) is not None)
    stage.speaking_changed(c, False)
    stage.speaking_changed(a, False)
    assert stage.video_slot(a) is not None and stage.video_slot(c) is not None
    assert stage.video_slot(b) is None  # B spoke least recently
    stage.send_back(a.id)
    assert stage.video_slot(b) is not None  # a freed slot goes to whoever waits


def test_a_speaker_never_loses_the_slot_to_another_while_speaking() -> None:
    stage = Stage(audio_slots=6, video_slots=1)
    a, b = panelist("A"), panelist("B")
    for person in (a, b):
        stage.add(person, 0.0)
        stage.bring_on(person.id)
    stage.speaking_changed(a, True)
    assert stage.video_slot(a) == 0
    stage.speaking_changed(b, True)  # both speak: the more recent one is seen
    assert stage.video_slot(b) == 0


def test_sources_without_video_take_no_video_slot() -> None:
    stage = Stage(6, 4)
    voice = panelist("Voice", kinds=("audio",))
    stage.add(voice, 0.0)
    stage.bring_on(voice.id)
    assert stage.audio_slot(voice) == 0 and stage.video_slot(voice) is None
    assert stage.payload(backstage=False)[0]["slot"] is None


def test_an_audio_only_room_has_no_video_slots() -> None:
    stage = Stage(audio_slots=6, video_slots=0)
    encoder = hall()
    stage.add(encoder, 0.0)
    assert stage.video_lanes() == () and stage.audio_slot(encoder) == 0
    stage.speaking_changed(encoder, True)
    assert stage.video_slot(encoder) is None


def test_a_person_who_reconnects_comes_back_on_stage_by_themselves() -> None:
    stage = Stage(6, 4)
    first = panelist("Anna", sub="anna")
    stage.add(first, 0.0)
    stage.bring_on(first.id)
    stage.remove(first, 10.0)
    again = panelist("Anna", sub="anna")
    stage.add(again, 10.0 + REJOIN_SECONDS - 1)
    assert again.on_stage
    stage.remove(again, 100.0)
    late = panelist("Anna", sub="anna")
    stage.add(late, 100.0 + REJOIN_SECONDS + 1)
    assert not late.on_stage  # long gone: a technician decides again


def test_a_persons_newest_source_replaces_their_older_one_on_stage() -> None:
    stage = Stage(6, 4)
    old = panelist("Anna", sub="anna")
    stage.add(old, 0.0)
    stage.bring_on(old.id)
    new = panelist("Anna", sub="anna")
    stage.add(new, 1.0)
    assert new.on_stage and not old.on_stage
    assert stage.video_slot(new) == 0


def test_nobody_hears_their_own_source_and_the_hall_never_hears_itself() -> None:
    encoder, anna = hall(), panelist("Anna", sub="anna")
    assert encoder.heard_by("anna", View.STAGE) and not anna.heard_by("anna", View.STAGE)
    assert not encoder.heard_by("someone", View.REMOTE) and anna.heard_by(None, View.REMOTE)
    stage = Stage(6, 4)
    for source in (encoder, anna):
        stage.add(source, 0.0)
    stage.bring_on(anna.id)
    assert stage.heard(None, View.STAGE) == [encoder, anna]
    assert stage.heard("anna", View.STAGE) == [encoder]
    assert stage.heard(None, View.REMOTE) == [anna]


def test_the_programme_shows_the_active_speaker_else_the_hall() -> None:
    stage = Stage(6, 4)
    encoder, a, b = hall(), panelist("A"), panelist("B")
    for source in (encoder, a, b):
        stage.add(source, 0.0)
    stage.bring_on(a.id)
    stage.bring_on(b.id)
    assert stage.programme_picture(None, View.STAGE, None) is encoder
    stage.speaking_changed(a, True)
    assert stage.programme_picture(None, View.STAGE, encoder) is a
    stage.speaking_changed(a, False)  # a pause: the picture stays on the last speaker
    assert stage.programme_picture(None, View.STAGE, a) is a
    stage.speaking_changed(b, True)
    assert stage.programme_picture(None, View.STAGE, a) is b
    stage.speaking_changed(a, True)  # A speaks over B, who is still speaking: B stays
    assert stage.programme_picture(None, View.STAGE, b) is b
    assert stage.programme_picture(b.sub, View.STAGE, None) is a  # never one's own
    assert stage.programme_picture(None, View.REMOTE, None) in (a, b)  # never the hall
    stage.send_back(a.id)
    stage.send_back(b.id)
    assert stage.programme_picture(None, View.REMOTE, b) is None
