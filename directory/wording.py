"""The human wording of opening status and promised times, shared by pages and auto-replies.

Pure functions over the status object of `directory.hours.team_status`. English names come
from tuples here rather than `strftime`, whose %a/%b follow the process locale. Times are
always 24-hour HH:MM; "Closed — opens …" uses an em dash.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from directory import vocabulary
from directory.hours import validate_timezone

__all__ = [
    "closed_words", "describe_status", "format_duration", "format_instant", "format_reply_time", "humanize_delta",
    "zone_label",
]

WEEKDAY_NAMES = tuple(vocabulary.DAY_NAMES.values())
WEEKDAY_ABBR = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_UNIT_WORDS = vocabulary.DURATION_WORDS
NOT_PUBLISHED = "Hours not published"
AROUND_THE_CLOCK = "Open around the clock"


def _clock(dt: datetime) -> str:
    return f"{dt.hour:02d}:{dt.minute:02d}"


def _date_words(dt: datetime, now: datetime) -> str:
    """'Tue 26 Nov', with the year when it is not now's year."""
    text = f"{WEEKDAY_ABBR[dt.weekday()]} {dt.day} {MONTH_ABBR[dt.month - 1]}"
    return text if dt.year == now.year else f"{text} {dt.year}"


def format_instant(dt: datetime, tz: str, now: datetime) -> str:
    """When something happens, as a reader in `tz` would say it relative to `now`.

    "today at 09:00", "tomorrow at 09:00", "yesterday at 09:00", "Monday at 09:00" (2 to 6
    days ahead), otherwise "Tue 26 Nov at 11:00" ("Tue 26 Nov 2027 at 11:00" in another year).
    """
    zone = ZoneInfo(tz)
    local, local_now = dt.astimezone(zone), now.astimezone(zone)
    days = (local.date() - local_now.date()).days
    clock = _clock(local)
    if days == 0:
        return f"today at {clock}"
    if days == 1:
        return f"tomorrow at {clock}"
    if days == -1:
        return f"yesterday at {clock}"
    if 2 <= days <= 6:
        return f"{WEEKDAY_NAMES[local.weekday()]} at {clock}"
    return f"{_date_words(local, local_now)} at {clock}"


def format_reply_time(dt: datetime, tz: str, now: datetime) -> str:
    """An absolute promise, 'Tue 26 Nov, 11:00': it stays true when an email is read later."""
    zone = ZoneInfo(tz)
    local = dt.astimezone(zone)
    return f"{_date_words(local, now.astimezone(zone))}, {_clock(local)}"


