"""The question pages' pure logic (client_web/questions.js, questionwords.js) and the shared
question card (questioncard.js), run in headless Chromium as the pages load them: what a
question from the wire becomes, how the book follows the server's events, who sees which
questions in what order, what the pages say, and that a question's text is only ever text."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HOSTILE = '<script>window.plenaryPwned = 1</script><img src=x onerror="window.plenaryPwned = 2">'


def question(qid: str, status: str = "approved", **fields: Any) -> dict[str, Any]:
    return {
        "id": qid,
        "room": "keynote",
        "text": f"Question {qid}?",
        "status": status,
        "votes": 0,
        "voted": False,
        "pinned": False,
        "author": "Ana",
        "mine": False,
        "created_at": "2021-06-14T14:05:00+02:00",
        **fields,
    }


def at(minute: int) -> str:
    return f"2021-06-14T14:{minute:02d}:00+02:00"


@pytest.fixture(scope="module")
def page(module_page: Page) -> Page:
    return module_page


def ids(found: list[dict[str, Any]]) -> list[str]:
    return [entry["id"] for entry in found]


def run(page: Page, script: str, *args: Any) -> Any:
    return page.evaluate(
        f"""async (args) => {{
              const q = await import('/app/questions.js');
              const w = await import('/app/questionwords.js');
              {script}
            }}""",
        list(args),
    )


def test_a_question_from_the_wire_is_checked_field_by_field(page: Page) -> None:
    parsed = run(
        page,
        "return args[0].map(q.parseQuestion);",
        [
            question("a", votes=3, voted=True, pinned=True, mine=True),
            question("b", votes=-2, author="  ", created_at="not a time", text=7),
            {"id": "c", "room": "keynote", "status": "withdrawn"},
            {"id": "", "status": "approved"},
            {"id": "d", "status": "archived"},
            None,
            "question",
        ],
    )
    assert parsed[0] == {
        "id": "a",
        "room": "keynote",
        "text": "Question a?",
        "status": "approved",
        "votes": 3,
        "voted": True,
        "pinned": True,
        "author": "Ana",
        "mine": True,
        "createdAt": 1623672300000,
    }
    assert parsed[1]["votes"] == 0 and parsed[1]["author"] is None
    assert parsed[1]["createdAt"] == 0 and parsed[1]["text"] == ""
    assert parsed[2] == {"id": "c", "room": "keynote", "status": "withdrawn"}
    assert parsed[3:] == [None, None, None, None]


def test_the_book_follows_the_list_and_the_events(page: Page) -> None:
    steps = run(
        page,
        """
        const book = new q.QuestionBook();
        const seen = (label) => [label, book.all().map((x) => [x.id, x.status, x.votes, x.pinned])
                                   .sort()];
        const out = [];
        out.push(book.load(args[0]));
        out.push(book.apply(args[1]).change);            // a new one
        out.push(book.apply(args[2]).change);            // its votes change
        out.push(book.apply(args[3]).change);            // b pinned: a's pin goes
        out.push(seen('pinned'));
        out.push(book.apply(args[4]).change);            // withdrawn
        out.push(book.apply(args[4]));                   // again: nothing to remove
        out.push(book.apply({id: 'x', status: 'nonsense'}));
        out.push(seen('end'));
        return out;
        """,
        [
            question("a", pinned=True),
            question("b"),
            {"id": "withdrawn-first", "status": "withdrawn"},
        ],
        question("c", "pending", mine=True),
        question("c", "pending", mine=True, votes=2),
        question("b", pinned=True),
        {"id": "c", "room": "keynote", "status": "withdrawn"},
    )
    assert steps == [
        2,
        "added",
        "changed",
        "changed",
        [
            "pinned",
            [["a", "approved", 0, False], ["b", "approved", 0, True], ["c", "pending", 2, False]],
        ],
        "removed",
        None,
        None,
        ["end", [["a", "approved", 0, False], ["b", "approved", 0, True]]],
    ]


def test_attendees_see_the_pinned_first_then_open_ones_sorted_then_answered(page: Page) -> None:
    questions = [
        question("old-popular", votes=5, created_at=at(1)),
        question("new-quiet", votes=1, created_at=at(9)),
        question("tie-later", votes=5, created_at=at(4)),
        question("mine-waiting", "pending", mine=True, created_at=at(10)),
        question("answered", "answered", votes=9, created_at=at(2)),
        question("pinned", votes=0, pinned=True, created_at=at(3)),
        question("mine-dismissed", "dismissed", mine=True, created_at=at(5)),
        question("others-pending", "pending", created_at=at(6)),
    ]
    orders = run(
        page,
        """
        const list = args[0].map(q.parseQuestion);
        return [q.attendeeList(list, 'votes'), q.attendeeList(list, 'time'),
                q.attendeeList(list)].map((found) => found.map((x) => x.id));
        """,
        questions,
    )
    assert orders[0] == [
        "pinned",
        "old-popular",
        "tie-later",
        "new-quiet",
        "mine-waiting",
        "answered",
        "mine-dismissed",
    ]
    assert orders[1] == [
        "pinned",
        "mine-waiting",
        "new-quiet",
        "tie-later",
        "old-popular",
        "answered",
        "mine-dismissed",
    ]
    assert orders[2] == orders[0]


def test_the_speaker_queue_and_the_moderator_columns(page: Page) -> None:
    questions = [
        question("p1", "pending", created_at=at(8)),
        question("p2", "pending", created_at=at(2)),
        question("a1", votes=2, created_at=at(1)),
        question("a2", votes=7, created_at=at(3)),
        question("pin", votes=0, pinned=True, created_at=at(4)),
        question("done1", "answered", created_at=at(5)),
        question("done2", "answered", created_at=at(6)),
        question("gone", "dismissed", created_at=at(7)),
    ]
    found = run(
        page,
        """
        const list = args[0].map(q.parseQuestion);
        const columns = q.moderatorColumns(list);
        const names = (xs) => xs.map((x) => x.id);
        return {
          queue: names(q.speakerQueue(list)),
          pending: names(columns.pending), approved: names(columns.approved),
          answered: names(columns.answered), dismissed: names(columns.dismissed),
          pinned: columns.pinned.id,
          none: q.pinnedQuestion(list.filter((x) => !x.pinned)),
          dismissedPin: q.pinnedQuestion([{...list[7], pinned: true}]),
        };
        """,
        questions,
    )
    assert found == {
        "queue": ["pin", "a2", "a1"],
        "pending": ["p2", "p1"],
        "approved": ["pin", "a2", "a1"],
        "answered": ["done2", "done1"],
        "dismissed": ["gone"],
        "pinned": "pin",
        "none": None,
        "dismissedPin": None,
    }


def test_what_the_question_pages_say(page: Page) -> None:
    words = run(
        page,
        """
        const [pending, approved, answered, dismissed, pinned, anonymous] =
          args[0].map(q.parseQuestion);
        const labels = (x) => w.moderateActions(x).map((a) => `${a.label}:${a.action}:${a.key}`);
        return {
          lengths: ['', '   ', 'Why?', ' 😀😀 ', 'a\\nb', 'é'.repeat(500)].map(w.questionLength),
          askable: q.askableText('One\\r\\nline\\tonly\\u2028please'),
          counters: [w.counterWords(0), w.counterWords(500), w.counterWords(501),
                     w.counterWords(512)],
          authors: [w.authorWords(approved), w.authorWords(anonymous)],
          votes: [0, 1, 12].map(w.votesWords),
          audience: [pending, approved, answered, dismissed, pinned]
            .map((x) => w.stateWords(x, {audience: true})),
          moderator: [pending, approved, answered, dismissed, pinned].map((x) => w.stateWords(x)),
          refusals: [{error: 'room_closed'}, {error: 'too_many_requests'}, {error: 'duplicate'},
                     {error: 'invalid_input', message: 'A question is at most 500 characters.'},
                     {error: 'weird'}, null].map(w.refusalWords),
          arrivals: [w.arrivalWords(approved), w.arrivalWords(anonymous)],
          actions: [pending, approved, answered, dismissed, pinned].map(labels),
        };
        """,
        [
            question("p", "pending"),
            question("a"),
            question("d", "answered"),
            question("x", "dismissed"),
            question("pin", pinned=True),
            question("anon", author=None, text="Who pays?"),
        ],
    )
    assert words["lengths"] == [0, 0, 4, 2, 3, 500]
    assert words["askable"] == "One line only please"
    assert words["counters"] == [
        {"text": "0 of 500 characters", "over": False},
        {"text": "500 of 500 characters", "over": False},
        {"text": "1 character too many (at most 500)", "over": True},
        {"text": "12 characters too many (at most 500)", "over": True},
    ]
    assert words["authors"] == ["Ana", "Anonymous"]
    assert words["votes"] == ["No votes", "1 vote", "12 votes"]
    assert words["audience"] == [
        "Waiting for the moderator",
        "",
        "Answered",
        "Not taken up by the moderator",
        "Being answered now",
    ]
    assert words["moderator"] == ["New", "", "Answered", "Dismissed", "Being answered now"]
    assert words["refusals"] == [
        "Questions are closed for this item.",
        "You have asked several questions in a short time. "
        "Please wait a minute before asking again.",
        "You have just asked exactly this question.",
        "A question is at most 500 characters.",
        "That did not work. Please try again.",
        "That did not work. Please try again.",
    ]
    assert words["arrivals"] == [
        "New question from Ana: Question a?",
        "New anonymous question: Who pays?",
    ]
    assert words["actions"] == [
        ["Approve:approve:a", "Dismiss:dismiss:d", "Edit:edit:e"],
        ["Pin:pin:p", "Answered:answer:m", "Dismiss:dismiss:d", "Edit:edit:e"],
        ["Back to the queue:approve:a"],
        ["Restore:approve:a"],
        ["Unpin:unpin:p", "Answered:answer:m", "Dismiss:dismiss:d", "Edit:edit:e"],
    ]


def test_a_card_shows_markup_as_text_and_keeps_focus_while_it_changes(page: Page) -> None:
    found = page.evaluate(
        """async ([hostile]) => {
             const { QuestionCard } = await import('/app/questioncard.js');
             const { parseQuestion } = await import('/app/questions.js');
             const { placeChildren } = await import('/app/dom.js');
             const list = document.createElement('ol');
             document.body.append(list);
             const body = {id: 'h', room: 'keynote', text: hostile, status: 'approved', votes: 1,
                           voted: false, pinned: false, author: hostile, mine: false,
                           created_at: '2021-06-14T14:05:00+02:00'};
             const votes = [];
             const actions = (x) => [{id: 'vote', label: 'Vote', pressed: x.voted,
                                      run: (y) => votes.push(y.id)}];
             const card = new QuestionCard(parseQuestion(body), {actions});
             const other = new QuestionCard(parseQuestion({...body, id: 'o', text: 'Other?'}),
                                            {actions});
             placeChildren(list, [card.root, other.root]);
             const button = card.button('vote');
             button.focus();
             button.click();
             card.update(parseQuestion({...body, votes: 2, voted: true}));
             placeChildren(list, [other.root, card.root]);  // it moved up the list
             await new Promise((resolve) => setTimeout(resolve, 50));
             return {
               text: card.root.querySelector('.question-text').textContent,
               author: card.root.querySelector('.question-author').textContent,
               elements: [...card.root.querySelectorAll('*')].map((node) => node.tagName),
               pwned: window.plenaryPwned ?? null,
               focused: document.activeElement === button,
               pressed: button.getAttribute('aria-pressed'),
               votes: card.root.querySelector('.question-votes').textContent,
               order: [...list.children].map((node) => node.dataset.id),
               clicked: votes,
             };
           }""",
        [HOSTILE],
    )
    assert found["text"] == HOSTILE and found["author"] == HOSTILE
    assert "SCRIPT" not in found["elements"] and "IMG" not in found["elements"]
    assert found["pwned"] is None
    assert found["focused"] is True and found["pressed"] == "true"
    assert found["votes"] == "2 votes"
    assert found["order"] == ["o", "h"]
    assert found["clicked"] == ["h"]
