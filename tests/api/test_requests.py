"""POST /teams/{slug}/requests and GET /teams/{slug}/performance (CONTRACT §4) through the API."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from flask import Flask

from directory import accounts
from directory.db import get_session

WEEKDAYS = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
HOURS = {"weekly": {**WEEKDAYS, "sat": [], "sun": []}, "holidays": {"country": "GB", "subdivision": "ENG"}}
SERVICE = "Laptop repair"
URL = "/api/v1/teams/it-desk/requests"
WINDOW = "since=2026-03-01T00:00:00Z&until=2026-04-01T00:00:00Z"


@pytest.fixture
def desk(make_team: Any) -> dict[str, Any]:
    return make_team(slug="it-desk", name="IT desk", hours=HOURS, contacts=[],
                     response_time={"value": 4, "unit": "business_hours"},
                     services=[{"name": SERVICE, "turnaround": {"value": 2, "unit": "business_days"}}])


def token_for(app: Flask, email: str | None, scope: str = "write") -> dict[str, str]:
    with app.app_context():
        session = get_session()
        user = None
        if email:
            user = accounts.find_user(session, email) or accounts.create_user(session, email, "", "a-long-password-1")
        _token, plain = accounts.create_token(session, "t", scope, user=user)
        session.commit()
    return {"Authorization": f"Bearer {plain}"}


def performance(client: Any, query: str = WINDOW) -> dict[str, Any]:
    response = client.get(f"/api/v1/teams/it-desk/performance?{query}")
    assert response.status_code == 200, response.json
    return response.json


def test_record_then_update_by_id(client: Any, desk: Any, auth_headers: Any) -> None:
    body = {"id": "INC-1", "received_at": "2026-03-27T16:00:00Z", "first_reply_at": None, "service": SERVICE}
    created = client.post(URL, json=body, headers=auth_headers)
    assert created.status_code == 201, created.json
    # Friday 16:00 GMT + 4 business hours: 1 on Friday, 3 on Monday after the clocks went forward.
    assert created.json["reply_by"] == "2026-03-30T12:00:00+01:00"
    assert created.json["done_by"] == "2026-03-31T16:00:00+01:00"
    assert created.json["revision"] == 1
    updated = client.post(URL, json={**body, "first_reply_at": "2026-03-30T11:30:00+01:00"}, headers=auth_headers)
    assert updated.status_code == 200
    assert updated.json["first_reply_at"] == "2026-03-30T11:30:00+01:00"
    again = client.post(URL, json=updated.json, headers=auth_headers)  # what was read, sent back
    assert again.status_code == 200 and again.json == updated.json
    typo = client.post(URL, json={**body, "first_reply": "2026-03-30T10:00:00Z"}, headers=auth_headers)
    assert typo.status_code == 422 and "first_reply" in typo.json["errors"]
    found = performance(client)
    assert found["requests"] == 1
    assert found["reply"] == {"measured": 1, "kept": 1, "kept_ratio": 1.0}
    assert found["resolution"] == {"measured": 1, "kept": 0, "kept_ratio": 0.0}  # 31 Mar 16:00 passed, unresolved
    assert found["services"] == [{"name": SERVICE, "requests": 1,
                                  "resolution": {"measured": 1, "kept": 0, "kept_ratio": 0.0}}]
    assert found["satisfaction"]["responses"] >= 0 and "average" in found["satisfaction"]


@pytest.mark.parametrize(("change", "field"), [
    ({"received_at": "yesterday"}, "received_at"),
    ({"received_at": "2026-02-30T10:00:00Z"}, "received_at"),
    ({"first_reply_at": "2026-03-27T15:59:59Z"}, "first_reply_at"),
    ({"resolved_at": "2026-03-01T00:00:00Z"}, "resolved_at"),
    ({"resolved_at": "soon"}, "resolved_at"),
    ({"service": "Payroll"}, "service"),
    ({"id": "x" * 201}, "id"),
    ({"id": ""}, "id"),
    ({"id": None}, "id"),
    ({"id": 12}, "id"),
])
def test_bad_input_is_422_naming_the_field_and_changes_nothing(client: Any, desk: Any, auth_headers: Any,
                                                               change: dict[str, Any], field: str) -> None:
    body = {"id": "INC-1", "received_at": "2026-03-27T16:00:00Z", **change}
    response = client.post(URL, json=body, headers=auth_headers)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"], response.json
    assert response.json["code"] == "validation_error"
    assert performance(client)["requests"] == 0


def test_missing_received_at_is_422(client: Any, desk: Any, auth_headers: Any) -> None:
    response = client.post(URL, json={"id": "INC-1"}, headers=auth_headers)
    assert response.status_code == 422 and "received_at" in response.json["errors"]


def test_writes_need_write_scope_and_owners_only_for_their_team(app: Flask, client: Any, desk: Any,
                                                                 make_team: Any) -> None:
    make_team(slug="other", name="Other", owners=["carol@example.com"], contacts=[])
    body = {"id": "INC-1", "received_at": "2026-03-27T16:00:00Z"}
    assert client.post(URL, json=body).status_code == 401
    assert client.post(URL, json=body, headers=token_for(app, None, "read")).status_code == 403
    carol = token_for(app, "carol@example.com")
    assert client.post(URL, json=body, headers=carol).status_code == 403
    assert performance(client)["requests"] == 0
    assert client.post("/api/v1/teams/other/requests", json=body, headers=carol).status_code == 201
    alice = token_for(app, "alice@example.com")  # an owner of it-desk (team_doc's owner)
    assert client.post(URL, json=body, headers=alice).status_code == 201
    assert client.post("/api/v1/teams/nobody/requests", json=body, headers=alice).status_code == 404


def test_performance_window_defaults_and_bad_windows(client: Any, desk: Any, auth_headers: Any) -> None:
    found = performance(client, "")
    assert found["requests"] == 0 and found["reply"]["kept_ratio"] is None
    assert found["services"][0]["name"] == SERVICE
    bad = client.get("/api/v1/teams/it-desk/performance?since=2026-04-01T00:00:00Z&until=2026-03-01T00:00:00Z")
    assert bad.status_code == 422 and "since" in bad.json["errors"]
    bad = client.get("/api/v1/teams/it-desk/performance?until=tomorrow")
    assert bad.status_code == 422 and "until" in bad.json["errors"]
    assert client.get("/api/v1/teams/nobody/performance").status_code == 404


def test_weekly_as_json_and_csv(client: Any, desk: Any, auth_headers: Any) -> None:
    for n, reply in enumerate(["2026-03-30T10:00:00Z", "2026-03-30T11:30:00Z"]):
        body = {"id": f"W-{n}", "received_at": "2026-03-27T16:00:00Z", "first_reply_at": reply}
        assert client.post(URL, json=body, headers=auth_headers).status_code == 201
    weekly = client.get(f"/api/v1/teams/it-desk/performance/weekly?{WINDOW}").json
    by_week = {w["week"]: w for w in weekly["weeks"]}
    assert by_week["2026-03-23"]["reply"] == {"measured": 2, "kept": 1, "kept_ratio": 0.5}
    assert by_week["2026-03-16"]["requests"] == 0
    response = client.get(f"/api/v1/teams/it-desk/performance/weekly?{WINDOW}&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.data.decode())))
    row = next(r for r in rows if r["week"] == "2026-03-23")
    assert (row["requests"], row["reply_measured"], row["reply_kept"], row["reply_kept_ratio"]) == ("2", "2", "1", "0.5")
    assert client.get(f"/api/v1/teams/it-desk/performance/weekly?{WINDOW}&format=xml").status_code == 422


def test_the_team_page_shows_the_share_only_with_enough_requests(client: Any, desk: Any, auth_headers: Any) -> None:
    page = "/teams/it-desk?at=2026-04-20T12:00:00Z"
    assert "Promises kept" not in client.get(page).get_data(as_text=True)
    for n in range(9):
        body = {"id": f"P-{n}", "received_at": f"2026-03-{10 + n:02d}T10:00:00Z",
                "first_reply_at": f"2026-03-{10 + n:02d}T11:00:00Z"}
        assert client.post(URL, json=body, headers=auth_headers).status_code == 201
    html = client.get(page).get_data(as_text=True)
    assert "not enough requests yet" in html and "Replies on time <strong>" not in html
    late = {"id": "P-late", "received_at": "2026-03-27T16:00:00Z", "first_reply_at": "2026-03-30T11:30:00+01:00",
            "service": SERVICE}
    assert client.post(URL, json=late, headers=auth_headers).status_code == 201
    assert client.post(URL, json={**late, "id": "P-late2", "first_reply_at": "2026-03-30T12:30:00+01:00"},
                       headers=auth_headers).status_code == 201
    html = client.get(page).get_data(as_text=True)
    # 10 of 11 replies on time: 90.9%, shown rounded down.
    assert "Replies on time <strong>90%</strong> of the time" in html
    assert "(11 requests, last 90 days)" in html
    assert f"{SERVICE}</span>:" in html and "not enough requests yet (2 measured)" in html
    assert "<svg" in html and ">50%</text>" in html and ">100%</text>" in html  # weeks of 23 and 16 Mar
    assert "format=csv" in html


def test_an_old_slug_answers_308_to_the_current_one(app: Flask, client: Any, desk: Any, auth_headers: Any) -> None:
    from directory import services
    from directory.models import Team
    from directory.schemas import load_team
    from tests.conftest import ADMIN

    with app.app_context():
        session = get_session()
        team = session.query(Team).filter_by(slug="it-desk").one()
        services.update_team(session, team, load_team({**team.data, "slug": "service-desk"}), ADMIN)
        session.commit()
    body = {"id": "INC-1", "received_at": "2026-03-27T16:00:00Z"}
    moved = client.post(URL, json=body, headers=auth_headers)
    assert moved.status_code == 308 and moved.headers["Location"].endswith("/api/v1/teams/service-desk/requests")
    assert client.post("/api/v1/teams/service-desk/requests", json=body, headers=auth_headers).status_code == 201
    read = client.get(f"/api/v1/teams/it-desk/performance?{WINDOW}")
    assert read.status_code == 308 and f"/api/v1/teams/service-desk/performance?{WINDOW}" in read.headers["Location"]
