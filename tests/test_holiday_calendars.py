"""Organisation holiday calendars from ICS: parsing, storing, selecting, and every answer closing on their days."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import icalendar
import pytest
from flask import Flask
from flask.testing import FlaskClient

from directory import holiday_calendars, hours
from directory.db import get_session
from directory.holiday_calendars import InvalidHolidayCalendar, parse_ics
from directory.hours import OrgCalendar, Schedule
from tests.conftest import ADMIN, team_doc
from tests.web.conftest import csrf_token, sign_in

COMPANY_DAYS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Example//Company days//EN\r
BEGIN:VEVENT\r
UID:1@example.com\r
DTSTART;VALUE=DATE:20261125\r
DTEND;VALUE=DATE:20261126\r
SUMMARY:Company day\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:2@example.com\r
DTSTART;VALUE=DATE:20270104\r
SUMMARY:Founders' day\r
RRULE:FREQ=YEARLY;COUNT=3\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:3@example.com\r
DTSTART;VALUE=DATE:20271229\r
DTEND;VALUE=DATE:20271231\r
SUMMARY:Winter shutdown\r
END:VEVENT\r
END:VCALENDAR\r
"""
OTHER_DAYS = COMPANY_DAYS.replace(b"20261125", b"20261126").replace(b"20261126\r\nSUMMARY", b"20261127\r\nSUMMARY")
WEDNESDAY = "2026-11-25T10:00:00Z"  # a Company day; payroll is otherwise open 09:00-17:30


# --------------------------------------------------------------------------- parsing


def test_parse_all_day_multi_day_and_yearly_events() -> None:
    assert parse_ics(COMPANY_DAYS) == {
        date(2026, 11, 25): "Company day",
        date(2027, 1, 4): "Founders' day", date(2028, 1, 4): "Founders' day", date(2029, 1, 4): "Founders' day",
        date(2027, 12, 29): "Winter shutdown", date(2027, 12, 30): "Winter shutdown",
    }


def test_parse_timed_events_close_the_dates_they_touch() -> None:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//t//t//EN")
    calendar.add("version", "2.0")
    event = icalendar.Event()
    event.add("summary", "Offsite")
    event.add("dtstart", datetime(2026, 6, 1, 13, 0))
    event.add("dtend", datetime(2026, 6, 2, 12, 0))
    calendar.add_component(event)
    assert parse_ics(calendar.to_ical()) == {date(2026, 6, 1): "Offsite", date(2026, 6, 2): "Offsite"}


