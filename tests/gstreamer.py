"""GStreamer's webrtcbin as a WHIP publisher for the tests: a real hall encoder's stack.

The publisher (``tests/gst_whip_publisher.py``) runs under Debian's system Python, which has
python3-gi; the project's venv cannot import gi. ``publish_with_gstreamer`` starts it as a
subprocess and collects the JSON lines it prints, one per state change.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Debian bookworm packages that give /usr/bin/python3 a working webrtcbin publisher.
# Installed with --no-install-recommends they are enough; the Makefile's apt step installs them.
GST_DEBIAN_PACKAGES = (
    "python3-gi",
    "gir1.2-gstreamer-1.0",
    "gir1.2-gst-plugins-base-1.0",
    "gir1.2-gst-plugins-bad-1.0",  # GstWebRTC, GstSdp's webrtc types
    "gstreamer1.0-plugins-base",  # videotestsrc, audiotestsrc, opus, videoconvert
    "gstreamer1.0-plugins-good",  # vpx (vp8enc), rtp payloaders, rtpmanager
    "gstreamer1.0-plugins-bad",  # webrtcbin, dtls, srtp, openh264
    "gstreamer1.0-plugins-ugly",  # x264enc
    "gstreamer1.0-nice",  # libnice ICE for webrtcbin
)

SYSTEM_PYTHON = Path("/usr/bin/python3")
PUBLISHER = Path(__file__).with_name("gst_whip_publisher.py")
ELEMENTS = (
    "webrtcbin",
    "nicesrc",
    "dtlssrtpenc",
    "videotestsrc",
    "audiotestsrc",
    "vp8enc",
    "rtpvp8pay",
    "x264enc",
    "rtph264pay",
    "opusenc",
    "rtpopuspay",
)
PROBE = f"""
import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import Gst, GstSdp, GstWebRTC
Gst.init(None)
missing = [name for name in {ELEMENTS!r} if Gst.ElementFactory.find(name) is None]
raise SystemExit(", ".join(missing) if missing else 0)
"""
PROBE_SECONDS = 30.0
STOP_SECONDS = 10.0  # the publisher sends its WHIP DELETE (5 s timeout) before it exits
READER_SECONDS = 5.0  # for the last lines; the reader ends with the publisher's stdout
DEFAULT_WAIT_SECONDS = 15.0

Event = dict[str, Any]


@functools.cache
def gst_missing() -> str:
    """What keeps the publisher from running here, or "" when nothing does."""
    if not SYSTEM_PYTHON.exists():
        return f"{SYSTEM_PYTHON} is missing"
    try:
        probe = subprocess.run(
            [str(SYSTEM_PYTHON), "-c", PROBE],
            capture_output=True,
            text=True,
            timeout=PROBE_SECONDS,
            env=publisher_environment(),
        )
    except subprocess.TimeoutExpired:
        return "probing GStreamer timed out"
    if probe.returncode == 0:
        return ""
    lines = (probe.stderr.strip() or "GStreamer probe failed").splitlines()
    return f"missing GStreamer elements or bindings: {lines[-1]}"


def gst_available() -> bool:
    """Whether /usr/bin/python3 has gi, GStreamer and every element the publisher uses."""
    return gst_missing() == ""


def require_gstreamer() -> None:
    """Skip the calling test without GStreamer; under CI=true fail it instead."""
    missing = gst_missing()
    if not missing:
        return
    packages = " ".join(GST_DEBIAN_PACKAGES)
    message = f"{missing}: install Debian's {packages}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def publisher_environment() -> dict[str, str]:
    """The test's environment without what would point the system Python at the venv."""
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    environment.pop("VIRTUAL_ENV", None)
    environment["PYTHONUNBUFFERED"] = "1"
    return environment


class PublisherEvents:
    """The JSON lines the publisher printed, in order, and its other output lines."""

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._log: list[str] = []
        self._ended = False
        self._changed = threading.Condition()

    def add_line(self, line: str) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        with self._changed:
            if isinstance(event, dict) and "event" in event:
                self._events.append(event)
            elif line.strip():
                self._log.append(line.rstrip())
            self._changed.notify_all()

    def end(self) -> None:
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def all(self, event: str | None = None) -> list[Event]:
        with self._changed:
            return [e for e in self._events if event is None or e["event"] == event]

    def states(self, event: str) -> list[str]:
        """The successive ``state`` values of one kind of event, e.g. ``states("ice")``."""
        return [str(e.get("state")) for e in self.all(event)]

    @property
    def log(self) -> list[str]:
        with self._changed:
            return list(self._log)

    def wait_for(
        self,
        event: str,
        predicate: Callable[[Event], bool] | None = None,
        timeout: float = DEFAULT_WAIT_SECONDS,
    ) -> Event:
        """The first ``event`` (already printed or still to come) that ``predicate`` accepts.

        Raises AssertionError, showing everything printed so far, on timeout or once the
        publisher has exited without printing it.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for candidate in self._events:
                    if candidate["event"] == event and (predicate is None or predicate(candidate)):
                        return candidate
                left = deadline - time.monotonic()
                if self._ended or left <= 0:
                    break
                self._changed.wait(left)
        why = "exited" if self._ended else f"did not print it within {timeout} s"
        raise AssertionError(f"publisher {why}: no matching {event!r} event\n{self.describe()}")

    def describe(self) -> str:
        """Everything printed so far, SDP left out, for assertion messages."""
        events = [{k: v for k, v in e.items() if k != "sdp"} for e in self.all()]
        lines = [json.dumps(e) for e in events] + self.log[-30:]
        return "\n".join(lines)


class GstPublisher:
    """A running ``gst_whip_publisher.py``; ``stop()`` is safe to call twice."""

    def __init__(self, args: list[str]) -> None:
        self.events = PublisherEvents()
        self.process = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=publisher_environment(),
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, name="gst-publisher-output", daemon=True)
        self._reader.start()

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def stop(self) -> int:
        """SIGTERM (the publisher then DELETEs its session), SIGKILL if it lingers.

        Both go to the publisher's own process group, so nothing it started outlives it.
        """
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait()
        self._reader.join(timeout=READER_SECONDS)
        return self.process.returncode

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def _read(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout:
            for line in self.process.stdout:
                self.events.add_line(line)
        self.events.end()


def publisher_command(
    url: str, token: str, codec: str = "vp8", audio_only: bool = False, seconds: float | None = None
) -> list[str]:
    args = [str(SYSTEM_PYTHON), str(PUBLISHER), "--url", url, "--token", token, "--codec", codec]
    if audio_only:
        args.append("--audio-only")
    if seconds is not None:
        args += ["--seconds", str(seconds)]
    return args


@contextlib.contextmanager
def publish_with_gstreamer(
    url: str, token: str, codec: str = "vp8", audio_only: bool = False, seconds: float | None = None
) -> Iterator[GstPublisher]:
    """Publish test video (VP8 or H.264) and Opus audio from webrtcbin to a WHIP endpoint.

    The publisher is stopped on exit, whatever happened. Its DELETE goes to the endpoint while
    ``stop()`` waits, so a test whose endpoint runs on its own event loop calls
    ``await asyncio.to_thread(publisher.stop)`` before leaving the block.
    """
    publisher = GstPublisher(publisher_command(url, token, codec, audio_only, seconds))
    try:
        yield publisher
    finally:
        publisher.stop()
