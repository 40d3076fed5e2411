"""The DTLS role and the ICE candidates of a connection, chosen by plenary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aioice import Connection
from aiortc import RTCPeerConnection


def answer_as_dtls_server(pc: RTCPeerConnection) -> None:
    """Before ``createAnswer`` to an ``actpass`` offer: answer ``a=setup:passive``.

    aiortc as DTLS client offers only ECDHE-ECDSA suites, which peers with RSA certificates
    (GStreamer's webrtcbin, many hall encoders) cannot accept; as the server it works with all.
    """
    for transceiver in pc.getTransceivers():
        transport = transceiver.receiver.transport
        if transport._role == "auto":
            transport._set_role("server")


def restrict_ice(pc: RTCPeerConnection, addresses: Sequence[str]) -> None:
    """Gather host candidates on ``addresses`` only, not on every interface of the machine.

    Call after ``setRemoteDescription`` (which creates the transports) and before
    ``setLocalDescription`` (which gathers). Remote candidates are filtered by the caller,
    in the SDP and the trickled fragments, before aiortc sees them.
    """
    connections = {
        id(t.receiver.transport.transport._connection): t.receiver.transport.transport._connection
        for t in pc.getTransceivers()
    }
    for connection in connections.values():  # one per transport; bundled media share it
        gather_only_on(connection, addresses)


def gather_only_on(connection: Connection, addresses: Sequence[str]) -> None:
    """``restrict_ice`` for one aioice connection."""
    gather = connection.get_component_candidates

    async def only_ours(component: int, **options: Any) -> Any:
        options["addresses"] = list(addresses)
        return await gather(component=component, **options)

    connection.get_component_candidates = only_ours  # type: ignore[method-assign,assignment]
