"""Renamed teams keep their old links: old slugs redirect for good, on pages and in the API."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import inspect, select

from directory import services
from directory.db import get_db, get_session
from directory.errors import NotFound
from directory.models import SlugAlias, Team
from directory.schemas import load_team
from tests.conftest import ADMIN, team_doc


def rename(session: Any, team: Team, slug: str) -> None:
    data = copy.deepcopy(team.data)
    data["slug"] = slug
    assert services.update_team(session, team, data, ADMIN)
    session.commit()


def aliases(session: Any) -> dict[str, str]:
    rows = session.execute(select(SlugAlias.slug, Team.slug).join(Team, Team.id == SlugAlias.team_id))
    return dict(rows.all())


def test_migration_creates_a_unique_alias_table(db: Any) -> None:
    inspector = inspect(get_db().engine)
    assert "slug_aliases" in inspector.get_table_names()
    columns = {c["name"] for c in inspector.get_columns("slug_aliases")}
    assert {"slug", "team_id"} <= columns
    uniques = [u["column_names"] for u in inspector.get_unique_constraints("slug_aliases")]
    assert ["slug"] in uniques


def test_renaming_keeps_the_old_slug_as_an_alias(db: Any) -> None:
    team = services.create_team(db, load_team(team_doc()), ADMIN)
    db.commit()
    rename(db, team, "pay")
    rename(db, team, "people-pay")
    assert aliases(db) == {"payroll": "people-pay", "pay": "people-pay"}
    with pytest.raises(services.SlugMoved) as moved:
        services.get_team(db, "payroll")
    assert moved.value.slug == "people-pay" and isinstance(moved.value, NotFound)
    with pytest.raises(NotFound) as missing:
        services.get_team(db, "never-was")
    assert not isinstance(missing.value, services.SlugMoved)


def test_renaming_back_drops_the_alias(db: Any) -> None:
    team = services.create_team(db, load_team(team_doc()), ADMIN)
    db.commit()
    rename(db, team, "pay")
    rename(db, team, "payroll")
    assert aliases(db) == {"pay": "payroll"}
    assert services.get_team(db, "payroll").id == team.id


def test_a_new_team_takes_over_an_old_slug(db: Any) -> None:
    team = services.create_team(db, load_team(team_doc()), ADMIN)
    db.commit()
    rename(db, team, "pay")
    newcomer = services.create_team(
        db, load_team(team_doc(name="New payroll", contacts=[])), ADMIN)
    db.commit()
    assert newcomer.slug == "payroll"
    assert aliases(db) == {}
    assert services.get_team(db, "payroll").id == newcomer.id
    # and a rename onto another team's old slug takes it over as well
    rename(db, newcomer, "payroll-new")
    other = services.create_team(db, load_team(team_doc(slug="tax", name="Tax", contacts=[])), ADMIN)
    db.commit()
    rename(db, other, "payroll")
    assert aliases(db) == {"tax": "payroll"}  # "payroll" was newcomer's old slug: now other's own
    assert services.get_team(db, "payroll").id == other.id


# --------------------------------------------------------------------------- through HTTP


@pytest.fixture
def renamed(app: Flask, make_team: Any) -> None:
    make_team()
    with app.app_context():
        session = get_session()
        rename(session, services.get_team(session, "payroll"), "people-pay")


def test_pages_under_an_old_slug_redirect_permanently(client: FlaskClient, renamed: None) -> None:
    response = client.get("/teams/payroll")
    assert response.status_code == 301
    assert response.headers["Location"] == "/teams/people-pay"
    response = client.get("/teams/payroll/history?from=1&to=2")
    assert response.status_code == 301
    assert response.headers["Location"] == "/teams/people-pay/history?from=1&to=2"
    assert client.get("/teams/payroll", follow_redirects=True).status_code == 200
    assert client.get("/teams/nobody").status_code == 404


def test_api_reads_under_an_old_slug_redirect_permanently(client: FlaskClient, renamed: None) -> None:
    response = client.get("/api/v1/teams/payroll")
    assert response.status_code == 308
    assert response.headers["Location"].endswith("/api/v1/teams/people-pay")
    assert response.json["code"] == "moved_permanently" and "people-pay" in response.json["message"]
    response = client.get("/api/v1/teams/payroll/status?at=2026-11-24T10:00:00Z")
    assert response.status_code == 308
    assert response.headers["Location"].endswith("/api/v1/teams/people-pay/status?at=2026-11-24T10:00:00Z")
    response = client.get("/api/v1/teams/payroll/auto-reply?format=text")  # another API blueprint
    assert response.status_code == 308 and response.json["code"] == "moved_permanently"
    assert response.headers["Location"].endswith("/api/v1/teams/people-pay/auto-reply?format=text")
    followed = client.get("/api/v1/teams/payroll/revisions", follow_redirects=True)
    assert followed.status_code == 200 and len(followed.json) == 2
    assert client.get("/api/v1/teams/nobody").status_code == 404


def test_api_writes_to_an_old_slug_keep_method_and_body(
    client: FlaskClient, renamed: None, auth_headers: dict[str, str]
) -> None:
    etag = client.get("/api/v1/teams/people-pay").headers["ETag"]
    response = client.patch("/api/v1/teams/payroll", json={"summary": "Moved."},
                            headers={**auth_headers, "If-Match": etag})
    assert response.status_code == 308
    assert response.headers["Location"].endswith("/api/v1/teams/people-pay")
    assert client.get("/api/v1/teams/people-pay").json["summary"] != "Moved."  # the redirect wrote nothing
    # what a client that follows a 308 does: the same method and body at the new address
    followed = client.patch(response.headers["Location"], json={"summary": "Moved."},
                            headers={**auth_headers, "If-Match": etag})
    assert followed.status_code == 200 and followed.json["summary"] == "Moved."
    assert client.get("/api/v1/teams/people-pay").json["summary"] == "Moved."


def test_page_forms_posted_to_an_old_slug_are_redirected_with_308(
    app: Flask, client: FlaskClient, renamed: None
) -> None:
    from tests.web.conftest import csrf_token, sign_in

    sign_in(client, app, "alice@example.com")
    token = csrf_token(client, "/teams/people-pay")
    response = client.post("/teams/payroll/review", data={"csrf_token": token, "version": "2"})
    assert response.status_code == 308
    assert response.headers["Location"] == "/teams/people-pay/review"
