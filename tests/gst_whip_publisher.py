"""A hall encoder: GStreamer's webrtcbin publishing test video and audio over WHIP (RFC 9725).

Run with Debian's system Python, which has python3-gi (the project's venv cannot import gi):

    /usr/bin/python3 tests/gst_whip_publisher.py --url http://127.0.0.1:PORT/whip/ROOM \
        --token TOKEN [--codec vp8|h264] [--audio-only] [--seconds N]

The offer is sent whole (no trickle) once ICE gathering completes. Every state change is
printed to stdout as one JSON line, e.g. {"event": "ice", "state": "connected"}. The session
is deleted on exit. Exit codes: 0 after SIGTERM, SIGINT or --seconds; 1 after a pipeline
error (a failed DTLS handshake is one); 2 when the WHIP exchange fails (an error status, or
no server).

ICE stays on loopback: libnice gathers only on 127.0.0.1, without STUN, TURN, TCP or UPnP.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

LOOPBACK = "127.0.0.1"
DTLS_LOG_CATEGORY = "dtlsconnection"
# The event printed for each state change, and the property that holds that state.
STATE_PROPERTIES = {
    "ice": "ice-connection-state",
    "connection": "connection-state",
    "dtls": "state",  # of the (bundled) GstWebRTCDTLSTransport
}
HTTP_TIMEOUT_SECONDS = 10.0
DELETE_TIMEOUT_SECONDS = 5.0  # on the way out: a stuck server must not hold the encoder
EXIT_OK, EXIT_PIPELINE_ERROR, EXIT_WHIP_ERROR = 0, 1, 2

# Payload types as browsers number them; the answer may keep or renumber them.
VIDEO_BRANCHES = {
    "vp8": (
        "vp8enc deadline=1 keyframe-max-dist=30 ! rtpvp8pay pt=96"
        " ! application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000"
    ),
    # Constrained baseline with packetization-mode 1: what every WebRTC H.264 decoder takes.
    "h264": (
        "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 bitrate=1000"
        " ! video/x-h264,profile=constrained-baseline"
        " ! rtph264pay pt=102 config-interval=-1 aggregate-mode=zero-latency"
        " ! application/x-rtp,media=video,encoding-name=H264,payload=102,clock-rate=90000"
    ),
}
VIDEO_SOURCE = (
    "videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=360,framerate=30/1"
)
AUDIO_BRANCH = (
    "audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! queue"
    " ! opusenc ! rtpopuspay pt=111"
    " ! application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000"
)


@dataclass(frozen=True)
class Options:
    url: str
    token: str
    codec: str
    audio_only: bool
    seconds: float | None


class EventLog:
    """One JSON object a line on stdout; webrtcbin calls back from its own threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __call__(self, event: str, **fields: Any) -> None:
        line = json.dumps({"event": event, **fields}, default=str)
        with self._lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()


def pipeline_description(codec: str, audio_only: bool) -> str:
    branches = [f"{AUDIO_BRANCH} ! webrtc."]
    if not audio_only:
        video = f"{VIDEO_SOURCE} ! videoconvert ! queue ! {VIDEO_BRANCHES[codec]} ! webrtc."
        branches.insert(0, video)
    return " ".join(["webrtcbin name=webrtc bundle-policy=max-bundle", *branches])


def nick(value: Any) -> str:
    return str(value.value_nick)


def ice_agent(webrtc: Gst.Element) -> Any:
    """webrtcbin's ICE object, with the reference that Python's wrapper takes from it restored.

    GStreamer 1.22 leaves that object floating, so the first Python wrapper sinks webrtcbin's
    only reference and frees the object when the wrapper goes, under webrtcbin's feet (a crash
    later). A fixed GStreamer hands over an owned reference, and then nothing is added.
    """
    ice = webrtc.get_property("ice-agent")
    if ice.ref_count == 1:
        capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
        capsule_pointer.restype = ctypes.c_void_p
        capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
        gobject = ctypes.CDLL("libgobject-2.0.so.0")
        gobject.g_object_ref.argtypes = [ctypes.c_void_p]
        gobject.g_object_ref.restype = ctypes.c_void_p
        gobject.g_object_ref(capsule_pointer(ice.__gpointer__, None))
    return ice


