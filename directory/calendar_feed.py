"""A team's hours as an iCalendar feed (CONTRACT §2 `calendar.ics`), built from the hours engine
so that a subscribed calendar shows exactly what the status endpoint answers.

Pure: no Flask, no database. Times are written with the team's TZID and a VTIMEZONE generated
from the same zoneinfo data the engine uses, so Outlook, Google Calendar and Thunderbird place
them right across daylight-saving changes. A local time that the TZID cannot say unambiguously
(a period ending inside the repeated hour of a fall-back night) is written in UTC instead.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import icalendar

from directory import hours

DEFAULT_DAYS = 28
MAX_DAYS = 366
PRODID = "-//The directory//Team hours//EN"


def build_feed(data: dict[str, Any], at: datetime, days: int, *, stamp: datetime, url: str | None = None) -> bytes:
    """The feed of one team (a §1 document) from `at` for `days` days.

    One OPEN event per merged open period (cut at the window's edges), one CLOSED event per
    closure overlapping the window (all-day for whole-day closures, timed for timed ones) and
    per holiday date in it (public or organisation), named by its reason or holiday name.
    A team without published hours gets a calendar without events. `stamp` is DTSTAMP.
    """
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}")
    timezone = data.get("timezone") or "UTC"
    slug = data.get("slug") or "team"
    name = data.get("name") or slug
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{name}: opening hours")
    calendar.add("x-wr-timezone", timezone)
    calendar.add("refresh-interval", timedelta(hours=6), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT6H")
    try:
        schedule = hours.Schedule.from_team(data.get("hours"), timezone)
    except ValueError:
        schedule = None  # stored data that no longer validates gives an empty feed, not an error
    stamp = stamp.astimezone(UTC)
    if schedule is not None:
        start = at if at.tzinfo is not None else at.replace(tzinfo=schedule.tz)
        end = start + timedelta(days=days)
        zoned: list[datetime] = []
        for event in _events(schedule, start, end, slug, name, url):
            event.add("dtstamp", stamp)
            calendar.add_component(event)
            zoned.extend(v for v in (event.decoded("dtstart"), event.decoded("dtend"))
                         if isinstance(v, datetime) and v.tzinfo is schedule.tz)
        if zoned:  # the zone's rules around the feed's span (a year either side), not its whole history
            calendar.add_missing_timezones(first_date=min(zoned).date() - timedelta(days=366),
                                           last_date=max(zoned).date() + timedelta(days=366))
    return calendar.to_ical()


def _events(schedule: hours.Schedule, start: datetime, end: datetime, slug: str, name: str,
            url: str | None) -> list[icalendar.Event]:
    events = []
    for s, e in schedule.open_periods(start, end):
        event = _event(f"open-{_utc_id(s)}-{_utc_id(e)}", slug, f"{name}: open", "OPEN", url)
        event.add("dtstart", _local(s, schedule))
        event.add("dtend", _local(e, schedule))
        event.add("transp", "TRANSPARENT")
        events.append(event)
    local_start = start.astimezone(schedule.tz).replace(tzinfo=None)
    local_end = end.astimezone(schedule.tz).replace(tzinfo=None)
    for closure in schedule.upcoming_closures(start):
        first, last = closure["start"], closure["end"]
        reason = closure.get("reason") or "Closed"
        if "T" in first:
            c_start, c_end = datetime.fromisoformat(first), datetime.fromisoformat(last)
            if c_start >= local_end:
                continue
            event = _event(f"closure-{first}-{last}", slug, reason, "CLOSED", url)
            event.add("dtstart", _wall(c_start, schedule))
            event.add("dtend", _wall(c_end, schedule))
        else:
            d_start, d_end = date.fromisoformat(first), date.fromisoformat(last)
            if datetime.combine(d_start, time()) >= local_end:
                continue
            event = _event(f"closure-{first}-{last}", slug, reason, "CLOSED", url)
            event.add("dtstart", d_start)
            event.add("dtend", d_end + timedelta(days=1))
        event.add("transp", "TRANSPARENT")
        events.append(event)
    day = local_start.date()
    while datetime.combine(day, time()) < local_end:
        holiday = schedule.holiday(day)
        if holiday is not None:
            event = _event(f"holiday-{day.isoformat()}", slug, holiday, "CLOSED", url)
            event.add("dtstart", day)
            event.add("dtend", day + timedelta(days=1))
            event.add("transp", "TRANSPARENT")
            events.append(event)
        day += timedelta(days=1)
    return events


def _event(key: str, slug: str, summary: str, category: str, url: str | None) -> icalendar.Event:
    event = icalendar.Event()
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    event.add("uid", f"{digest}-{slug}@directory")
    event.add("summary", summary)
    event.add("categories", [category])
    if url:
        event.add("url", url)
    return event


def _utc_id(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _local(instant: datetime, schedule: hours.Schedule) -> datetime:
    """The instant in the team's zone, or in UTC when its wall-clock time with the TZID would be
    read as another instant (RFC 5545 reads a repeated time as its first occurrence)."""
    local = instant.astimezone(schedule.tz)
    reread = local.replace(fold=0)
    if reread.astimezone(UTC) != instant.astimezone(UTC):
        return instant.astimezone(UTC)
    return local


def _wall(clock: datetime, schedule: hours.Schedule) -> datetime:
    """A closure's local wall-clock time in the team's zone (a skipped time moves on by the gap,
    like the engine reads it)."""
    instant = clock.replace(tzinfo=schedule.tz, fold=0).astimezone(UTC)
    return _local(instant, schedule)
