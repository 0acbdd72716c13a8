"""Example tests for directory.hours: every rule of contract §1, with the instants written out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from directory.hours import (
    DURATION_UNITS,
    HORIZON,
    WEEKDAYS,
    DayHours,
    Schedule,
    team_status,
    validate_duration,
    validate_hours,
    validate_timezone,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")

PAYROLL_WEEKLY = {
    "mon": [["09:00", "12:30"], ["13:30", "17:30"]],
    "tue": [["09:00", "17:30"]],
    "wed": [["09:00", "17:30"]],
    "thu": [["09:00", "17:30"]],
    "fri": [["09:00", "16:00"]],
    "sat": [],
    "sun": [],
}


def make(
    weekly: dict[str, Any],
    tz: str = "Europe/London",
    holidays: dict[str, Any] | None = None,
    closures: list[dict[str, Any]] | None = None,
) -> Schedule:
    hours: dict[str, Any] = {"weekly": weekly}
    if holidays is not None:
        hours["holidays"] = holidays
    if closures is not None:
        hours["closures"] = closures
    schedule = Schedule.from_team(hours, tz)
    assert schedule is not None
    return schedule


def ldn(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def as_utc(dt: datetime | None) -> datetime | None:
    return None if dt is None else dt.astimezone(UTC)


def iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat()


def length(period: tuple[datetime, datetime]) -> timedelta:
    """Real time between two instants (subtracting same-zone datetimes gives wall-clock time)."""
    return period[1].astimezone(UTC) - period[0].astimezone(UTC)


@pytest.fixture
def payroll() -> Schedule:
    return make(
        PAYROLL_WEEKLY,
        holidays={"country": "GB", "subdivision": "ENG"},
        closures=[
            {"start": "2026-12-24", "end": "2026-12-26", "reason": "Office closed"},
            {"start": "2026-11-27T13:00", "end": "2026-11-27T17:30", "reason": "Team training"},
        ],
    )


# --------------------------------------------------------------------------- open / next_open / next_close


def test_several_intervals_a_day(payroll: Schedule) -> None:
    # Monday 23 Nov 2026
    assert not payroll.is_open(ldn(2026, 11, 23, 8, 59))
    assert payroll.is_open(ldn(2026, 11, 23, 9, 0))
    assert payroll.is_open(ldn(2026, 11, 23, 12, 29, 59))
    assert not payroll.is_open(ldn(2026, 11, 23, 12, 30))
    assert payroll.next_open(ldn(2026, 11, 23, 12, 30)) == ldn(2026, 11, 23, 13, 30)
    assert payroll.next_close(ldn(2026, 11, 23, 10, 0)) == ldn(2026, 11, 23, 12, 30)
    assert payroll.next_close(ldn(2026, 11, 23, 14, 0)) == ldn(2026, 11, 23, 17, 30)
    assert not payroll.is_open(ldn(2026, 11, 23, 17, 30))


def test_open_is_none_for_next_open_and_closed_is_none_for_next_close(payroll: Schedule) -> None:
    assert payroll.next_open(ldn(2026, 11, 23, 10, 0)) is None
    assert payroll.next_close(ldn(2026, 11, 23, 12, 45)) is None


def test_next_open_and_next_close_across_the_week(payroll: Schedule) -> None:
    friday_evening = ldn(2026, 11, 20, 16, 0)
    assert not payroll.is_open(friday_evening)
    assert payroll.next_open(friday_evening) == ldn(2026, 11, 23, 9, 0)
    assert payroll.next_open(ldn(2026, 11, 22, 23, 59)) == ldn(2026, 11, 23, 9, 0)
    assert payroll.next_close(ldn(2026, 11, 20, 9, 0)) == ldn(2026, 11, 20, 16, 0)


def test_results_are_aware_in_team_zone(payroll: Schedule) -> None:
    result = payroll.next_open(utc(2026, 7, 4, 12, 0))  # a Saturday in summer time
    assert result == ldn(2026, 7, 6, 9, 0)
    assert result is not None and result.tzinfo == LONDON
    assert result.isoformat() == "2026-07-06T09:00:00+01:00"


def test_naive_instants_read_as_team_local_time(payroll: Schedule) -> None:
    assert payroll.is_open(datetime(2026, 7, 6, 9, 0))
    assert not payroll.is_open(datetime(2026, 7, 6, 8, 59))


def test_days_without_hours_are_closed() -> None:
    schedule = make({"wed": [["10:00", "11:00"]]})
    assert not schedule.is_open(ldn(2026, 11, 23, 10, 30))  # Monday, no key
    assert schedule.next_open(ldn(2026, 11, 23, 10, 30)) == ldn(2026, 11, 25, 10, 0)


def test_null_day_reads_as_closed() -> None:
    assert validate_hours({"weekly": {"mon": None}}) == {}
    assert not make({"mon": None}).is_open(ldn(2026, 11, 23, 10, 0))


def test_team_with_no_intervals_never_opens() -> None:
    schedule = make({})
    at = ldn(2026, 11, 23, 10, 0)
    assert not schedule.is_open(at)
    assert schedule.next_open(at) is None
    assert schedule.add(at, 1, "business_hours") is None
    assert schedule.add(at, 1, "business_days") is None
    assert schedule.add(at, 1, "hours") == at + timedelta(hours=1)


# --------------------------------------------------------------------------- past midnight, touching, 24/7


def test_interval_past_midnight() -> None:
    schedule = make({"mon": [["22:00", "06:00"]]})
    assert not schedule.is_open(ldn(2026, 11, 23, 21, 59))
    assert schedule.is_open(ldn(2026, 11, 23, 22, 0))
    assert schedule.is_open(ldn(2026, 11, 24, 5, 59))  # Tuesday's date, Monday's interval
    assert not schedule.is_open(ldn(2026, 11, 24, 6, 0))
    assert not schedule.is_open(ldn(2026, 11, 24, 22, 30))  # Tuesday has no interval of its own
    assert schedule.next_close(ldn(2026, 11, 23, 23, 0)) == ldn(2026, 11, 24, 6, 0)
    assert schedule.next_open(ldn(2026, 11, 24, 6, 0)) == ldn(2026, 11, 30, 22, 0)


def test_sunday_past_midnight_wraps_into_monday() -> None:
    schedule = make({"sun": [["20:00", "02:00"]]})
    assert schedule.is_open(ldn(2026, 11, 23, 1, 0))  # Monday 01:00
    assert schedule.next_close(ldn(2026, 11, 22, 21, 0)) == ldn(2026, 11, 23, 2, 0)


def test_holiday_on_the_next_date_closes_the_after_midnight_part() -> None:
    # Boxing Day (observed) is Monday 28 Dec 2026 in England: the local date decides.
    schedule = make({"sun": [["22:00", "06:00"]]}, holidays={"country": "GB", "subdivision": "ENG"})
    assert schedule.is_open(ldn(2026, 12, 27, 23, 0))
    assert not schedule.is_open(ldn(2026, 12, 28, 0, 0))
    assert not schedule.is_open(ldn(2026, 12, 28, 5, 0))
    assert schedule.next_close(ldn(2026, 12, 27, 23, 0)) == ldn(2026, 12, 28, 0, 0)
    # an ordinary week: the period runs to 06:00
    assert schedule.next_close(ldn(2026, 12, 20, 23, 0)) == ldn(2026, 12, 21, 6, 0)


def test_touching_intervals_form_one_period() -> None:
    schedule = make({"mon": [["22:00", "24:00"]], "tue": [["00:00", "06:00"], ["06:00", "07:00"]]})
    assert schedule.next_close(ldn(2026, 11, 23, 22, 30)) == ldn(2026, 11, 24, 7, 0)
    periods = list(schedule.open_periods(ldn(2026, 11, 23, 0, 0), ldn(2026, 11, 25, 0, 0)))
    assert periods == [(ldn(2026, 11, 23, 22, 0), ldn(2026, 11, 24, 7, 0))]


def test_open_periods_are_clipped() -> None:
    schedule = make({"mon": [["09:00", "17:00"]]})
    periods = list(schedule.open_periods(ldn(2026, 11, 23, 10, 0), ldn(2026, 12, 1, 12, 0)))
    assert periods == [
        (ldn(2026, 11, 23, 10, 0), ldn(2026, 11, 23, 17, 0)),
        (ldn(2026, 11, 30, 9, 0), ldn(2026, 11, 30, 17, 0)),
    ]
    assert list(schedule.open_periods(ldn(2026, 11, 24), ldn(2026, 11, 24))) == []


@pytest.fixture
def around_the_clock() -> Schedule:
    return make({day: [["00:00", "24:00"]] for day in WEEKDAYS})


def test_around_the_clock(around_the_clock: Schedule) -> None:
    at = ldn(2026, 11, 23, 3, 17)
    assert around_the_clock.is_open(at)
    assert around_the_clock.next_open(at) is None
    assert around_the_clock.next_close(at) is None
    assert around_the_clock.add(at, 4, "business_hours") == at + timedelta(hours=4)
    status = team_status(around_the_clock, at, {"value": 4, "unit": "business_hours"}, [])
    assert status == {
        "open": True,
        "next_open": None,
        "next_close": None,
        "reply_by": at + timedelta(hours=4),
        "services": [],
        "closed_reason": None,
    }


def test_around_the_clock_counts_real_hours_across_dst(around_the_clock: Schedule) -> None:
    spring = utc(2026, 3, 29, 0, 30)
    assert around_the_clock.add(spring, 4, "business_hours") == utc(2026, 3, 29, 4, 30)
    autumn = utc(2026, 10, 24, 23, 30)
    assert around_the_clock.add(autumn, 4, "business_hours") == utc(2026, 10, 25, 3, 30)


def test_around_the_clock_business_days(around_the_clock: Schedule) -> None:
    at = ldn(2026, 11, 23, 10, 0)
    assert around_the_clock.add(at, 2, "business_days") == ldn(2026, 11, 25, 10, 0)


# --------------------------------------------------------------------------- holidays and closures


def test_christmas_in_england(payroll: Schedule) -> None:
    assert not payroll.is_open(ldn(2026, 12, 25, 10, 0))
    assert payroll.holiday(date(2026, 12, 25)) == "Christmas Day"
    # 24-26 Dec closure, 28 Dec Boxing Day observed: open again Tuesday 29 Dec
    assert payroll.next_open(ldn(2026, 12, 23, 18, 0)) == ldn(2026, 12, 29, 9, 0)


def test_us_thanksgiving() -> None:
    schedule = make(PAYROLL_WEEKLY, tz="America/New_York", holidays={"country": "US"})
    thanksgiving = datetime(2026, 11, 26, 10, 0, tzinfo=NEW_YORK)
    assert not schedule.is_open(thanksgiving)
    assert schedule.next_open(thanksgiving) == datetime(2026, 11, 27, 9, 0, tzinfo=NEW_YORK)
    assert schedule.upcoming_holidays(date(2026, 11, 1), 2) == [
        (date(2026, 11, 11), "Veterans Day"),
        (date(2026, 11, 26), "Thanksgiving Day"),
    ]


def test_whole_day_closure_end_is_inclusive() -> None:
    schedule = make(PAYROLL_WEEKLY, closures=[{"start": "2026-11-30", "end": "2026-12-01"}])
    assert not schedule.is_open(ldn(2026, 11, 30, 10, 0))
    assert not schedule.is_open(ldn(2026, 12, 1, 16, 0))
    assert schedule.is_open(ldn(2026, 12, 2, 9, 0))
    assert schedule.next_open(ldn(2026, 11, 27, 17, 0)) == ldn(2026, 12, 2, 9, 0)


def test_partial_closure(payroll: Schedule) -> None:
    assert payroll.is_open(ldn(2026, 11, 27, 12, 59))
    assert not payroll.is_open(ldn(2026, 11, 27, 13, 0))
    assert payroll.next_close(ldn(2026, 11, 27, 12, 0)) == ldn(2026, 11, 27, 13, 0)
    assert payroll.next_open(ldn(2026, 11, 27, 13, 0)) == ldn(2026, 11, 30, 9, 0)


def test_closure_across_midnight_for_a_night_team() -> None:
    schedule = make(
        {"mon": [["22:00", "06:00"]]},
        closures=[{"start": "2026-11-23T23:00", "end": "2026-11-24T01:00", "reason": "Maintenance"}],
    )
    assert schedule.is_open(ldn(2026, 11, 23, 22, 59))
    assert not schedule.is_open(ldn(2026, 11, 24, 0, 30))
    assert schedule.next_close(ldn(2026, 11, 23, 22, 0)) == ldn(2026, 11, 23, 23, 0)
    assert schedule.next_open(ldn(2026, 11, 23, 23, 0)) == ldn(2026, 11, 24, 1, 0)
    assert [d.closures for d in schedule.week(date(2026, 11, 23))][:3] == [["Maintenance"], ["Maintenance"], []]


def test_date_time_closure_over_several_days(around_the_clock: Schedule) -> None:
    schedule = make(
        {day: [["00:00", "24:00"]] for day in WEEKDAYS},
        closures=[{"start": "2026-11-23T00:30", "end": "2026-11-25T10:00", "reason": "Move"}],
    )
    assert schedule.is_open(ldn(2026, 11, 23, 0, 15))
    assert schedule.next_close(ldn(2026, 11, 23, 0, 15)) == ldn(2026, 11, 23, 0, 30)
    assert not schedule.is_open(ldn(2026, 11, 24, 12, 0))
    assert schedule.next_open(ldn(2026, 11, 23, 0, 30)) == ldn(2026, 11, 25, 10, 0)
    assert [d.intervals for d in schedule.week(date(2026, 11, 23))][:3] == [
        [("00:00", "00:30")],
        [],
        [("10:00", "24:00")],
    ]


def test_horizon_cut_off_with_closures_over_a_year() -> None:
    schedule = make(PAYROLL_WEEKLY, closures=[{"start": "2026-01-01", "end": "2027-06-30", "reason": "Moved"}])
    at = ldn(2026, 1, 5, 10, 0)
    assert not schedule.is_open(at)
    assert schedule.next_open(at) is None
    assert schedule.add(at, 1, "business_hours") is None
    assert schedule.add(at, 1, "business_days") is None
    # a shorter closure: the opening is found, far ahead but inside the horizon
    shorter = make(PAYROLL_WEEKLY, closures=[{"start": "2026-01-01", "end": "2026-10-31"}])
    assert shorter.next_open(at) == ldn(2026, 11, 2, 9, 0)


def test_next_open_exactly_at_horizon_edge() -> None:
    # closed until the day after at + HORIZON: nothing within the horizon
    at = ldn(2026, 1, 5, 9, 0)
    end = (at + HORIZON).date()
    schedule = make(
        {d: [["09:00", "17:00"]] for d in WEEKDAYS},
        closures=[{"start": "2026-01-05", "end": end.isoformat()}],
    )
    assert schedule.next_open(at) is None
    schedule = make(
        {d: [["09:00", "17:00"]] for d in WEEKDAYS},
        closures=[{"start": "2026-01-05", "end": (end - timedelta(days=1)).isoformat()}],
    )
    assert schedule.next_open(at) == datetime.combine(end, datetime.min.time().replace(hour=9), tzinfo=LONDON)


def test_around_the_clock_with_a_closure_next_close() -> None:
    schedule = make({d: [["00:00", "24:00"]] for d in WEEKDAYS}, closures=[{"start": "2026-12-25", "end": "2026-12-25"}])
    assert schedule.next_close(ldn(2026, 12, 1, 12, 0)) == ldn(2026, 12, 25, 0, 0)
    assert schedule.next_open(ldn(2026, 12, 25, 12, 0)) == ldn(2026, 12, 26, 0, 0)


# --------------------------------------------------------------------------- daylight saving


def test_spring_forward_interval_is_shorter() -> None:
    # London 2026-03-29 (Sunday): 01:00 GMT becomes 02:00 BST; 01:00-02:00 does not exist.
    schedule = make({"sun": [["01:00", "03:00"]]})
    assert not schedule.is_open(utc(2026, 3, 29, 0, 59))
    assert schedule.is_open(utc(2026, 3, 29, 1, 0))  # 02:00 BST
    assert not schedule.is_open(utc(2026, 3, 29, 2, 0))  # 03:00 BST
    assert schedule.next_open(utc(2026, 3, 29, 0, 0)) == ldn(2026, 3, 29, 2, 0)
    assert schedule.next_close(utc(2026, 3, 29, 1, 0)) == ldn(2026, 3, 29, 3, 0)
    periods = list(schedule.open_periods(utc(2026, 3, 28), utc(2026, 3, 30)))
    assert [(s.isoformat(), e.isoformat()) for s, e in periods] == [("2026-03-29T02:00:00+01:00", "2026-03-29T03:00:00+01:00")]
    assert schedule.add(utc(2026, 3, 29, 0, 0), 1, "business_hours") == ldn(2026, 3, 29, 3, 0)


def test_spring_forward_2027() -> None:
    schedule = make({"sun": [["00:30", "01:30"], ["01:45", "04:00"]]})
    periods = list(schedule.open_periods(utc(2027, 3, 27), utc(2027, 3, 29)))
    # 00:30-01:00 GMT, then straight on from 02:00 BST: 01:00-01:45 never exists, so the gap
    # between the intervals never happens and they form one open period.
    assert [(s.isoformat(), e.isoformat()) for s, e in periods] == [
        ("2027-03-28T00:30:00+00:00", "2027-03-28T04:00:00+01:00"),
    ]
    assert length(periods[0]) == timedelta(hours=2, minutes=30)


def test_autumn_repeated_hour_is_open_longer() -> None:
    # London 2026-10-25: 02:00 BST becomes 01:00 GMT; 01:00-02:00 happens twice.
    schedule = make({"sun": [["01:00", "03:00"]]})
    # (an aware datetime inside a repeated hour never equals one in another zone: compare in UTC)
    assert as_utc(schedule.next_open(utc(2026, 10, 24, 23, 0))) == utc(2026, 10, 25, 0, 0)  # 01:00 BST
    assert iso(schedule.next_open(utc(2026, 10, 24, 23, 0))) == "2026-10-25T01:00:00+01:00"
    assert iso(schedule.next_close(utc(2026, 10, 25, 0, 30))) == "2026-10-25T03:00:00+00:00"
    assert schedule.is_open(utc(2026, 10, 25, 1, 30))  # 01:30 GMT, the second 01:30
    assert as_utc(schedule.add(utc(2026, 10, 25, 0, 0), 3, "business_hours")) == utc(2026, 10, 25, 3, 0)
    periods = list(schedule.open_periods(utc(2026, 10, 24), utc(2026, 10, 26)))
    assert len(periods) == 1 and length(periods[0]) == timedelta(hours=3)


def test_autumn_short_interval_inside_repeated_hour_opens_twice() -> None:
    schedule = make({"sun": [["01:30", "01:45"]]})
    periods = list(schedule.open_periods(utc(2026, 10, 24), utc(2026, 10, 26)))
    assert [(s.isoformat(), e.isoformat()) for s, e in periods] == [
        ("2026-10-25T01:30:00+01:00", "2026-10-25T01:45:00+01:00"),
        ("2026-10-25T01:30:00+00:00", "2026-10-25T01:45:00+00:00"),
    ]
    assert schedule.is_open(utc(2026, 10, 25, 0, 40))
    assert not schedule.is_open(utc(2026, 10, 25, 1, 0))
    assert schedule.is_open(utc(2026, 10, 25, 1, 40))


def test_sydney_dst_starts_first_sunday_of_october() -> None:
    # 2026-10-04 02:00 AEST becomes 03:00 AEDT.
    schedule = make({"sun": [["01:00", "04:00"]]}, tz="Australia/Sydney")
    periods = list(schedule.open_periods(utc(2026, 10, 3), utc(2026, 10, 5)))
    assert [(s.isoformat(), e.isoformat()) for s, e in periods] == [("2026-10-04T01:00:00+10:00", "2026-10-04T04:00:00+11:00")]
    assert length(periods[0]) == timedelta(hours=2)


def test_sydney_dst_ends_first_sunday_of_april() -> None:
    # 2026-04-05 03:00 AEDT becomes 02:00 AEST: 02:00-03:00 is open twice, as one period.
    schedule = make({"sun": [["02:00", "03:00"]]}, tz="Australia/Sydney")
    periods = list(schedule.open_periods(utc(2026, 4, 4), utc(2026, 4, 6)))
    assert [(s.isoformat(), e.isoformat()) for s, e in periods] == [("2026-04-05T02:00:00+11:00", "2026-04-05T03:00:00+10:00")]
    assert length(periods[0]) == timedelta(hours=2)


# --------------------------------------------------------------------------- durations


def test_business_hours_skip_lunch_closures_and_weekends(payroll: Schedule) -> None:
    monday = ldn(2026, 11, 23, 11, 0)
    assert payroll.add(monday, 4, "business_hours") == ldn(2026, 11, 23, 16, 0)
    # training from 13:00 on Friday 27 Nov: one hour Friday, three on Monday
    assert payroll.add(ldn(2026, 11, 27, 12, 0), 4, "business_hours") == ldn(2026, 11, 30, 12, 0)
    # closed at the start: counting starts at the next opening
    assert payroll.add(ldn(2026, 11, 28, 12, 0), 1.5, "business_hours") == ldn(2026, 11, 30, 10, 30)


def test_business_hours_may_land_on_an_interval_end(payroll: Schedule) -> None:
    assert payroll.add(ldn(2026, 11, 23, 9, 0), 3.5, "business_hours") == ldn(2026, 11, 23, 12, 30)
    assert payroll.add(ldn(2026, 11, 23, 12, 30), 0.5, "business_hours") == ldn(2026, 11, 23, 14, 0)
    assert payroll.add(ldn(2026, 11, 23, 9, 0), 4, "business_hours") == ldn(2026, 11, 23, 14, 0)


def test_business_hours_over_year_end(payroll: Schedule) -> None:
    # 1.5 hours on 31 Dec, New Year's Day is a holiday, then the weekend
    assert payroll.add(ldn(2026, 12, 31, 16, 0), 4, "business_hours") == ldn(2027, 1, 4, 11, 30)
    assert payroll.next_open(ldn(2026, 12, 31, 17, 30)) == ldn(2027, 1, 4, 9, 0)


def test_business_days_keep_wall_clock_time(payroll: Schedule) -> None:
    assert payroll.add(ldn(2026, 11, 23, 10, 0), 3, "business_days") == ldn(2026, 11, 26, 10, 0)
    # from Friday: Mon, Tue, Wed
    assert payroll.add(ldn(2026, 11, 20, 11, 0), 3, "business_days") == ldn(2026, 11, 25, 11, 0)
    # fractions round up
    assert payroll.add(ldn(2026, 11, 23, 10, 0), 1.2, "business_days") == ldn(2026, 11, 25, 10, 0)


def test_business_days_clamped_to_opening_hours(payroll: Schedule) -> None:
    # Thursday 17:00 + 1: Friday closes at 16:00
    assert payroll.add(ldn(2026, 11, 19, 17, 0), 1, "business_days") == ldn(2026, 11, 20, 16, 0)
    # closed on Saturday: start at Monday 09:00, one open day later is Tuesday 09:00
    assert payroll.add(ldn(2026, 11, 21, 12, 0), 1, "business_days") == ldn(2026, 11, 24, 9, 0)
    # Friday 12:45 + 1: Monday 12:45 is lunch, a gap between two open periods: it stays (contract §1)
    assert payroll.add(ldn(2026, 11, 20, 12, 45), 1, "business_days") == ldn(2026, 11, 23, 12, 45)
    early = make({"mon": [["07:00", "17:00"]], "tue": [["09:00", "17:00"]]})
    assert early.add(ldn(2026, 11, 23, 8, 0), 1, "business_days") == ldn(2026, 11, 24, 9, 0)


def test_business_days_skip_holidays_and_closures(payroll: Schedule) -> None:
    # Wed 23 Dec + 2: 24-26 closed, 28 Boxing Day observed -> Tue 29, Wed 30
    assert payroll.add(ldn(2026, 12, 23, 15, 0), 2, "business_days") == ldn(2026, 12, 30, 15, 0)


def test_leap_day() -> None:
    weekdays = {d: [["09:00", "17:00"]] for d in WEEKDAYS[:5]}
    schedule = make(weekdays)
    assert schedule.is_open(ldn(2028, 2, 29, 10, 0))  # a Tuesday
    assert schedule.add(ldn(2028, 2, 28, 10, 0), 1, "days") == ldn(2028, 2, 29, 10, 0)
    assert schedule.add(ldn(2028, 2, 28, 10, 0), 1, "business_days") == ldn(2028, 2, 29, 10, 0)
    closed = make(weekdays, closures=[{"start": "2028-02-29", "end": "2028-02-29", "reason": "Leap day"}])
    assert closed.next_open(ldn(2028, 2, 28, 18, 0)) == ldn(2028, 3, 1, 9, 0)
    assert closed.add(ldn(2028, 2, 28, 10, 0), 1, "business_days") == ldn(2028, 3, 1, 10, 0)
    assert closed.week(date(2028, 2, 29))[1] == DayHours(date(2028, 2, 29), "tue", [], None, ["Leap day"])


def test_hours_are_real_hours(payroll: Schedule) -> None:
    # (aware + timedelta in one zone is wall-clock arithmetic in Python; add() is not)
    assert payroll.add(ldn(2026, 3, 28, 12, 0), 24, "hours") == ldn(2026, 3, 29, 13, 0)
    assert iso(payroll.add(ldn(2026, 10, 24, 12, 0), 24, "hours")) == "2026-10-25T11:00:00+00:00"
    assert payroll.add(ldn(2026, 11, 23, 12, 0), 0.25, "hours") == ldn(2026, 11, 23, 12, 15)


def test_days_keep_wall_clock_time_across_dst(payroll: Schedule) -> None:
    assert payroll.add(ldn(2026, 3, 28, 12, 0), 1, "days") == ldn(2026, 3, 29, 12, 0)
    # 01:30 does not exist on 29 March: moved on by the gap
    result = payroll.add(ldn(2026, 3, 28, 1, 30), 1, "days")
    assert result is not None and result.isoformat() == "2026-03-29T02:30:00+01:00"
    # 01:30 happens twice on 25 October: the first one
    result = payroll.add(ldn(2026, 10, 24, 1, 30), 1, "days")
    assert result is not None and result.isoformat() == "2026-10-25T01:30:00+01:00"
    # fractions round up
    assert payroll.add(ldn(2026, 11, 23, 12, 0), 1.5, "days") == ldn(2026, 11, 25, 12, 0)


def test_add_refuses_bad_durations(payroll: Schedule) -> None:
    with pytest.raises(ValueError):
        payroll.add(ldn(2026, 11, 23), 1, "weeks")
    with pytest.raises(ValueError):
        payroll.add(ldn(2026, 11, 23), 0, "hours")


def test_add_beyond_a_sane_horizon_is_none(payroll: Schedule) -> None:
    assert payroll.add(ldn(2026, 11, 23), 10_000, "days") is None
    assert payroll.add(ldn(2026, 11, 23), 10_000, "business_days") is None
    for unit in ("hours", "days", "business_hours", "business_days"):
        with pytest.raises(ValueError, match="at most 10000"):
            payroll.add(ldn(2026, 11, 23), 1e9, unit)


# --------------------------------------------------------------------------- status


def test_team_status(payroll: Schedule) -> None:
    at = ldn(2026, 11, 27, 12, 0)
    services = [
        {"name": "Payslip corrections", "turnaround": {"value": 3, "unit": "business_days"}},
        {"name": "Advice", "turnaround": None},
    ]
    assert team_status(payroll, at, {"value": 4, "unit": "business_hours"}, services) == {
        "open": True,
        "next_open": None,
        "next_close": ldn(2026, 11, 27, 13, 0),
        "reply_by": ldn(2026, 11, 30, 12, 0),
        "services": [
            {"name": "Payslip corrections", "done_by": ldn(2026, 12, 2, 12, 0)},
            {"name": "Advice", "done_by": None},
        ],
        "closed_reason": None,
    }
    closed = team_status(payroll, ldn(2026, 11, 27, 14, 0), None, [])
    assert closed == {
        "open": False,
        "next_open": ldn(2026, 11, 30, 9, 0),
        "next_close": None,
        "reply_by": None,
        "services": [],
        "closed_reason": {"kind": "closure", "name": "Team training", "date": "2026-11-27"},
    }


def test_team_status_without_hours() -> None:
    status = team_status(
        None,
        ldn(2026, 11, 23, 10, 0),
        {"value": 2, "unit": "hours"},
        [{"name": "X", "turnaround": {"value": 1, "unit": "days"}},
         {"name": "Y", "turnaround": {"value": 1, "unit": "business_days"}}],
        "Europe/London",
    )
    # hours and days need no published hours (contract §2); days keep London's wall clock
    assert status == {
        "open": False,
        "next_open": None,
        "next_close": None,
        "reply_by": ldn(2026, 11, 23, 12, 0),
        "services": [{"name": "X", "done_by": ldn(2026, 11, 24, 10, 0)}, {"name": "Y", "done_by": None}],
        "closed_reason": None,
    }


def test_team_status_ignores_an_invalid_stored_duration(payroll: Schedule) -> None:
    status = team_status(payroll, ldn(2026, 11, 23, 10, 0), {"value": 2, "unit": "fortnights"}, [])
    assert status["reply_by"] is None


# --------------------------------------------------------------------------- presentation helpers


def test_week_grid(payroll: Schedule) -> None:
    week = payroll.week(date(2026, 12, 23))
    assert [d.date for d in week] == [date(2026, 12, 21) + timedelta(days=i) for i in range(7)]
    assert [d.weekday for d in week] == list(WEEKDAYS)
    assert week[0].intervals == [("09:00", "12:30"), ("13:30", "17:30")]
    assert week[3] == DayHours(date(2026, 12, 24), "thu", [], None, ["Office closed"])
    assert week[4] == DayHours(date(2026, 12, 25), "fri", [], "Christmas Day", ["Office closed"])
    partial = payroll.week(date(2026, 11, 27))[4]
    assert partial.intervals == [("09:00", "13:00")]
    assert partial.closures == ["Team training"]


def test_week_grid_clips_past_midnight_intervals() -> None:
    schedule = make({"mon": [["22:00", "06:00"]], "tue": [["06:00", "08:00"]], "sun": [["23:00", "01:00"]]})
    week = schedule.week(date(2026, 11, 25))
    assert week[0].intervals == [("00:00", "01:00"), ("22:00", "24:00")]
    assert week[1].intervals == [("00:00", "08:00")]
    assert week[6].intervals == [("23:00", "24:00")]


def test_upcoming_holidays_and_closures(payroll: Schedule) -> None:
    assert payroll.upcoming_holidays(date(2026, 12, 20)) == [
        (date(2026, 12, 25), "Christmas Day"),
        (date(2026, 12, 26), "Boxing Day"),
        (date(2026, 12, 28), "Boxing Day (observed)"),
    ]
    assert payroll.upcoming_holidays(date(2026, 12, 29), 1) == [(date(2027, 1, 1), "New Year's Day")]
    assert make(PAYROLL_WEEKLY).upcoming_holidays(date(2026, 12, 20)) == []
    assert [c["reason"] for c in payroll.upcoming_closures(ldn(2026, 11, 1))] == ["Team training", "Office closed"]
    assert [c["reason"] for c in payroll.upcoming_closures(ldn(2026, 11, 27, 17, 30))] == ["Office closed"]
    assert [c["reason"] for c in payroll.upcoming_closures(ldn(2026, 12, 26, 23, 59))] == ["Office closed"]
    assert payroll.upcoming_closures(ldn(2026, 12, 27, 0, 0)) == []


def test_from_team() -> None:
    assert Schedule.from_team(None, "Europe/London") is None
    assert Schedule.from_team({"weekly": PAYROLL_WEEKLY}, "Europe/London") is Schedule.from_team(
        {"weekly": PAYROLL_WEEKLY}, "Europe/London"
    )
    with pytest.raises(ValueError) as error:
        Schedule.from_team({"weekly": {"mon": [["09:00", "09:00"]]}}, "Mars/Base")
    assert error.value.args[0] == {
        "weekly.mon": ["interval 1: is empty (start equals end)"],
        "timezone": ["unknown time zone 'Mars/Base'"],
    }


# --------------------------------------------------------------------------- validation


def test_valid_hours() -> None:
    assert validate_hours({"weekly": PAYROLL_WEEKLY, "holidays": {"country": "GB", "subdivision": "ENG"}}) == {}
    assert validate_hours({"weekly": {d: [["00:00", "24:00"]] for d in WEEKDAYS}}) == {}
    assert validate_hours({"weekly": {"mon": [["22:00", "06:00"]], "tue": [["06:00", "09:00"]]}}) == {}
    assert validate_hours({"weekly": {"mon": [["22:00", "00:00"]], "tue": [["00:00", "09:00"]]}}) == {}
    assert validate_hours({"closures": [{"start": "2026-12-24", "end": "2026-12-24"}]}) == {}
    assert validate_hours({}) == {}


def test_validate_timezone() -> None:
    assert validate_timezone("Europe/London") == []
    assert validate_timezone("UTC") == []
    assert validate_timezone("Mars/Base") == ["unknown time zone 'Mars/Base'"]
    assert validate_timezone("../../etc/passwd") == ["unknown time zone '../../etc/passwd'"]
    assert validate_timezone(None) == ["must be a time zone name such as 'Europe/London'"]


def test_validate_time_of_day() -> None:
    errors = validate_hours({"weekly": {"mon": [["09:00", "25:00"]], "tue": [["9:00", "12:00"]], "wed": [["24:00", "02:00"]]}})
    assert errors == {
        "weekly.mon": ["interval 1: '25:00' is not a time of day (HH:MM, 00:00 to 24:00)"],
        "weekly.tue": ["interval 1: '9:00' is not a time of day (HH:MM, 00:00 to 24:00)"],
        "weekly.wed": ["interval 1: may not start at 24:00"],
    }


def test_validate_shapes() -> None:
    assert validate_hours([]) == {"_schema": ["must be an object with weekly, holidays and closures"]}
    assert validate_hours({"weekly": []}) == {"weekly": ["must be an object with keys mon to sun"]}
    assert validate_hours({"weekly": {"monday": []}}) == {"weekly.monday": ["unknown day; use mon, tue, wed, thu, fri, sat, sun"]}
    assert validate_hours({"weekly": {"mon": "09:00-17:00"}}) == {"weekly.mon": ["must be a list of [start, end] intervals"]}
    assert validate_hours({"weekly": {"mon": [["09:00"]]}}) == {
        "weekly.mon": ["interval 1: must be a pair [start, end] of HH:MM times"]
    }
    assert validate_hours({"holiday": {"country": "GB"}}) == {"holiday": ["unknown field; use weekly, holidays or closures"]}


def test_validate_empty_interval() -> None:
    assert validate_hours({"weekly": {"fri": [["09:00", "12:00"], ["13:00", "13:00"]]}}) == {
        "weekly.fri": ["interval 2: is empty (start equals end)"]
    }


def test_validate_overlapping_intervals() -> None:
    assert validate_hours({"weekly": {"mon": [["09:00", "12:00"], ["11:00", "14:00"]]}}) == {
        "weekly.mon": ["intervals 1 and 2 overlap"]
    }
    assert validate_hours({"weekly": {"mon": [["20:00", "23:00"], ["22:00", "02:00"]]}}) == {
        "weekly.mon": ["intervals 1 and 2 overlap"]
    }


def test_an_overlap_explains_a_long_interval_that_ends_before_it_starts() -> None:
    """'09:00 to 08:00' beside a lunch break: the message says it runs overnight, not just 'overlap'."""
    assert validate_hours({"weekly": {"mon": [["09:00", "08:00"], ["13:30", "17:30"]]}}) == {
        "weekly.mon": ["intervals 1 and 2 overlap: interval 1, 09:00 to 08:00, ends before it starts, so it runs "
                       "past midnight until 08:00 the next day"]
    }


def test_validate_overlap_with_previous_day_past_midnight() -> None:
    assert validate_hours({"weekly": {"mon": [["22:00", "06:00"]], "tue": [["05:00", "09:00"]]}}) == {
        "weekly.tue": ["interval 1 overlaps Monday's interval 1, which runs past midnight until 06:00"]
    }
    assert validate_hours({"weekly": {"sun": [["22:00", "02:00"]], "mon": [["00:00", "24:00"]]}}) == {
        "weekly.mon": ["interval 1 overlaps Sunday's interval 1, which runs past midnight until 02:00"]
    }


def test_validate_holidays() -> None:
    assert validate_hours({"holidays": {"country": "XX"}}) == {"holidays.country": ["unknown country code 'XX'"]}
    assert validate_hours({"holidays": {}}) == {"holidays.country": ["required: an ISO 3166 country code such as 'GB'"]}
    errors = validate_hours({"holidays": {"country": "GB", "subdivision": "XYZ"}})
    assert errors == {"holidays.subdivision": ["unknown subdivision 'XYZ' of GB; use one of ENG, NIR, SCT, WLS"]}
    assert validate_hours({"holidays": {"country": "US", "subdivision": "CA"}}) == {}
    assert validate_hours({"holidays": None}) == {}


def test_validate_closures() -> None:
    errors = validate_hours(
        {
            "closures": [
                {"start": "2026-12-26", "end": "2026-12-24"},
                {"start": "2026-11-27T13:00", "end": "2026-11-27T12:00"},
                {"start": "2026-11-27T13:00", "end": "2026-11-27T13:00"},
                {"start": "2026-11-27", "end": "2026-11-27T13:00"},
                {"start": "27/11/2026", "reason": 5},
                {"start": "2026-02-30", "end": "2026-03-01"},
                "closed",
            ]
        }
    )
    assert errors == {
        "closures.0.end": ["ends before it starts"],
        "closures.1.end": ["ends before it starts"],
        "closures.2.end": ["must be after start"],
        "closures.3.end": ["must be of the same kind as start (both dates or both date-times)"],
        "closures.4.reason": ["must be text"],
        "closures.4.start": ["'27/11/2026' is not a date (YYYY-MM-DD) or a local date-time (YYYY-MM-DDTHH:MM)"],
        "closures.4.end": ["required"],
        "closures.5.start": ["'2026-02-30' is not a date (YYYY-MM-DD) or a local date-time (YYYY-MM-DDTHH:MM)"],
        "closures.6": ["must be an object with start, end and optional reason"],
    }


def test_validate_duration() -> None:
    assert validate_duration({"value": 4, "unit": "business_hours"}) == {}
    assert validate_duration({"value": 0.5, "unit": "hours"}) == {}
    assert validate_duration({"value": 0, "unit": "hours"}) == {"value": ["must be greater than 0 and at most 10000"]}
    assert validate_duration({"value": -2, "unit": "days"}) == {"value": ["must be greater than 0 and at most 10000"]}
    assert validate_duration({"value": "4", "unit": "days"}) == {"value": ["must be a number"]}
    assert validate_duration({"value": True, "unit": "days"}) == {"value": ["must be a number"]}
    assert validate_duration({"value": float("nan"), "unit": "days"}) == {"value": ["must be a number"]}
    assert validate_duration({"value": 1, "unit": "weeks"}) == {
        "unit": ["must be one of business_hours, business_days, hours, days"]
    }
    assert validate_duration({"unit": "days"}) == {"value": ["required"]}
    assert validate_duration(4) == {"_schema": ["must be an object with value and unit"]}
    assert DURATION_UNITS == ("business_hours", "business_days", "hours", "days")


def test_closed_reason_is_the_first_holiday_or_closure_before_the_next_opening(payroll: Schedule) -> None:
    assert payroll.closed_reason(ldn(2026, 11, 27, 14, 0)) == {"kind": "closure", "name": "Team training",
                                                              "date": "2026-11-27"}
    # Wednesday evening: the Christmas closure from Thursday is why the next opening is days away.
    assert payroll.closed_reason(ldn(2026, 12, 23, 19, 0)) == {"kind": "closure", "name": "Office closed",
                                                              "date": "2026-12-24"}
    assert payroll.closed_reason(ldn(2026, 12, 25, 12, 0))["date"] == "2026-12-25"
    assert payroll.closed_reason(ldn(2026, 11, 24, 19, 0)) is None  # a usual evening
    assert payroll.closed_reason(ldn(2026, 11, 28, 12, 0)) is None  # a usual weekend
    assert payroll.closed_reason(ldn(2026, 11, 24, 10, 0)) is None  # open


def test_closed_reason_names_the_public_holiday() -> None:
    schedule = make(PAYROLL_WEEKLY, holidays={"country": "GB", "subdivision": "ENG"})
    assert schedule.closed_reason(ldn(2027, 1, 1, 10, 0)) == {"kind": "holiday", "name": "New Year's Day",
                                                             "date": "2027-01-01"}
    assert schedule.closed_reason(ldn(2026, 12, 31, 20, 0)) == {"kind": "holiday", "name": "New Year's Day",
                                                               "date": "2027-01-01"}
