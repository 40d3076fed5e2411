"""An attendee's e-mail address, read the way a mail system reads it.

``email-validator`` checks the syntax (never the DNS: no lookup leaves the machine) and
normalises: NFC in the part before the @, IDNA for the domain. On top of it, characters
beyond ASCII before the @ must be letters, marks or digits that IDNA2008 would allow in a
domain name, so nothing invisible or passing for another letter gets in (``server.letters``).

Two spellings of one mailbox share one ``key``: the local part lower-cased (mail systems
treat its case as noise) and the domain in ASCII (IDNA A-labels, which is what DNS routes on).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from email.headerregistry import Address

from email_validator import EmailNotValidError, validate_email

from server.letters import is_idna_valid


class AddressError(ValueError):
    """Not an address mail can be sent to; the message says why, without the address."""


@dataclass(frozen=True)
class EmailAddress:
    local_part: str  # NFC, in the letter case given
    domain: str  # lower case, in Unicode: what people read
    ascii_domain: str  # the same domain in IDNA A-labels: what DNS and 7-bit mail use

    @classmethod
    def parse(cls, text: str) -> EmailAddress:
        try:
            found = validate_email(
                text,
                check_deliverability=False,
                allow_quoted_local=False,
                allow_domain_literal=False,
                allow_display_name=False,
                strict=True,  # the part before the @ within RFC 5321's 64 characters too
            )
        except EmailNotValidError as error:
            raise AddressError(str(error)) from None
        _check_local_letters(found.local_part)
        return cls(found.local_part, found.domain, found.ascii_domain)

    def __str__(self) -> str:
        return f"{self.local_part}@{self.domain}"

    @property
    def key(self) -> str:
        """The same for every spelling of this mailbox, and for no other mailbox."""
        local = unicodedata.normalize("NFC", self.local_part.lower())
        return f"{local}@{self.ascii_domain}"

    @property
    def needs_smtputf8(self) -> bool:
        """Only a local part beyond ASCII does: a domain has an ASCII form to send instead."""
        return not self.local_part.isascii()

    def for_header(self) -> Address:
        """The address as a message carries it: in ASCII unless SMTPUTF8 is needed anyway."""
        domain = self.domain if self.needs_smtputf8 else self.ascii_domain
        return Address(username=self.local_part, domain=domain)


def _check_local_letters(local_part: str) -> None:
    refused = sorted(
        {c for c in local_part if not c.isascii() and not all(map(is_idna_valid, c.lower()))}
    )
    if refused:
        names = ", ".join(unicodedata.name(c, f"U+{ord(c):04X}") for c in refused)
        raise AddressError(
            "The part before the @-sign may hold, beyond ASCII, only letters, marks and digits"
            f" in their plain form, not: {names}."
        )
