"""The audience's questions through the pages people use, in headless Chromium against a real
server: an attendee asks on /watch, the moderator approves and pins on /moderate, the hall's
/screen shows it, a second attendee sees it and votes, the speaker's /speak lists it. A
question written as markup and script is shown as typed and runs nothing on any of them.

Screenshots go to /tmp/questions-*.png."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from server.auth.permissions import Role
from tests.conftest import PHONE, OpenPage, contrast
from tests.serverproc import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path("/tmp")
ROOM = "welcome"
QUESTION = "How will the Palermo Protocol reach survivors who never report?"
HOSTILE = (
    "<script>window.plenaryPwned = 'script'</script>"
    "<img src=x onerror=\"window.plenaryPwned = 'img'\"> Is this shown as text?"
)
# Before any page script: a flag a question's markup would set, if it ever ran, and every
# element it would have made.
WATCH_FOR_MARKUP = """
window.plenaryPwned = null;
"""
MARKUP = """() => ({
  pwned: window.plenaryPwned,
  images: document.querySelectorAll('img').length,
  scripts: [...document.querySelectorAll('script')].map((s) => s.getAttribute('src')),
})"""


def shoot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"questions-{name}.png"), full_page=True)


@pytest.fixture
def live_room(start_server: Callable[..., ServerProcess]) -> ServerProcess:
    """A minute into the welcome: questions are open."""
    return start_server(lead_seconds=-60)


def open_as(
    open_page: OpenPage, server: ServerProcess, page: str, role: Role, name: str, **options: Any
) -> Page:
    opened = open_page("about:blank", **options)
    opened.add_init_script(WATCH_FOR_MARKUP)
    opened.goto(f"{server.url}/{page}/{ROOM}#token={server.token(role, name)}")
    expect(opened.locator("#link-status")).to_have_text("live updates")
    return opened


def card(root: Page | Locator, text: str) -> Locator:
    """The question on ``root`` whose text begins like ``text``."""
    page = root if isinstance(root, Page) else root.page
    return root.locator("li.question").filter(
        has=page.locator(".question-text", has_text=text[:40])
    )


def ask(page: Page, text: str, *, anonymous: bool = False) -> None:
    box = page.locator("#ask-text")
    box.fill(text)
    if anonymous:
        page.locator("#ask-anonymous").check()
    box.press("Enter")  # Enter sends, as in a chat
    expect(page.locator("#ask-done")).to_contain_text("Sent.")
    expect(box).to_have_value("")


def fits_the_width(page: Page) -> None:
    widths = page.evaluate(
        "({scroll: document.documentElement.scrollWidth,"
        " client: document.documentElement.clientWidth})"
    )
    assert widths["scroll"] <= widths["client"], widths


def test_an_attendee_asks_the_moderator_pins_and_everyone_sees_it(
    live_room: ServerProcess, open_page: OpenPage
) -> None:
    server = live_room
    moderator = open_as(open_page, server, "moderate", Role.MODERATOR, "Mo Derator")
    expect(moderator.locator("#pending-empty")).to_be_visible()
    asker = open_as(open_page, server, "watch", Role.ATTENDEE, "Ada Asker")
    expect(asker.locator("#qa-empty")).to_have_text("No questions yet. Be the first to ask.")

    counter = asker.locator("#ask-count")
    asker.locator("#ask-text").fill("x" * 501)
    expect(counter).to_have_text("1 character too many (at most 500)")
    asker.locator("#ask-send").click()
    expect(asker.locator("#ask-error")).to_contain_text("at most 500 characters")
    ask(asker, QUESTION)
    mine = card(asker, QUESTION)
    expect(mine.locator(".question-state")).to_have_text("Waiting for the moderator")
    expect(mine.locator(".question-author")).to_have_text("Ada Asker")
    expect(mine.get_by_role("button", name="Vote")).to_have_count(0)

    # The moderator hears of it and approves it with one key.
    pending = card(moderator.locator("#pending-list"), QUESTION)
    expect(pending.locator(".question-author")).to_have_text("Ada Asker")
    expect(moderator.locator("#announcer")).to_have_text(f"New question from Ada Asker: {QUESTION}")
    expect(moderator.locator("#pending-count")).to_have_text("1")
    approve = pending.get_by_role("button", name="Approve")
    approve.hover()
    assert contrast(approve) >= 4.5
    speakers_order = moderator.locator("#queue-order button[aria-pressed='true']")
    speakers_order.hover()
    assert contrast(speakers_order) >= 4.5
    pending.focus()
    moderator.keyboard.press("a")
    approved = card(moderator.locator("#approved-list"), QUESTION)
    expect(approved).to_be_visible()
    expect(moderator.locator("#pending-count")).to_have_text("0")
    expect(moderator.locator("#approved-count")).to_have_text("1")
    approved.get_by_role("button", name="Pin").click()
    expect(card(moderator.locator("#pinned-list"), QUESTION)).to_be_visible()
    expect(approved.locator(".question-state")).to_have_text("Being answered now")
    expect(mine.locator(".question-state")).to_have_text("Being answered now")
    shoot(moderator, "moderate-desktop")

    screen = open_as(open_page, server, "screen", Role.TECHNICIAN, "Tess")
    expect(screen.locator("#screen-text")).to_have_text(QUESTION)
    expect(screen.locator("#screen-author")).to_have_text("Ada Asker")
    expect(screen.locator("#item-title")).to_have_text("Welcoming Remarks")
    shoot(screen, "screen-pinned")

    voter = open_as(open_page, server, "watch", Role.ATTENDEE, "Vic Voter")
    theirs = card(voter, QUESTION)
    expect(theirs.locator(".question-votes")).to_have_text("No votes")
    vote = theirs.get_by_role("button", name="Vote")
    expect(vote).to_have_attribute("aria-pressed", "false")
    vote.click()
    expect(vote).to_have_attribute("aria-pressed", "true")
    vote.hover()  # where the pointer is after the click: "✓ Vote" must stay readable
    assert contrast(vote) >= 4.5
    expect(theirs.locator(".question-votes")).to_have_text("1 vote")
    expect(mine.locator(".question-votes")).to_have_text("1 vote")  # live, on the asker's page
    expect(approved.locator(".question-votes")).to_have_text("1 vote")
    vote.click()  # taken back
    expect(vote).to_have_attribute("aria-pressed", "false")
    expect(mine.locator(".question-votes")).to_have_text("No votes")
    vote.click()
    expect(mine.locator(".question-votes")).to_have_text("1 vote")
    shoot(voter, "watch-desktop")

    speaker = open_as(open_page, server, "speak", Role.SPEAKER, "Sam Speaker")
    queued = card(speaker.locator("#queue-list"), QUESTION)
    expect(queued.locator(".question-state")).to_have_text("Being answered now")
    expect(queued.locator(".question-votes")).to_have_text("1 vote")
    expect(queued.get_by_role("button")).to_have_count(0)  # read-only
    shoot(speaker, "speak-queue")

    # Answered: off the screen and out of the speaker's queue.
    moderator.locator("#pinned-list").get_by_role("button", name="Answered").click()
    expect(card(moderator.locator("#answered-list"), QUESTION)).to_be_visible()
    expect(moderator.locator("#answered-count")).to_have_text("1")
    expect(screen.locator("#screen-question")).to_be_hidden()
    expect(queued).to_have_count(0)
    expect(theirs.locator(".question-state")).to_have_text("Answered")
    shoot(screen, "screen-calm")


def test_attendees_withdraw_their_own_and_anonymous_means_no_name(
    live_room: ServerProcess, open_page: OpenPage
) -> None:
    server = live_room
    moderator = open_as(open_page, server, "moderate", Role.MODERATOR, "Mo")
    asker = open_as(open_page, server, "watch", Role.ATTENDEE, "Ada Asker")
    ask(asker, "Who pays for the shelters?", anonymous=True)
    pending = card(moderator.locator("#pending-list"), "Who pays for the shelters?")
    expect(pending.locator(".question-author")).to_have_text("Anonymous")
    expect(moderator.locator("#announcer")).to_have_text(
        "New anonymous question: Who pays for the shelters?"
    )

    card(asker, "Who pays").get_by_role("button", name="Withdraw").click()
    asker.get_by_role("dialog").get_by_role("button", name="Withdraw").click()
    expect(card(asker, "Who pays")).to_have_count(0)
    expect(pending).to_have_count(0)
    expect(moderator.locator("#pending-count")).to_have_text("0")

    ask(asker, "Is there a hotline?")
    asker.locator("#ask-text").fill("Is there a hotline?")
    asker.locator("#ask-send").click()
    expect(asker.locator("#ask-error")).to_have_text("You have just asked exactly this question.")


def test_a_question_written_as_markup_runs_nothing_anywhere(
    live_room: ServerProcess, open_page: OpenPage
) -> None:
    server = live_room
    moderator = open_as(open_page, server, "moderate", Role.MODERATOR, "Mo")
    asker = open_as(open_page, server, "watch", Role.ATTENDEE, "<b>Ada</b>")
    ask(asker, HOSTILE)
    pending = card(moderator.locator("#pending-list"), "Is this shown as text?")
    expect(pending.locator(".question-text")).to_have_text(HOSTILE)
    pending.get_by_role("button", name="Approve").click()
    card(moderator.locator("#approved-list"), "Is this shown as text?").get_by_role(
        "button", name="Pin"
    ).click()
    screen = open_as(open_page, server, "screen", Role.MODERATOR, "Mo on the screen")
    speaker = open_as(open_page, server, "speak", Role.SPEAKER, "Sam")
    other = open_as(open_page, server, "watch", Role.ATTENDEE, "Vic")

    expect(screen.locator("#screen-text")).to_have_text(HOSTILE)
    expect(screen.locator("#screen-author")).to_have_text("<b>Ada</b>")
    for page, where in (
        (asker, "#question-list"),
        (other, "#question-list"),
        (moderator, "#pinned-list"),
        (speaker, "#queue-list"),
    ):
        shown = card(page.locator(where), "Is this shown as text?")
        expect(shown.locator(".question-text")).to_have_text(HOSTILE)
        expect(shown.locator(".question-author")).to_have_text("<b>Ada</b>")
    for page in (asker, other, moderator, speaker, screen):
        found = page.evaluate(MARKUP)
        assert found["pwned"] is None, page.url
        assert found["images"] == 0, page.url
        assert all(src and src.startswith("/app/") for src in found["scripts"]), found
    shoot(screen, "screen-markup")


def test_the_pages_work_on_a_phone(live_room: ServerProcess, open_page: OpenPage) -> None:
    server = live_room
    asker = open_as(open_page, server, "watch", Role.ATTENDEE, "Ada", viewport=PHONE)
    moderator = open_as(open_page, server, "moderate", Role.MODERATOR, "Mo", viewport=PHONE)
    ask(asker, "Can the recording be shared with the NGOs?")
    ask(asker, "Will the slides be published?")
    pending = moderator.locator("#column-pending")
    expect(pending.locator("li.question")).to_have_count(2)
    expect(moderator.locator("#column-approved")).to_be_hidden()  # one column at a time
    first = card(pending, "Can the recording")
    first.get_by_role("button", name="Approve").click()
    expect(moderator.get_by_role("button", name="Approved 1")).to_be_visible()
    moderator.get_by_role("button", name="Approved 1").click()
    expect(moderator.locator("#column-approved")).to_be_visible()
    expect(pending).to_be_hidden()
    card(moderator.locator("#column-approved"), "Can the recording").get_by_role(
        "button", name="Edit"
    ).click()
    editor = moderator.locator(".question-edit")
    editor.fill("Can the recording be shared with partner NGOs?")
    editor.press("Enter")
    expect(
        card(moderator.locator("#approved-list"), "Can the recording be shared with partner")
    ).to_be_visible()
    expect(card(asker, "Can the recording be shared with partner")).to_be_visible()
    for page, name in ((asker, "watch-phone"), (moderator, "moderate-phone")):
        fits_the_width(page)
        shoot(page, name)

    # The keyboard reaches the question box, the checkbox, Ask, the order, then the votes.
    asker.locator("#ask-text").focus()
    order = []
    for _ in range(6):
        asker.keyboard.press("Tab")
        order.append(
            asker.evaluate("document.activeElement.id || document.activeElement.textContent.trim()")
        )
    assert order[:5] == ["ask-anonymous", "ask-send", "Most votes", "Newest", "Vote"], order


def test_the_organizer_exports_a_rooms_questions(
    live_room: ServerProcess, open_page: OpenPage
) -> None:
    server = live_room
    asker = open_as(open_page, server, "watch", Role.ATTENDEE, "Ada Asker")
    ask(asker, "=1+1 is not a formula here, is it?")
    organizer = open_page(f"{server.url}/organizer#token={server.token(Role.ORGANIZER, 'Olga')}")
    room = organizer.locator(f"#export-rooms [data-room='{ROOM}']")
    files = {}
    for kind in ("csv", "json"):
        name = f"Questions of “Welcoming Remarks” as {kind.upper()}"
        with organizer.expect_download() as download:
            room.get_by_role("button", name=name).click()
        files[kind] = Path(download.value.path()).read_text(encoding="utf-8-sig")
        expect(organizer.locator("#export-done")).to_have_text(
            f"Downloaded {download.value.suggested_filename}."
        )
    assert "=1+1 is not a formula here, is it?" in files["json"]
    # A spreadsheet would run a cell that starts with "=": the CSV escapes it.
    assert "'=1+1 is not a formula here" in files["csv"], files["csv"]


FIRST = "Who pays for the shelters once the pilot ends?"
SECOND = "Which countries have signed the protocol so far?"


def queue_texts(page: Page) -> Locator:
    return page.locator("#queue-list li.question .question-text")


def test_the_speakers_queue_follows_the_moderators_order(
    live_room: ServerProcess, open_page: OpenPage
) -> None:
    server = live_room
    moderator = open_as(open_page, server, "moderate", Role.MODERATOR, "Mo Derator")
    ada = open_as(open_page, server, "watch", Role.ATTENDEE, "Ada Asker")
    bea = open_as(open_page, server, "watch", Role.ATTENDEE, "Bea Asker")
    ask(ada, FIRST)
    ask(bea, SECOND)
    for text in (FIRST, SECOND):
        card(moderator.locator("#pending-list"), text).focus()
        moderator.keyboard.press("a")
        expect(card(moderator.locator("#approved-list"), text)).to_be_visible()
    card(ada, SECOND).get_by_role("button", name="Vote").click()
    speaker = open_as(open_page, server, "speak", Role.SPEAKER, "Sam Speaker")
    expect(queue_texts(speaker)).to_have_text([SECOND, FIRST])  # most votes first, the default
    votes_first = moderator.get_by_role("button", name="Most votes first")
    expect(votes_first).to_have_attribute("aria-pressed", "true")

    oldest_first = moderator.get_by_role("button", name="Oldest first")
    oldest_first.focus()
    moderator.keyboard.press("Enter")
    expect(oldest_first).to_have_attribute("aria-pressed", "true")
    expect(votes_first).to_have_attribute("aria-pressed", "false")
    expect(queue_texts(speaker)).to_have_text([FIRST, SECOND])
    expect(moderator.locator("#approved-list .question-text")).to_have_text([FIRST, SECOND])
    # The attendee's own sort is theirs: still most votes first.
    expect(ada.locator("#question-list li.question .question-text")).to_have_text([SECOND, FIRST])

    later = open_as(open_page, server, "speak", Role.SPEAKER, "Lou Later")
    expect(queue_texts(later)).to_have_text([FIRST, SECOND])  # the choice comes with the list
    votes_first.click()
    expect(queue_texts(speaker)).to_have_text([SECOND, FIRST])
