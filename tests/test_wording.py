"""Tests for directory.wording: what pages and auto-replies say about hours and promised times."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from directory.hours import WEEKDAYS, Schedule, team_status
from directory.wording import describe_status, format_duration, format_instant, humanize_delta, zone_label

LONDON = ZoneInfo("Europe/London")
HOURS: dict[str, Any] = {
    "weekly": {
        "mon": [["09:00", "12:30"], ["13:30", "17:30"]],
        "tue": [["09:00", "17:30"]],
        "wed": [["09:00", "17:30"]],
        "thu": [["09:00", "17:30"]],
        "fri": [["09:00", "16:00"]],
    },
    "holidays": {"country": "GB", "subdivision": "ENG"},
}
SERVICES = [
    {"name": "Payslip corrections", "turnaround": {"value": 3, "unit": "business_days"}},
    {"name": "Advice", "turnaround": None},
]


def ldn(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


def describe(at: datetime, hours: dict[str, Any] | None = HOURS, reader_tz: str | None = None, **kwargs: Any) -> dict[str, Any]:
    schedule = Schedule.from_team(hours, "Europe/London")
    status = team_status(schedule, at, {"value": 4, "unit": "business_hours"}, SERVICES)
    kwargs.setdefault("published", schedule is not None)
    return describe_status(status, "Europe/London", reader_tz, at, **kwargs)


def test_open_until() -> None:
    text = describe(ldn(2026, 11, 23, 10, 0))  # Monday
    assert text == {
        "badge": "Open until 12:30",
        "badge_reader": None,
        "badge_zoned": "Open until 12:30 London time",
        "reply": "Reply expected by Mon 23 Nov, 15:00",
        "reply_reader": None,
        "services": [
            {"name": "Payslip corrections", "done_by_text": "Done by Thu 26 Nov, 10:00"},
            {"name": "Advice", "done_by_text": None},
        ],
    }


def test_reader_in_another_zone() -> None:
    text = describe(ldn(2026, 11, 23, 10, 0), reader_tz="America/New_York")
    assert text["badge_reader"] == "Open until 07:30 your time"
    assert text["reply_reader"] == "Reply expected by Mon 23 Nov, 10:00 your time"
    assert describe(ldn(2026, 11, 23, 10, 0), reader_tz="Asia/Kolkata")["badge_reader"] == "Open until 18:00 your time"


def test_reader_variants_absent_when_they_read_the_same() -> None:
    assert describe(ldn(2026, 11, 23, 10, 0), reader_tz="Europe/London")["badge_reader"] is None
    same_offset = describe(ldn(2026, 11, 23, 10, 0), reader_tz="Europe/Lisbon")
    assert same_offset["badge_reader"] is None and same_offset["reply_reader"] is None


def test_unknown_reader_zone_is_ignored() -> None:
    assert describe(ldn(2026, 11, 23, 10, 0), reader_tz="Mars/Base")["badge_reader"] is None


def test_closed_opens_later_today() -> None:
    assert describe(ldn(2026, 11, 23, 12, 45))["badge"] == "Closed — opens today at 13:30 (in 45 minutes)"


def test_closed_opens_on_a_weekday() -> None:
    text = describe(ldn(2026, 11, 21, 17, 0), reader_tz="America/New_York")  # Saturday
    assert text["badge"] == "Closed — opens Monday at 09:00 (in 2 days)"
    assert text["badge_reader"] == "Closed — opens Monday at 04:00 your time (in 2 days)"


def test_closed_opens_tomorrow() -> None:
    assert describe(ldn(2026, 11, 23, 18, 0))["badge"] == "Closed — opens tomorrow at 09:00 (in 15 hours)"


def test_open_until_another_day() -> None:
    night = {"weekly": {"mon": [["22:00", "06:00"]]}}
    assert describe(ldn(2026, 11, 23, 23, 0), hours=night)["badge"] == "Open until tomorrow at 06:00"


def test_around_the_clock() -> None:
    always = {"weekly": {day: [["00:00", "24:00"]] for day in WEEKDAYS}}
    text = describe(ldn(2026, 11, 23, 23, 0), hours=always, reader_tz="America/New_York")
    assert text["badge"] == "Open around the clock"
    assert text["badge_reader"] is None
    assert text["reply"] == "Reply expected by Tue 24 Nov, 03:00"
    assert text["reply_reader"] == "Reply expected by Mon 23 Nov, 22:00 your time"


def test_hours_not_published() -> None:
    text = describe(ldn(2026, 11, 23, 10, 0), hours=None, reader_tz="America/New_York")
    assert text == {
        "badge": "Hours not published",
        "badge_reader": None,
        "badge_zoned": "Hours not published",
        "reply": None,
        "reply_reader": None,
        "services": [
            {"name": "Payslip corrections", "done_by_text": None},
            {"name": "Advice", "done_by_text": None},
        ],
    }


def test_published_but_closed_for_over_a_year() -> None:
    closed = {"weekly": HOURS["weekly"], "closures": [{"start": "2026-01-01", "end": "2028-01-01"}]}
    assert describe(ldn(2026, 11, 23, 10, 0), hours=closed, published=True)["badge"] == "Closed — no opening in the coming year"
    assert describe(ldn(2026, 11, 23, 10, 0), hours=closed, published=False)["badge"] == "Hours not published"


def test_reply_in_another_year_names_it() -> None:
    text = describe(ldn(2026, 12, 31, 16, 0))
    assert text["reply"] == "Reply expected by Mon 4 Jan 2027, 11:30"


def test_iso_strings_are_accepted() -> None:
    status = {
        "open": False,
        "next_open": "2026-11-23T13:30:00+00:00",
        "next_close": None,
        "reply_by": "2026-11-24T11:00:00+00:00",
        "services": [{"name": "X", "done_by": "2026-11-26T11:00:00+00:00"}],
    }
    text = describe_status(status, "Europe/London", None, ldn(2026, 11, 23, 12, 45), published=True)
    assert text["badge"] == "Closed — opens today at 13:30 (in 45 minutes)"
    assert text["reply"] == "Reply expected by Tue 24 Nov, 11:00"
    assert text["services"] == [{"name": "X", "done_by_text": "Done by Thu 26 Nov, 11:00"}]


@pytest.mark.parametrize(
    ("dt", "expected"),
    [
        (ldn(2026, 11, 23, 9, 0), "today at 09:00"),
        (ldn(2026, 11, 24, 9, 0), "tomorrow at 09:00"),
        (ldn(2026, 11, 22, 9, 0), "yesterday at 09:00"),
        (ldn(2026, 11, 25, 9, 5), "Wednesday at 09:05"),
        (ldn(2026, 11, 29, 23, 59), "Sunday at 23:59"),
        (ldn(2026, 11, 30, 11, 0), "Mon 30 Nov at 11:00"),
        (ldn(2026, 11, 1, 11, 0), "Sun 1 Nov at 11:00"),
        (ldn(2027, 1, 5, 11, 0), "Tue 5 Jan 2027 at 11:00"),
        (datetime(2026, 11, 23, 23, 30, tzinfo=UTC), "today at 23:30"),
    ],
)
def test_format_instant(dt: datetime, expected: str) -> None:
    assert format_instant(dt, "Europe/London", ldn(2026, 11, 23, 8, 0)) == expected


def test_format_instant_uses_the_given_zone_for_today_and_tomorrow() -> None:
    now = ldn(2026, 11, 23, 20, 0)  # already Tuesday in Sydney
    assert format_instant(ldn(2026, 11, 23, 21, 0), "Australia/Sydney", now) == "today at 08:00"
    assert format_instant(ldn(2026, 11, 24, 9, 0), "Australia/Sydney", now) == "today at 20:00"
    assert format_instant(ldn(2026, 11, 24, 14, 0), "Australia/Sydney", now) == "tomorrow at 01:00"


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        ({"value": 4, "unit": "business_hours"}, "4 business hours"),
        ({"value": 1, "unit": "business_hours"}, "1 business hour"),
        ({"value": 3, "unit": "business_days"}, "3 business days"),
        ({"value": 1, "unit": "business_days"}, "1 business day"),
        ({"value": 2, "unit": "days"}, "2 days"),
        ({"value": 1, "unit": "hours"}, "1 hour"),
        ({"value": 1.0, "unit": "hours"}, "1 hour"),
        ({"value": 1.5, "unit": "hours"}, "1.5 hours"),
        ({"value": 0.25, "unit": "business_hours"}, "0.25 business hours"),
    ],
)
def test_format_duration(duration: dict[str, Any], expected: str) -> None:
    assert format_duration(duration) == expected


def test_format_duration_refuses_unknown_units() -> None:
    with pytest.raises(ValueError):
        format_duration({"value": 1, "unit": "weeks"})


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (0, "in less than a minute"),
        (0.4, "in less than a minute"),
        (1, "in 1 minute"),
        (45, "in 45 minutes"),
        (59.6, "in 1 hour"),
        (90, "in 2 hours"),
        (180, "in 3 hours"),
        (23 * 60, "in 23 hours"),
        (24 * 60, "in 1 day"),
        (40 * 60, "in 2 days"),
        (-5, "5 minutes ago"),
        (-3 * 24 * 60, "3 days ago"),
    ],
)
def test_humanize_delta(minutes: float, expected: str) -> None:
    a = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    b = datetime.fromtimestamp(a.timestamp() + minutes * 60, UTC)
    assert humanize_delta(a, b) == expected


def test_humanize_delta_counts_real_time_across_dst() -> None:
    # 00:30 to 03:30 London on the spring-forward night is two real hours
    assert humanize_delta(ldn(2026, 3, 29, 0, 30), ldn(2026, 3, 29, 3, 30)) == "in 2 hours"


# --------------------------------------------------------------------------- why closed, whose time


CHRISTMAS = {"weekly": HOURS["weekly"], "holidays": {"country": "GB", "subdivision": "ENG"},
             "closures": [{"start": "2026-12-29", "end": "2026-12-31", "reason": "Office closed"},
                          {"start": "2026-11-27T13:00", "end": "2026-11-27T17:30", "reason": "Team training"},
                          {"start": "2026-11-26", "end": "2026-11-26"}]}


def test_a_holiday_says_why() -> None:
    text = describe(ldn(2026, 12, 25, 10, 0), hours=CHRISTMAS)
    assert text["badge"] == "Closed for Christmas Day — opens Mon 4 Jan 2027 at 09:00 (in 10 days)"


def test_the_evening_before_a_holiday_says_why_the_next_opening_is_late() -> None:
    text = describe(ldn(2026, 12, 24, 18, 0), hours=CHRISTMAS)
    assert text["badge"].startswith("Closed for Christmas Day — opens Mon 4 Jan 2027 at 09:00")


def test_a_closure_says_its_reason() -> None:
    assert describe(ldn(2026, 11, 27, 14, 0), hours=CHRISTMAS)["badge"].startswith("Closed for Team training — opens")
    assert describe(ldn(2026, 12, 30, 10, 0), hours=CHRISTMAS)["badge"].startswith("Closed: Office closed — opens")
    assert describe(ldn(2026, 11, 26, 10, 0), hours=CHRISTMAS)["badge"].startswith("Temporarily closed — opens")


def test_a_usual_night_or_weekend_gives_no_reason() -> None:
    assert describe(ldn(2026, 11, 27, 18, 0), hours=CHRISTMAS)["badge"].startswith("Closed — opens Monday")
    assert describe(ldn(2026, 11, 28, 12, 0), hours=CHRISTMAS)["badge"].startswith("Closed — opens Monday")


def test_zoned_badge_names_the_teams_zone() -> None:
    assert describe(ldn(2026, 11, 23, 10, 0))["badge_zoned"] == "Open until 12:30 London time"
    kolkata = describe(ldn(2026, 11, 21, 17, 0), reader_tz=None)
    assert kolkata["badge_zoned"] == "Closed — opens Monday at 09:00 London time (in 2 days)"
    always = {"weekly": {day: [["00:00", "24:00"]] for day in WEEKDAYS}}
    assert describe(ldn(2026, 11, 23, 23, 0), hours=always)["badge_zoned"] == "Open around the clock"


@pytest.mark.parametrize(
    ("tz", "expected"),
    [("Asia/Kolkata", "Kolkata time"), ("America/Argentina/Buenos_Aires", "Buenos Aires time"), ("UTC", "UTC"),
     ("Etc/GMT+5", "Etc/GMT+5")],
)
def test_zone_label(tz: str, expected: str) -> None:
    assert zone_label(tz) == expected
