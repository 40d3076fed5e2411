"""The Socket.IO libraries' log, quietened: one line, no traceback, at most one per period."""

from __future__ import annotations

import logging

import pytest

from server.rooms.socket_log import EVERY_SECONDS, SocketLog


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_one_line_per_period_without_traceback_or_arguments(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    log = SocketLog("test.socket", clock)
    with caplog.at_level(logging.DEBUG, "test.socket"):
        try:
            raise ValueError("the client's secret words")
        except ValueError:
            log.exception("message async handler error")
        for _ in range(99):
            log.error("%s is not an accepted origin.", "http://evil.example")
        log.info("received event %s", "notice")  # chatter: never logged
        clock.now += EVERY_SECONDS
        log.warning("%s is not connected to namespace %s", "sid", "/")
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.WARNING, "Socket.IO: 'message async handler error': ValueError"),
        (
            logging.WARNING,
            "Socket.IO: '%s is not connected to namespace %s' "
            "(99 more left out since the last line)",
        ),
    ]
    assert all(record.exc_info is None for record in caplog.records)


def test_chatter_is_off_and_warnings_on_for_the_libraries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = SocketLog("test.socket.levels")
    with caplog.at_level(logging.DEBUG, logger="test.socket.levels"):
        log.info("%s: Sending packet %s", "sid", "MESSAGE")
        log.debug("emitting event %s", "question")
        log.log(logging.INFO, "received event %s", "vote")
    assert caplog.records == []
    assert not log.isEnabledFor(logging.INFO)
    assert log.isEnabledFor(logging.WARNING)
    assert log.isEnabledFor(logging.ERROR)
