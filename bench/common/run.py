"""How a bench runs from its command line: SIGTERM or Ctrl-C stops it, or its time limit does,
and what it measured until then is still reported; its children are stopped, and its folder of
logs kept or removed."""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from bench.common.children import Children


def run_and_report(
    work: Callable[[], Coroutine[Any, Any, None]],
    *,
    children: Children,
    folder: Path,
    keep: bool,
    report: Callable[[], None],
    time_limit: float | None = None,
) -> None:
    try:
        asyncio.run(_until_stopped(work, time_limit))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted: reporting what was measured", file=sys.stderr)
    except Exception as error:
        print(f"bench failed: {type(error).__name__}: {error}", file=sys.stderr)
        raise
    finally:
        children.stop_all()
        report()
        if keep:
            print(f"logs kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


async def _until_stopped(
    work: Callable[[], Coroutine[Any, Any, None]], time_limit: float | None
) -> None:
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        async with asyncio.timeout(time_limit):
            await work()
    except TimeoutError:
        print(f"time limit of {time_limit:g} s: reporting what was measured", file=sys.stderr)
