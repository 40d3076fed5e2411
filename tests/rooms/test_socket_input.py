"""Socket.IO packets from clients, decoded strictly: pure, without a server."""

from __future__ import annotations

import pytest
from socketio import packet

from server.rooms.socket_input import MALFORMED, MAX_DEPTH, CheckedPacket


@pytest.mark.parametrize(
    ("encoded", "ack_id"),
    [
        ("21", 1),
        ("27[]", 7),
        ('2{"a":1}', None),
        ("212[42]", 12),
        ('23["notice",' + "[" * 5000 + "]" * 5000 + "]", 3),
        ('2["notice",' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "]", None),
        ('2["disconnect"]', None),
        ("9", None),
        ('51-["notice",{"_placeholder":true,"num":0}]', None),
        ("4", None),
        ("", None),
        (b"\x00binary", None),
        ("2" + "1" * 120 + "[]", None),
    ],
)
def test_malformed_packets_become_the_malformed_event_with_their_ack_id(
    encoded: str | bytes, ack_id: int | None
) -> None:
    decoded = CheckedPacket(encoded_packet=encoded)
    assert decoded.packet_type == packet.EVENT
    assert decoded.data[0] == MALFORMED
    assert isinstance(decoded.data[1], str) and len(decoded.data[1]) < 100
    assert decoded.id == ack_id


@pytest.mark.parametrize(
    ("encoded", "kind", "data"),
    [
        ('25["notice",{"text":"hi"}]', packet.EVENT, ["notice", {"text": "hi"}]),
        ('2["control",' + "[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2) + "]", packet.EVENT, None),
        ('2["control",' + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "]", packet.EVENT, None),
        # Brackets in text are not nesting, however many.
        ('2["ask",{"text":"' + "[{" * MAX_DEPTH + '"}]', packet.EVENT, None),
        ("0", packet.CONNECT, None),
        ('0{"token":"t"}', packet.CONNECT, {"token": "t"}),
        ("1", packet.DISCONNECT, None),
        ("31[true]", packet.ACK, [True]),
    ],
)
def test_well_formed_packets_are_decoded_as_python_socketio_would(
    encoded: str, kind: int, data: object
) -> None:
    decoded = CheckedPacket(encoded_packet=encoded)
    plain = packet.Packet(encoded_packet=encoded)
    assert (decoded.packet_type, decoded.data, decoded.id) == (kind, plain.data, plain.id)
    if data is not None:
        assert decoded.data == data


def test_packets_plenary_sends_encode_as_before() -> None:
    outgoing = CheckedPacket(packet.EVENT, data=["notice", {"text": "hi"}])
    assert outgoing.encode() == '2["notice",{"text":"hi"}]'
