"""A real ``plenary serve`` in a subprocess, on loopback, with its own data folder."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from scheduler.clock import wall_now
from server.auth.keys import KeyRing
from server.auth.permissions import Role
from server.auth.tokens import TokenService

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config.toml"
PLENARY = Path(sys.executable).parent / "plenary"
STARTUP_SECONDS = 20.0


def wait_healthy(
    url: str,
    process: subprocess.Popen[bytes],
    seconds: float,
    describe: Callable[[], str],
    poll: float = 0.1,
) -> None:
    """Return once ``GET url/healthz`` answers 200. RuntimeError, ending with ``describe()``
    (where to read more), if the process exits first or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited {process.returncode}; {describe()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(poll)
    raise RuntimeError(f"the server did not answer /healthz in {seconds:g} s; {describe()}")


def free_port(kind: socket.SocketKind = socket.SOCK_STREAM) -> int:
    """A port on 127.0.0.1 that nothing listens on now, for TCP or (``SOCK_DGRAM``) UDP."""
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ServerProcess:
    data_dir: Path
    rehearse: datetime
    speed: float = 1.0
    config: Path = CONFIG
    port: int = field(default_factory=free_port)
    extra_args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)  # added to this process's environment
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"server-{self.port}.log"

    def start(self) -> ServerProcess:
        args = [
            str(PLENARY),
            "serve",
            "--config",
            str(self.config),
            "--data",
            str(self.data_dir),
            "--port",
            str(self.port),
            "--ice-address",
            "127.0.0.1",
            "--rehearse",
            self.rehearse.isoformat(),
            "--speed",
            str(self.speed),
            *self.extra_args,
        ]
        with self.log_path.open("ab") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env={**os.environ, **self.env},
            )
        self._wait_healthy()
        return self

    def token(self, role: Role | str, name: str = "Test", rooms: tuple[str, ...] = ("*",)) -> str:
        tokens = TokenService(KeyRing.open(self.data_dir), "plenary", wall_now)
        return tokens.issue(role=Role(role), name=name, rooms=rooms)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, sig)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _wait_healthy(self) -> None:
        assert self.process is not None
        try:
            wait_healthy(self.url, self.process, STARTUP_SECONDS, lambda: "\n" + self.log())
        except RuntimeError:
            self.kill()
            raise


def event_config(
    folder: Path,
    *,
    mode: str = "approval",
    smtp_port: int | None = None,
    per_minute: int = 60,
    public_url: str = "",
    smtp_timeout: int | None = None,
) -> Path:
    """The bundled config with another registration mode, and mail to a local SMTP server."""
    text = CONFIG.read_text(encoding="utf-8")
    text = text.replace('mode = "approval"', f'mode = "{mode}"', 1)
    text = text.replace("per_address_per_minute = 60", f"per_address_per_minute = {per_minute}", 1)
    if smtp_port is not None:
        text = text.replace(
            "[mail]\n",
            f'[mail]\nsmtp_host = "127.0.0.1"\nsmtp_port = {smtp_port}\nsmtp_security = "none"\n',
            1,
        )
    if smtp_timeout is not None:
        text = text.replace("[mail]\n", f"[mail]\nsmtp_timeout = {smtp_timeout}\n", 1)
    if public_url:
        text = text.replace("[server]\n", f'[server]\npublic_url = "{public_url}"\n', 1)
    path = folder / f"config-{mode}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def utc_in(seconds: float) -> datetime:
    return datetime.fromtimestamp(time.time() + seconds, UTC).replace(microsecond=0)
