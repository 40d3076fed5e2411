"""The data folder and the database in it are private: real files, made by the store and by a
real server, under the usual umask (022), which would leave them readable by everyone."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from server.data_folder import prepare_data_folder
from server.store import DATABASE_FILE, Store
from tests.serverproc import ServerProcess, event_config

DATABASE_FILES = (DATABASE_FILE, f"{DATABASE_FILE}-wal", f"{DATABASE_FILE}-shm")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def wait_for_letters(outbox: Path, within: float = 10.0) -> list[Path]:
    deadline = time.monotonic() + within
    while not (letters := list(outbox.glob("*.eml"))) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert letters, f"no letter in {outbox} after {within:g} s"
    return letters


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


async def test_a_new_folder_and_its_database_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    prepare_data_folder(data)
    store = Store.in_data_dir(data)
    await store.prepare()
    try:
        # While the store is open, SQLite keeps its write-ahead log and shared memory beside it.
        assert {path.name: mode(path) for path in data.iterdir()} == dict.fromkeys(
            DATABASE_FILES, 0o600
        )
        assert mode(data) == 0o700
    finally:
        await store.close()


async def test_an_open_folder_and_database_are_tightened_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    older = sqlite3.connect(data / DATABASE_FILE)  # as a version without this left them: 0644
    older.execute("PRAGMA journal_mode=WAL")
    older.execute("CREATE TABLE kept (email TEXT)")
    older.execute("INSERT INTO kept VALUES ('ana@example.org')")
    older.commit()
    try:
        assert [mode(data / name) for name in DATABASE_FILES] == [0o644] * 3
        with caplog.at_level(logging.WARNING):
            prepare_data_folder(data)
            store = Store.in_data_dir(data)
            await store.prepare()
            await store.close()
        assert mode(data) == 0o700
        assert [mode(data / name) for name in DATABASE_FILES] == [0o600] * 3
        tightened = [record.getMessage() for record in caplog.records]
        assert any(f"{data} was open to other users (mode 0755)" in line for line in tightened)
        assert any(f"{DATABASE_FILE}-wal was open to other users" in line for line in tightened)
        assert older.execute("SELECT email FROM kept").fetchall() == [("ana@example.org",)]
    finally:
        older.close()


@pytest.mark.slow
def test_a_real_server_keeps_its_data_private(
    tmp_path: Path, start_server: Callable[..., ServerProcess]
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)  # made by hand, or by an older version
    server = start_server(data_dir=data, config=event_config(tmp_path, mode="open"))
    request = urllib.request.Request(
        f"{server.url}/api/registrations",
        data=json.dumps({"name": "Ana", "email": "ana@example.org", "consent": True}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 201
    assert mode(data) == 0o700
    assert [mode(data / name) for name in DATABASE_FILES] == [0o600] * 3
    assert mode(data / "keys") == 0o700
    assert {mode(path) for path in (data / "keys").iterdir()} == {0o600}
    letters = wait_for_letters(data / "outbox")
    assert mode(data / "outbox") == 0o700 and {mode(path) for path in letters} == {0o600}
    assert f"{data} was open to other users (mode 0755); it is now 0700" in server.log()
