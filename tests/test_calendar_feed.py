"""The iCalendar feed says exactly what the hours engine says, read back the way calendar apps read it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar
import pytest

from directory import calendar_feed
from directory.hours import Schedule

STAMP = datetime(2026, 1, 1, tzinfo=UTC)
WEEKDAY = [["09:00", "12:30"], ["13:30", "17:30"]]
HOURS: dict[str, Any] = {
    "weekly": {
        "mon": WEEKDAY, "tue": WEEKDAY, "wed": WEEKDAY, "thu": WEEKDAY, "fri": [["09:00", "16:00"]],
        "sat": [["22:00", "06:00"]], "sun": [],  # a night shift across the clock change
    },
    "holidays": {"country": "GB", "subdivision": "ENG"},
    "closures": [
        {"start": "2026-12-24", "end": "2026-12-26", "reason": "Office closed"},
        {"start": "2026-03-26T13:00", "end": "2026-03-26T17:30", "reason": "Team training"},
    ],
}


def team(**overrides: Any) -> dict[str, Any]:
    doc = {"slug": "payroll", "name": "Payroll", "timezone": "Europe/London", "hours": HOURS}
    doc.update(overrides)
    return doc


def parse(body: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(body)


def as_utc(value: datetime, zones: dict[str, Any]) -> datetime:
    """An event time the way a client that knows only the feed's own VTIMEZONEs reads it."""
    tzid = value.tzinfo.key if hasattr(value.tzinfo, "key") else None  # type: ignore[union-attr]
    if tzid in zones:
        return value.replace(tzinfo=zones[tzid]).astimezone(UTC)
    assert value.utcoffset() == timedelta(0), f"{value!r} is neither in a VTIMEZONE of the feed nor UTC"
    return value.astimezone(UTC)


def events(calendar: icalendar.Calendar, category: str) -> list[icalendar.Event]:
    return [e for e in calendar.walk("VEVENT") if category in [str(c) for c in e.get("categories").cats]]


def open_periods(calendar: icalendar.Calendar) -> list[tuple[datetime, datetime]]:
    zones = {str(tz["TZID"]): tz.to_tz() for tz in calendar.walk("VTIMEZONE")}
    found = [(as_utc(e.decoded("dtstart"), zones), as_utc(e.decoded("dtend"), zones)) for e in events(calendar, "OPEN")]
    return sorted(found)


@pytest.mark.parametrize("at", [
    datetime(2026, 3, 23, tzinfo=UTC),  # London springs forward on Sunday 29 March
    datetime(2026, 10, 19, 10, 15, tzinfo=UTC),  # and falls back on Sunday 25 October
])
def test_open_events_are_the_engines_open_periods_across_a_clock_change(at: datetime) -> None:
    feed = parse(calendar_feed.build_feed(team(), at, 14, stamp=STAMP))
    schedule = Schedule.from_team(HOURS, "Europe/London")
    assert schedule is not None
    expected = [(s.astimezone(UTC), e.astimezone(UTC)) for s, e in schedule.open_periods(at, at + timedelta(days=14))]
    assert len(expected) > 15
    assert open_periods(feed) == expected
    # The night shift over the change lasts 7 real hours in spring and 9 in autumn, else 8.
    night = [e - s for s, e in expected if s.astimezone(schedule.tz).weekday() == 5]
    assert night == ([timedelta(hours=7), timedelta(hours=8)] if at.month == 3 else
                     [timedelta(hours=9), timedelta(hours=8)])


def test_times_carry_the_team_zone_with_both_daylight_saving_rules() -> None:
    body = calendar_feed.build_feed(team(), datetime(2026, 3, 23, tzinfo=UTC), 14, stamp=STAMP).decode()
    assert "DTSTART;TZID=Europe/London:20260323T090000" in body
    feed = parse(body.encode())
    (zone,) = feed.walk("VTIMEZONE")
    assert zone["TZID"] == "Europe/London"
    offsets = {(sub.name, sub.decoded("TZOFFSETTO")) for sub in zone.subcomponents}
    assert ("STANDARD", timedelta(0)) in offsets and ("DAYLIGHT", timedelta(hours=1)) in offsets
    assert feed["X-WR-TIMEZONE"] == "Europe/London"


