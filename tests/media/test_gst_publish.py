"""A real hall encoder: GStreamer's webrtcbin publishes into plenary over WHIP, and an aiortc
viewer decodes what the relay forwards."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from server.auth.permissions import Role
from tests.gstreamer import publish_with_gstreamer, require_gstreamer
from tests.media_peers import viewer
from tests.serverproc import ServerProcess, utc_in

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("codec", ["vp8", "h264"])
async def test_gstreamer_publishes_and_a_viewer_decodes(
    start_server: Callable[..., ServerProcess], codec: str
) -> None:
    require_gstreamer()
    server = start_server(rehearse=utc_in(-600))  # ten minutes into the welcoming remarks
    url = f"{server.url}/whip/welcome"
    with publish_with_gstreamer(url, server.token(Role.TECHNICIAN, "Hall"), codec=codec) as gst:
        answer = await asyncio.to_thread(gst.events.wait_for, "answer")
        assert answer["status"] == 201 and "a=setup:passive" in answer["sdp"]
        await asyncio.to_thread(
            gst.events.wait_for, "dtls", lambda event: event.get("state") == "connected", 20
        )
        audience = await viewer(server.url, "welcome", server.token(Role.ATTENDEE))
        try:
            await audience.until_frames("video", 20, within=20)
            await audience.until_frames("audio", 20, within=10)
        finally:
            await audience.close()
        # The viewer was offered VP8 and H.264 alike; what arrived is what the hall encoded.
        assert audience.video_codecs_received() - {"rtx"} == {codec.upper()}