class WhipPublisher:
    """Builds the pipeline, does the one WHIP offer/answer exchange, and reports states."""

    def __init__(self, options: Options, emit: EventLog, loop: GLib.MainLoop) -> None:
        self.options = options
        self.emit = emit
        self.loop = loop
        self.exit_code = EXIT_OK
        self.location: str | None = None
        self._offer_started = False
        self._offer_sent = False
        self._watched_transports: list[Any] = []
        self._last_states: dict[str, str] = {}
        self._state_lock = threading.Lock()
        self.pipeline = Gst.parse_launch(pipeline_description(options.codec, options.audio_only))
        self.webrtc = self.pipeline.get_by_name("webrtc")
        self._restrict_ice_to_loopback()
        self._make_transceivers_sendonly()
        self._connect_signals()

    def start(self) -> None:
        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            self.fail(EXIT_PIPELINE_ERROR, "error", message="pipeline refused to play")

    def stop(self) -> None:
        self.pipeline.set_state(Gst.State.NULL)
        if self.location is not None:
            self._delete_session(self.location)
            self.location = None

    def fail(self, code: int, event: str, **fields: Any) -> None:
        self.emit(event, **fields)
        self.exit_code = code
        self.loop.quit()

    # --- set-up -------------------------------------------------------------------------

    def _restrict_ice_to_loopback(self) -> None:
        ice = ice_agent(self.webrtc)
        # With a local address given, libnice gathers on it alone instead of every interface.
        ice.emit("add-local-ip-address", LOOPBACK)
        ice.set_property("ice-tcp", False)
        agent = ice.get_property("agent")
        agent.set_property("upnp", False)  # UPnP IGD discovery would multicast SSDP on the LAN
        agent.set_property("ice-tcp", False)
        self.webrtc.set_property("stun-server", None)
        self.webrtc.set_property("turn-server", None)

    def _make_transceivers_sendonly(self) -> None:
        index = 0
        while (transceiver := self.webrtc.emit("get-transceiver", index)) is not None:
            transceiver.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
            index += 1

    def _connect_signals(self) -> None:
        self.webrtc.connect("on-negotiation-needed", self._on_negotiation_needed)
        self.webrtc.connect("notify::ice-gathering-state", self._on_gathering_state)
        self.webrtc.connect("notify::ice-connection-state", self._on_state, "ice")
        self.webrtc.connect("notify::connection-state", self._on_state, "connection")
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", self._on_bus_error)
        bus.connect("message::warning", self._on_bus_warning)

    # --- offer --------------------------------------------------------------------------

    def _on_negotiation_needed(self, webrtc: Gst.Element) -> None:
        if self._offer_started:
            return
        self._offer_started = True
        promise = Gst.Promise.new_with_change_func(self._on_offer_created)
        webrtc.emit("create-offer", None, promise)

    def _on_offer_created(self, promise: Gst.Promise) -> None:
        reply = promise.get_reply()
        offer = reply.get_value("offer") if reply is not None else None
        if offer is None:
            GLib.idle_add(self._fail_soon, "create-offer gave no offer")
            return
        self.webrtc.emit("set-local-description", offer, None)

    def _on_gathering_state(self, webrtc: Gst.Element, _spec: Any) -> None:
        state = webrtc.get_property("ice-gathering-state")
        self.emit("ice-gathering", state=nick(state))
        if state == GstWebRTC.WebRTCICEGatheringState.COMPLETE and not self._offer_sent:
            self._offer_sent = True
            offer = webrtc.get_property("local-description").sdp.as_text()
            GLib.idle_add(self._exchange, offer)  # the blocking HTTP call runs on the main loop

    # --- WHIP ---------------------------------------------------------------------------

    def _exchange(self, offer: str) -> bool:
        candidates = [line for line in offer.splitlines() if line.startswith("a=candidate:")]
        self.emit("offer", candidates=len(candidates), sdp=offer)
        request = urllib.request.Request(
            self.options.url,
            data=offer.encode(),
            method="POST",
            headers={"Content-Type": "application/sdp", **self._authorization()},
        )
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
                status = response.status
                location = response.headers.get("Location")
                content_type = response.headers.get_content_type()
                answer = response.read().decode()
        except urllib.error.HTTPError as error:
            body = error.read().decode(errors="replace")
            self.fail(EXIT_WHIP_ERROR, "error", stage="whip", status=error.code, body=body)
            return False
        except OSError as error:
            self.fail(EXIT_WHIP_ERROR, "error", stage="whip", status=None, body=str(error))
            return False
        self._accept_answer(status, location, content_type, answer)
        return False

    def _accept_answer(
        self, status: int, location: str | None, content_type: str, answer: str
    ) -> None:
        if location is not None:
            self.location = urllib.parse.urljoin(self.options.url, location)
        self.emit(
            "answer", status=status, location=self.location, content_type=content_type, sdp=answer
        )
        if status != 201 or content_type != "application/sdp":
            self.fail(EXIT_WHIP_ERROR, "error", stage="whip", status=status, body=answer)
            return
        parsed_ok, message = GstSdp.SDPMessage.new_from_text(answer)
        if parsed_ok != GstSdp.SDPResult.OK:
            self.fail(EXIT_WHIP_ERROR, "error", stage="whip", status=status, body="bad SDP")
            return
        answer_type = GstWebRTC.WebRTCSDPType.ANSWER
        description = GstWebRTC.WebRTCSessionDescription.new(answer_type, message)
        promise = Gst.Promise.new_with_change_func(self._on_answer_set)
        self.webrtc.emit("set-remote-description", description, promise)

    def _on_answer_set(self, promise: Gst.Promise) -> None:
        reply = promise.get_reply()
        error = reply.get_value("error") if reply is not None and reply.has_field("error") else None
        if error is not None:
            GLib.idle_add(self._fail_soon, f"answer rejected: {error}")
            return
        self.emit("remote-description", state="set")
        self._watch_dtls_transports()

    def _delete_session(self, location: str) -> None:
        request = urllib.request.Request(location, method="DELETE", headers=self._authorization())
        try:
            with urllib.request.urlopen(request, timeout=DELETE_TIMEOUT_SECONDS) as response:
                self.emit("delete", status=response.status)
        except urllib.error.HTTPError as error:
            self.emit("delete", status=error.code)
        except OSError as error:
            self.emit("delete", status=None, error=str(error))

    def _authorization(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.options.token}"}

    # --- states and errors --------------------------------------------------------------

    def _watch_dtls_transports(self) -> None:
        index = 0
        while (transceiver := self.webrtc.emit("get-transceiver", index)) is not None:
            index += 1
            transport = transceiver.get_property("sender").get_property("transport")
            if transport is None or any(transport is seen for seen in self._watched_transports):
                continue
            self._watched_transports.append(transport)
            transport.connect("notify::state", self._on_state, "dtls")
            self._on_state(transport, None, "dtls")

    def _on_state(self, source: Any, _spec: Any, event: str) -> None:
        state = nick(source.get_property(STATE_PROPERTIES[event]))
        with self._state_lock:  # notify:: may repeat a state; print changes only
            if self._last_states.get(event) == state:
                return
            self._last_states[event] = state
        self.emit(event, state=state)

    def _on_bus_error(self, _bus: Gst.Bus, message: Gst.Message) -> None:
        error, debug = message.parse_error()
        source = message.src.get_name() if message.src is not None else None
        self.fail(EXIT_PIPELINE_ERROR, "error", source=source, message=error.message, debug=debug)

    def _on_bus_warning(self, _bus: Gst.Bus, message: Gst.Message) -> None:
        warning, debug = message.parse_warning()
        source = message.src.get_name() if message.src is not None else None
        self.emit("warning", source=source, message=warning.message, debug=debug)

    def _fail_soon(self, message: str) -> bool:
        self.fail(EXIT_PIPELINE_ERROR, "error", source="webrtcbin", message=message)
        return False