def test_a_period_ending_in_the_repeated_hour_is_written_in_utc() -> None:
    """01:30 on the fall-back night happens twice; with the TZID a client would read the first."""
    small_hours = {"weekly": {"sun": [["00:30", "01:30"]]}}
    feed = parse(calendar_feed.build_feed(team(hours=small_hours), datetime(2026, 10, 24, 12, tzinfo=UTC), 2,
                                          stamp=STAMP))
    # 00:30-01:30 BST, then the repeated 01:00-01:30, now GMT: the second one's times only UTC can say.
    assert open_periods(feed) == [(datetime(2026, 10, 24, 23, 30, tzinfo=UTC), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
                                  (datetime(2026, 10, 25, 1, 0, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, tzinfo=UTC))]
    body = feed.to_ical().decode()
    assert "DTSTART:20261025T010000Z" in body and "DTEND:20261025T013000Z" in body
    assert "DTSTART;TZID=Europe/London:20261025T003000" in body


def test_closures_and_public_holidays_are_closed_events_named_by_reason() -> None:
    feed = parse(calendar_feed.build_feed(team(), datetime(2026, 3, 23, tzinfo=UTC), 28, stamp=STAMP))
    closed = {str(e["summary"]): (e.decoded("dtstart"), e.decoded("dtend")) for e in events(feed, "CLOSED")}
    london = Schedule.from_team(HOURS, "Europe/London").tz  # type: ignore[union-attr]
    assert closed == {
        "Team training": (datetime(2026, 3, 26, 13, tzinfo=london), datetime(2026, 3, 26, 17, 30, tzinfo=london)),
        "Good Friday": (date(2026, 4, 3), date(2026, 4, 4)),
        "Easter Monday": (date(2026, 4, 6), date(2026, 4, 7)),
    }
    assert str(events(feed, "OPEN")[0]["summary"]) == "Payroll: open"
    holidays_open = [s for s, _e in open_periods(feed) if s.date() in (date(2026, 4, 3), date(2026, 4, 6))]
    assert holidays_open == []


def test_whole_day_closures_are_all_day_events_with_exclusive_end() -> None:
    feed = parse(calendar_feed.build_feed(team(), datetime(2026, 12, 20, tzinfo=UTC), 10, stamp=STAMP))
    closed = sorted((e.decoded("dtstart"), e.decoded("dtend"), str(e["summary"])) for e in events(feed, "CLOSED"))
    assert closed == [
        (date(2026, 12, 24), date(2026, 12, 27), "Office closed"),
        (date(2026, 12, 25), date(2026, 12, 26), "Christmas Day"),
        (date(2026, 12, 26), date(2026, 12, 27), "Boxing Day"),
        (date(2026, 12, 28), date(2026, 12, 29), Schedule.from_team(HOURS, "Europe/London").holiday(date(2026, 12, 28))),
    ]
    assert all(type(e.decoded("dtstart")) is date for e in events(feed, "CLOSED"))


def test_window_edges_cut_periods_and_days_bounds_the_feed() -> None:
    at = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # Tuesday, open since 09:00
    feed = parse(calendar_feed.build_feed(team(), at, 1, stamp=STAMP))
    assert open_periods(feed) == [(at, datetime(2026, 11, 24, 12, 30, tzinfo=UTC)),
                                  (datetime(2026, 11, 24, 13, 30, tzinfo=UTC), datetime(2026, 11, 24, 17, 30, tzinfo=UTC)),
                                  (datetime(2026, 11, 25, 9, 0, tzinfo=UTC), at + timedelta(days=1))]
    year = parse(calendar_feed.build_feed(team(), at, calendar_feed.MAX_DAYS, stamp=STAMP))
    assert max(e for _s, e in open_periods(year)) <= at + timedelta(days=calendar_feed.MAX_DAYS)
    assert len(open_periods(year)) > 400
    for days in (0, calendar_feed.MAX_DAYS + 1):
        with pytest.raises(ValueError):
            calendar_feed.build_feed(team(), at, days, stamp=STAMP)


def test_touching_intervals_are_one_event() -> None:
    always = {"weekly": {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}
    at = datetime(2026, 3, 27, tzinfo=UTC)
    feed = parse(calendar_feed.build_feed(team(hours=always), at, 5, stamp=STAMP))
    assert open_periods(feed) == [(at, at + timedelta(days=5))]


def test_uids_are_stable_and_unique() -> None:
    at = datetime(2026, 3, 23, tzinfo=UTC)
    first = parse(calendar_feed.build_feed(team(), at, 28, stamp=STAMP))
    again = parse(calendar_feed.build_feed(team(), at, 28, stamp=STAMP + timedelta(hours=1)))
    uids = [str(e["uid"]) for e in first.walk("VEVENT")]
    assert len(uids) == len(set(uids))
    assert uids == [str(e["uid"]) for e in again.walk("VEVENT")]


def test_a_team_without_hours_has_an_empty_feed() -> None:
    feed = parse(calendar_feed.build_feed(team(hours=None), datetime(2026, 3, 23, tzinfo=UTC), 28, stamp=STAMP))
    assert feed.walk("VEVENT") == []
    assert str(feed["VERSION"]) == "2.0" and str(feed["PRODID"])
