"""Readable differences between two versions of a team, field by field.

Each changed top-level field is shown with its old and new value. Structured values are first put
in words, one fact per line (the week as "Mon–Fri 09:00–17:30", one closure, contact or service a
line, owners by name), and compared line by line, so that one changed interval reads as one changed
line rather than a wall of JSON. Fields without a wording fall back to a compact outline.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from directory import vocabulary, wording
from directory.vocabulary import FIELD_LABELS
from directory.web.present import closure_text

ORDER = vocabulary.TEAM_FIELDS


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


DAYS = vocabulary.WEEKDAYS


def _day_span(first: int, last: int) -> str:
    names = wording.WEEKDAY_ABBR
    if first == last:
        return names[first]
    return f"{names[first]}–{names[last]}"


def week_lines(weekly: Mapping[str, Any]) -> list[str]:
    """The week in words, consecutive days with the same hours together: "Mon–Fri 09:00–17:30"."""
    def hours_of(day: str) -> str:
        intervals = weekly.get(day) or []
        return ", ".join(f"{start}–{end}" for start, end in intervals) or "closed"

    lines: list[str] = []
    first = 0
    for i in range(1, len(DAYS) + 1):
        if i == len(DAYS) or hours_of(DAYS[i]) != hours_of(DAYS[first]):
            lines.append(f"{_day_span(first, i - 1)} {hours_of(DAYS[first])}")
            first = i
    return lines


def _hours_lines(value: Mapping[str, Any]) -> list[str]:
    lines = week_lines(value.get("weekly") or {})
    calendar = value.get("holidays")
    if calendar:
        region = calendar.get("country", "")
        if calendar.get("subdivision"):
            region += f" ({calendar['subdivision']})"
        if region:
            lines.append(f"Closed on public holidays: {region}")
        if calendar.get("calendar"):
            lines.append(f"Closed on the days of the organisation calendar {calendar['calendar']}")
    # date.min: history names the year of every closure, however far back or ahead
    lines += [f"Closed {closure_text(c, date.min)}" for c in value.get("closures") or []]
    known = {"weekly", "holidays", "closures"}
    lines += _lines({k: v for k, v in value.items() if k not in known}) if set(value) - known else []
    return lines


def _duration(value: Any) -> str:
    try:
        return wording.format_duration(value)
    except (KeyError, TypeError, ValueError):
        return _compact(value)


def _contact_lines(value: list[Any]) -> list[str]:
    out = []
    for c in value:
        label = f" ({c['label']})" if c.get("label") else ""
        out.append(f"{vocabulary.CONTACT_LABELS.get(c.get('kind'), c.get('kind'))}: {c.get('value')}{label}")
    return out


def _booking_lines(value: Mapping[str, Any]) -> list[str]:
    method = vocabulary.BOOKING_ACTIONS.get(value.get("method"), value.get("method") or "")
    lines = [f"{method}: {value['url']}" if value.get("url") else str(method)]
    if value.get("instructions"):
        lines.append(str(value["instructions"]))
    return lines


def _service_lines(value: list[Any]) -> list[str]:
    out = []
    for service in value:
        head = str(service.get("name"))
        if service.get("turnaround"):
            head += f": done within {_duration(service['turnaround'])}"
        out.append(head)
        if service.get("description"):
            out.append(f"  {service['description']}")
        if service.get("booking"):
            out += [f"  {line}" for line in _booking_lines(service["booking"])]
    return out


def _notice_lines(value: list[Any]) -> list[str]:
    return [f"{n.get('level', 'info').capitalize()} from {n.get('starts')} "
            f"{'to ' + str(n['ends']) if n.get('ends') else 'until removed'}: {n.get('message')}" for n in value]


def _worded(key: str, value: Any, names: Mapping[str, str]) -> str | None:
    """A field in words, one fact per line; None when this field has no wording of its own."""
    words: dict[str, Callable[[Any], list[str] | str]] = {
        "hours": _hours_lines,
        "response_time": _duration,
        "contacts": _contact_lines,
        "booking": _booking_lines,
        "services": _service_lines,
        "notices": _notice_lines,
        "owners": lambda owners: [_person(o, names) for o in owners],
    }
    if key not in words:
        return None
    try:
        text = words[key](value)
    except (AttributeError, KeyError, TypeError, ValueError):
        return None  # an odd old revision: shown as an outline instead
    return text if isinstance(text, str) else "\n".join(text)


def _person(email: str, names: Mapping[str, str]) -> str:
    name = names.get(email.lower())
    return f"{name} ({email})" if name and name != email else email


def _pretty(value: Any, key: str = "", names: Mapping[str, str] | None = None) -> str:
    if value is None or value == [] or value == {}:
        return ""
    worded = _worded(key, value, names or {})
    if worded is not None:
        return worded
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | bool):
        return _compact(value)
    text = _compact(value)
    if len(text) <= COMPACT_WIDTH and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    return "\n".join(_lines(value))


def field_changes(old: dict[str, Any] | None, new: dict[str, Any] | None,
                  names: Mapping[str, str] | None = None) -> list[FieldChange]:
    """What differs between two team documents, in the contract's field order.

    `names` maps lower-case e-mail addresses to people's names, so that owners read as people.
    """
    old, new = old or {}, new or {}
    keys = [k for k in ORDER if k in old or k in new]
    keys += sorted(k for k in set(old) | set(new) if k not in FIELD_LABELS)
    changes = []
    for key in keys:
        a, b = old.get(key), new.get(key)
        if a == b or (a in (None, [], {}, "") and b in (None, [], {}, "")):
            continue
        old_text, new_text = _pretty(a, key, names), _pretty(b, key, names)
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
