"""Who attendees can turn to (``[event] contact``): an e-mail address or a web page, and the
link that reaches it. Pages name it wherever they cannot help further themselves: registration
closed, a link lost or refused."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from server.registration.address import AddressError, EmailAddress


class ContactError(ValueError):
    """Neither an e-mail address nor an http(s) address; the message says which was meant."""


@dataclass(frozen=True)
class Contact:
    text: str  # as people read it
    href: str  # mailto: for an address, the page itself for a URL

    @classmethod
    def parse(cls, text: str) -> Contact:
        if "://" in text:
            return cls(text, _web_page(text))
        try:
            address = EmailAddress.parse(text)
        except AddressError as error:
            raise ContactError(f"not an e-mail address or an http(s) address: {error}") from None
        ascii_form = f"{address.local_part}@{address.ascii_domain}"
        return cls(str(address), f"mailto:{ascii_form}")

    def payload(self) -> dict[str, str]:
        return {"text": self.text, "href": self.href}


def _web_page(url: str) -> str:
    if any(char.isspace() or not char.isprintable() for char in url):
        raise ContactError("an address must be one piece of text, without spaces")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a port that is not a number raises here)
    except ValueError:
        raise ContactError(f"{url!r} is not a web address") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ContactError(f"{url!r} is not an http(s) address like https://example.org/contact")
    return url
