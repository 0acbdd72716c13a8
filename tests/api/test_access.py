"""Who may do what through the API: operator tokens by scope, and writes that must name a version."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from directory import accounts, services
from directory.db import get_session
from tests.conftest import ADMIN


def operator_token(app: Flask, scope: str) -> str:
    """A token as `directory create-token --scope SCOPE` makes it: naming no user."""
    with app.app_context():
        session = get_session()
        _token, plain = accounts.create_token(session, f"{scope} operator", scope)
        session.commit()
        return plain


def archive(app: Flask, slug: str) -> None:
    with app.app_context():
        session = get_session()
        services.archive_team(session, services.get_team(session, slug), ADMIN)
        session.commit()


def test_a_read_scope_operator_token_reads_as_anyone_does(app: Flask, client: FlaskClient, make_team: Any) -> None:
    make_team()
    archive(app, "payroll")
    reader = {"Authorization": f"Bearer {operator_token(app, 'read')}"}
    assert client.get("/api/v1/teams/payroll", headers=reader).status_code == 404
    assert client.get("/api/v1/teams/payroll/revisions", headers=reader).status_code == 404
    assert client.get("/api/v1/teams/payroll/revisions/1", headers=reader).status_code == 404
    listed = client.get("/api/v1/teams?include_archived=true", headers=reader)
    assert listed.status_code == 200 and listed.json == []
    # An operator's write token is the administrator the contract describes, and still sees them.
    writer = {"Authorization": f"Bearer {operator_token(app, 'write')}"}
    assert client.get("/api/v1/teams/payroll", headers=writer).status_code == 200
    assert [r["action"] for r in client.get("/api/v1/teams/payroll/revisions", headers=writer).json] == [
        "archive", "create"]


def test_a_read_scope_operator_token_cannot_write(app: Flask, client: FlaskClient, make_team: Any) -> None:
    make_team()
    reader = {"Authorization": f"Bearer {operator_token(app, 'read')}"}
    etag = client.get("/api/v1/teams/payroll").headers["ETag"]
    response = client.patch("/api/v1/teams/payroll", json={"summary": "x"}, headers={**reader, "If-Match": etag})
    assert response.status_code == 403


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_if_match_star_is_refused(client: FlaskClient, make_team: Any, auth_headers: dict[str, str],
                                  method: str) -> None:
    make_team()
    body = client.get("/api/v1/teams/payroll").json
    kwargs: dict[str, Any] = {"headers": {**auth_headers, "If-Match": "*"}}
    if method != "delete":
        kwargs["json"] = dict(body, summary="Written blind") if method == "put" else {"summary": "Written blind"}
    response = getattr(client, method)("/api/v1/teams/payroll", **kwargs)
    assert response.status_code == 428
    assert response.json["code"] == "precondition_required"
    assert "If-Match: *" in response.json["message"]
    after = client.get("/api/v1/teams/payroll")
    assert after.status_code == 200 and after.json["summary"] == body["summary"]
    assert after.json["version"] == body["version"]


@pytest.mark.parametrize("path", ["/api/v1/teams/payroll/review", "/api/v1/teams/payroll/revisions/1/restore"])
def test_if_match_star_is_refused_on_actions(client: FlaskClient, make_team: Any, auth_headers: dict[str, str],
                                             path: str) -> None:
    make_team()
    response = client.post(path, headers={**auth_headers, "If-Match": "*"})
    assert response.status_code == 428
    assert client.get("/api/v1/teams/payroll").json["version"] == 1
