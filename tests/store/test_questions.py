"""Questions and votes in the store, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from server.errors import Conflict
from server.questions.model import Question, QuestionStatus, new_question_id
from server.questions.service import VOTES_PER_BATCH
from server.store import Store
from server.store.models import VoteRow
from server.store.questions import NewQuestion, Vote, Voted

AT = datetime(2021, 6, 14, 12, 0, tzinfo=UTC)
RUN = "event"


def allow(_question: Question) -> None:
    pass


def never_repeats(_latest: Question) -> None:
    pass


async def add(store: Store, one: Question, run: str = RUN) -> None:
    [added] = await store.questions.add_new(run, [NewQuestion(one, never_repeats)])
    assert added == one


async def vote(
    store: Store, question_id: str, voter: str, up: bool, check: Callable[[Question], None]
) -> Voted:
    """One vote, in a transaction of its own."""
    [outcome] = await store.questions.vote(RUN, [Vote(question_id, voter, up, check)])
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def question(status: QuestionStatus = QuestionStatus.APPROVED, **fields: object) -> Question:
    base = Question(
        id=new_question_id(),
        room="welcome",
        text="Why?",
        status=status,
        created_at=AT,
        author="Ann",
        asker="u_ann",
    )
    return replace(base, **fields)  # type: ignore[arg-type]


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    store = Store.at(store_url)
    await store.prepare()
    yield store
    await store.close()


async def test_questions_round_trip_by_run_and_room(store: Store) -> None:
    first = question(original_text="Why so?", answered_at=AT + timedelta(minutes=3))
    second = question(room="keynote", created_at=AT + timedelta(minutes=1))
    third = question(created_at=AT + timedelta(minutes=2), author=None)
    for one in (first, second, third):
        await add(store, one)
    rehearsed = question()
    await add(store, rehearsed, "rehearsal:a")
    assert await store.questions.in_room(RUN, "welcome") == [first, third]
    many = await store.questions.many(RUN, {first.id, second.id, rehearsed.id, "q_none"})
    assert sorted(many, key=lambda one: one.id) == sorted([first, second], key=lambda one: one.id)
    assert await store.questions.get(RUN, second.id) == second
    assert await store.questions.get("rehearsal:a", second.id) is None
    assert (await store.questions.get(RUN, first.id)).created_at.tzinfo is UTC  # type: ignore[union-attr]


async def test_counts_by_room_and_status_with_their_votes_for_one_run(store: Store) -> None:
    assert await store.questions.counts(RUN) == []
    pending, approved, answered = (
        question(QuestionStatus.PENDING),
        question(),
        question(QuestionStatus.ANSWERED),
    )
    for one in (pending, approved, answered, question(room="keynote")):
        await add(store, one)
    await add(store, question(), "rehearsal:a")
    for voter in ("u_1", "u_2"):
        await vote(store, approved.id, voter, True, allow)
    await vote(store, answered.id, "u_1", True, allow)
    counts = {
        (count.room, count.status): (count.questions, count.votes)
        for count in await store.questions.counts(RUN)
    }
    assert counts == {
        ("welcome", QuestionStatus.PENDING): (1, 0),
        ("welcome", QuestionStatus.APPROVED): (1, 2),
        ("welcome", QuestionStatus.ANSWERED): (1, 1),
        ("keynote", QuestionStatus.APPROVED): (1, 0),
    }


async def test_200_votes_at_once_count_200(store: Store) -> None:
    asked = question()
    await add(store, asked)
    results = await asyncio.gather(
        *(vote(store, asked.id, f"u_{n}", True, allow) for n in range(200))
    )
    assert all(result is not None and result[1] for result in results)
    assert (await store.questions.get(RUN, asked.id)).votes == 200  # type: ignore[union-attr]
    assert max(result[0].votes for result in results if result) == 200


async def test_one_voter_at_once_many_times_counts_once_and_takes_back(store: Store) -> None:
    asked = question()
    await add(store, asked)
    results = await asyncio.gather(
        *(vote(store, asked.id, "u_bob", True, allow) for _ in range(20))
    )
    assert [changed for _, changed in results if changed] == [True]  # type: ignore[misc]
    assert (await store.questions.get(RUN, asked.id)).votes == 1  # type: ignore[union-attr]
    assert await store.questions.voted(RUN, "u_bob") == {asked.id: "welcome"}
    downs = await asyncio.gather(*(vote(store, asked.id, "u_bob", False, allow) for _ in range(5)))
    assert sum(changed for _, changed in downs) == 1  # type: ignore[misc]
    assert (await store.questions.get(RUN, asked.id)).votes == 0  # type: ignore[union-attr]
    assert await store.questions.voted(RUN, "u_bob") == {}


async def test_a_refused_vote_changes_nothing(store: Store) -> None:
    asked = question()
    await add(store, asked)

    def refuse(_question: Question) -> None:
        raise Conflict("no")

    with pytest.raises(Conflict):
        await vote(store, asked.id, "u_bob", True, refuse)
    assert (await store.questions.get(RUN, asked.id)).votes == 0  # type: ignore[union-attr]
    assert await vote(store, "q_nothing", "u_bob", True, allow) is None


async def test_one_pinned_question_per_room(store: Store) -> None:
    first, second, elsewhere = question(), question(), question(room="keynote")
    for one in (first, second, elsewhere):
        await add(store, one)
    await store.questions.pin(RUN, elsewhere.id, True, allow)
    changes = await store.questions.pin(RUN, first.id, True, allow)
    assert [(after.id, after.pinned) for _, after in changes] == [(first.id, True)]
    changes = await store.questions.pin(RUN, second.id, True, allow)
    assert [(after.id, after.pinned) for _, after in changes] == [
        (second.id, True),
        (first.id, False),
    ]
    pinned = [q.id for q in await store.questions.in_room(RUN, "welcome") if q.pinned]
    assert pinned == [second.id]
    assert (await store.questions.get(RUN, elsewhere.id)).pinned  # type: ignore[union-attr]


async def test_pins_at_once_leave_one_pinned(store: Store) -> None:
    asked = [question() for _ in range(6)]
    for one in asked:
        await add(store, one)
    results = await asyncio.gather(
        *(store.questions.pin(RUN, one.id, True, allow) for one in asked), return_exceptions=True
    )
    assert all(isinstance(result, list | Conflict) for result in results), results
    pinned = [q.id for q in await store.questions.in_room(RUN, "welcome") if q.pinned]
    assert len(pinned) == 1


async def test_a_change_is_decided_on_the_row_as_it_is(store: Store) -> None:
    asked = question(QuestionStatus.PENDING)
    await add(store, asked)
    change = await store.questions.change(
        RUN, asked.id, allow, lambda q: replace(q, status=QuestionStatus.APPROVED, text="Why, now?")
    )
    assert change is not None
    before, after = change
    assert (before.status, after.status, after.text) == (
        QuestionStatus.PENDING,
        QuestionStatus.APPROVED,
        "Why, now?",
    )
    assert await store.questions.get(RUN, asked.id) == after
    assert await store.questions.change(RUN, "q_nothing", allow, lambda q: q) is None


async def test_deleting_a_question_takes_its_votes(store: Store) -> None:
    asked = question()
    await add(store, asked)
    await vote(store, asked.id, "u_bob", True, allow)
    assert await store.questions.delete(RUN, asked.id, allow) == replace(asked, votes=1)
    assert await store.questions.get(RUN, asked.id) is None
    assert await store.questions.voted(RUN, "u_bob") == {}
    assert await store.questions.delete(RUN, asked.id, allow) is None


async def test_forgetting_an_asker_keeps_questions_and_counts(store: Store) -> None:
    mine, theirs = question(), question(asker="u_bob", author="Bob")
    for one in (mine, theirs):
        await add(store, one)
    for voter in ("u_ann", "u_bob"):
        await vote(store, theirs.id, voter, True, allow)
    await vote(store, mine.id, "u_ann", True, allow)
    changes = await store.questions.forget_asker("u_ann")
    assert [(run, after.id, after.author, after.asker) for run, (_, after) in changes] == [
        (RUN, mine.id, None, None)
    ]
    kept = {q.id: q for q in await store.questions.in_room(RUN, "welcome")}
    assert (kept[mine.id].text, kept[mine.id].votes, kept[mine.id].author) == ("Why?", 1, None)
    assert (kept[theirs.id].votes, kept[theirs.id].author) == (2, "Bob")
    assert await store.questions.voted(RUN, "u_ann") == {}
    async with store.engine.connect() as connection:
        voters = (await connection.execute(select(VoteRow.voter))).scalars().all()
        assert "u_ann" not in voters and len(set(voters)) == 3
        count = await connection.scalar(select(func.count()).select_from(VoteRow))
        assert count == 3


async def test_a_batch_of_votes_is_counted_vote_by_vote(store: Store) -> None:
    """One transaction, and each vote as if alone: a voter's vote, its taking back and their
    vote again stay in that order; a second vote changes nothing; a refused vote and a vote
    for no question get their own outcome and change nothing."""
    asked, other, pending = question(), question(), question(QuestionStatus.PENDING)
    for one in (asked, other, pending):
        await add(store, one)

    def approved_only(now: Question) -> None:
        if now.status is not QuestionStatus.APPROVED:
            raise Conflict("not yet")

    votes = [
        *(Vote(asked.id, f"u_{n}", True, allow) for n in range(300)),
        Vote(other.id, "u_bob", True, allow),
        Vote(other.id, "u_bob", False, allow),
        Vote(other.id, "u_bob", True, allow),
        Vote(asked.id, "u_0", True, allow),
        Vote(pending.id, "u_bob", True, approved_only),
        Vote("q_nothing", "u_bob", True, allow),
    ]
    outcomes = await store.questions.vote(RUN, votes)
    assert len(outcomes) == len(votes)
    assert all(outcome == (replace(asked, votes=300), True) for outcome in outcomes[:300])
    assert [o[1] for o in outcomes[300:303]] == [True, True, True]  # type: ignore[index]
    assert outcomes[303] == (replace(asked, votes=300), False)
    assert isinstance(outcomes[304], Conflict) and outcomes[305] is None
    counts = {q.id: q.votes for q in await store.questions.in_room(RUN, "welcome")}
    assert counts == {asked.id: 300, other.id: 1, pending.id: 0}
    assert await store.questions.voted(RUN, "u_bob") == {other.id: "welcome"}


async def test_the_largest_batch_the_service_writes_counts_up_and_back(store: Store) -> None:
    asked = question()
    await add(store, asked)
    voters = [f"u_{n}" for n in range(VOTES_PER_BATCH)]
    up = await store.questions.vote(RUN, [Vote(asked.id, v, True, allow) for v in voters])
    assert up[-1] == (replace(asked, votes=VOTES_PER_BATCH), True)
    half = voters[: VOTES_PER_BATCH // 2]
    back = await store.questions.vote(RUN, [Vote(asked.id, v, False, allow) for v in half])
    assert all(changed for _, changed in back)  # type: ignore[misc]
    assert (await store.questions.get(RUN, asked.id)).votes == VOTES_PER_BATCH // 2  # type: ignore[union-attr]


async def test_batches_at_once_stay_exact(store: Store) -> None:
    """Batches written beside each other (another process's, on PostgreSQL) count every vote
    once: the unique key decides, not a count read and written back."""
    asked = question()
    await add(store, asked)
    batches = [
        [Vote(asked.id, f"u_{n % 150}", True, allow) for n in range(k, k + 50)]
        for k in range(0, 300, 50)
    ]
    results = await asyncio.gather(*(store.questions.vote(RUN, batch) for batch in batches))
    changed = sum(
        1
        for outcomes in results
        for o in outcomes
        if o is not None and not isinstance(o, Exception) and o[1]
    )
    assert changed == 150
    assert (await store.questions.get(RUN, asked.id)).votes == 150  # type: ignore[union-attr]


async def test_a_batch_of_questions_refuses_each_repeat(store: Store) -> None:
    """A question repeats its asker's latest in the room, stored or earlier in the batch;
    another asker's, or another room's, is no repeat."""
    stored = question(text="Why?")
    await add(store, stored)

    def repeats_of(text: str) -> Callable[[Question], None]:
        def repeats(latest: Question) -> None:
            if latest.text == text:
                raise Conflict("again")

        return repeats

    asked = [
        question(text="Why?"),  # Ann's latest
        question(text="How?"),
        question(text="How?"),  # Ann's latest is now this batch's "How?"
        question(text="How?", asker="u_bob"),
        question(text="How?", room="keynote"),
    ]
    outcomes = await store.questions.add_new(
        RUN, [NewQuestion(q, repeats_of(q.text)) for q in asked]
    )
    assert [isinstance(o, Conflict) for o in outcomes] == [True, False, True, False, False]
    stored_now = {
        q.id for room in ("welcome", "keynote") for q in await store.questions.in_room(RUN, room)
    }
    assert stored_now == {stored.id, asked[1].id, asked[3].id, asked[4].id}


async def test_a_repeat_is_of_the_askers_newest_stored_question_only(store: Store) -> None:
    """Of an asker's many stored questions only the newest counts, whoever asked since."""
    for minutes, text in enumerate(("Why?", "What?", "When?")):
        await add(store, question(text=text, created_at=AT + timedelta(minutes=minutes)))
    await add(store, question(text="Who?", asker="u_bob", created_at=AT + timedelta(minutes=5)))
    seen: list[str] = []

    def remember(latest: Question) -> None:
        seen.append(latest.text)

    outcomes = await store.questions.add_new(
        RUN, [NewQuestion(question(text="How?", created_at=AT + timedelta(minutes=9)), remember)]
    )
    assert isinstance(outcomes[0], Question)
    assert seen == ["When?"]
