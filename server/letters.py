"""Letters and digits of any script, where IDNA2008 (RFC 5892) draws the line.

IDNA2008 derives from Unicode which characters a domain name may hold: letters, marks and
digits that stay themselves under compatibility normalisation and case folding, and none that
Unicode lists as default-ignorable. That one line tells a name that shows something from one
made only of fillers and blanks (U+3164 HANGUL FILLER is a letter by category, U+2800 BRAILLE
PATTERN BLANK a symbol, U+200D ZERO WIDTH JOINER a format character), and keeps full-width
letters, ligatures and circled letters, which pass for plain ones, out of e-mail addresses.
The table is the one the ``idna`` package ships, so it follows Unicode's newer versions.
"""

from __future__ import annotations

import unicodedata

from idna.idnadata import codepoint_classes
from idna.intranges import intranges_contain

# CONTEXTO: the middle dot, Arabic-Indic digits and a few others that are letters or digits of
# their script; a domain name needs their neighbours checked, text does not.
_VALID_RANGES = (codepoint_classes["PVALID"], codepoint_classes["CONTEXTO"])


def is_idna_valid(char: str) -> bool:
    """Whether IDNA2008 allows ``char`` (one lower-case character) in a domain name."""
    return any(intranges_contain(ord(char), ranges) for ranges in _VALID_RANGES)


def has_letter_or_digit(text: str) -> bool:
    """Whether ``text`` holds a letter or digit of some script, in any case or width."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return any(unicodedata.category(char)[0] in "LN" and is_idna_valid(char) for char in folded)
