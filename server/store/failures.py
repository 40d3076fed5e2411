"""Which failures of the database mean the store is unavailable (a full disk, a database server
stopped or out of reach) rather than a bug, and the one place they become ``StoreUnavailable``.

Every statement and every connection goes through the engine, so its hooks see every failure
once (``handle_error`` the driver's errors, ``do_connect`` a connection the network refused):
the HTTP and Socket.IO adapters then answer ``store_unavailable`` as they answer any refusal,
and no handler catches database errors of its own.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Dialect, ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine

from server.errors import StoreUnavailable

# SQLite's primary result codes for a store that cannot work just now: busy or locked past the
# busy timeout, out of memory, read-only, an I/O error, the disk full, the file unopenable.
SQLITE_UNAVAILABLE = {
    sqlite3.SQLITE_BUSY,
    sqlite3.SQLITE_LOCKED,
    sqlite3.SQLITE_NOMEM,
    sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_CANTOPEN,
}
# PostgreSQL's SQLSTATE classes for the same: connection exception, insufficient resources
# (the disk full among them), operator intervention (a shutdown), system error (I/O).
POSTGRES_UNAVAILABLE = ("08", "53", "57", "58")
MAX_REASON = 200


def translate_failures(engine: AsyncEngine, failed: Callable[[str], None]) -> None:
    """Raise ``StoreUnavailable`` in place of every failure of ``engine`` that means the store
    is unavailable, telling ``failed`` why first."""

    def translate(context: ExceptionContext) -> None:
        # A failed pre-ping is the pool's to handle: it reconnects, and that can fail here too.
        if context.is_pre_ping:
            return
        # A task cancelled mid-statement (a stopping server ends its background tasks) is not
        # a failing store. SQLAlchemy counts it as a disconnect; turned into StoreUnavailable it
        # would no longer be a cancellation, and a loop that rides out StoreUnavailable would
        # never stop.
        if not isinstance(context.original_exception, Exception):
            return
        reason = unavailable_reason(context.original_exception, context.is_disconnect)
        if reason is not None:
            failed(reason)
            raise StoreUnavailable(reason)

    def connect(dialect: Dialect, _record: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        # A refused or unreachable server fails in the socket, before the driver has an error
        # of its own to raise, and so before ``handle_error`` is called.
        try:
            return dialect.connect(*args, **kwargs)
        except OSError as error:
            why = os.strerror(error.errno) if error.errno else str(error) or type(error).__name__
            reason = f"cannot connect to the database: {why}"[:MAX_REASON]
            failed(reason)
            raise StoreUnavailable(reason) from error

    event.listen(engine.sync_engine, "handle_error", translate)
    event.listen(engine.sync_engine, "do_connect", connect)


def unavailable_reason(error: BaseException, is_disconnect: bool = False) -> str | None:
    """What failed, in the database driver's words (never the statement or its parameters,
    which may hold e-mail addresses), or ``None`` for a failure that is a bug."""
    sqlite_code = getattr(error, "sqlite_errorcode", None)
    sqlstate = getattr(error, "sqlstate", None)
    unavailable = (
        is_disconnect
        or (isinstance(sqlite_code, int) and sqlite_code & 0xFF in SQLITE_UNAVAILABLE)
        or (isinstance(sqlstate, str) and sqlstate.startswith(POSTGRES_UNAVAILABLE))
    )
    return (str(error) or type(error).__name__)[:MAX_REASON] if unavailable else None
