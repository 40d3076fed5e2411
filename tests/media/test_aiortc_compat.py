"""compat.py: the table of everything the relay reaches into, complete, all there in the
versions installed, and each kind of change to it named by the check."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import _cffi_backend
import pylibsrtp
import pylibsrtp._binding
import pytest
from aioice.ice import CandidatePair
from aiortc import RTCIceTransport, RTCRtpReceiver, RTCRtpSender

from server.media.aiortc_internals import compat
from server.media.aiortc_internals.compat import (
    INTERNALS,
    LIBSRTP,
    PINS,
    Internal,
    InternalsChanged,
    Kind,
    check_compatible,
    internal_problem,
)
from server.media.aiortc_internals.srtp import protect_address
from tests.pins import assert_pinned_exactly

ROOT = Path(__file__).resolve().parents[2]
MEDIA = ROOT / "server" / "media"
INTERNALS_FOLDER = MEDIA / "aiortc_internals"


@pytest.mark.parametrize("internal", INTERNALS, ids=[internal.name for internal in INTERNALS])
def test_every_internal_in_the_table_is_as_the_relay_uses_it(internal: Internal) -> None:
    assert internal_problem(internal) is None


def test_the_installed_versions_are_the_pinned_ones() -> None:
    check_compatible()


def test_the_pins_are_those_of_pyproject_and_the_lock() -> None:
    assert_pinned_exactly(PINS)


# -- complete: every private name and internal module the relay's code uses is in the table


def test_only_aiortc_internals_reaches_into_private_names() -> None:
    elsewhere = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in MEDIA.rglob("*.py")
        if INTERNALS_FOLDER not in path.parents
        for line, name in _private_names(path)
    ]
    assert elsewhere == []


def test_every_private_name_reached_is_in_the_table() -> None:
    listed = {internal.where.rsplit(".", 1)[-1].rsplit(":", 1)[-1] for internal in INTERNALS}
    unlisted = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in INTERNALS_FOLDER.rglob("*.py")
        for line, name in _private_names(path)
        if name not in listed
    ]
    assert unlisted == []


def test_every_name_imported_from_outside_their_public_api_is_in_the_table() -> None:
    unlisted = [
        f"{path.relative_to(ROOT)}:{line}: {module}.{name}"
        for path in (ROOT / "server").rglob("*.py")
        for line, module, name in _imports(path)
        if not _public(module, name) and not _listed(module, name)
    ]
    assert unlisted == []


def _private_names(path: Path) -> Iterator[tuple[int, str]]:
    """Private attributes reached on objects other than ``self`` and ``cls``, by name or
    through ``getattr`` and ``setattr``; not plenary's own (``_plenary_...``)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        name = None
        if isinstance(node, ast.Attribute) and ast.unparse(node.value) not in ("self", "cls"):
            name = node.attr
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr")
        ):
            name = _constant_text(node.args[1])
        if name and name.startswith("_") and not name.startswith(("__", "_plenary")):
            yield node.lineno, name


def _constant_text(node: ast.expr) -> str | None:
    """``"_name"``, or ``SENDER_MANGLED + "name"`` with the prefix taken from compat."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.left, ast.Name)
        and isinstance(node.right, ast.Constant)
    ):
        return str(getattr(compat, node.left.id)) + str(node.right.value)
    return None


def _imports(path: Path) -> Iterator[tuple[int, str, str]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PINS:
            for alias in node.names:
                yield node.lineno, str(node.module), alias.name


def _public(module: str, name: str) -> bool:
    """In the package's ``__all__``, imported from there or from the module it lives in."""
    package = importlib.import_module(module.split(".")[0])
    if name not in package.__all__:
        return False
    return bool(getattr(package, name) is getattr(importlib.import_module(module), name))


def _listed(module: str, name: str) -> bool:
    for internal in INTERNALS:
        if internal.where == f"{module}:{name}" or internal.where.startswith(
            (f"{module}:{name}.", f"{module}.{name}:")
        ):
            return True
    return False


# -- each kind of change is named


async def _takes_one_more(self: Any, packet: Any, arrival_time_ms: int, extra: int) -> None:
    pass


