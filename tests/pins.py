"""Packages plenary reaches into are pinned exactly, and alike in pyproject.toml and the lock."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def assert_pinned_exactly(pins: dict[str, str]) -> None:
    """Each of ``pins`` (distribution to version) is what pyproject.toml's ``==`` and
    requirements.lock say."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pinned = dict(
        requirement.split("==") for requirement in project["dependencies"] if "==" in requirement
    )
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    locked = dict(re.findall(r"^([a-z0-9-]+)==(\S+)", lock, re.MULTILINE))
    assert {name: pinned.get(name) for name in pins} == pins
    assert {name: locked.get(name) for name in pins} == pins
