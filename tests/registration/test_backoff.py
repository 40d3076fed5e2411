from __future__ import annotations

from datetime import timedelta

import pytest

from server.registration.backoff import Backoff

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)


def test_the_waits_double_from_30_seconds_to_30_minutes() -> None:
    assert Backoff().schedule() == [
        30 * SECOND,
        MINUTE,
        2 * MINUTE,
        4 * MINUTE,
        8 * MINUTE,
        16 * MINUTE,
        *[30 * MINUTE] * 5,
    ]


def test_a_letter_is_given_up_after_its_twelfth_try_about_three_hours_on() -> None:
    backoff = Backoff()
    assert backoff.wait_after(11, 0.0) == 30 * MINUTE
    assert backoff.wait_after(12, 0.0) is None
    assert backoff.wait_after(13, 0.0) is None
    assert sum(backoff.schedule(), timedelta(0)) == timedelta(hours=3, minutes=1, seconds=30)


@pytest.mark.parametrize("tries", [1, 2, 6, 7, 11])
def test_jitter_only_shortens_a_wait_and_by_at_most_a_fifth(tries: int) -> None:
    backoff = Backoff()
    full = backoff.schedule()[tries - 1]
    waits = [backoff.wait_after(tries, spread / 100) for spread in range(100)]
    assert waits[0] == full
    assert all(wait is not None and full * 0.8 < wait <= full for wait in waits)
    assert len(set(waits)) == 100  # letters that failed together come back apart


def test_a_long_run_of_failures_stays_at_the_longest_wait() -> None:
    backoff = Backoff(tries=10_000)
    assert backoff.wait_after(9_999, 0.0) == 30 * MINUTE


@pytest.mark.parametrize(
    "settings",
    [
        {"first": timedelta(0)},
        {"first": 2 * MINUTE, "longest": MINUTE},
        {"tries": 0},
        {"jitter": 1.0},
        {"jitter": -0.1},
    ],
)
def test_a_backoff_that_makes_no_sense_is_refused(settings: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Backoff(**settings)  # type: ignore[arg-type]
