"""Team notices (CONTRACT §1 `notices`): which of a team's temporary messages are in force at an instant.

Pure domain code (no Flask, no database), so the status endpoint, the team page, search results
and every auto-reply agree on what is shown when.

A notice's `starts`/`ends` are written like closures: whole local dates (`ends` inclusive) or local
wall-clock date-times (`ends` exclusive), in the team's time zone. `ends` null means "until the
owner removes it"; such a notice stays active and, once it is older than `REMINDER_AFTER`, its
owners are reminded of it (`reminders_due`). A notice is active at `at` when
`start <= at < end`. Stored data that no longer parses is never shown and never raises.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from directory import vocabulary
from directory.hours import parse_local_bound

LEVELS = tuple(vocabulary.NOTICE_LEVELS)
MESSAGE_MAX = 500
NOTICES_MAX = 20
REMINDER_AFTER = timedelta(days=14)
"""An open-ended notice older than this earns its owners a reminder that it is still up."""

parse_bound = parse_local_bound  # one reading of local bounds, shared with closures


def _what(value: object) -> str:
    return f"{value!r} is not" if isinstance(value, str) and len(value) <= 40 else "must be"


def validate_span(starts: object, ends: object) -> dict[str, list[str]]:
    """Problems with one notice's span, by key ("starts", "ends"); empty when it is usable."""
    errors: dict[str, list[str]] = {}
    start = parse_bound(starts)
    if starts is None or starts == "":
        errors["starts"] = ["required: a date (YYYY-MM-DD) or a local date-time (YYYY-MM-DDTHH:MM)"]
    elif start is None:
        errors["starts"] = [f"{_what(starts)} a date (YYYY-MM-DD) or a local date-time (YYYY-MM-DDTHH:MM)"]
    if ends is None:
        return errors  # until removed
    end = parse_bound(ends)
    if end is None:
        errors["ends"] = [f"{_what(ends)} a date (YYYY-MM-DD), a local date-time (YYYY-MM-DDTHH:MM) or null "
                          "(until removed)"]
    elif start is not None:
        if isinstance(start, datetime) != isinstance(end, datetime):
            errors["ends"] = ["must be of the same kind as starts (both dates or both date-times)"]
        elif end < start:  # type: ignore[operator]
            errors["ends"] = ["ends before it starts"]
        elif isinstance(start, datetime) and end == start:
            errors["ends"] = ["must be after starts"]
    return errors


@dataclass(frozen=True)
class Span:
    """A notice's time in force as aware instants: [start, end), end None for "until removed"."""

    start: datetime
    end: datetime | None

    def contains(self, at: datetime) -> bool:
        return self.start <= at and (self.end is None or at < self.end)


def _instant(bound: date | datetime, zone: ZoneInfo, *, after: bool) -> datetime:
    """Local wall-clock to an instant; a whole date `after` its last day ends at the next midnight.

    A wall-clock time skipped by a daylight-saving change falls after the gap (fold=0), as in the
    hours engine.
    """
    if isinstance(bound, datetime):
        return bound.replace(tzinfo=zone, fold=0)
    day = bound + timedelta(days=1) if after else bound
    return datetime.combine(day, time(), tzinfo=zone)


def span(notice: Mapping[str, Any], timezone: str) -> Span | None:
    """The notice's span in force, or None when its stored data cannot be read."""
    if not isinstance(notice, Mapping) or validate_span(notice.get("starts"), notice.get("ends")):
        return None
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ValueError, KeyError, OSError):
        return None
    start = parse_bound(notice["starts"])
    end = parse_bound(notice.get("ends"))
    assert start is not None
    return Span(_instant(start, zone, after=False), None if end is None else _instant(end, zone, after=True))


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone or "UTC")
    except (ValueError, KeyError, OSError):
        return ZoneInfo("UTC")  # stored data with an unknown zone: no notice is shown (see `span`)


def _aware(at: datetime, zone: ZoneInfo) -> datetime:
    return at.replace(tzinfo=zone) if at.tzinfo is None else at


def _spans(notices: object, timezone: str) -> Iterable[tuple[Mapping[str, Any], Span]]:
    for notice in notices if isinstance(notices, list) else ():
        found = span(notice, timezone)
        if found is not None and isinstance(notice.get("message"), str):
            yield notice, found


def active_notices(notices: object, at: datetime, timezone: str) -> list[dict[str, Any]]:
    """The notices in force at `at`, in the order the team lists them, each as `shown` words it.

    Naive `at` is read as the team's wall-clock time, like the hours engine does.
    """
    zone = _zone(timezone)
    moment = _aware(at, zone)
    return [shown(notice, found) for notice, found in _spans(notices, timezone) if found.contains(moment)]


def next_change(notices: object, at: datetime, timezone: str) -> datetime | None:
    """The first instant after `at` at which a notice starts or ends: what is shown changes then,
    so anything rendered at `at` (a cached auto-reply) must not be served from that instant on."""
    zone = _zone(timezone)
    moment = _aware(at, zone)
    later = [edge for _notice, found in _spans(notices, timezone) for edge in (found.start, found.end)
             if edge is not None and edge > moment]
    return min(later, default=None)


def shown(notice: Mapping[str, Any], found: Span) -> dict[str, Any]:
    """A notice as answers give it: the document's fields plus its instants (ISO, with offset)."""
    return {
        "message": notice["message"],
        "level": notice.get("level") if notice.get("level") in LEVELS else "info",
        "starts": notice["starts"],
        "ends": notice.get("ends"),
        "starts_at": found.start.isoformat(timespec="seconds"),
        "ends_at": None if found.end is None else found.end.isoformat(timespec="seconds"),
    }


def reminders_due(notices: object, now: datetime, timezone: str,
                  after: timedelta = REMINDER_AFTER) -> list[dict[str, Any]]:
    """Open-ended notices ("until removed") that started more than `after` before `now`: their
    owners should be asked whether they still hold (a page, or `directory notify`, says so)."""
    zone = _zone(timezone)
    moment = _aware(now, zone)
    return [shown(notice, found) for notice, found in _spans(notices, timezone)
            if found.end is None and moment - found.start > after]
