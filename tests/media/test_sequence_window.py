"""Which outgoing sequence numbers may still go out (server/media/sequence_window.py)."""

from __future__ import annotations

import pytest

from server.media.sequence_window import WINDOW, Placement, SequenceWindow

NEWEST, LATE, REPEAT, STALE = Placement.NEWEST, Placement.LATE, Placement.REPEAT, Placement.STALE


def placed(window: SequenceWindow, sequences: list[int]) -> list[Placement]:
    return [window.place(sequence % 65536) for sequence in sequences]


@pytest.mark.parametrize("start", [0, 1000, 65535 - 5, 65535])
def test_each_number_goes_out_once(start: int) -> None:
    window = SequenceWindow(start)
    assert placed(window, [start + 1, start + 2, start + 4, start + 3, start + 3, start + 4]) == [
        NEWEST,
        NEWEST,
        NEWEST,
        LATE,
        REPEAT,
        REPEAT,
    ]
    assert window.newest == (start + 4) % 65536
    assert placed(window, [start, start - 1]) == [STALE, STALE]  # at or before the start


def test_nothing_at_or_before_the_fence_goes_out() -> None:
    window = SequenceWindow(65530)
    placed(window, [65531, 65533, 65535, 2])  # 65532, 65534, 0 and 1 never went out
    window.fence()
    assert placed(window, [65532, 0, 1, 2, 3, 5, 4]) == [
        STALE,
        STALE,
        STALE,
        STALE,
        NEWEST,
        NEWEST,
        LATE,
    ]


def test_the_window_vouches_for_its_last_numbers_only() -> None:
    window = SequenceWindow(0)
    placed(window, [n for n in range(1, 3000) if n not in (2999 - WINDOW, 2999 - WINDOW + 1)])
    assert placed(window, [2999 - WINDOW, 2999 - WINDOW + 1, 2999 - WINDOW + 2]) == [
        STALE,  # never went out, but too old to tell
        LATE,  # the oldest it knows of
        REPEAT,
    ]


def test_a_jump_ahead_forgets_what_it_passed() -> None:
    window = SequenceWindow(100)
    assert placed(window, [101, 101 + WINDOW + 5, 101 + WINDOW + 4, 101]) == [
        NEWEST,
        NEWEST,
        LATE,
        STALE,
    ]


def test_half_the_space_ahead_is_taken_as_behind() -> None:
    """As libsrtp guesses the rollover: the nearer way round, and behind when it is a tie."""
    window = SequenceWindow(10)
    assert placed(window, [10 + 32767]) == [NEWEST]
    assert placed(window, [10 + 32767 + 32768]) == [STALE]  # half the space either way
    assert placed(window, [10 + 32767 + 32767]) == [NEWEST]
