"""One status policy: the hours engine's answers for a team, in numbers and in words.

Every caller that says whether a team is open (API `/status`, the auto-reply, the team page,
lists of teams and search results) goes through here, so that they cannot disagree (issue 11):

* Unpublished hours (no `hours`) read "Hours not published"; published hours with no opening
  within a year read "Closed — no opening in the coming year". The engine's status object looks
  the same for both, so the words always take the schedule's presence into account.
* Errors: stored hours or a time zone that no longer validate (data saved under older rules)
  read as unpublished hours, in UTC, rather than turning a page or an auto-reply into a 500.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from directory import hours, wording

__all__ = ["badge", "badge_class", "numbers", "schedule_of", "timezone_of", "words"]


def timezone_of(data: dict[str, Any]) -> str:
    """The zone the team's times are told in: its own when valid, else UTC."""
    zone = data.get("timezone") or "UTC"
    return zone if not hours.validate_timezone(zone) else "UTC"


def schedule_of(data: dict[str, Any]) -> hours.Schedule | None:
    """The team's schedule; None for unpublished hours and for stored hours or a zone that no
    longer validate (hours read in a zone they were not written for would be wrong)."""
    try:
        return hours.Schedule.from_team(data.get("hours"), data.get("timezone") or "UTC")
    except ValueError:
        return None


def numbers(data: dict[str, Any], at: datetime, schedule: hours.Schedule | None) -> dict[str, Any]:
    """CONTRACT §2's status object (aware datetimes) for `data` at `at`, given `schedule_of(data)`."""
    return hours.team_status(schedule, at, data.get("response_time"), data.get("services") or [],
                             timezone_of(data))


def words(status: dict[str, Any], timezone: str, reader_tz: str | None, at: datetime,
          schedule: hours.Schedule | None) -> dict[str, Any]:
    """The wording of `numbers`' status: whether hours are published is the schedule's presence."""
    return wording.describe_status(status, timezone, reader_tz, at, published=schedule is not None)


def badge_class(published: bool, open_now: bool) -> str:
    if not published:
        return "badge--unknown"
    return "badge--open" if open_now else "badge--closed"


def badge(data: dict[str, Any], now: datetime, reader_tz: str | None = None) -> tuple[str, str]:
    """(text, css class) of a team's badge in lists and search results: in the reader's time when
    `reader_tz` is a known zone, else naming the team's zone ("Open until 18:00 Kolkata time"),
    since a list mixes teams of many zones."""
    schedule = schedule_of(data)
    timezone = timezone_of(data)
    status = hours.team_status(schedule, now, None, [], timezone)
    reader = reader_tz if reader_tz and not hours.validate_timezone(reader_tz) else None
    said = words(status, timezone, reader, now, schedule)
    text = said["badge_zoned"] if reader is None else said["badge_reader"] or said["badge"]
    return text, badge_class(schedule is not None, status["open"])
