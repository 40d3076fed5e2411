"""The engine, its sessions and the schema's migrations: ``Store`` is opened in one place
(the app factory, or a command) and hands each kind of record its own small class."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from server.data_folder import FILE_MODE, tighten
from server.errors import StoreUnavailable
from server.store.failures import translate_failures
from server.store.health import StoreHealth
from server.store.questions import QuestionRecords
from server.store.records import RoomRecords
from server.store.registrations import RegistrationRecords

DATABASE_FILE = "plenary.db"
SQLITE_COMPANIONS = ("-wal", "-shm")  # made by SQLite beside the database, with its mode
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
FIRST_REVISION = "0001"


class StoreError(Exception):
    """The database cannot be reached or brought up to date."""


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.health = StoreHealth(self._write_probe)
        translate_failures(engine, self.health.failed)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.rooms = RoomRecords(sessions)
        self.registrations = RegistrationRecords(sessions)
        self.questions = QuestionRecords(sessions)

    @classmethod
    def at(cls, url: str) -> Store:
        """A store for ``url``; nothing is touched until ``prepare``."""
        if url.startswith("sqlite"):
            # SQLite has one writer. A single connection makes writers queue in asyncio for
            # their turn instead of spinning on the file lock (and failing after busy_timeout).
            engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=60)
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            engine = create_async_engine(url, pool_pre_ping=True)
        return cls(engine)

    @classmethod
    def in_data_dir(cls, data_dir: Path, url: str | None = None) -> Store:
        return cls.at(url or f"sqlite+aiosqlite:///{data_dir / DATABASE_FILE}")

    async def prepare(self) -> None:
        """Bring the schema up to the newest migration; an upgrade never drops data."""
        try:
            if self.engine.url.get_backend_name() == "sqlite" and self.engine.url.database:
                _private_sqlite_files(Path(self.engine.url.database))
            async with self.engine.begin() as connection:
                await connection.run_sync(_upgrade)
        except StoreUnavailable as error:
            raise StoreError(f"cannot prepare the database: {error.reason}") from error
        except (SQLAlchemyError, OSError) as error:
            raise StoreError(f"cannot prepare the database: {error}") from error

    async def revision(self) -> str | None:
        async with self.engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )

    async def close(self) -> None:
        await self.engine.dispose()

    async def _write_probe(self) -> None:
        """The smallest real write, committed: the schema's version, written back as it is.
        A read would pass on a full disk."""
        async with self.engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = version_num"))


def alembic_config(connection: Connection) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection, target: str = "head") -> None:
    config = alembic_config(connection)
    tables = set(inspect(connection).get_table_names())
    if "overrides" in tables and "alembic_version" not in tables:
        # A database made before migrations existed holds exactly the first revision's tables.
        command.stamp(config, FIRST_REVISION)
    command.upgrade(config, target)


def _private_sqlite_files(database: Path) -> None:
    """The database holds e-mail addresses. SQLite would create it 0644, and then its -wal and
    -shm files with the same mode, so it is created first, 0600, for SQLite to open."""
    if database.name == ":memory:":
        return
    with contextlib.suppress(FileExistsError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    for path in (database, *(Path(f"{database}{suffix}") for suffix in SQLITE_COMPANIONS)):
        if path.exists():
            tighten(path, FILE_MODE)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
