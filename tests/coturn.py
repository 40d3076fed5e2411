"""A private coturn for the TURN tests: Debian's ``turnserver`` on loopback alone, checking
credentials with the TURN REST scheme (``use-auth-secret``) against a random shared secret,
started and stopped by the test."""

from __future__ import annotations

import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from aioice import stun

from tests.serverproc import free_port

TURNSERVER = Path("/usr/bin/turnserver")
REALM = "plenary.test"
STARTUP_SECONDS = 10.0


@dataclass
class CoturnServer:
    folder: Path
    port: int
    secret: str
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    @property
    def log_path(self) -> Path:
        return self.folder / "turn.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @classmethod
    def start(cls) -> CoturnServer:
        folder = Path(tempfile.mkdtemp(prefix="plenary-coturn-"))
        port, secret = free_port(socket.SOCK_DGRAM), secrets.token_urlsafe(32)
        config = folder / "turnserver.conf"
        # The secret goes in a file in mkdtemp's folder, which only its owner may enter; on the
        # command line every user of the machine could read it.
        config.write_text(
            "\n".join(
                [
                    "listening-ip=127.0.0.1",
                    "relay-ip=127.0.0.1",
                    f"listening-port={port}",
                    "use-auth-secret",
                    f"static-auth-secret={secret}",
                    f"realm={REALM}",
                    "no-tcp",
                    "no-tls",
                    "no-dtls",
                    "no-cli",
                    "allow-loopback-peers",  # the relay and the viewers are all on 127.0.0.1
                    "no-multicast-peers",
                    f"log-file={folder / 'turn.log'}",
                    "simple-log",
                    "verbose",
                    f"pidfile={folder / 'turnserver.pid'}",
                    f"userdb={folder / 'turndb'}",
                    "",
                ]
            ),
            encoding="utf-8",
        )
        process = subprocess.Popen(
            [str(TURNSERVER), "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = cls(folder, port, secret, process)
        try:
            server._wait_ready()
        except RuntimeError:
            server.stop()
            raise
        return server

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _wait_ready(self) -> None:
        """Until coturn answers a STUN binding request on its port."""
        request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
        deadline = time.monotonic() + STARTUP_SECONDS
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.settimeout(0.1)
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"turnserver exited {self.process.returncode}:\n{self.log()}"
                    )
                probe.sendto(bytes(request), ("127.0.0.1", self.port))
                try:
                    answer = stun.parse_message(probe.recv(2048))
                except (TimeoutError, ConnectionRefusedError):
                    continue
                if answer.transaction_id == request.transaction_id:
                    return
        raise RuntimeError(f"turnserver did not answer in {STARTUP_SECONDS:g} s:\n{self.log()}")
