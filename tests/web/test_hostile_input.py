"""Data that breaks the directory (issue 10), from the browser: the editor's form goes through the
same schema as the API, so the same bad input is refused beside its field, on SQLite and PostgreSQL;
numbers beyond what the database holds are answered 400/404, never 500."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from directory import services
from directory.db import get_session
from tests.conftest import make_app

HUGE = "9" * 400


@pytest.fixture
def app(storage_url: str, tmp_path: Path) -> Iterator[Flask]:
    """Every test here on both backends, answering errors as a server would."""
    app = make_app(tmp_path, DATABASE_URL=storage_url)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    yield app
    app.extensions["directory_db"].engine.dispose()


def text(response: Any) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def version(app: Flask, slug: str = "payroll") -> int:
    with app.app_context():
        return services.get_team(get_session(), slug).version


def test_the_editor_refuses_nul_beside_the_field_and_saves_nothing(
        app: Flask, owner_client: FlaskClient, make_team: Any, editor_fields: Any) -> None:
    make_team()
    for field, value in (("name", "Pay\x00roll"), ("department", "Fin\x00ance"), ("tags", "pay, t\x00ax"),
                         ("hours.closures.0.reason", "Closed\x00"), ("services.0.name", "Pay\x00slips")):
        fields = editor_fields(owner_client, "payroll")
        fields[field] = value
        response = owner_client.post("/teams/payroll/edit", data=fields)
        assert response.status_code == 422, (field, response.status_code)
        anchor = "f-" + re.sub(r"[^a-zA-Z0-9_-]", "-", field.removesuffix(".1"))
        assert re.search(rf'id="{anchor}[^"]*-error">.*?must not contain the NUL character', text(response), re.S), field
    assert version(app) == 1


def test_a_new_team_with_nul_is_refused(app: Flask, client: FlaskClient, sign_in_as: Any,
                                        form_values: Any) -> None:
    sign_in_as(client, "admin@example.com", is_admin=True)
    fields = form_values(text(client.get("/teams/new")), form_id="team-editor")
    fields.update({"name": "Pay\x00roll", "save": "1"})
    response = client.post("/teams/new", data=fields)
    assert response.status_code == 422
    assert "must not contain the NUL character" in text(response)
    assert client.get("/api/v1/teams").json == []


def test_durations_beyond_float_range_are_refused_beside_the_field(
        app: Flask, owner_client: FlaskClient, make_team: Any, editor_fields: Any) -> None:
    make_team()
    for typed, message in ((HUGE, "at most 10000"), ("-" + HUGE, "greater than 0"), ("1e400", "must be a number")):
        for field in ("response_time.value", "services.0.turnaround.value"):
            fields = editor_fields(owner_client, "payroll")
            fields[field] = typed
            response = owner_client.post("/teams/payroll/edit", data=fields)
            assert response.status_code == 422, (typed[:10], field)
            anchor = "f-" + field.replace(".", "-")
            assert re.search(rf'id="{anchor}-error">.*?{message}', text(response), re.S), (typed[:10], field)
    assert version(app) == 1


def test_an_editor_version_that_is_no_version_is_400_and_saves_nothing(
        app: Flask, owner_client: FlaskClient, make_team: Any, editor_fields: Any, csrf: Any) -> None:
    make_team()
    fields = editor_fields(owner_client, "payroll")
    token = csrf(owner_client, "/teams/payroll")
    for posted in (HUGE, "3000000000", "-1", "0", "first"):
        response = owner_client.post("/teams/payroll/edit", data={**fields, "version": posted, "summary": "Changed"})
        assert response.status_code == 400, posted
        assert "version field" in text(response) and "nothing was saved" in text(response)
        review = owner_client.post("/teams/payroll/review", data={"csrf_token": token, "version": posted})
        assert review.status_code == 400, posted
    assert version(app) == 1


def test_history_and_restore_of_versions_beyond_the_column_are_404(
        app: Flask, owner_client: FlaskClient, make_team: Any, csrf: Any) -> None:
    make_team()
    for query in (f"to={HUGE[:30]}", "to=3000000000", f"from={HUGE[:20]}", "to=9223372036854775808", "to=7"):
        response = owner_client.get(f"/teams/payroll/history?{query}")
        assert response.status_code == 404, query
        assert "has no version" in text(response)
    assert owner_client.get("/teams/payroll/history?to=1").status_code == 200
    token = csrf(owner_client, "/teams/payroll/history")
    for number in ("3000000000", "99999999999999999999"):
        response = owner_client.post(f"/teams/payroll/history/{number}/restore",
                                     data={"csrf_token": token, "version": "1"})
        assert response.status_code == 404, number
    assert version(app) == 1


def test_signing_in_with_nul_in_the_address_is_refused_like_a_wrong_password(
        app: Flask, client: FlaskClient, csrf: Any) -> None:
    response = client.post("/login", data={"csrf_token": csrf(client), "email": "alice\x00@example.com",
                                           "password": "whatever"})
    assert response.status_code == 401
    assert "do not match an account" in text(response)
