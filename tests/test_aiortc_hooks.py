"""The relay's reach into aiortc: present in this aiortc, and loud when an upgrade moves it."""

from __future__ import annotations

import pytest
from aiortc import RTCRtpReceiver, RTCRtpSender

from server.media.aiortc_hooks import AiortcChanged, check_compatible


def test_this_aiortc_has_everything_the_relay_touches() -> None:
    check_compatible()


@pytest.mark.parametrize(
    ("cls", "name"),
    [
        (RTCRtpReceiver, "_handle_rtp_packet"),
        (RTCRtpReceiver, "_send_rtcp_pli"),
        (RTCRtpSender, "_run_rtp"),
        (RTCRtpSender, "_retransmit"),
        (RTCRtpReceiver, "_RTCRtpReceiver__stop_decoder"),
    ],
)
def test_a_renamed_internal_is_named_in_the_failure(
    monkeypatch: pytest.MonkeyPatch, cls: type, name: str
) -> None:
    monkeypatch.delattr(cls, name)
    with pytest.raises(AiortcChanged, match=name.rsplit("__", 1)[-1]):
        check_compatible()
