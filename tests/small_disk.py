"""A small disk that the test fills up and frees again: a tmpfs mounted in the test's own
folder (the tests run as root, as CI does), and unmounted after."""

from __future__ import annotations

import errno
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

FILLER = ".filler"
CHUNKS = (1 << 16, 1 << 12, 1 << 9, 1)  # large writes first, then down to the last byte


@dataclass
class SmallDisk:
    path: Path

    @classmethod
    def mount(cls, path: Path, size: str) -> SmallDisk:
        """Raises ``subprocess.CalledProcessError`` where mounting is not allowed."""
        path.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
            check=True,
            capture_output=True,
        )
        return cls(path)

    def fill(self) -> None:
        """Take every byte left, as a log or an upload gone wild would."""
        descriptor = os.open(self.path / FILLER, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in CHUNKS:
                _write_until_full(descriptor, size)
        finally:
            os.close(descriptor)

    def free(self) -> None:
        (self.path / FILLER).unlink(missing_ok=True)

    def unmount(self) -> None:
        # Lazily: a server that has not quite let go of its files must not leave it mounted.
        subprocess.run(["umount", "--lazy", str(self.path)], check=True, capture_output=True)


def _write_until_full(descriptor: int, size: int) -> None:
    chunk = bytes(size)
    while True:
        try:
            os.write(descriptor, chunk)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
            return
