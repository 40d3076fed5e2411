"""What text people write may hold, wherever it is shown to others: names, notices, the
config's text.

Control characters and invisible formatting (a NUL, a line break where one line is meant, a
direction override that makes "moc.live" read as "evil.com") are refused. Zero-width joiners
and direction marks are allowed: they are part of writing some names (Arabic, Indic). A name
or a notice must also show something: a letter or digit (``letters.py``).
"""

from __future__ import annotations

import unicodedata

INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})  # Unicode categories
JOINERS_AND_MARKS = frozenset("\u200c\u200d\u200e\u200f")


def has_invisible(text: str, allowed: frozenset[str] = frozenset()) -> bool:
    """Whether ``text`` holds a control or invisible formatting character, other than a
    joiner, a direction mark or one of ``allowed``."""
    return any(_is_invisible(char) and char not in allowed for char in text)


def _is_invisible(char: str) -> bool:
    return unicodedata.category(char) in INVISIBLE and char not in JOINERS_AND_MARKS