def parse_options(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the WHIP endpoint")
    parser.add_argument("--token", required=True, help="sent as Authorization: Bearer")
    parser.add_argument("--codec", choices=sorted(VIDEO_BRANCHES), default="vp8")
    parser.add_argument("--audio-only", action="store_true")
    parser.add_argument("--seconds", type=float, default=None, help="default: until SIGTERM")
    args = parser.parse_args(argv)
    return Options(args.url, args.token, args.codec, args.audio_only, args.seconds)


def quit_after(loop: GLib.MainLoop, seconds: float | None) -> None:
    def quit_now() -> bool:
        loop.quit()
        return False  # GLib.SOURCE_REMOVE

    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, quit_now)
    if seconds is not None:
        GLib.timeout_add(int(seconds * 1000), quit_now)


def report_dtls_errors(emit: EventLog) -> None:
    """Print OpenSSL's reason when a DTLS handshake fails, e.g. "no shared cipher".

    The bus only says "Fatal SSL error"; the reason is in the dtlsconnection debug log.
    """

    def forward(
        category: Gst.DebugCategory,
        level: Gst.DebugLevel,
        file: str,
        function: str,
        line: int,
        source: Any,
        message: Gst.DebugMessage,
        *user_data: Any,
    ) -> None:
        if category.get_name() == DTLS_LOG_CATEGORY and level == Gst.DebugLevel.ERROR:
            emit("dtls-error", message=message.get().strip())

    Gst.debug_add_log_function(forward, None)
    if "GST_DEBUG" not in os.environ:
        Gst.debug_remove_log_function(None)  # the default one would print the same to stderr
    Gst.debug_set_threshold_for_name(DTLS_LOG_CATEGORY, Gst.DebugLevel.ERROR)


def main(argv: list[str]) -> int:
    options = parse_options(argv)
    Gst.init(None)
    emit = EventLog()
    report_dtls_errors(emit)
    loop = GLib.MainLoop()
    publisher = WhipPublisher(options, emit, loop)
    quit_after(loop, options.seconds)
    emit("started", codec=None if options.audio_only else options.codec, url=options.url)
    publisher.start()
    if publisher.exit_code == EXIT_OK:
        loop.run()
    publisher.stop()
    emit("exit", code=publisher.exit_code)
    return publisher.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
