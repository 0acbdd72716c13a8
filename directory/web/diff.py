"""Readable differences between two versions of a team, field by field.

Each changed top-level field is shown with its old and new value; structured values (hours,
services, contacts) as a line diff of their pretty JSON, so that one changed interval reads as one
changed line rather than a wall of JSON.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

FIELD_LABELS = {
    "slug": "Web address (slug)", "name": "Name", "summary": "Summary", "description": "Description",
    "department": "Department", "tags": "Tags", "location": "Location", "timezone": "Time zone",
    "hours": "Opening hours", "response_time": "Reply time", "booking": "How to book", "contacts": "Contacts",
    "services": "Services", "escalation": "Escalation", "owners": "Owners", "last_reviewed": "Last reviewed",
    "auto_reply": "Auto-reply",
}
ORDER = tuple(FIELD_LABELS)


@dataclass
class DiffLine:
    kind: str  # "add", "remove" or "same"
    text: str


@dataclass
class FieldChange:
    key: str
    label: str
    old: str
    new: str
    lines: list[DiffLine]
    simple: bool  # both values short and single-line: shown as "old → new"


COMPACT_WIDTH = 76


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _lines(value: Any, indent: str = "") -> list[str]:
    """YAML-like outline with short JSON leaves: one interval, contact or closure per line."""
    if isinstance(value, dict):
        out = []
        for key, item in value.items():
            text = _compact(item)
            if not isinstance(item, dict | list) or len(text) <= COMPACT_WIDTH:
                out.append(f"{indent}{key}: {text}")
            else:
                out.append(f"{indent}{key}:")
                out.extend(_lines(item, indent + "  "))
        return out
    if isinstance(value, list):
        out = []
        for item in value:
            text = _compact(item)
            if not isinstance(item, dict | list) or len(text) <= COMPACT_WIDTH:
                out.append(f"{indent}- {text}")
            else:
                nested = _lines(item, indent + "  ")
                out.append(f"{indent}- {nested[0].lstrip()}")
                out.extend(nested[1:])
        return out
    return [f"{indent}{_compact(value)}"]


def _pretty(value: Any) -> str:
    if value is None or value == [] or value == {}:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | bool):
        return _compact(value)
    text = _compact(value)
    if len(text) <= COMPACT_WIDTH and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    return "\n".join(_lines(value))


def field_changes(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[FieldChange]:
    """What differs between two team documents, in the contract's field order."""
    old, new = old or {}, new or {}
    keys = [k for k in ORDER if k in old or k in new]
    keys += sorted(k for k in set(old) | set(new) if k not in FIELD_LABELS)
    changes = []
    for key in keys:
        a, b = old.get(key), new.get(key)
        if a == b or (a in (None, [], {}, "") and b in (None, [], {}, "")):
            continue
        old_text, new_text = _pretty(a), _pretty(b)
        simple = "\n" not in old_text and "\n" not in new_text and len(old_text) + len(new_text) < 160
        lines: list[DiffLine] = []
        if not simple:
            for line in difflib.ndiff(old_text.splitlines(), new_text.splitlines()):
                tag, text = line[:2], line[2:]
                if tag == "? ":
                    continue
                lines.append(DiffLine({"+ ": "add", "- ": "remove"}.get(tag, "same"), text))
            lines = _trim_context(lines)
        changes.append(FieldChange(key, FIELD_LABELS.get(key, key), old_text, new_text, lines, simple))
    return changes


def _trim_context(lines: list[DiffLine], context: int = 2) -> list[DiffLine]:
    """Keep changed lines and a little context around them; elide long unchanged runs."""
    keep = [False] * len(lines)
    for i, line in enumerate(lines):
        if line.kind != "same":
            for j in range(max(0, i - context), min(len(lines), i + context + 1)):
                keep[j] = True
    out: list[DiffLine] = []
    skipped = 0
    for flag, line in zip(keep, lines, strict=True):
        if flag:
            if skipped:
                out.append(DiffLine("skip", f"… {skipped} unchanged line{'s' if skipped != 1 else ''}"))
                skipped = 0
            out.append(line)
        else:
            skipped += 1
    if skipped:
        out.append(DiffLine("skip", f"… {skipped} unchanged line{'s' if skipped != 1 else ''}"))
    return out
