"""The status endpoint and the auto-reply, at instants written out."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import team_doc

ALWAYS = {"weekly": {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}


def test_status_when_open(client: Any, make_team: Any) -> None:
    make_team()
    # Tuesday 24 Nov 2026, 10:00 in London (GMT).
    body = client.get("/api/v1/teams/payroll/status?at=2026-11-24T10:00:00Z").json
    assert body["open"] is True
    assert body["next_open"] is None
    assert body["next_close"] == "2026-11-24T17:30:00+00:00"
    assert body["reply_by"] == "2026-11-24T14:00:00+00:00"
    assert body["services"] == [{"name": "Payslip corrections", "done_by": "2026-11-27T10:00:00+00:00",
                                 "done_by_text": body["services"][0]["done_by_text"]}]
    assert body["text"]["badge"] == "Open until 17:30"


def test_status_when_closed_over_the_weekend(client: Any, make_team: Any) -> None:
    make_team()
    body = client.get("/api/v1/teams/payroll/status?at=2026-11-28T12:00:00+00:00").json  # Saturday
    assert body["open"] is False
    assert body["next_close"] is None
    assert body["next_open"] == "2026-11-30T09:00:00+00:00"
    assert body["reply_by"] == "2026-11-30T14:00:00+00:00"  # 3.5h before lunch, 0.5h after
    assert body["text"]["badge"].startswith("Closed — opens Monday at 09:00")


def test_status_honours_a_partial_closure(client: Any, make_team: Any) -> None:
    make_team()
    body = client.get("/api/v1/teams/payroll/status?at=2026-11-27T14:00:00Z").json  # training afternoon
    assert body["open"] is False
    assert body["next_open"] == "2026-11-30T09:00:00+00:00"


def test_status_in_the_readers_time_zone(client: Any, make_team: Any) -> None:
    make_team()
    body = client.get("/api/v1/teams/payroll/status?at=2026-11-24T10:00:00Z&tz=America/New_York").json
    assert body["text"]["badge_reader"] and "12:30" in body["text"]["badge_reader"]
    bad = client.get("/api/v1/teams/payroll/status?tz=Moon/Base")
    assert bad.status_code == 422 and "tz" in bad.json["errors"]
    assert client.get("/api/v1/teams/payroll/status?at=yesterday").status_code == 422


def test_status_without_hours_is_closed_with_nulls(client: Any, make_team: Any) -> None:
    make_team(hours=None)
    body = client.get("/api/v1/teams/payroll/status").json
    assert body["open"] is False
    assert body["next_open"] is None and body["reply_by"] is None
    assert body["services"][0]["done_by"] is None


def test_status_of_a_24_7_team(client: Any, make_team: Any) -> None:
    make_team(hours=ALWAYS, response_time={"value": 30, "unit": "hours"})
    body = client.get("/api/v1/teams/payroll/status?at=2026-12-25T03:00:00Z").json
    assert body["open"] is True and body["next_close"] is None
    assert body["reply_by"] == "2026-12-26T09:00:00+00:00"


@pytest.mark.parametrize(
    "address",
    ["payroll@example.com", "Payroll@Example.COM", '"Payroll" <Payroll+urgent@Example.com>',
     "mailto:payroll@example.com", "  <payroll+x@example.com> "],
)
def test_auto_reply_finds_the_team_by_messy_addresses(client: Any, make_team: Any, address: str) -> None:
    make_team()
    response = client.get("/api/v1/auto-reply", query_string={"to": address, "at": "2026-11-24T10:00:00Z"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    assert "Payroll" in response.get_data(as_text=True)


def test_auto_reply_unknown_address_is_404_and_garbage_422(client: Any, make_team: Any) -> None:
    make_team()
    assert client.get("/api/v1/auto-reply?to=nobody@example.com").status_code == 404
    assert client.get("/api/v1/auto-reply?to=not-an-address").status_code == 422
    assert client.get("/api/v1/auto-reply").status_code == 422


def test_auto_reply_formats(client: Any, make_team: Any) -> None:
    make_team(escalation="Ask for <b>the manager</b>")
    base = "/api/v1/teams/payroll/auto-reply?at=2026-11-28T12:00:00Z"
    text = client.get(base + "&format=text")
    assert "Monday at 09:00" in text.get_data(as_text=True)
    assert "Payslip corrections" in text.get_data(as_text=True)
    html = client.get(base + "&format=html")
    assert html.mimetype == "text/html"
    assert "&lt;b&gt;the manager&lt;/b&gt;" in html.get_data(as_text=True)
    data = client.get(base + "&format=json").json
    assert set(data) >= {"subject", "text", "html", "facts"}
    assert data["facts"]["open"] is False
    assert data["facts"]["next_open"] == "2026-11-30T09:00:00+00:00"
    assert "Payroll" in data["subject"]
    assert client.get(base + "&format=pdf").status_code == 422


def test_auto_reply_open_holiday_and_24_7(client: Any, make_team: Any) -> None:
    make_team()
    make_team(slug="soc", name="Security Operations Centre", hours=ALWAYS,
              contacts=[{"kind": "email", "value": "soc@example.com"}], response_time={"value": 1, "unit": "hours"})
    open_now = client.get("/api/v1/auto-reply?to=payroll@example.com&at=2026-11-24T10:00:00Z&format=json").json
    assert open_now["facts"]["open"] is True
    holiday = client.get("/api/v1/auto-reply?to=payroll@example.com&at=2026-12-28T10:00:00Z&format=json").json
    assert holiday["facts"]["open"] is False  # Boxing Day substitute (bank holiday in England)
    soc = client.get("/api/v1/auto-reply?to=soc@example.com&at=2026-12-25T03:00:00Z&format=json").json
    assert soc["facts"]["open"] is True
    assert soc["facts"]["reply_by"] == "2026-12-25T04:00:00+00:00"


def test_auto_reply_cache_control_follows_validity(client: Any, make_team: Any) -> None:
    make_team()
    now = client.get("/api/v1/teams/payroll/auto-reply")
    max_age = int(now.headers["Cache-Control"].split("max-age=")[1])
    assert 0 <= max_age <= 300
    fixed = client.get("/api/v1/teams/payroll/auto-reply?at=2026-11-24T10:00:00Z")
    assert "max-age=300" in fixed.headers["Cache-Control"]


def test_team_template_is_used_and_a_broken_one_falls_back(client: Any, make_team: Any) -> None:
    make_team(auto_reply={"subject": "Thanks from {{ team_name }}", "body": "Hello! {{ status_text }}."})
    data = client.get("/api/v1/teams/payroll/auto-reply?at=2026-11-24T10:00:00Z&format=json").json
    assert data["subject"] == "Thanks from Payroll"
    assert data["text"].startswith("Hello! Open until 17:30")
    assert data["template_used"] == "team"


def test_archived_team_gets_no_auto_reply(client: Any, make_team: Any, auth_headers: dict[str, str]) -> None:
    make_team()
    etag = client.get("/api/v1/teams/payroll").headers["ETag"]
    client.delete("/api/v1/teams/payroll", headers={**auth_headers, "If-Match": etag})
    assert client.get("/api/v1/auto-reply?to=payroll@example.com").status_code == 404
    assert team_doc()["slug"] == "payroll"


def test_auto_reply_wording_in_the_readers_time_zone(client: Any, make_team: Any) -> None:
    make_team()
    text = client.get("/api/v1/auto-reply?to=payroll@example.com&at=2026-11-28T12:00:00Z"
                      "&tz=America/New_York").get_data(as_text=True)
    assert "expect a reply by Mon 30 Nov, 14:00 (Europe/London time; Mon 30 Nov, 09:00 your time)" in text
    assert "Payslip corrections" in text and "(around Thu 3 Dec, 09:00)" in text
    assert "your time your time" not in text and "Done by" not in text


def test_status_says_why_a_holiday_or_closure_keeps_the_team_closed(client: Any, make_team: Any) -> None:
    make_team()
    christmas = client.get("/api/v1/teams/payroll/status?at=2026-12-25T10:00:00Z").json
    assert christmas["open"] is False
    assert christmas["next_open"] == "2026-12-29T09:00:00+00:00"  # Boxing Day is moved to Monday 28
    assert christmas["closed_reason"] == {"kind": "closure", "name": "Office closed", "date": "2026-12-25"}
    assert christmas["text"]["badge"].startswith("Closed: Office closed — opens Tuesday at 09:00 (in 4 days)")
    training = client.get("/api/v1/teams/payroll/status?at=2026-11-27T14:00:00Z").json
    assert training["closed_reason"]["name"] == "Team training"
    assert training["text"]["badge"].startswith("Closed for Team training — opens Monday at 09:00")
    new_year = client.get("/api/v1/teams/payroll/status?at=2027-01-01T10:00:00Z").json
    assert new_year["closed_reason"] == {"kind": "holiday", "name": "New Year's Day", "date": "2027-01-01"}
    assert new_year["text"]["badge"].startswith("Closed for New Year's Day — opens Monday at 09:00")
    assert new_year["text"]["badge_zoned"].startswith("Closed for New Year's Day — opens Monday at 09:00 London time")


def test_status_gives_no_reason_on_a_usual_evening_or_when_open(client: Any, make_team: Any) -> None:
    make_team()
    evening = client.get("/api/v1/teams/payroll/status?at=2026-11-24T19:00:00Z").json
    assert evening["open"] is False and evening["closed_reason"] is None
    assert evening["text"]["badge"].startswith("Closed — opens tomorrow")
    assert client.get("/api/v1/teams/payroll/status?at=2026-11-24T10:00:00Z").json["closed_reason"] is None


def test_auto_reply_says_why_names_the_zone_and_offers_the_urgent_line(client: Any, make_team: Any) -> None:
    contacts = [*team_doc()["contacts"], {"kind": "phone", "value": "+44 20 7946 0199", "label": "Out-of-hours line"}]
    make_team(contacts=contacts)
    text = client.get("/api/v1/teams/payroll/auto-reply?at=2027-01-01T10:00:00Z&format=text").get_data(as_text=True)
    assert "Right now: Closed for New Year's Day — opens Monday at 09:00 London time (in 3 days)." in text
    assert "You can expect a reply by Mon 4 Jan, 14:00 (Europe/London time)." in text
    assert "If it can't wait until we open: Out-of-hours line: +44 20 7946 0199." in text
    open_now = client.get("/api/v1/teams/payroll/auto-reply?at=2026-11-24T10:00:00Z&format=text").get_data(as_text=True)
    assert "Right now: Open until 17:30 London time." in open_now
    assert "If it can't wait" not in open_now
