"""A letter's words, written once and read twice: as plain text and as HTML.

The letter is a list of blocks (headings, paragraphs, links); both forms are rendered from that
one list, so they can never say different things. The HTML is plain and self-contained: every
piece of text escaped, no remote images or styles for a mail program to fetch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from html import escape


class BlockKind(StrEnum):
    HEADING = "heading"
    PARAGRAPH = "paragraph"
    LINK = "link"  # the text is an address, shown as itself and linked


@dataclass(frozen=True)
class Block:
    text: str  # a paragraph's lines are kept as lines
    kind: BlockKind = BlockKind.PARAGRAPH


def heading(text: str) -> Block:
    return Block(text, BlockKind.HEADING)


def link(address: str) -> Block:
    return Block(address, BlockKind.LINK)


def paragraphs(text: str) -> list[Block]:
    """Text with blank lines between paragraphs (a config's notice, say) as paragraphs, each
    one line."""
    found = [" ".join(part.split()) for part in text.strip().split("\n\n")]
    return [Block(part) for part in found if part]


def as_text(blocks: Sequence[Block]) -> str:
    return "\n\n".join(block.text for block in blocks) + "\n"


def as_html(blocks: Sequence[Block], title: str) -> str:
    body = "\n".join(_html_block(block) for block in blocks)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n</head>\n"
        '<body style="font-family: sans-serif; line-height: 1.5; max-width: 40em;">\n'
        f"{body}\n</body>\n</html>\n"
    )


def _html_block(block: Block) -> str:
    if block.kind is BlockKind.LINK:
        address = escape(block.text)
        return f'<p><a href="{address}">{address}</a></p>'
    lines = "<br>\n".join(escape(line) for line in block.text.split("\n"))
    if block.kind is BlockKind.HEADING:
        return f'<h2 style="font-size: 1.1em;">{lines}</h2>'
    return f"<p>{lines}</p>"
