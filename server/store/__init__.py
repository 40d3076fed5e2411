"""Durable state behind one interface, ``Store``: SQLite under ``--data`` by default, or
PostgreSQL by a URL in the config; one code path for both, with Alembic migrations."""

from server.store.database import DATABASE_FILE, Store, StoreError
from server.store.records import SCHEDULE, Actor, AuditEntry, RoomChange, RoomRecords

__all__ = [
    "DATABASE_FILE",
    "SCHEDULE",
    "Actor",
    "AuditEntry",
    "RoomChange",
    "RoomRecords",
    "Store",
    "StoreError",
]
