"""The data folder (``--data``) holds e-mail addresses, signing keys and mail: only the user who
runs plenary may open it. Each file in it is made private as it is created; this makes the
folder itself private, and tightens one left readable by an older version or by hand."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

log = logging.getLogger(__name__)

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def prepare_data_folder(folder: Path) -> None:
    """Create ``folder`` for this user alone, or take from an existing one what others may do."""
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    tighten(folder, FOLDER_MODE)


def tighten(path: Path, allowed: int) -> None:
    """Clear the mode bits of ``path`` outside ``allowed`` (never adding one), saying so."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & ~allowed:
        path.chmod(mode & allowed)
        log.warning(
            "%s was open to other users (mode %04o); it is now %04o", path, mode, mode & allowed
        )
