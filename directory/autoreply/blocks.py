"""The text and HTML a reply is written out as, from one structure of blocks, lines and segments.

A reply is a list of blocks (paragraphs); a block holds lines, each plain or a bullet; a line is
segments of text, links and emphasis. ``blocks_text`` and ``blocks_html`` write the same blocks
as the plain-text body and the HTML body, so the two always say the same thing. Every piece of
text is escaped and only http(s), mailto and tel URLs become links: the HTML here is the only
markup a reply ever holds, whatever a team wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeAlias
from urllib.parse import urlsplit

from markupsafe import escape

__all__ = [
    "Block", "Line", "Link", "Segment", "Strong", "blocks_html", "blocks_text", "linkify", "safe_href", "text_blocks",
]


@dataclass(frozen=True)
class Link:
    """A link in HTML; its label (or the URL) in text. Unsafe URLs are shown, never linked."""

    url: str
    label: str


@dataclass(frozen=True)
class Strong:
    text: str


Segment: TypeAlias = "str | Link | Strong"
Line: TypeAlias = "tuple[Segment, ...]"
Block: TypeAlias = "list[tuple[bool, Line]]"  # (is a bullet, line)

_URL_IN_TEXT = re.compile(r"(?:https?://|mailto:)[^\s<>\"']+", re.IGNORECASE)
_BULLET = re.compile(r"^\s*[-*•]\s+")


def safe_href(url: str) -> str | None:
    """The URL when it may be linked: http(s) with a host, mailto or tel; else None."""
    url = url.strip()
    if not url or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return None
    scheme, colon, rest = url.partition(":")
    scheme = scheme.lower()
    if not colon or not rest:
        return None
    if scheme in ("http", "https"):
        try:
            return url if urlsplit(url).netloc else None
        except ValueError:
            return None
    return url if scheme in ("mailto", "tel") else None


def linkify(text: str) -> list[Segment]:
    """Split free text so http(s) and mailto URLs in it become links in HTML."""
    segments: list[Segment] = []
    position = 0
    for match in _URL_IN_TEXT.finditer(text):
        url = match.group().rstrip(".,;:!?")
        while url.endswith(")") and url.count("(") < url.count(")"):
            url = url[:-1].rstrip(".,;:!?")
        if match.start() > position:
            segments.append(text[position : match.start()])
        segments.append(Link(url, url))
        position = match.start() + len(url)
    if position < len(text):
        segments.append(text[position:])
    return segments


def _line_text(line: Line) -> str:
    parts = []
    for segment in line:
        if isinstance(segment, Link):
            parts.append(segment.label or segment.url)
        elif isinstance(segment, Strong):
            parts.append(segment.text)
        else:
            parts.append(segment)
    return "".join(parts)


def _line_html(line: Line) -> str:
    parts = []
    for segment in line:
        if isinstance(segment, Link):
            href = safe_href(segment.url)
            label = escape(segment.label or segment.url)
            parts.append(f'<a href="{escape(href)}">{label}</a>' if href else str(label))
        elif isinstance(segment, Strong):
            parts.append(f"<strong>{escape(segment.text)}</strong>")
        else:
            parts.append(str(escape(segment)))
    return "".join(parts)


def blocks_text(blocks: list[Block]) -> str:
    paragraphs = []
    for block in blocks:
        lines = [("- " if bullet else "") + _line_text(line) for bullet, line in block]
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs) + "\n"


def blocks_html(blocks: list[Block]) -> str:
    """Paragraphs with line breaks, bullet runs as lists: the only markup ever produced."""
    html = []
    for block in blocks:
        runs: list[tuple[bool, list[Line]]] = []
        for bullet, line in block:
            if runs and runs[-1][0] == bullet:
                runs[-1][1].append(line)
            else:
                runs.append((bullet, [line]))
        for bullet, lines in runs:
            if bullet:
                items = "".join(f"<li>{_line_html(line)}</li>\n" for line in lines)
                html.append(f"<ul>\n{items}</ul>")
            else:
                html.append("<p>" + "<br>\n".join(_line_html(line) for line in lines) + "</p>")
    return "\n".join(html) + "\n"


def text_blocks(text: str) -> list[Block]:
    """Read a rendered text body back as paragraphs (blank lines) and bullets (``- ``)."""
    blocks = []
    for paragraph in re.split(r"\n[ \t]*\n", text.strip()):
        block: Block = []
        for raw in paragraph.split("\n"):
            bullet = _BULLET.match(raw)
            line = raw[bullet.end() :] if bullet else raw
            block.append((bool(bullet), tuple(linkify(line.strip()))))
        blocks.append(block)
    return blocks

