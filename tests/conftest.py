from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, sync_playwright

from tests.coturn import TURNSERVER, CoturnServer
from tests.faketime import FakeTime, libfaketime
from tests.pg import PostgresServer, postgres_bin
from tests.serverproc import ServerProcess, utc_in
from tests.small_disk import SmallDisk
from tests.smtp import SmtpServer

CHROMIUM = Path("/usr/bin/chromium")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 800}
OpenPage = Callable[..., Page]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-background-networking",
    "--disable-component-update",
    # Host candidates as plain addresses: no mDNS names, so nothing is multicast off the machine.
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]


@pytest.fixture
def native() -> ModuleType:
    """The relay's C loop (server/media/_fanout.c): built by ``make test``, required in CI."""
    try:
        from server.media import _fanout
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("the C loop was not built: CI must install gcc, python3-dev, libssl-dev")
        pytest.skip("the C loop was not built here (no C compiler at install)")
    return _fanout


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    made: list[socket.socket] = []
    yield made
    for sock in made:
        sock.close()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start real ``plenary serve`` subprocesses; all are stopped at the end of the test."""
    started: list[ServerProcess] = []

    def start(*, lead_seconds: float = 8.0, speed: float = 1.0, **kwargs: Any) -> ServerProcess:
        kwargs.setdefault("data_dir", tmp_path / "data")
        kwargs.setdefault("rehearse", utc_in(lead_seconds))
        server = ServerProcess(speed=speed, **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def rehearsal_server(start_server: Callable[..., ServerProcess]) -> ServerProcess:
    """The bundled agenda, rehearsed: the first item goes live eight seconds from now."""
    return start_server()


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed")
    return CHROMIUM


def required_postgres_bin() -> Path:
    bin_dir = postgres_bin()
    if bin_dir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is missing: CI must install Debian's postgresql")
        pytest.skip("PostgreSQL is not installed")
    return bin_dir


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer.start(required_postgres_bin())
    yield server
    server.stop()


@pytest.fixture
def private_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the test's own, which it may stop and start again."""
    server = PostgresServer.start(required_postgres_bin())
    yield server
    server.stop()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A 4 MiB tmpfs in the test's folder, for the test to fill and free."""
    try:
        disk = SmallDisk.mount(tmp_path / "disk", "4m")
    except (OSError, subprocess.CalledProcessError) as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot mount a tmpfs (CI runs as root): {error}")
        pytest.skip(f"cannot mount a tmpfs here: {error}")
    yield disk
    disk.unmount()


@pytest.fixture
def faketime(tmp_path: Path) -> FakeTime:
    """A wall clock to set under a server subprocess (``env=faketime.environment()``)."""
    library = libfaketime()
    if library is None:
        if os.environ.get("CI") == "true":
            pytest.fail("libfaketime is missing: CI must install Debian's faketime")
        pytest.skip("libfaketime is not installed")
    clock = FakeTime(library, tmp_path / "faketime.rc")
    clock.set_offset(0.0)
    return clock


@pytest.fixture
def coturn() -> Iterator[CoturnServer]:
    """A real TURN server on loopback, with a random shared secret for the TURN REST scheme."""
    if not TURNSERVER.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{TURNSERVER} is missing: CI must install Debian's coturn")
        pytest.skip("coturn is not installed")
    server = CoturnServer.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind the store supports."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on loopback; ``smtp_server.inbox`` holds what it received."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium_path), args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def open_page(browser: Browser) -> Iterator[OpenPage]:
    """Open a URL in a fresh browser context; fails the test on any uncaught page error."""
    contexts = []
    errors: list[str] = []

    def open_url(url: str, *, viewport: dict[str, int] = DESKTOP, **options: Any) -> Page:
        context = browser.new_context(viewport=viewport, **options)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "dialog", lambda dialog: errors.append(f"unexpected {dialog.type}: {dialog.message}")
        )
        page.goto(url)
        return page

    yield open_url
    for context in contexts:
        context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


@pytest.fixture(scope="module")
def module_page(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    """A page of a real rehearsing server, from which the pages' modules are imported as the
    pages import them: shared by a module's tests that only call their pure functions."""
    folder = tmp_path_factory.mktemp("module-page")
    server = ServerProcess(data_dir=folder / "data", rehearse=utc_in(8)).start()
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(server.url)
        yield page
    finally:
        context.close()
        server.stop()


def contrast(link: Locator) -> float:
    """The WCAG contrast ratio of an element's text against its own background colour."""
    ratio = link.evaluate(
        """(node) => {
          const style = getComputedStyle(node);
          const luminance = (color) => {
            const [r, g, b] = color.match(/[\\d.]+/g).slice(0, 3).map((part) => {
              const c = Number(part) / 255;
              return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
            });
            return 0.2126 * r + 0.7152 * g + 0.0722 * b;
          };
          const [light, dark] = [luminance(style.color), luminance(style.backgroundColor)]
            .sort((a, b) => b - a);
          return (light + 0.05) / (dark + 0.05);
        }"""
    )
    return float(ratio)