def _init_that_sets_nothing(self: Any, *args: Any, **kwargs: Any) -> None:
    pass


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (
            lambda patch: patch.delattr(CandidatePair, "remote_addr"),
            "aioice.ice.CandidatePair.remote_addr is gone",
        ),
        (
            lambda patch: patch.setitem(sys.modules, "aiortc.clock", None),
            "aiortc.clock.current_ntp_time is gone",
        ),
        (
            lambda patch: patch.delattr(RTCRtpSender, "_retransmit"),
            "aiortc.rtcrtpsender.RTCRtpSender._retransmit is gone",
        ),
        (
            lambda patch: patch.delattr(RTCRtpReceiver, "_RTCRtpReceiver__stop_decoder"),
            "RTCRtpReceiver._RTCRtpReceiver__stop_decoder is gone",
        ),
        (
            lambda patch: patch.setattr(RTCRtpReceiver, "_handle_rtp_packet", _takes_one_more),
            "RTCRtpReceiver._handle_rtp_packet takes (packet, arrival_time_ms, extra), "
            "not (packet, arrival_time_ms)",
        ),
        (
            lambda patch: patch.setattr(RTCIceTransport, "__init__", _init_that_sets_nothing),
            "RTCIceTransport._connection is no longer set by __init__",
        ),
        (
            lambda patch: patch.setattr(RTCRtpSender, "__init__", _init_that_sets_nothing),
            "RTCRtpSender._RTCRtpSender__rtp_history is no longer set by __init__",
        ),
        (
            lambda patch: patch.setattr(
                pylibsrtp._binding,
                "lib",
                SimpleNamespace(srtp_protect=pylibsrtp._binding.lib.srtp_add_stream),
            ),
            "pylibsrtp._binding.lib.srtp_protect is srtp_err_status_t(*)(struct srtp_ctx_t_ *, ",
        ),
        (
            lambda patch: patch.setattr(pylibsrtp, "SRTP_MAX_TRAILER_LEN", 160),
            "pylibsrtp.SRTP_MAX_TRAILER_LEN is 160",
        ),
    ],
    ids=[
        "name",
        "module",
        "method",
        "mangled method",
        "parameters",
        "attribute",
        "mangled attribute",
        "C type",
        "value",
    ],
)
def test_each_kind_of_change_is_named(
    monkeypatch: pytest.MonkeyPatch,
    change: Callable[[pytest.MonkeyPatch], None],
    named: str,
) -> None:
    assert {internal.kind for internal in INTERNALS} == set(Kind)  # every kind is tried here
    change(monkeypatch)
    with pytest.raises(InternalsChanged, match=re.escape(named)) as raised:
        check_compatible()
    assert "requirements.lock" in str(raised.value)


def test_another_version_of_a_pinned_package_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A real distribution's metadata, found first on the path."""
    info = tmp_path / "aioice-0.14.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: aioice\nVersion: 0.14.0\n")
    monkeypatch.syspath_prepend(tmp_path)
    with pytest.raises(InternalsChanged, match=re.escape("aioice is 0.14.0, not 0.13.0")):
        check_compatible()


@pytest.fixture
def other_libsrtp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """pylibsrtp's binding pointing at a library that says it is libsrtp 3, built here."""
    source = tmp_path / "other.c"
    source.write_text('const char *srtp_get_version_string(void) { return "libsrtp3 3.0.0"; }\n')
    library = tmp_path / "libother.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", library, source], check=True)
    monkeypatch.setattr(pylibsrtp._binding, "__file__", str(library))
    protect_address.cache_clear()
    yield
    protect_address.cache_clear()


@pytest.mark.usefixtures("other_libsrtp")
def test_another_libsrtp_is_named() -> None:
    with pytest.raises(
        InternalsChanged, match=re.escape(f"libsrtp is libsrtp3 3.0.0, not {LIBSRTP}")
    ):
        check_compatible()


@pytest.mark.usefixtures("other_libsrtp")
def test_the_c_loop_is_not_given_srtp_protect_of_another_libsrtp() -> None:
    with pytest.raises(InternalsChanged, match=re.escape("libsrtp3 3.0.0")):
        protect_address()


def test_a_libsrtp_that_cannot_say_its_version_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pylibsrtp._binding, "__file__", _cffi_backend.__file__)  # no libsrtp
    with pytest.raises(InternalsChanged, match="version of pylibsrtp's libsrtp cannot be read"):
        check_compatible()
