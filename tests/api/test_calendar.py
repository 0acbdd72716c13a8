"""GET /api/v1/teams/{slug}/calendar.ics through the test client (CONTRACT §2)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar
import pytest

from directory.hours import Schedule
from tests.conftest import team_doc


def feed(client: Any, query: str = "") -> icalendar.Calendar:
    response = client.get(f"/api/v1/teams/payroll/calendar.ics{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/calendar"
    return icalendar.Calendar.from_ical(response.data)


def test_feed_from_at_for_days_matches_the_engine(client: Any, make_team: Any) -> None:
    make_team()
    calendar = feed(client, "?at=2026-03-23T00:00:00Z&days=14")
    zone = calendar.walk("VTIMEZONE")[0].to_tz()
    opened = sorted((e.decoded("dtstart").replace(tzinfo=zone).astimezone(UTC),
                     e.decoded("dtend").replace(tzinfo=zone).astimezone(UTC))
                    for e in calendar.walk("VEVENT") if "OPEN" in e.get("categories").cats)
    schedule = Schedule.from_team(team_doc()["hours"], "Europe/London")
    at = datetime(2026, 3, 23, tzinfo=UTC)
    assert opened == [(s.astimezone(UTC), e.astimezone(UTC))
                      for s, e in schedule.open_periods(at, at + timedelta(days=14))]  # type: ignore[union-attr]
    closed = {str(e["summary"]): e.decoded("dtstart") for e in calendar.walk("VEVENT")
              if "CLOSED" in e.get("categories").cats}
    assert closed == {"Good Friday": date(2026, 4, 3), "Easter Monday": date(2026, 4, 6)}


def test_default_window_is_28_days_from_now(client: Any, make_team: Any) -> None:
    make_team(hours={"weekly": {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}})
    before = datetime.now(UTC)
    (event,) = feed(client).walk("VEVENT")
    start, end = event.decoded("dtstart"), event.decoded("dtend")
    assert before - timedelta(seconds=1) <= start <= datetime.now(UTC)
    assert end - start == timedelta(days=28)


def test_closures_appear_with_their_reason(client: Any, make_team: Any) -> None:
    make_team()
    closed = {(str(e["summary"]), e.decoded("dtstart"), e.decoded("dtend"))
              for e in feed(client, "?at=2026-11-23T00:00:00&days=10").walk("VEVENT")
              if "CLOSED" in e.get("categories").cats}
    london = Schedule.from_team(team_doc()["hours"], "Europe/London").tz  # type: ignore[union-attr]
    assert closed == {("Team training", datetime(2026, 11, 27, 13, tzinfo=london),
                       datetime(2026, 11, 27, 17, 30, tzinfo=london))}


@pytest.mark.parametrize(("query", "argument"), [
    ("?days=0", "days"), ("?days=367", "days"), ("?days=-3", "days"), ("?days=many", "days"),
    ("?at=tomorrow", "at"), ("?at=2026-13-01T00:00", "at"), ("?at=9999-01-01T00:00:00Z", "at"),
])
def test_bad_arguments_are_named_in_a_422(client: Any, make_team: Any, query: str, argument: str) -> None:
    make_team()
    response = client.get(f"/api/v1/teams/payroll/calendar.ics{query}")
    assert response.status_code == 422
    assert list(response.json["errors"]) == [argument]
    assert response.json["code"] == "validation_error"


def test_a_year_is_the_most(client: Any, make_team: Any) -> None:
    make_team()
    calendar = feed(client, "?at=2026-01-01T00:00:00Z&days=366")
    christmas = [e for e in calendar.walk("VEVENT") if str(e["summary"]) == "Christmas Day"]
    assert [e.decoded("dtstart") for e in christmas] == [date(2026, 12, 25)]


def test_unknown_team_is_404(client: Any) -> None:
    response = client.get("/api/v1/teams/nobody/calendar.ics")
    assert response.status_code == 404 and response.json["code"] == "not_found"


def test_openapi_documents_the_feed_as_text_calendar(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").json
    operation = spec["paths"]["/api/v1/teams/{slug}/calendar.ics"]["get"]
    assert "text/calendar" in operation["responses"]["200"]["content"]
    names = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
    assert {"at", "days"} <= names
    assert "422" in operation["responses"]


def test_team_page_links_to_the_feed(client: Any, make_team: Any) -> None:
    make_team()
    page = client.get("/teams/payroll").get_data(as_text=True)
    assert 'href="webcal://localhost/api/v1/teams/payroll/calendar.ics"' in page
    assert 'href="http://localhost/api/v1/teams/payroll/calendar.ics" download="payroll.ics"' in page
    assert page.count('id="calendar-links"') == 1
    assert page.index('id="hours-title"') < page.index('id="calendar-links"') < page.index('id="contacts-title"')
