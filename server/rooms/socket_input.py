"""Socket.IO packets from clients, decoded strictly before python-socketio acts on them.

python-socketio trusts a packet's shape: an event that is not a list starting with its name, an
event named ``connect``, JSON nested past the interpreter's recursion limit or a binary
attachment the server never asked for each raise inside it, which logs a traceback and sends no
ack. ``CheckedPacket`` (python-socketio's ``serializer``) never raises on what a client sent:
a malformed packet becomes the event ``MALFORMED`` carrying what was wrong, with the ack id the
client asked for when one could be read, so the live channel answers it like any other refusal.
"""

from __future__ import annotations

from typing import Any

from socketio import packet

# The event a malformed packet turns into. A client may send it by name too: it is then
# answered as the malformed packet it pretends to be.
MALFORMED = "\x00malformed"
# Socket.IO's own events: a client that sends one by name would reach the server's handler.
RESERVED_EVENTS = frozenset({"connect", "connect_error", "disconnect", "__disconnect_final"})
MAX_DEPTH = 16  # plenary's payloads nest two deep
MAX_ACK_ID = 2**53 - 1  # what a JavaScript client can count to
ACCEPTED_TYPES = frozenset({packet.CONNECT, packet.DISCONNECT, packet.EVENT, packet.ACK})


class CheckedPacket(packet.Packet):  # type: ignore[misc]  # python-socketio has no type hints
    # Plenary sends no binary data, and a client's binary attachment is refused.
    uses_binary_events = False
    packet_type: int
    namespace: str | None
    id: int | None
    data: Any

    def __init__(self, *args: Any, encoded_packet: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, encoded_packet=encoded_packet, **kwargs)
        if encoded_packet is not None and not encoded_packet:  # never decoded: it is empty
            self._refuse("the packet is empty")

    def decode(self, encoded_packet: Any) -> int:
        if not isinstance(encoded_packet, str):
            return self._refuse("binary data is not accepted")
        try:
            attachments = super().decode(encoded_packet)
        except Exception as error:  # anything at all a client can make the decoder raise
            return self._refuse(f"the packet could not be decoded ({type(error).__name__})")
        # Nesting needs an opening bracket per level: most packets are not walked at all.
        brackets = encoded_packet.count("[") + encoded_packet.count("{")
        too_deep = brackets > MAX_DEPTH and _deeper_than(self.data, MAX_DEPTH)
        problem = _problem(self.packet_type, self.data, attachments, too_deep)
        if self.id is not None and self.id > MAX_ACK_ID:
            problem = "the ack id is too large"
        return self._refuse(problem) if problem else 0

    def _refuse(self, problem: str) -> int:
        if not (isinstance(self.id, int) and 0 <= self.id <= MAX_ACK_ID):
            self.id = None
        self.packet_type = packet.EVENT
        self.namespace = self.namespace if isinstance(self.namespace, str) else None
        self.data = [MALFORMED, problem]
        return 0


def _problem(packet_type: object, data: object, attachments: object, too_deep: bool) -> str | None:
    if packet_type not in ACCEPTED_TYPES or attachments:
        return "that kind of packet is not accepted"
    if too_deep:
        return f"the payload is nested deeper than {MAX_DEPTH} levels"
    if packet_type != packet.EVENT:
        return None
    if not isinstance(data, list) or not data or not isinstance(data[0], str):
        return "an event must be a list that starts with the event's name"
    if data[0] in RESERVED_EVENTS:
        return f"{data[0]!r} is reserved and cannot be sent"
    return None


def _deeper_than(value: object, limit: int) -> bool:
    """Without recursion, so that no nesting can exhaust the stack."""
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            if depth > limit:
                return True
            pending.extend((child, depth + 1) for child in item)
    return False
