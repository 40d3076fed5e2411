"""ICE candidates from outside (RFC 8839 section 5.1), parsed and judged before aioice sees one.

Whoever holds a token decides, through its candidates, where the relay sends STUN checks, so
each line is parsed here in full: aiortc's own parser only asserts that there are eight fields.
A candidate the relay cannot use (TCP, a type aioice drops, a name it would not resolve) is
left out without a word, as RFC 9725 section 4.3.2 asks; one that is malformed is refused.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from aiortc import RTCIceCandidate

FOUNDATION = re.compile(r"[A-Za-z0-9+/]{1,32}")  # 1*32ice-char
COMPONENT = re.compile(r"[0-9]{1,3}")
PRIORITY = re.compile(r"[0-9]{1,10}")
PORT = re.compile(r"[0-9]{1,5}")
MDNS_NAME = re.compile(r"[A-Za-z0-9-]{1,63}\.local")  # the names aioice resolves
HOST_NAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*\.?")
USABLE_TYPES = frozenset({"host", "srflx", "relay"})  # aioice drops every other type


@dataclass(frozen=True)
class Candidate:
    foundation: str
    component: int
    transport: str
    priority: int
    address: str
    port: int
    type: str
    related_address: str | None = None
    related_port: int | None = None
    tcp_type: str | None = None
    ufrag: str | None = None  # the ICE session it was gathered for, when the line says

    @classmethod
    def parse(cls, value: str) -> Candidate:
        """``value`` is what follows ``a=candidate:``; a ValueError says what is wrong."""
        fields = value.split()
        if len(fields) < 8 or fields[6] != "typ":
            raise ValueError(
                "a candidate is FOUNDATION COMPONENT TRANSPORT PRIORITY ADDRESS PORT typ TYPE"
            )
        foundation, component, transport, priority, address, port, _, kind = fields[:8]
        if not FOUNDATION.fullmatch(foundation):
            raise ValueError(f"the foundation {foundation[:40]!r} is not 1 to 32 ICE characters")
        if not COMPONENT.fullmatch(component) or not 1 <= int(component) <= 256:
            raise ValueError(f"the component {component[:40]!r} is not a number from 1 to 256")
        if not PRIORITY.fullmatch(priority) or int(priority) >= 2**32:
            raise ValueError(f"the priority {priority[:40]!r} is not a 32-bit number")
        extensions = _extensions(fields[8:])
        related_port = extensions.get("rport")
        return cls(
            foundation=foundation,
            component=int(component),
            transport=transport,
            priority=int(priority),
            address=_address(address),
            port=_port(port),
            type=kind,
            related_address=None if "raddr" not in extensions else _address(extensions["raddr"]),
            related_port=None if related_port is None else _port(related_port),
            tcp_type=extensions.get("tcptype"),
            ufrag=extensions.get("ufrag"),
        )

    @property
    def is_mdns(self) -> bool:
        return MDNS_NAME.fullmatch(self.address) is not None

    def usable(self, *, loopback_only: bool) -> bool:
        """Whether the relay may check it. When the relay announces only loopback, nothing off
        loopback is (an mDNS name cannot be shown to be on this machine); otherwise nothing
        on this machine is, nor a group or an address no peer has: the checks would be sent
        to the relay's own services, or to many."""
        if self.transport.lower() != "udp" or self.type not in USABLE_TYPES or self.port == 0:
            return False
        if self.is_mdns:
            return not loopback_only
        try:
            address = ipaddress.ip_address(self.address)
        except ValueError:
            return False  # a host name: aioice resolves only mDNS names
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if loopback_only:
            return address.is_loopback
        return not (
            address.is_loopback
            or address.is_unspecified
            or address.is_multicast
            or address.is_reserved
        )

    def for_aiortc(self, mid: str | None) -> RTCIceCandidate:
        """For ``addIceCandidate``: without a MID, it is the first m-line's."""
        return RTCIceCandidate(
            component=self.component,
            foundation=self.foundation,
            ip=self.address,
            port=self.port,
            priority=self.priority,
            protocol=self.transport,
            type=self.type,
            relatedAddress=self.related_address,
            relatedPort=self.related_port,
            sdpMid=mid,
            sdpMLineIndex=0 if mid is None else None,
            tcpType=self.tcp_type,
        )


def _extensions(fields: list[str]) -> dict[str, str]:
    if len(fields) % 2:
        raise ValueError(f"{fields[-1][:40]!r} at the end of the candidate has no value")
    return dict(zip(fields[::2], fields[1::2], strict=True))


def _address(text: str) -> str:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        if not HOST_NAME.fullmatch(text):
            raise ValueError(f"{text[:60]!r} is neither an IP address nor a host name") from None
    return text


def _port(text: str) -> int:
    if not PORT.fullmatch(text) or int(text) > 65535:
        raise ValueError(f"the port {text[:40]!r} is not a number from 0 to 65535")
    return int(text)
