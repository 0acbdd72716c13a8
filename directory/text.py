"""Text that no backend can store or render: lone surrogates and NUL.

A lone UTF-16 surrogate ("\\ud800") is valid in a JSON string but cannot be encoded as UTF-8, so
SQLite, PostgreSQL, Jinja and every JSON reply fail on it; PostgreSQL also refuses NUL in any
text. Such text is refused where it enters (the schemas) and never looked up in the database.
"""

from __future__ import annotations

import re

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored, in words for an error message; None when it can."""
    found = UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "must not contain the NUL character (\\u0000)"
    return (f"contains a lone surrogate (\\u{ord(found.group()):04x}) at position {found.start()}, "
            "which is not a character: send text as valid Unicode")


def storable(text: str) -> bool:
    return UNSTORABLE.search(text) is None
