"""Property tests: directory.hours against a deliberately simple minute-by-minute reference.

The reference steps through UTC minutes, converts each to local wall-clock time and applies
contract §1 literally. Schedules are random (past-midnight intervals, 24:00 ends, touching
intervals, Sunday-into-Monday), instants lean towards daylight-saving changes, year ends and
the leap day, and closures land near the instant.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from directory.hours import WEEKDAYS, Schedule, validate_hours

WINDOW_MINUTES = 8 * 24 * 60  # the reference looks this far ahead
ZONES = ("Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC")
CALENDARS: dict[str, dict[str, str]] = {
    "Europe/London": {"country": "GB", "subdivision": "ENG"},
    "America/New_York": {"country": "US"},
    "Australia/Sydney": {"country": "AU", "subdivision": "NSW"},
    "Asia/Kolkata": {"country": "IN"},
}
SPECIAL_DATES = [
    date.fromisoformat(d)
    for d in (
        # Europe/London
        "2026-03-29", "2026-10-25", "2027-03-28", "2027-10-31", "2028-03-26", "2028-10-29",
        # America/New_York
        "2026-03-08", "2026-11-01", "2027-03-14", "2027-11-07", "2028-03-12", "2028-11-05",
        # Australia/Sydney
        "2026-04-05", "2026-10-04", "2027-04-04", "2027-10-03", "2028-04-02", "2028-10-01",
        # year ends, the leap day
        "2026-12-31", "2027-12-31", "2028-02-29", "2028-12-31",
    )
]  # fmt: skip
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
START_MINUTE = int((datetime(2026, 1, 1, tzinfo=UTC) - EPOCH).total_seconds()) // 60
END_MINUTE = int((datetime(2029, 1, 1, tzinfo=UTC) - EPOCH).total_seconds()) // 60


# --------------------------------------------------------------------------- the reference


def minutes_of(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:])


@lru_cache(maxsize=64)
def holiday_dates(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


class Reference:
    """Contract §1, one UTC minute at a time."""

    def __init__(self, hours: dict[str, Any], tz: str) -> None:
        self.tz = ZoneInfo(tz)
        self.weekly = [[(minutes_of(s), minutes_of(e)) for s, e in hours["weekly"].get(day, [])] for day in WEEKDAYS]
        self.calendar = hours.get("holidays")
        self.closures = []
        for c in hours.get("closures", []):
            if "T" in c["start"]:
                self.closures.append((datetime.fromisoformat(c["start"]), datetime.fromisoformat(c["end"])))
            else:
                start = datetime.combine(date.fromisoformat(c["start"]), time())
                end = datetime.combine(date.fromisoformat(c["end"]) + timedelta(days=1), time())
                self.closures.append((start, end))

    def open(self, minute: int) -> bool:
        local = datetime.fromtimestamp(minute * 60, self.tz)
        day = local.date()
        wall = local.hour * 60 + local.minute
        if self.calendar and day in holiday_dates(self.calendar["country"], self.calendar.get("subdivision"), day.year):
            return False
        naive = local.replace(tzinfo=None, fold=0)
        if any(start <= naive < end for start, end in self.closures):
            return False
        for start, end in self.weekly[day.weekday()]:
            if start <= wall and (wall < end or end <= start):
                return True
        return any(end < start and wall < end for start, end in self.weekly[day.weekday() - 1])


def minute_of(dt: datetime) -> int:
    return int((dt - EPOCH).total_seconds()) // 60


def at_minute(minute: int) -> datetime:
    return EPOCH + timedelta(minutes=minute)


def as_utc(dt: datetime | None) -> datetime | None:
    """Compare results in UTC: Python compares same-zone datetimes by wall clock (the two
    01:30s of a fall-back night compare equal) and never finds a repeated time equal to an
    instant in another zone."""
    return None if dt is None else dt.astimezone(UTC)


# --------------------------------------------------------------------------- strategies


def emit(weekly: dict[str, list[list[str]]], start: int, length: int, split: bool) -> None:
    """Write the weekly-timeline interval [start, start + length) as §1 intervals."""
    while length > 0:
        day, s = divmod(start % (7 * 1440), 1440)
        room = 1440 - s
        if length <= room:
            chunk, end = length, s + length
        elif length < 1440 and not split:
            chunk, end = length, s + length - 1440  # runs past midnight
        else:
            chunk, end = room, 1440
        weekly[WEEKDAYS[day]].append([f"{s // 60:02d}:{s % 60:02d}", f"{end // 60:02d}:{end % 60:02d}"])
        start, length = start + chunk, length - chunk


WEEK_POINT = st.one_of(
    st.integers(0, 7 * 48 - 1).map(lambda k: k * 30),
    st.integers(0, 7 * 1440 - 1),
    st.sampled_from([d * 1440 + m for d in range(7) for m in (0, 60, 90, 120, 150, 180, 1380)]),
)


@st.composite
def weekly_hours(draw: st.DrawFn) -> dict[str, list[list[str]]]:
    n = draw(st.integers(1, 5))
    points = sorted(draw(st.sets(WEEK_POINT, min_size=2 * n, max_size=2 * n)))
    rotation = draw(st.sampled_from([0, 0, 1440 * draw(st.integers(1, 6)) + 22 * 60]))
    weekly: dict[str, list[list[str]]] = {day: [] for day in WEEKDAYS}
    for i in range(n):
        start, end = points[2 * i], points[2 * i + 1]
        if draw(st.booleans()) and end - start > 1:  # touching intervals that must merge
            cut = draw(st.integers(start + 1, end - 1))
            emit(weekly, start + rotation, cut - start, draw(st.booleans()))
            emit(weekly, cut + rotation, end - cut, draw(st.booleans()))
        else:
            emit(weekly, start + rotation, end - start, draw(st.booleans()))
    return weekly


INSTANT_MINUTE = st.one_of(
    st.builds(
        lambda d, m: minute_of(datetime.combine(d, time(), UTC)) + m,
        st.sampled_from(SPECIAL_DATES),
        st.integers(-1440, 2 * 1440),
    ),
    st.integers(START_MINUTE, END_MINUTE),
)


@st.composite
def closures_near(draw: st.DrawFn, local_day: date) -> list[dict[str, str]]:
    closures = []
    for _ in range(draw(st.integers(0, 3))):
        first = local_day + timedelta(days=draw(st.integers(-2, 5)))
        if draw(st.booleans()):
            last = first + timedelta(days=draw(st.integers(0, 3)))
            closures.append({"start": first.isoformat(), "end": last.isoformat(), "reason": "Closed"})
        else:
            start = datetime.combine(first, time()) + timedelta(minutes=draw(st.integers(0, 47)) * 30)
            end = start + timedelta(minutes=draw(st.sampled_from([30, 60, 90, 180, 600, 1440, 2000])))
            closures.append({"start": start.strftime("%Y-%m-%dT%H:%M"), "end": end.strftime("%Y-%m-%dT%H:%M")})
    return closures


@st.composite
def cases(draw: st.DrawFn) -> tuple[Schedule, Reference, int]:
    tz = draw(st.sampled_from(ZONES))
    minute = draw(INSTANT_MINUTE)
    hours: dict[str, Any] = {"weekly": draw(weekly_hours())}
    if tz in CALENDARS and draw(st.booleans()):
        hours["holidays"] = CALENDARS[tz]
    local_day = at_minute(minute).astimezone(ZoneInfo(tz)).date()
    hours["closures"] = draw(closures_near(local_day))
    assert validate_hours(hours) == {}, hours
    schedule = Schedule.from_team(hours, tz)
    assert schedule is not None
    return schedule, Reference(hours, tz), minute


FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- properties


@FAST
@given(cases(), st.lists(st.integers(-3000, 3000), max_size=8), st.integers(0, 59))
def test_is_open_agrees(case: tuple[Schedule, Reference, int], shifts: list[int], second: int) -> None:
    schedule, reference, minute = case
    sweep = range(minute - 1440, minute + 1440, 20)  # a day either side, through any DST change
    for m in [minute, *(minute + s for s in shifts), *sweep]:
        instant = at_minute(m)
        assert schedule.is_open(instant) == reference.open(m), instant
        assert schedule.is_open(instant + timedelta(seconds=second)) == reference.open(m)
        assert schedule.is_open(instant.astimezone(schedule.tz)) == reference.open(m)


@FAST
@given(cases())
def test_next_open_is_the_first_open_minute(case: tuple[Schedule, Reference, int]) -> None:
    schedule, reference, minute = case
    result = as_utc(schedule.next_open(at_minute(minute)))
    if reference.open(minute):
        assert result is None
        return
    first = next((m for m in range(minute + 1, minute + WINDOW_MINUTES) if reference.open(m)), None)
    if first is None:
        assert result is None or result >= at_minute(minute + WINDOW_MINUTES)
    else:
        assert result is not None and minute_of(result) == first
        assert result == at_minute(first)
        assert schedule.is_open(result)


@FAST
@given(cases())
def test_next_close_ends_the_open_period(case: tuple[Schedule, Reference, int]) -> None:
    schedule, reference, minute = case
    result = as_utc(schedule.next_close(at_minute(minute)))
    if not reference.open(minute):
        assert result is None
        return
    first_closed = next((m for m in range(minute + 1, minute + WINDOW_MINUTES) if not reference.open(m)), None)
    if first_closed is None:
        assert result is None or result >= at_minute(minute + WINDOW_MINUTES)
    else:
        assert result is not None and result == at_minute(first_closed)
        assert not schedule.is_open(result)
        assert schedule.is_open(result - timedelta(microseconds=1))


@FAST
@given(cases(), st.data())
def test_business_hours_count_open_minutes(case: tuple[Schedule, Reference, int], data: st.DataObject) -> None:
    schedule, reference, minute = case
    if data.draw(st.booleans(), label="land on a period end"):
        # exactly the open time up to the end of the 1st, 2nd or 3rd open period
        wanted, ends, counted = data.draw(st.integers(1, 3), label="ends"), 0, 0
        for m in range(minute, minute + WINDOW_MINUTES):
            if reference.open(m):
                counted += 1
                if not reference.open(m + 1):
                    ends += 1
                    if ends == wanted:
                        break
        assume(counted > 0)
        amount = counted
    else:
        amount = data.draw(st.integers(1, 12 * 60), label="minutes")
    result = as_utc(schedule.add(at_minute(minute), amount / 60, "business_hours"))
    counted, m = 0, minute
    while counted < amount and m < minute + WINDOW_MINUTES:
        counted += reference.open(m)
        m += 1
    if counted < amount:
        assert result is None or result > at_minute(minute + WINDOW_MINUTES - 1)
        return
    assert result is not None and result == at_minute(m)
    # it lands on open time or on the end of an open period
    assert reference.open(m - 1)
    assert schedule.is_open(result) or schedule.is_open(result - timedelta(minutes=1))


@SLOW
@given(cases(), st.integers(1, 20 * 60), st.integers(1, 20 * 60))
def test_business_hours_are_monotonic_and_additive(case: tuple[Schedule, Reference, int], a: int, b: int) -> None:
    schedule, _reference, minute = case
    start = at_minute(minute)
    first = as_utc(schedule.add(start, a / 60, "business_hours"))
    both = as_utc(schedule.add(start, (a + b) / 60, "business_hours"))
    assume(first is not None and both is not None)
    assert first is not None and both is not None
    assert first < both  # more open time always takes longer
    assert as_utc(schedule.add(first, b / 60, "business_hours")) == both


@SLOW
@given(cases(), st.integers(1, 3))
def test_business_days_land_on_the_nth_open_day(case: tuple[Schedule, Reference, int], n: int) -> None:
    schedule, reference, minute = case
    result = schedule.add(at_minute(minute), n, "business_days")
    open_dates: dict[date, list[int]] = {}
    for m in range(minute, minute + WINDOW_MINUTES):
        if reference.open(m):
            open_dates.setdefault(at_minute(m).astimezone(schedule.tz).date(), []).append(m)
    if not open_dates:
        return
    start_minute = min(min(ms) for ms in open_dates.values())
    start_day = at_minute(start_minute).astimezone(schedule.tz).date()
    following = sorted(d for d in open_dates if d > start_day)
    # only judge when the window holds the N-th open day completely
    if len(following) < n + 1:
        return
    assert result is not None
    minutes_open = open_dates[following[n - 1]]
    r = minute_of(result)
    # the start's wall-clock time on that day, moved no earlier than its first opening and no
    # later than its last closing; a time in a gap between two open periods (lunch) stays there
    lo, hi = min(minutes_open), max(minutes_open) + 1
    assert lo <= r <= hi
    zone = schedule.tz
    wall = at_minute(start_minute).astimezone(zone).time()
    day = following[n - 1]
    same = [m for m in range(lo, hi) if at_minute(m).astimezone(zone).time() == wall
            and at_minute(m).astimezone(zone).date() == day]
    if wall < at_minute(lo).astimezone(zone).time():
        assert r == lo
    elif same:
        assert r == same[0]  # a repeated wall time (fall back) is its first occurrence
    elif wall > at_minute(hi - 1).astimezone(zone).time():
        assert r == hi
