"""Opening hours: the one engine behind "open now", "opens at" and "when will I hear back".

Everything here is pure domain code (no Flask, no database) so the API, the pages, the
auto-replies and the CLI all answer the same question the same way (contract §1).

How it works, and what callers may rely on:

* A team's weekly hours are wall-clock intervals. For each local *date* the engine works out
  which wall-clock minutes are open (the weekday's own intervals, plus the part after midnight
  of the previous weekday's intervals, minus public holidays and closures of that date), then
  converts those wall-clock ranges to UTC one constant-offset stretch at a time. This is exact
  across daylight-saving changes: on a spring-forward night a 01:00-03:00 interval covers only
  the wall-clock times that exist; on a fall-back night the repeated hour is open twice.
* The date that counts for holidays and closures is the local date of the instant. So for a
  Monday 22:00-06:00 interval, a holiday on Tuesday closes Tuesday 00:00-06:00 too.
* Touching intervals (22:00-24:00 then 00:00-06:00, or 24/7) form one open period.
* Queries walk whole open periods day by day, never minutes; per-date results are memoised on
  the (immutable) schedule, and schedules are memoised by their hours and time zone.
* Naive datetimes given to a query are read as team-local wall-clock time; every datetime
  returned is aware, in the team's time zone.
* Instants are handled internally as integer microseconds since the Unix epoch (UTC).
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from directory import vocabulary
from directory.vocabulary import is_time_zone

__all__ = [
    "DURATION_UNITS",
    "HORIZON",
    "MAX_DURATION_VALUE",
    "WEEKDAYS",
    "DayHours",
    "OrgCalendar",
    "Schedule",
    "team_status",
    "validate_duration",
    "validate_hours",
    "validate_timezone",
]

WEEKDAYS = vocabulary.WEEKDAYS
DURATION_UNITS = tuple(vocabulary.DURATION_UNITS)
CALENDAR_UNITS = ("hours", "days")
"""Units that count real time, so they need no published hours (contract §2)."""
MAX_DURATION_VALUE = 10_000
"""The largest duration value (any unit) that the schema accepts and the engine computes."""
HORIZON = timedelta(days=366)
"""next_open / next_close look this far ahead at most (contract §2: "a year ahead")."""

ADD_LIMIT = timedelta(days=10 * 366)
"""Schedule.add answers None for results further than this from the start: not a sane promise."""

_WEEKDAY_NAMES = tuple(vocabulary.DAY_NAMES.values())
_SEC = 1_000_000
_MIN = 60 * _SEC
_HOUR = 60 * _MIN
_DAY = 24 * _HOUR
_DAY_MINUTES = 1440
_HORIZON_US = HORIZON // timedelta(microseconds=1)
_ADD_LIMIT_US = ADD_LIMIT // timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORD = date(1970, 1, 1).toordinal()
# Instants whose local date is D lie within these bounds of D's wall-clock midnight read as
# UTC, because real UTC offsets stay within -12:00..+14:00.
_WINDOW_BEFORE = 14 * _HOUR
_WINDOW_AFTER = 36 * _HOUR
_DAY_CACHE_SIZE = 4096
_BLOCK_DAYS = 16  # business_days counts open dates this many at a time
_SCHEDULE_CACHE_SIZE = 512

_TIME_RE = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d|24:00")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
ORG_CALENDAR_RE = re.compile(r"org:([a-z0-9]+(?:-[a-z0-9]+)*)")
"""How `hours.holidays.calendar` names an organisation holiday calendar: "org:<slug>"."""


@dataclass(frozen=True, slots=True)
class OrgCalendar:
    """An organisation holiday calendar as plain data: its closed dates and their names.

    `version` changes whenever the days do, so memoised schedules built from an older copy are
    never reused.
    """

    name: str
    version: int
    days: Mapping[date, str]


OrgCalendarLookup = Callable[[str], "OrgCalendar | None"]
_org_calendar_lookup: OrgCalendarLookup | None = None


def set_org_calendar_lookup(lookup: OrgCalendarLookup | None) -> None:
    """Where `Schedule.from_team` finds the organisation calendars teams name: the app installs
    one (directory.holiday_calendars), so the engine itself stays free of storage. None, or a
    name the lookup does not know, means no organisation days."""
    global _org_calendar_lookup
    _org_calendar_lookup = lookup

Segment = tuple[int, int]
"""Wall-clock minutes [start, end) within one local date, 0 <= start < end <= 1440."""
Period = tuple[int, int]
"""Microseconds since the epoch [start, end)."""


# --------------------------------------------------------------------------- validation


def validate_timezone(name: object) -> list[str]:
    """[] when `name` is an IANA time zone this machine knows, else one message naming it."""
    if not isinstance(name, str) or not name:
        return ["must be a time zone name such as 'Europe/London'"]
    if not is_time_zone(name):
        return [f"unknown time zone {name!r}"]
    return []


def validate_duration(d: object) -> dict[str, list[str]]:
    """{} when `d` is a §1 duration, else messages keyed by field ("value", "unit")."""
    if not isinstance(d, Mapping):
        return {"_schema": ["must be an object with value and unit"]}
    errors: dict[str, list[str]] = {}
    for key in d:
        if key not in ("value", "unit"):
            errors[str(key)] = ["unknown field"]
    value = d.get("value")
    if "value" not in d:
        errors["value"] = ["required"]
    elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        errors["value"] = ["must be a number"]
    elif not 0 < value <= MAX_DURATION_VALUE:
        errors["value"] = [f"must be greater than 0 and at most {MAX_DURATION_VALUE}"]
    unit = d.get("unit")
    if "unit" not in d:
        errors["unit"] = ["required"]
    elif unit not in DURATION_UNITS:
        errors["unit"] = [f"must be one of {', '.join(DURATION_UNITS)}"]
    return errors


def validate_hours(hours: object) -> dict[str, list[str]]:
    """Check a §1 `hours` object's shape and meaning; {} when valid.

    Errors are keyed by dotted path relative to the hours object ("weekly.mon",
    "holidays.country", "closures.0.end"); "_schema" names the object itself. Unknown keys are
    refused, so a typo ("holiday") cannot silently leave a team open on its holidays.
    `weekly` may be absent (closed every day); missing days are closed.
    """
    if not isinstance(hours, Mapping):
        return {"_schema": ["must be an object with weekly, holidays and closures"]}
    errors: dict[str, list[str]] = {}
    for key in hours:
        if key not in ("weekly", "holidays", "closures"):
            errors[str(key)] = ["unknown field; use weekly, holidays or closures"]
    if "weekly" in hours:
        _validate_weekly(hours["weekly"], errors)
    if hours.get("holidays") is not None:
        _validate_holidays(hours["holidays"], errors)
    if hours.get("closures") is not None:
        _validate_closures(hours["closures"], errors)
    return errors


def _add(errors: dict[str, list[str]], path: str, message: str) -> None:
    errors.setdefault(path, []).append(message)


def _validate_weekly(weekly: object, errors: dict[str, list[str]]) -> None:
    if not isinstance(weekly, Mapping):
        _add(errors, "weekly", "must be an object with keys mon to sun")
        return
    parsed: dict[int, list[tuple[int, int]]] = {}
    for key, intervals in weekly.items():
        path = f"weekly.{key}"
        if key not in WEEKDAYS:
            _add(errors, path, f"unknown day; use {', '.join(WEEKDAYS)}")
            continue
        day = _parse_day(intervals, path, errors)
        if day is not None:
            parsed[WEEKDAYS.index(key)] = day
    # Overlaps, counting the after-midnight part of the previous day's intervals as well.
    for wd, own in parsed.items():
        # (start, end, own interval number or 0 for the previous day's, description)
        occupied: list[tuple[int, int, int, str]] = []
        for i, (start, end) in enumerate(own, 1):
            occupied.append((start, end if end > start else _DAY_MINUTES, i, f"interval {i}"))
        prev = (wd - 1) % 7
        for j, (start, end) in enumerate(parsed.get(prev, ()), 1):
            if 0 < end < start:
                label = f"{_WEEKDAY_NAMES[prev]}'s interval {j}, which runs past midnight until {_fmt_minutes(end)}"
                occupied.append((0, end, 0, label))
        occupied.sort()
        for a, b in pairwise(occupied):
            if b[0] >= a[1]:
                continue
            if a[2] and b[2]:
                first, second = sorted((a[2], b[2]))
                message = f"intervals {first} and {second} overlap"
                # "09:00 to 08:00" was most likely meant as a day, not a 23-hour overnight shift: say why
                night = [n for n in (first, second)
                         if 0 < own[n - 1][1] < own[n - 1][0] and _DAY_MINUTES - own[n - 1][0] + own[n - 1][1] > 720]
                if night:
                    start, end = own[night[0] - 1]
                    message += (f": interval {night[0]}, {_fmt_minutes(start)} to {_fmt_minutes(end)}, ends before it "
                                f"starts, so it runs past midnight until {_fmt_minutes(end)} the next day")
            else:
                own_one, other = (a, b) if a[2] else (b, a)
                message = f"{own_one[3]} overlaps {other[3]}"
            _add(errors, f"weekly.{WEEKDAYS[wd]}", message)


def _parse_day(intervals: object, path: str, errors: dict[str, list[str]]) -> list[tuple[int, int]] | None:
    if intervals is None:  # null reads as a closed day, like a missing one
        return []
    if not isinstance(intervals, list | tuple):
        _add(errors, path, "must be a list of [start, end] intervals")
        return None
    result: list[tuple[int, int]] = []
    ok = True
    for i, interval in enumerate(intervals, 1):
        if not isinstance(interval, list | tuple) or len(interval) != 2:
            _add(errors, path, f"interval {i}: must be a pair [start, end] of HH:MM times")
            ok = False
            continue
        bounds = []
        for value in interval:
            if not isinstance(value, str) or not _TIME_RE.fullmatch(value):
                _add(errors, path, f"interval {i}: {value!r} is not a time of day (HH:MM, 00:00 to 24:00)")
                ok = False
                break
            bounds.append(_minutes(value))
        else:
            start, end = bounds
            if start == _DAY_MINUTES:
                _add(errors, path, f"interval {i}: may not start at 24:00")
                ok = False
            elif start == end:
                _add(errors, path, f"interval {i}: is empty (start equals end)")
                ok = False
            else:
                result.append((start, end))
    return result if ok else None


def _validate_holidays(spec: object, errors: dict[str, list[str]]) -> None:
    if not isinstance(spec, Mapping):
        _add(errors, "holidays", "must be an object with country, optional subdivision and optional calendar")
        return
    for key in spec:
        if key not in ("country", "subdivision", "calendar"):
            _add(errors, f"holidays.{key}", "unknown field; use country, subdivision or calendar")
    country = spec.get("country")
    subdivision = spec.get("subdivision")
    calendar = spec.get("calendar")
    if calendar is not None and not (isinstance(calendar, str) and ORG_CALENDAR_RE.fullmatch(calendar)):
        _add(errors, "holidays.calendar", "must name an organisation holiday calendar as 'org:<slug>'")
    if calendar is not None and country is None and subdivision is None:
        return  # an organisation calendar alone, without a country's public holidays
    supported = _supported_countries()
    if not isinstance(country, str) or not country:
        _add(errors, "holidays.country", "required: an ISO 3166 country code such as 'GB'")
        return
    if country not in supported:
        _add(errors, "holidays.country", f"unknown country code {country!r}")
        return
    if subdivision is None:
        return
    if not isinstance(subdivision, str) or not subdivision:
        _add(errors, "holidays.subdivision", "must be a subdivision code such as 'ENG'")
    elif not _holiday_calendar_ok(country, subdivision):
        known = supported[country]
        hint = f"; use one of {', '.join(known)}" if known else f"; {country} has no subdivisions"
        _add(errors, "holidays.subdivision", f"unknown subdivision {subdivision!r} of {country}{hint}")


def _validate_closures(closures: object, errors: dict[str, list[str]]) -> None:
    if not isinstance(closures, list | tuple):
        _add(errors, "closures", "must be a list of {start, end, reason} objects")
        return
    for i, closure in enumerate(closures):
        path = f"closures.{i}"
        if not isinstance(closure, Mapping):
            _add(errors, path, "must be an object with start, end and optional reason")
            continue
        for key in closure:
            if key not in ("start", "end", "reason"):
                _add(errors, f"{path}.{key}", "unknown field; use start, end or reason")
        reason = closure.get("reason")
        if reason is not None and not isinstance(reason, str):
            _add(errors, f"{path}.reason", "must be text")
        parsed: dict[str, date | datetime] = {}
        for key in ("start", "end"):
            if key not in closure or closure[key] is None:
                _add(errors, f"{path}.{key}", "required")
                continue
            value = parse_local_bound(closure[key])
            if value is None:
                _add(
                    errors,
                    f"{path}.{key}",
                    f"{closure[key]!r} is not a date (YYYY-MM-DD) or a local date-time (YYYY-MM-DDTHH:MM)",
                )
            else:
                parsed[key] = value
        if len(parsed) != 2:
            continue
        start, end = parsed["start"], parsed["end"]
        if isinstance(start, datetime) != isinstance(end, datetime):
            _add(errors, f"{path}.end", "must be of the same kind as start (both dates or both date-times)")
        elif end < start:  # type: ignore[operator]
            _add(errors, f"{path}.end", "ends before it starts")
        elif isinstance(start, datetime) and end == start:
            _add(errors, f"{path}.end", "must be after start")


def parse_local_bound(value: object) -> date | datetime | None:
    """A closure's or notice's bound: a local date or a naive local date-time; None when neither."""
    if not isinstance(value, str):
        return None
    try:
        if _DATE_RE.fullmatch(value):
            return date.fromisoformat(value)
        if _DATETIME_RE.fullmatch(value):
            return datetime.fromisoformat(value)
    except ValueError:
        return None
    return None




@lru_cache(maxsize=1)
def _supported_countries() -> dict[str, list[str]]:
    return holidays_lib.list_supported_countries()


@lru_cache(maxsize=1024)
def _holiday_calendar_ok(country: str, subdivision: str | None) -> bool:
    try:
        holidays_lib.country_holidays(country, subdiv=subdivision, years=[])
    except (NotImplementedError, KeyError, ValueError):
        return False
    return True


@lru_cache(maxsize=4096)
def _holidays_for(country: str, subdivision: str | None, year: int) -> dict[date, str]:
    """One year of public holidays as a plain dict: cheap lookups, built once per process."""
    calendar = holidays_lib.country_holidays(country, subdiv=subdivision, years=[])
    language = None
    default = calendar.default_language or ""
    if not default.startswith("en") and "en_US" in (calendar.supported_languages or ()):
        language = "en_US"
    calendar = holidays_lib.country_holidays(country, subdiv=subdivision, years=year, language=language)
    return {day: str(name) for day, name in calendar.items()}


# --------------------------------------------------------------------------- time zones


def _offset_us(zone: ZoneInfo, us: int) -> int:
    return (_EPOCH + timedelta(microseconds=us)).astimezone(zone).utcoffset() // timedelta(microseconds=1)  # type: ignore[operator]


@lru_cache(maxsize=1024)
def _zone_year(key: str, year: int) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    """A zone's UTC-offset changes during one UTC year, found once per process and shared.

    -> (offset at the start of the year, change instants, offset after each change), all in
    µs. Probes the offset at every UTC midnight and bisects (to the second) between two
    midnights whose offsets differ; so it assumes no zone changes its offset and back within
    a day, which none does.
    """
    zone = ZoneInfo(key)
    start = (date(year, 1, 1).toordinal() - _EPOCH_ORD) * _DAY
    days = date(year + 1, 1, 1).toordinal() - date(year, 1, 1).toordinal()
    times: list[int] = []
    offsets: list[int] = []
    previous = start_offset = _offset_us(zone, start)
    for day in range(1, days + 1):
        probe = start + day * _DAY
        offset = _offset_us(zone, probe)
        if offset == previous:
            continue
        lo, hi = (probe - _DAY) // _SEC, probe // _SEC  # offset(lo) == previous != offset(hi)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if _offset_us(zone, mid * _SEC) == previous:
                lo = mid
            else:
                hi = mid
        if hi * _SEC < start + days * _DAY:
            times.append(hi * _SEC)
            offsets.append(offset)
        previous = offset
    return start_offset, tuple(times), tuple(offsets)


# --------------------------------------------------------------------------- helpers


def _minutes(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:])


def _fmt_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _merge(items: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort and merge overlapping or touching ranges."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(items):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _subtract(segments: tuple[Segment, ...], holes: list[Segment]) -> tuple[Segment, ...]:
    result = list(segments)
    for h0, h1 in holes:
        kept: list[Segment] = []
        for s, e in result:
            if e <= h0 or s >= h1:
                kept.append((s, e))
                continue
            if s < h0:
                kept.append((s, h0))
            if e > h1:
                kept.append((h1, e))
        result = kept
    return tuple(result)


@dataclass(frozen=True, slots=True)
class DayHours:
    """One local date of the hours grid, as effectively open after holidays and closures."""

    date: date
    weekday: str
    intervals: list[tuple[str, str]]
    holiday: str | None
    closures: list[str]


@dataclass(frozen=True, slots=True)
class _Closure:
    start: datetime  # local wall-clock, naive
    end: datetime  # exclusive; a whole-day closure ends at 00:00 after its last date
    reason: str | None
    raw: dict[str, Any]


# --------------------------------------------------------------------------- schedule


class Schedule:
    """Built once from a team's hours + timezone; immutable; cheap to query repeatedly.

    Build with `Schedule.from_team`. Per-date open periods are memoised on the instance (the
    memo is an invisible cache: answers never change), so keep and reuse schedules.
    """

    __slots__ = (
        "_block_cache",
        "_closures",
        "_day_cache",
        "_holiday_spec",
        "_org_calendar",
        "_partial_closed",
        "_segment_cache",
        "_weekday_segments",
        "_whole_closed",
        "_whole_closed_starts",
        "tz",
    )
    tz: ZoneInfo

    def __init__(
        self,
        tz: ZoneInfo,
        weekly: Mapping[str, list[list[str]]],
        holiday_spec: tuple[str, str | None] | None,
        closures: list[Mapping[str, Any]],
        org_calendar: OrgCalendar | None = None,
    ) -> None:
        """Prefer `from_team`, which validates; this trusts its (already valid) input.

        `org_calendar`'s days close the team like public holidays.
        """
        self.tz = tz
        self._holiday_spec = holiday_spec
        self._org_calendar = org_calendar
        own: list[list[Segment]] = [[] for _ in WEEKDAYS]
        for wd, key in enumerate(WEEKDAYS):
            for start_s, end_s in weekly.get(key) or ():
                start, end = _minutes(start_s), _minutes(end_s)
                if end > start:
                    own[wd].append((start, end))
                else:  # runs past midnight into the next weekday
                    own[wd].append((start, _DAY_MINUTES))
                    if end > 0:
                        own[(wd + 1) % 7].append((0, end))
        self._weekday_segments = tuple(tuple(_merge(segs)) for segs in own)

        parsed: list[_Closure] = []
        whole: list[tuple[int, int]] = []  # inclusive date ordinals
        partial: dict[int, list[Segment]] = {}
        for raw in closures:
            start_v = parse_local_bound(raw["start"])
            end_v = parse_local_bound(raw["end"])
            if isinstance(start_v, datetime) and isinstance(end_v, datetime):
                closure = _Closure(start_v, end_v, raw.get("reason"), dict(raw))
            elif isinstance(start_v, date) and isinstance(end_v, date):
                closure = _Closure(
                    datetime.combine(start_v, time()),
                    datetime.combine(end_v + timedelta(days=1), time()),
                    raw.get("reason"),
                    dict(raw),
                )
            else:
                raise ValueError(f"invalid closure {raw!r}")
            parsed.append(closure)
            self._split_closure(closure, whole, partial)
        self._closures = tuple(sorted(parsed, key=lambda c: (c.start, c.end)))
        self._whole_closed = tuple(_merge([(a, b + 1) for a, b in whole]))  # [a, b) ordinals
        self._whole_closed_starts = tuple(a for a, _ in self._whole_closed)
        self._partial_closed = {o: _merge(h) for o, h in partial.items()}
        self._day_cache: dict[int, tuple[Period, ...]] = {}
        self._block_cache: dict[int, tuple[int, ...]] = {}
        self._segment_cache: dict[int, tuple[Segment, ...]] = {}

    @staticmethod
    def _split_closure(c: _Closure, whole: list[tuple[int, int]], partial: dict[int, list[Segment]]) -> None:
        """Record a wall-clock closure as whole closed dates plus partial minutes of dates."""
        first, last = c.start.date().toordinal(), c.end.date().toordinal()
        start_min = c.start.hour * 60 + c.start.minute
        end_min = c.end.hour * 60 + c.end.minute
        if first == last:
            partial.setdefault(first, []).append((start_min, end_min))
            return
        if start_min:
            partial.setdefault(first, []).append((start_min, _DAY_MINUTES))
            first += 1
        if end_min:
            partial.setdefault(last, []).append((0, end_min))
        if first <= last - 1:
            whole.append((first, last - 1))

    @classmethod
    def from_team(cls, hours: Mapping[str, Any] | None, timezone: str) -> Schedule | None:
        """The team's schedule, or None when its hours are not published (`hours` missing).

        Raises ValueError (with the validation errors as its argument) for invalid hours or
        time zone. Schedules are memoised by (hours, timezone), so calling this per request is
        cheap and keeps the per-date memo warm.
        """
        if hours is None:
            return None
        org_calendar = _org_calendar_for(hours)
        try:
            key = (json.dumps(hours, sort_keys=True, separators=(",", ":")), timezone,
                   (org_calendar.name, org_calendar.version) if org_calendar else None)
        except (TypeError, ValueError):
            key = None
        if key is not None:
            cached = _SCHEDULES.get(key)
            if cached is not None:
                return cached
        tz_errors = validate_timezone(timezone)
        errors = validate_hours(hours)
        if tz_errors:
            errors["timezone"] = tz_errors
        if errors:
            raise ValueError(errors)
        spec = hours.get("holidays")
        holiday_spec = (spec["country"], spec.get("subdivision")) if spec and spec.get("country") else None
        schedule = cls(ZoneInfo(timezone), hours.get("weekly") or {}, holiday_spec, list(hours.get("closures") or ()),
                       org_calendar)
        if key is not None:
            if len(_SCHEDULES) >= _SCHEDULE_CACHE_SIZE:
                _SCHEDULES.clear()
            _SCHEDULES[key] = schedule
        return schedule

    # ----------------------------------------------------------------- per-date building blocks

    def holiday(self, day: date) -> str | None:
        """The public (or organisation) holiday's name on that local date, if the team follows a calendar."""
        name = None
        if self._holiday_spec is not None:
            country, subdivision = self._holiday_spec
            name = _holidays_for(country, subdivision, day.year).get(day)
        if name is None and self._org_calendar is not None:
            name = self._org_calendar.days.get(day)
        return name

    def _segments(self, ordinal: int) -> tuple[Segment, ...]:
        """Open wall-clock minutes of one local date, after holidays and closures."""
        cached = self._segment_cache.get(ordinal)
        if cached is not None:
            return cached
        segments = self._weekday_segments[(ordinal - 1) % 7]
        if segments:
            i = bisect_right(self._whole_closed_starts, ordinal) - 1
            if (i >= 0 and ordinal < self._whole_closed[i][1]) or self.holiday(date.fromordinal(ordinal)):
                segments = ()
            else:
                holes = self._partial_closed.get(ordinal)
                if holes:
                    segments = _subtract(segments, holes)
        if len(self._segment_cache) >= _DAY_CACHE_SIZE:
            self._segment_cache.clear()
        self._segment_cache[ordinal] = segments
        return segments

    def _pieces(self, lo: int, hi: int) -> list[tuple[int, int, int]]:
        """Split UTC [lo, hi) into stretches of constant UTC offset: (start, end, offset)."""
        key = self.tz.key
        first_year = (_EPOCH + timedelta(microseconds=lo)).year
        last_year = (_EPOCH + timedelta(microseconds=hi)).year
        start_offset, times, offsets = _zone_year(key, first_year)
        i = bisect_right(times, lo) - 1
        offset = offsets[i] if i >= 0 else start_offset
        pieces: list[tuple[int, int, int]] = []
        current = lo
        for year in range(first_year, last_year + 1):
            year_offset, times, offsets = _zone_year(key, year)
            if year > first_year and year_offset != offset:  # a change exactly at 1 January 00:00 UTC
                year_start = (date(year, 1, 1).toordinal() - _EPOCH_ORD) * _DAY
                if lo < year_start < hi:
                    pieces.append((current, year_start, offset))
                    current, offset = year_start, year_offset
            for t, after in zip(times, offsets, strict=True):
                if lo < t < hi:
                    pieces.append((current, t, offset))
                    current, offset = t, after
        pieces.append((current, hi, offset))
        return pieces

    def _day_periods(self, ordinal: int) -> tuple[Period, ...]:
        """UTC periods (µs) of the instants whose local date is `ordinal` and that are open."""
        cached = self._day_cache.get(ordinal)
        if cached is not None:
            return cached
        segments = self._segments(ordinal)
        periods: tuple[Period, ...] = ()
        if segments:
            base = (ordinal - _EPOCH_ORD) * _DAY
            found: list[Period] = []
            for p0, p1, off in self._pieces(base - _WINDOW_BEFORE, base + _WINDOW_AFTER):
                for a, b in segments:
                    s = max(base + a * _MIN - off, p0)
                    e = min(base + b * _MIN - off, p1)
                    if s < e:
                        found.append((s, e))
            periods = tuple(_merge(found))
        if len(self._day_cache) >= _DAY_CACHE_SIZE:
            self._day_cache.clear()
        self._day_cache[ordinal] = periods
        return periods

    def _days(self, first_day: int, last_day: int) -> Iterator[tuple[int, tuple[Period, ...]]]:
        """(ordinal, open periods) for local dates first_day..last_day that have open time.

        Stops early after HORIZON with no open time at all (a team that never opens).
        """
        cache = self._day_cache
        idle_days = 0
        max_idle = HORIZON.days + 1
        for ordinal in range(first_day, last_day + 1):
            periods = cache.get(ordinal)
            if periods is None:
                periods = self._day_periods(ordinal)
            if periods:
                idle_days = 0
                yield ordinal, periods
            else:
                idle_days += 1
                if idle_days > max_idle:
                    return

    def _open_days(self, block: int) -> tuple[int, ...]:
        """Ordinals of the dates with open time among the _BLOCK_DAYS dates of `block`."""
        cached = self._block_cache.get(block)
        if cached is None:
            first = block * _BLOCK_DAYS
            cached = tuple(o for o in range(first, first + _BLOCK_DAYS) if self._day_periods(o))
            if len(self._block_cache) >= _DAY_CACHE_SIZE // _BLOCK_DAYS:
                self._block_cache.clear()
            self._block_cache[block] = cached
        return cached

    def _nth_open_day(self, after: int, n: int) -> int | None:
        """The n-th date with open time after the date `after`, taking whole blocks of dates at
        a time; None after more than HORIZON without open time, or beyond ADD_LIMIT."""
        block = after // _BLOCK_DAYS
        days = self._open_days(block)
        index = bisect_right(days, after)
        previous = after
        while True:
            if index < len(days):
                if days[index] - previous > HORIZON.days:
                    return None
                if n <= len(days) - index:
                    return days[index + n - 1]
                n -= len(days) - index
                previous = days[-1]
            block += 1
            first = block * _BLOCK_DAYS
            if first - previous > HORIZON.days or first - after > ADD_LIMIT.days:
                return None
            days, index = self._open_days(block), 0

    def _merged(self, first_day: int, last_day: int) -> Iterator[Period]:
        """Merged open periods of local dates first_day..last_day, in order.

        Stops like `_days`. Relies on local dates following each other in time, true of every
        zone whose clock changes do not step back across midnight.
        """
        current: list[int] | None = None
        for _ordinal, periods in self._days(first_day, last_day):
            for s, e in periods:
                if current is None:
                    current = [s, e]
                elif s <= current[1]:
                    if e > current[1]:
                        current[1] = e
                else:
                    yield current[0], current[1]
                    current = [s, e]
        if current is not None:
            yield current[0], current[1]

    # ----------------------------------------------------------------- conversions

    def _aware(self, at: datetime) -> datetime:
        return at.replace(tzinfo=self.tz) if at.tzinfo is None else at

    def _us(self, at: datetime) -> int:
        return (self._aware(at) - _EPOCH) // timedelta(microseconds=1)

    def _local_ordinal(self, at: datetime) -> int:
        return self._aware(at).astimezone(self.tz).toordinal()

    def _dt(self, us: int) -> datetime:
        return (_EPOCH + timedelta(microseconds=us)).astimezone(self.tz)

    def _wall(self, day: date, clock: time) -> int:
        """The instant of a local wall-clock time: a time skipped by a DST change moves on by
        the size of the gap (01:30 on a spring-forward night is 02:30); a repeated time is its
        first occurrence."""
        return self._us(datetime.combine(day, clock.replace(fold=0), tzinfo=self.tz))

    # ----------------------------------------------------------------- queries

    def is_open(self, at: datetime) -> bool:
        """Whether the team is open at this instant (contract §1)."""
        u = self._us(at)
        return any(s <= u < e for s, e in self._day_periods(self._local_ordinal(at)))

    def next_open(self, at: datetime) -> datetime | None:
        """The next opening; None when open at `at` or nothing opens within HORIZON."""
        if self.is_open(at):
            return None
        u = self._us(at)
        day = self._local_ordinal(at)
        for s, e in self._merged(day - 1, day + HORIZON.days + 2):
            if e <= u:
                continue
            return self._dt(s) if s - u <= _HORIZON_US else None
        return None

    def next_close(self, at: datetime) -> datetime | None:
        """End of the merged open period around `at`; None when closed, or when it lasts past
        HORIZON (a team open around the clock never closes)."""
        if not self.is_open(at):
            return None
        u = self._us(at)
        day = self._local_ordinal(at)
        for _s, e in self._merged(day - 1, day + HORIZON.days + 2):
            if e > u:
                return self._dt(e) if e - u <= _HORIZON_US else None
        return None

    def open_periods(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Merged open periods clipped to [start, end), as aware datetimes in the team's zone."""
        lo, hi = self._us(start), self._us(end)
        if hi <= lo:
            return
        for s, e in self._merged(self._local_ordinal(start) - 1, self._local_ordinal(end) + 1):
            if e <= lo:
                continue
            if s >= hi:
                return
            yield self._dt(max(s, lo)), self._dt(min(e, hi))

    def add(self, at: datetime, value: float, unit: str) -> datetime | None:
        """`at` plus a §1 duration; None when the result lies beyond a sane horizon.

        - hours: real elapsed time (fractions allowed).
        - days: the same local wall-clock time ceil(value) calendar days later (a wall time
          skipped by DST moves on by the gap; a repeated one is its first occurrence).
        - business_hours: open time only, from `at` or the next opening; may end exactly at
          the end of an open period.
        - business_days: ceil(value) open days (local dates with any open time) after the
          start (= `at`, or the next opening), at the start's wall-clock time moved into that
          day's hours: to its first opening when earlier, to its last closing when later; a time
          in a gap between two of that day's open periods (lunch) stays as it is (contract §1).
        None also when the start or result lies more than HORIZON from any open time, or the
        result is more than ADD_LIMIT (ten years) away.
        """
        if unit not in DURATION_UNITS:
            raise ValueError(f"unknown duration unit {unit!r}")
        if (isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
                or not 0 < value <= MAX_DURATION_VALUE):
            raise ValueError(f"duration value must be a number greater than 0 and at most {MAX_DURATION_VALUE}, "
                             f"not {value!r}")
        at = self._aware(at)
        if unit == "hours":
            if value * _HOUR > _ADD_LIMIT_US:
                return None
            return (at.astimezone(UTC) + timedelta(hours=value)).astimezone(self.tz)
        if unit == "days":
            n = math.ceil(value)
            if n > ADD_LIMIT.days:
                return None
            local = at.astimezone(self.tz)
            return self._dt(self._wall(local.date() + timedelta(days=n), local.time()))
        if unit == "business_hours":
            if value * _HOUR > _ADD_LIMIT_US:  # open time never runs faster than real time
                return None
            return self._add_business_hours(at, round(value * _HOUR))
        if value > ADD_LIMIT.days:
            return None
        return self._add_business_days(at, math.ceil(value))

    def _add_business_hours(self, at: datetime, remaining: int) -> datetime | None:
        # Walks each date's periods without merging: touching periods count the same, and a
        # team open around the clock has no merged end to wait for.
        u = self._us(at)
        day = self._local_ordinal(at)
        limit = u + _ADD_LIMIT_US
        last_end = u
        for _ordinal, periods in self._days(day - 1, day + ADD_LIMIT.days + 2):
            for s, e in periods:
                if e <= u:
                    continue
                start = s if s > u else u
                if start - last_end > _HORIZON_US or start > limit:
                    return None
                available = e - start
                if remaining <= available:
                    result = start + remaining
                    return self._dt(result) if result <= limit else None
                remaining -= available
                last_end = e
        return None

    def _add_business_days(self, at: datetime, n: int) -> datetime | None:
        u = self._us(at)
        day = self._local_ordinal(at)
        start = None
        for _ordinal, periods in self._days(day - 1, day + HORIZON.days + 2):
            start = next((s if s > u else u for s, e in periods if e > u), None)
            if start is not None:
                break
        if start is None or start - u > _HORIZON_US:
            return None
        local = self._dt(start)
        ordinal = self._nth_open_day(local.toordinal(), n)
        if ordinal is None:
            return None
        periods = self._day_periods(ordinal)
        t = self._wall(date.fromordinal(ordinal), local.time())
        return self._dt(min(max(t, periods[0][0]), periods[-1][1]))

    # ----------------------------------------------------------------- presentation helpers

    def week(self, day: date) -> list[DayHours]:
        """The Monday-to-Sunday week containing `day`, as effectively open, for the hours grid.

        Intervals are local "HH:MM" clipped to each date (a 22:00-06:00 interval shows as
        22:00-24:00 on its day and 00:00-06:00 on the next), touching ones joined.
        """
        monday = day - timedelta(days=day.weekday())
        result = []
        for i in range(7):
            d = monday + timedelta(days=i)
            segments = self._segments(d.toordinal())
            result.append(
                DayHours(
                    date=d,
                    weekday=WEEKDAYS[i],
                    intervals=[(_fmt_minutes(a), _fmt_minutes(b)) for a, b in segments],
                    holiday=self.holiday(d),
                    closures=[c.reason or "Closed" for c in self._closures_on(d)],
                )
            )
        return result

    def _closures_on(self, day: date) -> list[_Closure]:
        lo = datetime.combine(day, time())
        hi = lo + timedelta(days=1)
        return [c for c in self._closures if c.start < hi and c.end > lo]

    def upcoming_holidays(self, day: date, count: int = 3) -> list[tuple[date, str]]:
        """The next `count` public holidays on or after `day` (within HORIZON), in date order."""
        if count <= 0:
            return []
        until = day + HORIZON
        found: dict[date, str] = {}
        if self._org_calendar is not None:
            found.update((d, name) for d, name in self._org_calendar.days.items() if day <= d <= until)
        if self._holiday_spec is not None:
            country, subdivision = self._holiday_spec
            for year in range(day.year, until.year + 1):
                found.update((d, name) for d, name in _holidays_for(country, subdivision, year).items()
                             if day <= d <= until)
        return sorted(found.items())[:count]

    def closed_reason(self, at: datetime) -> dict[str, Any] | None:
        """Why the team is closed at `at` when a holiday or closure is the cause, else None.

        The cause is the first public holiday or closure that takes away opening hours the week
        would otherwise give between `at` and the next opening (a closure in force now, or
        Christmas Day keeping the team shut on Christmas Eve evening). A night or a weekend
        that is closed anyway has no reason. -> {"kind": "holiday" or "closure", "name": the
        holiday's name or the closure's reason (None when it gives none), "date": the local
        date it starts to matter, YYYY-MM-DD}. None when open.
        """
        if self.is_open(at):
            return None
        local = self._aware(at).astimezone(self.tz).replace(tzinfo=None, fold=0)
        following = self.next_open(at)
        limit = (following.astimezone(self.tz).replace(tzinfo=None, fold=0) if following is not None
                 else local + timedelta(days=14))
        found: list[tuple[datetime, str, str | None]] = []
        day = local.date()
        while day <= limit.date() and not found:
            midnight = datetime.combine(day, time())
            nominal = [
                (max(midnight + timedelta(minutes=a), local), min(midnight + timedelta(minutes=b), limit))
                for a, b in self._weekday_segments[day.weekday()]
            ]
            nominal = [(s, e) for s, e in nominal if s < e]
            if nominal:
                name = self.holiday(day)
                if name is not None:
                    found.append((nominal[0][0], "holiday", name))
                for c in self._closures_on(day):
                    starts = [max(s, c.start) for s, e in nominal if s < c.end and c.start < e]
                    if starts:
                        found.append((min(starts), "closure", c.reason))
            day += timedelta(days=1)
        if not found:
            return None
        when, kind, name = min(found, key=lambda item: (item[0], item[1] != "closure"))
        return {"kind": kind, "name": name, "date": when.date().isoformat()}

    def upcoming_closures(self, at: datetime) -> list[dict[str, Any]]:
        """Closures not yet ended at `at` (copies of the §1 objects), soonest first."""
        now = self._aware(at).astimezone(self.tz).replace(tzinfo=None, fold=0)
        return [dict(c.raw) for c in self._closures if c.end > now]


_SCHEDULES: dict[tuple[str, str, tuple[str, int] | None], Schedule] = {}


def _org_calendar_for(hours: Mapping[str, Any]) -> OrgCalendar | None:
    """The organisation calendar the hours name, from the bound lookup; None when unnamed or unknown."""
    spec = hours.get("holidays") if isinstance(hours, Mapping) else None
    name = spec.get("calendar") if isinstance(spec, Mapping) else None
    lookup = _org_calendar_lookup
    if not isinstance(name, str) or lookup is None:
        return None
    return lookup(name)


def team_status(
    schedule: Schedule | None,
    at: datetime,
    response_time: Mapping[str, Any] | None,
    services: list[Mapping[str, Any]] | list[dict[str, Any]],
    timezone: str | None = None,
) -> dict[str, Any]:
    """The contract §2 status object, with aware datetimes in the team's zone, plus
    `closed_reason` (see `Schedule.closed_reason`) so that callers can say why.

    Without a schedule (hours not published) the team is never open and business time is not
    promised; `hours` and `days` need no hours (contract §2), so they are still counted, `days`
    on the wall clock of `timezone` (UTC when not given or unknown). A missing or invalid
    duration gives None rather than an error: data already stored must never turn a status
    page into a server error.
    """
    calendar = schedule
    if calendar is None:
        zone = timezone if timezone and not validate_timezone(timezone) else "UTC"
        calendar = Schedule.from_team({}, zone)  # closed every day: counts calendar time only

    def add(duration: Mapping[str, Any] | None) -> datetime | None:
        if not duration or validate_duration(duration):
            return None
        if schedule is None and duration["unit"] not in CALENDAR_UNITS:
            return None
        return calendar.add(at, duration["value"], duration["unit"])

    open_now = schedule is not None and schedule.is_open(at)
    return {
        "open": open_now,
        "next_open": schedule.next_open(at) if schedule is not None else None,
        "next_close": schedule.next_close(at) if schedule is not None else None,
        "reply_by": add(response_time),
        "services": [{"name": service.get("name"), "done_by": add(service.get("turnaround"))} for service in services or ()],
        "closed_reason": schedule.closed_reason(at) if schedule is not None and not open_now else None,
    }


EARLIEST_YEAR, LATEST_YEAR = 1900, 2200


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant as people and query strings write it ('Z', or a '+' that arrived as a
    space); naive when it has no offset. Years outside 1900–2200 are refused: the arithmetic
    around them (a year of look-ahead, holiday calendars) would overflow."""
    text = text.strip()
    if "T" in text and " " in text:
        text = text.replace(" ", "+")
    instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if not EARLIEST_YEAR <= instant.year <= LATEST_YEAR:
        raise ValueError(f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return instant
