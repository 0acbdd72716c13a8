"""directory.status: one policy for unpublished hours and errors, in numbers and words (issue 11)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from directory import status
from tests.conftest import team_doc

LONDON = ZoneInfo("Europe/London")
AT = datetime(2026, 11, 24, 10, 0, tzinfo=LONDON)  # a Tuesday, open 09:00-17:30


def test_open_closed_and_unpublished_badges() -> None:
    assert status.badge(team_doc(), AT) == ("Open until 17:30 London time", "badge--open")
    assert status.badge(team_doc(), AT, "America/New_York") == ("Open until 12:30 your time", "badge--open")
    assert status.badge(team_doc(hours=None), AT) == ("Hours not published", "badge--unknown")
    assert status.badge(team_doc(hours={"weekly": {}}), AT) == (
        "Closed — no opening in the coming year", "badge--closed")


def test_stored_data_that_no_longer_validates_reads_as_unpublished() -> None:
    broken = team_doc(hours={"weekly": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}})
    assert status.schedule_of(broken) is None
    assert status.badge(broken, AT) == ("Hours not published", "badge--unknown")
    bad_zone = team_doc(timezone="Mars/Olympus_Mons", response_time={"value": 1, "unit": "days"})
    assert status.timezone_of(bad_zone) == "UTC"
    assert status.schedule_of(bad_zone) is None
    numbers = status.numbers(bad_zone, AT, None)
    assert numbers["open"] is False and numbers["reply_by"] == datetime(2026, 11, 25, 10, 0, tzinfo=LONDON)
    said = status.words(numbers, status.timezone_of(bad_zone), None, AT, None)
    assert said["badge"] == "Hours not published"
    assert said["reply"] == "Reply expected by Wed 25 Nov, 10:00"


def test_words_tell_published_from_unpublished_by_the_schedule() -> None:
    closed = team_doc(hours={"weekly": {}})
    schedule = status.schedule_of(closed)
    assert schedule is not None
    numbers = status.numbers(closed, AT, schedule)
    assert numbers == {**numbers, "open": False, "next_open": None, "next_close": None}
    assert status.words(numbers, "Europe/London", None, AT, schedule)["badge"] == "Closed — no opening in the coming year"
    assert status.words(numbers, "Europe/London", None, AT, None)["badge"] == "Hours not published"


def test_badge_class() -> None:
    assert status.badge_class(False, True) == "badge--unknown"
    assert status.badge_class(True, True) == "badge--open"
    assert status.badge_class(True, False) == "badge--closed"