@pytest.mark.parametrize(("content", "says"), [
    (b"Subject,Date\nXmas,2026-12-25\n", "no BEGIN:VCALENDAR"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "no events"),
    (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:Lost\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "no valid start"),
    (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:Odd\r\nDTSTART;VALUE=DATE:20261225\r\n"
     b"DTEND;VALUE=DATE:20261220\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "ends before it starts"),
    (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:2026-99-99\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "start"),
    (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260101\r\nRRULE:FREQ=DAILY\r\n"
     b"END:VEVENT\r\nEND:VCALENDAR\r\n", "more than"),
])
def test_invalid_files_are_refused_with_a_reason(content: bytes, says: str) -> None:
    with pytest.raises(InvalidHolidayCalendar) as caught:
        parse_ics(content)
    assert says in caught.value.message
    assert caught.value.errors["file"]


# --------------------------------------------------------------------------- the engine takes the days as data


def test_engine_closes_on_organisation_days_like_public_holidays(monkeypatch: pytest.MonkeyPatch) -> None:
    weekly = team_doc()["hours"]["weekly"]
    org = OrgCalendar("org:company-days", 1, {date(2026, 11, 25): "Company day"})
    plain = Schedule(hours_tz(), weekly, None, [])
    closed = Schedule(hours_tz(), weekly, None, [], org)
    wednesday = datetime(2026, 11, 25, 10, tzinfo=UTC)
    assert plain.is_open(wednesday) and not closed.is_open(wednesday)
    assert closed.closed_reason(wednesday) == {"kind": "holiday", "name": "Company day", "date": "2026-11-25"}
    assert closed.next_open(wednesday) == datetime(2026, 11, 26, 9, tzinfo=UTC)
    assert closed.upcoming_holidays(date(2026, 11, 1), 1) == [(date(2026, 11, 25), "Company day")]

    spec = {"weekly": weekly, "holidays": {"calendar": "org:company-days"}}
    assert hours.validate_hours(spec) == {}
    monkeypatch.setattr(hours, "_org_calendar_lookup", {"org:company-days": org}.get)
    assert not Schedule.from_team(spec, "Europe/London").is_open(wednesday)  # type: ignore[union-attr]
    newer = OrgCalendar("org:company-days", 2, {})
    monkeypatch.setattr(hours, "_org_calendar_lookup", {"org:company-days": newer}.get)
    assert Schedule.from_team(spec, "Europe/London").is_open(wednesday)  # type: ignore[union-attr]
    monkeypatch.setattr(hours, "_org_calendar_lookup", None)
    assert Schedule.from_team(spec, "Europe/London").is_open(wednesday)  # type: ignore[union-attr]


def hours_tz() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/London")


@pytest.mark.parametrize("value", ["company-days", "org:", "org:Company Days", 7])
def test_calendar_names_must_read_org_slug(value: Any) -> None:
    assert "holidays.calendar" in hours.validate_hours({"holidays": {"calendar": value}})


# --------------------------------------------------------------------------- through the app


def upload(client: FlaskClient, name: str, content: bytes) -> Any:
    return client.post("/admin/holiday-calendars", data={
        "csrf_token": csrf_token(client, "/admin/holiday-calendars"), "name": name,
        "file": (io.BytesIO(content), "days.ics")}, content_type="multipart/form-data")


@pytest.fixture
def admin(app: Flask) -> FlaskClient:
    client = app.test_client()
    sign_in(client, app, "admin@example.com", is_admin=True)
    return client


@pytest.fixture
def company_team(app: Flask, admin: FlaskClient, make_team: Any) -> dict[str, Any]:
    assert upload(admin, "Company days", COMPANY_DAYS).status_code == 302
    doc = team_doc()
    doc["hours"]["holidays"] = {"country": "GB", "subdivision": "ENG", "calendar": "org:company-days"}
    return make_team(hours=doc["hours"])


def test_status_reply_by_auto_reply_and_feed_close_on_the_calendars_days(client: FlaskClient,
                                                                          company_team: dict[str, Any]) -> None:
    assert company_team["hours"]["holidays"]["calendar"] == "org:company-days"
    status = client.get(f"/api/v1/teams/payroll/status?at={WEDNESDAY}").json
    assert status["open"] is False
    assert status["closed_reason"] == {"kind": "holiday", "name": "Company day", "date": "2026-11-25"}
    assert status["next_open"] == "2026-11-26T09:00:00+00:00"
    tuesday = client.get("/api/v1/teams/payroll/status?at=2026-11-24T17:00:00Z").json
    assert tuesday["reply_by"] == "2026-11-26T12:30:00+00:00"  # 30 min on Tuesday, 3.5 h on Thursday

    reply = client.get(f"/api/v1/teams/payroll/auto-reply?at={WEDNESDAY}&format=json").json
    assert reply["facts"]["open"] is False and reply["facts"]["reply_by"] == "2026-11-26T13:00:00+00:00"
    assert "Company day" in reply["text"]

    feed = icalendar.Calendar.from_ical(client.get("/api/v1/teams/payroll/calendar.ics?at=2026-11-23T00:00:00Z&days=7").data)
    closed = [(str(e["summary"]), e.decoded("dtstart")) for e in feed.walk("VEVENT") if "CLOSED" in e["categories"].cats]
    assert closed == [("Team training", datetime(2026, 11, 27, 13, tzinfo=hours_tz())), ("Company day", date(2026, 11, 25))]
    assert not [e for e in feed.walk("VEVENT") if "OPEN" in e["categories"].cats
                and e.decoded("dtstart").date() == date(2026, 11, 25)]


def test_the_team_page_names_the_next_organisation_day(app: Flask, admin: FlaskClient, client: FlaskClient,
                                                       make_team: Any) -> None:
    soon = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y%m%d")
    upload(admin, "Stock days", COMPANY_DAYS.replace(b"20261125", soon.encode()).replace(b"Company day", b"Inventory day")
           .replace(b"DTEND;VALUE=DATE:20261126\r\n", b""))
    doc = team_doc()
    doc["hours"]["holidays"] = {"calendar": "org:stock-days"}
    make_team(hours=doc["hours"])
    page = client.get("/teams/payroll").get_data(as_text=True)
    assert "Next: <strong>Inventory day</strong>" in page


def test_a_changed_calendar_shows_at_once_in_cached_answers(app: Flask, admin: FlaskClient, client: FlaskClient,
                                                             company_team: dict[str, Any]) -> None:
    url = f"/api/v1/teams/payroll/auto-reply?at={WEDNESDAY}&format=json"
    assert client.get(url).json["facts"]["open"] is False  # now cached for this team version
    assert upload(admin, "Company days", OTHER_DAYS).status_code == 302  # the Company day moves to Thursday
    assert client.get(url).json["facts"]["open"] is True
    assert client.get(f"/api/v1/teams/payroll/status?at={WEDNESDAY}").json["open"] is True
    with app.app_context():
        (calendar,) = holiday_calendars.list_calendars(get_session())
        assert calendar.version == 2 and "2026-11-26" in calendar.days


def test_naming_an_unknown_calendar_is_a_422_and_saves_nothing(client: FlaskClient, auth_headers: dict[str, str]) -> None:
    doc = team_doc()
    doc["hours"]["holidays"] = {"calendar": "org:nowhere"}
    response = client.post("/api/v1/teams", json=doc, headers=auth_headers)
    assert response.status_code == 422
    assert "hours.holidays.calendar" in response.json["errors"]
    assert client.get("/api/v1/teams/payroll").status_code == 404
    doc["hours"]["holidays"] = {"calendar": "company days"}
    assert "hours.holidays.calendar" in client.post("/api/v1/teams", json=doc, headers=auth_headers).json["errors"]


def test_select_by_api_and_read_back(client: FlaskClient, admin: FlaskClient, auth_headers: dict[str, str],
                                     make_team: Any) -> None:
    make_team()
    upload(admin, "Company days", COMPANY_DAYS)
    etag = client.get("/api/v1/teams/payroll").headers["ETag"]
    hours_doc = team_doc()["hours"]
    hours_doc["holidays"] = {"calendar": "org:company-days"}
    response = client.patch("/api/v1/teams/payroll", json={"hours": hours_doc},
                            headers={**auth_headers, "If-Match": etag})
    assert response.status_code == 200, response.json
    assert response.json["hours"]["holidays"] == {"calendar": "org:company-days"}
    assert client.get(f"/api/v1/teams/payroll/status?at={WEDNESDAY}").json["open"] is False
    listed = client.get("/api/v1/holiday-calendars").json
    assert listed == [{"name": "org:company-days", "title": "Company days", "days": 6, "first": "2026-11-25",
                       "last": "2029-01-04", "version": 1}]


def test_an_invalid_upload_says_why_and_changes_nothing(app: Flask, admin: FlaskClient,
                                                        company_team: dict[str, Any]) -> None:
    response = upload(admin, "Company days", b"Subject,Date\nXmas,2026-12-25\n")
    assert response.status_code == 422
    assert "no BEGIN:VCALENDAR" in response.get_data(as_text=True)
    assert upload(admin, "Other days", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n").status_code == 422
    with app.app_context():
        (calendar,) = holiday_calendars.list_calendars(get_session())
        assert (calendar.slug, calendar.version, len(calendar.days)) == ("company-days", 1, 6)


def test_delete_only_when_no_team_uses_it(app: Flask, admin: FlaskClient, company_team: dict[str, Any]) -> None:
    delete = "/admin/holiday-calendars/company-days/delete"
    admin.post(delete, data={"csrf_token": csrf_token(admin, "/admin/holiday-calendars")})
    page = admin.get("/admin/holiday-calendars").get_data(as_text=True)
    assert "still selected by Payroll" in page and "org:company-days" in page
    with app.app_context():
        session = get_session()
        team = holiday_calendars.teams_using(session, "company-days")[0]
        doc = dict(team.data, hours=dict(team.data["hours"], holidays={"country": "GB"}))
        from directory import services

        services.update_team(session, team, doc, ADMIN)
        session.commit()
    admin.post(delete, data={"csrf_token": csrf_token(admin, "/admin/holiday-calendars")})
    with app.app_context():
        assert holiday_calendars.list_calendars(get_session()) == []


def test_only_administrators_see_the_page(app: Flask, client: FlaskClient) -> None:
    sign_in(client, app, "bob@example.com")
    assert client.get("/admin/holiday-calendars").status_code == 403


def test_other_processes_see_a_change_within_the_refresh_time(app: Flask) -> None:
    now = [0.0]
    store = holiday_calendars.CalendarStore(app.extensions["directory_db"].sessionmaker, clock=lambda: now[0])
    with app.app_context():
        session = get_session()
        holiday_calendars.save_calendar(session, "Company days", COMPANY_DAYS)
        session.commit()
        assert store.lookup("org:company-days").days[date(2026, 11, 25)] == "Company day"  # type: ignore[union-attr]
        holiday_calendars.save_calendar(session, "Company days", OTHER_DAYS)  # as another server would
        session.commit()
        assert date(2026, 11, 25) in store.lookup("org:company-days").days  # type: ignore[union-attr]
        now[0] += holiday_calendars.REFRESH_SECONDS
        assert date(2026, 11, 25) not in store.lookup("org:company-days").days  # type: ignore[union-attr]
        assert store.stamp() == (("org:company-days", 2),)


# --------------------------------------------------------------------------- the command


@pytest.fixture
def ics_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/calendar")
            self.end_headers()
            self.wfile.write(COMPANY_DAYS)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/days.ics"
    server.shutdown()


def test_command_adds_from_a_file_or_a_url(app: Flask, runner: Any, tmp_path: Any, ics_server: str) -> None:
    path = tmp_path / "days.ics"
    path.write_bytes(OTHER_DAYS)
    result = runner.invoke(args=["holiday-calendar", "add", "Company days", str(path)])
    assert result.exit_code == 0, result.output
    assert "org:company-days" in result.output
    result = runner.invoke(args=["holiday-calendar", "add", "Company days", ics_server])
    assert result.exit_code == 0, result.output
    with app.app_context():
        (calendar,) = holiday_calendars.list_calendars(get_session())
        assert calendar.version == 2 and calendar.source_url == ics_server and "2026-11-25" in calendar.days
    bad = tmp_path / "bad.ics"
    bad.write_text("hello")
    result = runner.invoke(args=["holiday-calendar", "add", "Company days", str(bad)])
    assert result.exit_code != 0 and "BEGIN:VCALENDAR" in result.output
    assert runner.invoke(args=["holiday-calendar", "delete", "org:company-days"]).exit_code == 0


def test_the_editor_keeps_sets_and_checks_the_organisation_calendar(app: Flask, admin: FlaskClient,
                                                                    company_team: dict[str, Any]) -> None:
    from tests.web.conftest import editor_form

    fields = editor_form(admin, "payroll")
    assert fields["hours.holidays.calendar"] == "org:company-days"
    assert 'value="org:company-days"' in admin.get("/teams/payroll/edit").get_data(as_text=True)  # the datalist
    fields["summary"] = "Pay, payslips and tax codes."
    assert admin.post("/teams/payroll/edit", data=fields).status_code == 302
    with app.app_context():
        team = holiday_calendars.teams_using(get_session(), "company-days")[0]
        assert team.data["summary"] == "Pay, payslips and tax codes."
        assert team.data["hours"]["holidays"]["calendar"] == "org:company-days"

    fields = editor_form(admin, "payroll")
    fields["hours.holidays.country"] = fields["hours.holidays.subdivision"] = ""
    fields["hours.holidays.calendar"] = "org:no-such-days"
    response = admin.post("/teams/payroll/edit", data=fields)
    assert response.status_code == 422 and "no organisation holiday calendar" in response.get_data(as_text=True)
    fields["hours.holidays.calendar"] = "org:company-days"
    assert admin.post("/teams/payroll/edit", data=fields).status_code == 302
    with app.app_context():
        team = holiday_calendars.teams_using(get_session(), "company-days")[0]
        assert team.data["hours"]["holidays"] == {"calendar": "org:company-days"}


def test_history_words_a_change_of_organisation_calendar() -> None:
    from directory.web.diff import field_changes

    old = {"hours": {"weekly": {}, "holidays": {"country": "GB", "subdivision": "ENG"}, "closures": []}}
    new = {"hours": {"weekly": {}, "holidays": {"calendar": "org:company-days"}, "closures": []}}
    (change,) = field_changes(old, new)
    assert "Closed on public holidays: GB (ENG)" in change.old
    assert "Closed on the days of the organisation calendar org:company-days" in change.new
    assert "public holidays" not in change.new


def test_worker_threads_of_a_served_command_use_its_calendars(app: Flask, company_team: dict[str, Any],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The mail responder renders replies in threads without an app context."""
    from directory import facts

    monkeypatch.setattr(holiday_calendars, "_thread_store", None)
    wednesday = hours.parse_instant(WEDNESDAY)
    seen: list[bool] = []

    def in_a_thread() -> None:
        seen.append(facts.team_facts(company_team, wednesday).status["open"])

    for _ in range(2):
        thread = threading.Thread(target=in_a_thread)
        thread.start()
        thread.join()
        holiday_calendars.serve_threads(app)
    assert seen == [True, False]
    assert holiday_calendars.stamp() == (("org:company-days", 1),)
