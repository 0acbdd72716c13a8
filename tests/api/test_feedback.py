"""POST /api/v1/teams/{slug}/feedback (CONTRACT §4), the public figures and the signed links."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from directory import accounts
from directory.db import get_session
from directory.models import Feedback, FeedbackAudit

URL = "/api/v1/teams/payroll/feedback"


@pytest.fixture
def team(make_team: Callable[..., Any]) -> dict[str, Any]:
    return make_team()


def person_token(app: Flask, email: str, scope: str = "write", name: str | None = None) -> dict[str, str]:
    with app.app_context():
        session = get_session()
        user = accounts.find_user(session, email) or accounts.create_user(session, email, name=name or "")
        _token, plain = accounts.create_token(session, f"for {email}", scope, user=user)
        session.commit()
        return {"Authorization": f"Bearer {plain}"}


def stored(app: Flask) -> tuple[int, int]:
    with app.app_context():
        session = get_session()
        return (session.scalar(select(func.count()).select_from(Feedback)) or 0,
                session.scalar(select(func.count()).select_from(FeedbackAudit)) or 0)


def test_a_person_rates_and_a_later_rating_of_the_request_replaces_it(app: Flask, client: FlaskClient, team: Any) -> None:
    headers = person_token(app, "bob@example.com")
    first = client.post(URL, json={"rating": 2, "comment": "Slow", "request_id": "T-1"}, headers=headers)
    assert first.status_code == 201, first.json
    assert first.json["replaced"] is False and first.json["follow_up"]["state"] == "open"
    again = client.post(URL, json={"rating": 5, "comment": None, "request_id": "T-1"}, headers=headers)
    assert again.status_code == 201 and again.json["replaced"] is True and again.json["rating"] == 5
    assert stored(app)[0] == 1


@pytest.mark.parametrize("body, field", [
    ({"rating": 0}, "rating"), ({"rating": 6}, "rating"), ({"rating": True}, "rating"), ({"rating": 4.5}, "rating"),
    ({"rating": "4"}, "rating"), ({}, "rating"), ({"rating": 3, "comment": "x" * 2001}, "comment"),
    ({"rating": 3, "request_id": "r" * 201}, "request_id"), ({"rating": 3, "service": "Catering"}, "service"),
    ({"rating": 3, "ratng": 4}, "ratng"),
])
def test_bad_input_is_422_naming_the_field_and_changes_nothing(app: Flask, client: FlaskClient, team: Any,
                                                               body: dict[str, Any], field: str) -> None:
    response = client.post(URL, json=body, headers=person_token(app, "bob@example.com"))
    assert response.status_code == 422, response.json
    assert field in response.json["errors"] and response.json["code"] == "validation_error"
    assert stored(app) == (0, 0)


def test_a_token_naming_nobody_is_refused(app: Flask, client: FlaskClient, team: Any,
                                          auth_headers: dict[str, str]) -> None:
    response = client.post(URL, json={"rating": 5}, headers=auth_headers)
    assert response.status_code == 403 and "names nobody" in response.json["message"]
    assert client.post(URL, json={"rating": 5}).status_code == 401
    assert stored(app) == (0, 0)


def test_owners_cannot_rate_their_own_team(app: Flask, client: FlaskClient, team: Any) -> None:
    response = client.post(URL, json={"rating": 5}, headers=person_token(app, "alice@example.com"))
    assert response.status_code == 403 and "owners" in response.json["message"]
    assert stored(app) == (0, 0)


def test_the_eleventh_write_within_the_hour_is_429(app: Flask, client: FlaskClient, team: Any) -> None:
    headers = person_token(app, "bob@example.com")
    for n in range(10):
        assert client.post(URL, json={"rating": 4, "request_id": f"R{n}"}, headers=headers).status_code == 201
    refused = client.post(URL, json={"rating": 4}, headers=headers)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 3000
    assert stored(app) == (10, 10)


def test_figures_appear_only_from_five_people_and_name_nobody(app: Flask, client: FlaskClient, team: Any) -> None:
    for n in range(4):
        email = f"colleague{n}@example.com"
        headers = person_token(app, email, name=f"Colleague Secretname{n}")
        assert client.post(URL, json={"rating": 4, "comment": f"note {n}"}, headers=headers).status_code == 201
    read = client.get(URL)
    assert read.status_code == 200
    assert (read.json["responses"], read.json["average"], read.json["distribution"]) == (4, None, None)
    headers = person_token(app, "colleague4@example.com", name="Colleague Secretname4")
    given = client.post(URL, json={"rating": 2, "comment": "late"}, headers=headers)
    read = client.get(URL)
    assert (read.json["responses"], read.json["average"]) == (5, 3.6)
    assert read.json["distribution"] == {"1": 0, "2": 1, "3": 0, "4": 4, "5": 0}
    for body in (read.get_data(as_text=True), given.get_data(as_text=True)):
        assert "colleague" not in body.lower() and "secretname" not in body.lower()


def test_feedback_links_are_made_for_owners_only(app: Flask, client: FlaskClient, team: Any) -> None:
    link_url = "/api/v1/teams/payroll/feedback-link?request_id=T-9"
    assert client.get(link_url, headers=person_token(app, "bob@example.com")).status_code == 403
    made = client.get(link_url, headers=person_token(app, "alice@example.com"))
    assert made.status_code == 200
    query = parse_qs(urlsplit(made.json["ratings"]["4"]).query)
    assert query["r"] == ["T-9"] and query["rating"] == ["4"] and len(query["sig"][0]) == 32
    assert client.get("/api/v1/teams/payroll/feedback-link", headers=person_token(app, "alice@example.com")
                      ).status_code == 422


def test_the_openapi_document_describes_feedback(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "post" in paths["/api/v1/teams/{slug}/feedback"] and "get" in paths["/api/v1/teams/{slug}/feedback-link"]


def test_performance_reports_satisfaction_from_five_people(app: Flask, client: FlaskClient, team: Any,
                                                           auth_headers: dict[str, str]) -> None:
    request = {"id": "T-1", "received_at": "2026-11-24T10:00:00+00:00", "first_reply_at": None,
               "resolved_at": None, "service": "Payslip corrections"}
    assert client.post("/api/v1/teams/payroll/requests", json=request, headers=auth_headers).status_code == 201
    for n in range(5):
        headers = person_token(app, f"colleague{n}@example.com")
        assert client.post(URL, json={"rating": 4 if n else 2, "request_id": "T-1"}, headers=headers).status_code == 201
        found = client.get("/api/v1/teams/payroll/performance").json["satisfaction"]
        assert found == {"responses": n + 1, "average": None if n < 4 else 3.6}
    parts = client.get(URL).json["services"]  # the rated request's service counts the ratings
    assert parts == [{"name": "Payslip corrections", "responses": 5, "average": 3.6,
                      "distribution": {"1": 0, "2": 1, "3": 0, "4": 4, "5": 0}}]


def test_a_window_that_ends_before_it_starts_is_422(client: FlaskClient, team: Any) -> None:
    response = client.get(URL + "?since=2026-11-02T00:00:00Z&until=2026-11-01T00:00:00Z")
    assert response.status_code == 422 and "since" in response.json["errors"]
    assert client.get(URL + "?since=yesterday").status_code == 422