def _number(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def format_duration(d: Mapping[str, Any]) -> str:
    """{"value": 4, "unit": "business_hours"} -> "4 business hours"; singular for exactly 1."""
    value, unit = d["value"], d["unit"]
    if unit not in _UNIT_WORDS:
        raise ValueError(f"unknown duration unit {unit!r}")
    singular, plural = _UNIT_WORDS[unit]
    return f"{_number(value)} {singular if value == 1 else plural}"


def _round(x: float) -> int:
    return math.floor(x + 0.5)


def humanize_delta(a: datetime, b: datetime) -> str:
    """How far `b` lies from `a`: "in 45 minutes", "in 3 hours", "in 2 days", "5 minutes ago".

    Rounds to the nearest whole unit: minutes below an hour, hours below a day, days beyond.
    """
    # via UTC: subtracting two datetimes of one zone would give wall-clock, not real, time
    seconds = (b.astimezone(UTC) - a.astimezone(UTC)).total_seconds()
    ahead = seconds >= 0
    minutes = _round(abs(seconds) / 60)
    if minutes < 1:
        return "in less than a minute" if ahead else "less than a minute ago"
    if minutes < 60:
        amount, unit = minutes, "minute"
    else:
        hours = _round(minutes / 60)
        if hours < 24:
            amount, unit = hours, "hour"
        else:
            amount, unit = _round(hours / 24), "day"
    text = f"{amount} {unit}{'' if amount == 1 else 's'}"
    return f"in {text}" if ahead else f"{text} ago"


def _as_datetime(value: object) -> datetime | None:
    """Status values may be datetimes (from team_status) or ISO strings (from the API)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    raise TypeError(f"expected a datetime or an ISO 8601 string, not {value!r}")


def closed_words(reason: Mapping[str, Any] | None) -> str:
    """How a closed badge begins: "Closed for Christmas Day", "Closed: Office closed" (a reason
    that says "closed" itself), "Temporarily closed" (a closure with no reason), or "Closed"."""
    if not reason:
        return "Closed"
    name = " ".join(str(reason.get("name") or "").split())
    if not name:
        return "Temporarily closed" if reason.get("kind") == "closure" else "Closed"
    return f"Closed: {name}" if "closed" in name.lower() else f"Closed for {name}"


def zone_label(tz: str) -> str:
    """A zone as people name it beside a time: "Europe/London" -> "London time", "UTC" -> "UTC"."""
    area, _, city = tz.rpartition("/")
    if not area or area == "Etc" or not city:
        return tz
    return f"{city.replace('_', ' ')} time"


def _badge(status: Mapping[str, Any], tz: str, now: datetime, published: bool, suffix: str) -> str:
    if not published:
        return NOT_PUBLISHED
    next_open = _as_datetime(status.get("next_open"))
    next_close = _as_datetime(status.get("next_close"))
    if status.get("open"):
        if next_close is None:
            return AROUND_THE_CLOCK
        local_close = next_close.astimezone(ZoneInfo(tz))
        if local_close.date() == now.astimezone(ZoneInfo(tz)).date():
            return f"Open until {_clock(local_close)}{suffix}"
        return f"Open until {format_instant(next_close, tz, now)}{suffix}"
    closed = closed_words(status.get("closed_reason"))
    if next_open is not None:
        return f"{closed} — opens {format_instant(next_open, tz, now)}{suffix} ({humanize_delta(now, next_open)})"
    return f"{'Closed' if closed == 'Temporarily closed' else closed} — no opening in the coming year"


def describe_status(
    status: Mapping[str, Any],
    team_tz: str,
    reader_tz: str | None,
    now: datetime,
    *,
    published: bool,
) -> dict[str, Any]:
    """The wording of a §2 status object, in the team's zone and, when it differs, the reader's.

    -> {"badge", "badge_reader", "badge_zoned", "reply", "reply_reader", "services": [{"name",
    "done_by_text"}]}. The reader variants carry " your time" and are None when the reader's zone
    is not given or reads the same as the team's; "badge_zoned" names the team's zone after its
    time ("Open until 18:00 Kolkata time"), for readers whose zone is unknown. `published` (required:
    `directory.status` decides it, once for every caller) tells a team whose hours are
    unpublished apart from one that is closed for over a year; both look the same in the
    status object. A `closed_reason` in the status begins a closed badge ("Closed for …").
    """
    # the reader's zone, when it is a real zone other than the team's (a reader's odd
    # browser zone must not break the page)
    reader = reader_tz if reader_tz and reader_tz != team_tz and not validate_timezone(reader_tz) else None
    badge = _badge(status, team_tz, now, published, "")
    badge_reader = None
    if reader is not None and badge not in (NOT_PUBLISHED, AROUND_THE_CLOCK):
        plain = _badge(status, reader, now, published, "")
        badge_reader = None if plain == badge else _badge(status, reader, now, published, " your time")

    badge_zoned = badge
    if badge not in (NOT_PUBLISHED, AROUND_THE_CLOCK) and (status.get("next_open") or status.get("next_close")):
        badge_zoned = _badge(status, team_tz, now, published, f" {zone_label(team_tz)}")

    reply = reply_reader = None
    reply_by = _as_datetime(status.get("reply_by"))
    if reply_by is not None:
        reply = f"Reply expected by {format_reply_time(reply_by, team_tz, now)}"
        if reader is not None:
            text = f"Reply expected by {format_reply_time(reply_by, reader, now)}"
            reply_reader = None if text == reply else f"{text} your time"

    services = []
    for service in status.get("services") or ():
        done_by = _as_datetime(service.get("done_by"))
        services.append(
            {
                "name": service.get("name"),
                "done_by_text": f"Done by {format_reply_time(done_by, team_tz, now)}" if done_by else None,
            }
        )
    return {
        "badge": badge,
        "badge_reader": badge_reader,
        "badge_zoned": badge_zoned,
        "reply": reply,
        "reply_reader": reply_reader,
        "services": services,
    }


def notice_span(notice: Mapping[str, Any], tz: str, now: datetime) -> str:
    """How long a notice is up, in the team's words: "Until Fri 4 Dec" (whole days, the last one
    included), "Until Fri 27 Nov, 17:30" (a local time), or "Until further notice"; with "From …"
    first when it has not started at `now`."""
    local_now = now.astimezone(ZoneInfo(tz))

    def words(value: object) -> str:
        text = str(value)
        if "T" in text:
            moment = datetime.fromisoformat(text)
            return f"{_date_words(moment, local_now)}, {_clock(moment)}"
        return _date_words(datetime.fromisoformat(text), local_now)

    ends = notice.get("ends")
    until = f"until {words(ends)}" if ends else "until further notice"
    starts_at = _as_datetime(notice.get("starts_at"))
    if starts_at is not None and starts_at > now:
        return f"From {words(notice.get('starts'))} {until}"
    return until[0].upper() + until[1:]
