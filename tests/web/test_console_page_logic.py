"""The technician page's audit log words (client_web/auditwords.js) and a room's line in the
compact view (client_web/roomsummary.js), run in headless Chromium as the page loads them."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MINUTE_MS = 60_000
TITLES = {"welcome": "Welcoming Remarks", "keynote": "Keynote Address"}


@pytest.fixture(scope="module")
def page(module_page: Page) -> Page:
    return module_page


def run(page: Page, body: str, *args: Any) -> Any:
    return page.evaluate(
        f"""async (args) => {{
             const words = await import('/app/auditwords.js');
             const summary = await import('/app/roomsummary.js');
             {body}
           }}""",
        list(args),
    )


def said(page: Page, action: str, detail: dict[str, Any], room: str | None = "welcome") -> str:
    entry = {
        "at": "2021-06-14T12:05:00+00:00",
        "agenda_at": "2021-06-14T14:05:00+02:00",
        "room": room,
        "action": action,
        "by": "Tess",
        "detail": detail,
    }
    return str(
        run(
            page,
            "return words.auditWords(words.parseAuditEntry(args[0]), (id) => args[1][id] ?? null);",
            entry,
            TITLES,
        )
    )


@pytest.mark.parametrize(
    ("action", "detail", "room", "words"),
    [
        ("transition", {"from": "lobby", "to": "live"}, "welcome", "Went live"),
        ("transition", {"from": "scheduled", "to": "lobby"}, "welcome", "Lobby opened"),
        ("transition", {"from": "live", "to": "ended"}, "welcome", "Ended"),
        ("transition", {"from": None, "to": "live"}, "welcome", "Found live as the server started"),
        (
            "override",
            {"action": "start", "minutes": 0, "moved": ["welcome"]},
            "welcome",
            "Started now",
        ),
        (
            "override",
            {"action": "extend", "minutes": 10, "moved": ["welcome", "keynote"]},
            "welcome",
            "Extended by 10 minutes; moved Keynote Address",
        ),
        (
            "override",
            {"action": "extend", "minutes": 1, "moved": []},
            "welcome",
            "Extended by 1 minute",
        ),
        ("override", {"action": "end", "minutes": 0, "moved": []}, "welcome", "Ended now"),
        (
            "override",
            {"action": "reopen", "minutes": 0, "moved": []},
            "welcome",
            "End undone: live again",
        ),
        (
            "override",
            {"action": "delay", "minutes": 15, "moved": ["welcome", "panel-9"]},
            "welcome",
            "Delayed the rest of the day by 15 minutes; moved panel-9",
        ),
        (
            "stage",
            {"source": "s1", "name": "Ana", "role": "speaker"},
            "welcome",
            "Brought Ana on stage",
        ),
        (
            "backstage",
            {"source": "s1", "name": "Ana", "role": "speaker"},
            "welcome",
            "Sent Ana backstage",
        ),
        (
            "notice",
            {"id": "n1", "text": "Restoring the hall feed", "level": "warning"},
            "welcome",
            "Posted a notice (warning): “Restoring the hall feed”",
        ),
        (
            "notice",
            {"id": "n2", "text": "Lunch at 13:00", "level": "info"},
            None,
            "Posted a notice to every room (info): “Lunch at 13:00”",
        ),
        ("notice_cleared", {"id": "n1"}, "welcome", "Cleared a notice"),
        (
            "alert",
            {"code": "no_feed", "text": "No picture on stage in Welcoming Remarks", "active": True},
            "welcome",
            "Alert: No picture on stage in Welcoming Remarks",
        ),
        (
            "alert",
            {"code": "overrun", "text": "Welcoming Remarks is running over", "active": False},
            "welcome",
            "Alert cleared: Welcoming Remarks is running over",
        ),
        ("question_order", {"by": "time"}, "welcome", "Questions ordered oldest first"),
        ("question_pin", {"question": "q1"}, "welcome", "Pinned a question for the hall"),
        (
            "question_edit",
            {"question": "q1", "from": "a", "to": "b"},
            "welcome",
            "Edited a question",
        ),
        ("something_new", {}, "welcome", "something new"),
    ],
)
def test_each_audit_action_in_words(
    page: Page, action: str, detail: dict[str, Any], room: str | None, words: str
) -> None:
    assert said(page, action, detail, room) == words


def test_the_log_is_read_newest_first_and_junk_left_out(page: Page) -> None:
    body = {
        "entries": [
            {
                "agenda_at": "2021-06-14T14:00:00+02:00",
                "action": "transition",
                "room": "welcome",
                "by": "schedule",
                "detail": {"from": "lobby", "to": "live"},
            },
            {"agenda_at": "not a time", "action": "override"},
            "junk",
            {
                "agenda_at": "2021-06-14T14:05:00+02:00",
                "action": "alert",
                "room": "welcome",
                "by": "alerts",
                "detail": None,
            },
        ]
    }
    parsed = run(
        page,
        """return words.parseAuditLog(args[0]).map((e) => [e.action, words.actorWords(e.by),
             words.auditTone(e), e.detail]);""",
        body,
    )
    assert parsed == [
        ["alert", "the alerts", "alert", {}],
        ["transition", "the schedule", "plain", {"from": "lobby", "to": "live"}],
    ]
    assert run(page, "return [words.actorWords('Tess'), words.actorWords('')];") == [
        "Tess",
        "someone",
    ]
    assert run(page, "return words.parseAuditLog(null);") == []


def line(page: Page, room: dict[str, Any], now: int, health: Any = None, alerts: int = 0) -> Any:
    return run(
        page,
        """const [room, now, health, alerts] = args;
           const tracks = health === null ? null : { tracks: new Map(Object.entries(health)) };
           const f = summary.lineFigures({ room }, { health: tracks, alerts, now });
           return { ...f, stageText: summary.stageWords(f.stage),
                    alertsText: summary.alertsWords(f.alerts) };""",
        room,
        now,
        health,
        alerts,
    )


ENDS = 1_000 * MINUTE_MS
LIVE = {"state": "live", "startsAt": ENDS - 45 * MINUTE_MS, "endsAt": ENDS, "viewers": 12}


def test_a_live_rooms_line_counts_down_then_says_the_overrun_in_minutes(page: Page) -> None:
    before = line(page, LIVE, ENDS - 90_000)
    assert before["countdown"] == {"text": "ends in 1:30", "overrun": False}
    assert line(page, LIVE, ENDS - 1)["countdown"] == {"text": "ends in 0:01", "overrun": False}
    assert line(page, LIVE, ENDS + 1)["countdown"] == {"text": "over by 1 min", "overrun": True}
    late = line(page, LIVE, ENDS + 3 * MINUTE_MS + 1)
    assert late["countdown"] == {"text": "over by 4 min", "overrun": True}
    ended = line(page, {**LIVE, "state": "ended"}, ENDS + 3 * MINUTE_MS)
    assert ended["countdown"] is None  # an ended room is not over anything


def test_a_rooms_line_has_its_viewers_stage_worst_grade_and_alerts(page: Page) -> None:
    sources = [{"onStage": True}, {"onStage": True}, {"onStage": False}]
    health = {
        "hall": {"video": {"grade": "excellent"}, "audio": {"grade": "good"}},
        "ana": {"video": {"grade": "poor"}},
    }
    figures = line(page, {**LIVE, "sources": sources}, ENDS - MINUTE_MS, health, 2)
    assert (figures["viewers"], figures["stageText"]) == (12, "2 on stage, 1 backstage")
    assert (figures["grade"], figures["gradeText"]) == ("poor", "Poor")
    assert figures["alertsText"] == "2 alerts"
    empty = line(page, {**LIVE, "sources": [], "viewers": None}, ENDS - MINUTE_MS)
    assert (empty["viewers"], empty["stageText"], empty["grade"]) == (
        None,
        "nobody publishing",
        None,
    )
    assert empty["alertsText"] == "no alerts"
    unknown = line(page, {**LIVE, "sources": None}, ENDS - MINUTE_MS, None, 1)
    assert (unknown["stageText"], unknown["alertsText"]) == ("—", "1 alert")
