"""`/api/v1/departments`: the departments that have teams, with counts, and each one's teams."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient


@pytest.fixture
def teams(make_team: Callable[..., Any]) -> None:
    for slug, name, department in [("tax", "Tax", "Finance"), ("payroll", "Payroll", "Finance"),
                                   ("sales-ops", "Sales Operations", "Sales & Customer Success"),
                                   ("no-dept", "Floating Team", None)]:
        make_team(slug=slug, name=name, department=department,
                  contacts=[{"kind": "email", "value": f"{slug}@example.com"}])


def test_departments_are_listed_by_name_with_counts_and_links(client: FlaskClient, teams: None) -> None:
    response = client.get("/api/v1/departments")
    assert response.status_code == 200
    assert response.json == [
        {"name": "Finance", "slug": "finance", "team_count": 2,
         "teams_url": "http://localhost/api/v1/departments/finance/teams"},
        {"name": "Sales & Customer Success", "slug": "sales-customer-success", "team_count": 1,
         "teams_url": "http://localhost/api/v1/departments/sales-customer-success/teams"},
    ]


def test_links_use_the_configured_site_address(app: Flask, client: FlaskClient, teams: None) -> None:
    app.config["SITE_URL"] = "https://directory.example"
    [finance, _sales] = client.get("/api/v1/departments").json
    assert finance["teams_url"] == "https://directory.example/api/v1/departments/finance/teams"


def test_a_departments_teams_come_by_name(client: FlaskClient, teams: None) -> None:
    response = client.get("/api/v1/departments/finance/teams")
    assert response.status_code == 200
    assert [t["slug"] for t in response.json] == ["payroll", "tax"]
    assert response.json[0]["department"] == "Finance" and response.json[0]["name"] == "Payroll"
    [sales] = client.get("/api/v1/departments/sales-customer-success/teams").json
    assert sales["slug"] == "sales-ops"


def test_archived_teams_leave_their_department(client: FlaskClient, teams: None,
                                              auth_headers: dict[str, str]) -> None:
    etag = client.get("/api/v1/teams/sales-ops").headers["ETag"]
    assert client.delete("/api/v1/teams/sales-ops", headers={**auth_headers, "If-Match": etag}).status_code == 204
    assert [d["slug"] for d in client.get("/api/v1/departments").json] == ["finance"]
    response = client.get("/api/v1/departments/sales-customer-success/teams")
    assert response.status_code == 404


def test_an_unknown_department_is_a_404_naming_the_slug(client: FlaskClient, teams: None) -> None:
    response = client.get("/api/v1/departments/nope/teams")
    assert response.status_code == 404
    assert response.json["message"] == "No department with the slug 'nope'."


def test_no_teams_no_departments(client: FlaskClient) -> None:
    assert client.get("/api/v1/departments").json == []
