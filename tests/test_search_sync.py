"""The index follows the database: writes are found at once, other instances catch up, a lost
index is rebuilt, and search still answers when the index cannot be used."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_app, team_doc


def slugs(client: Any, q: str, **params: Any) -> list[str]:
    body = client.get("/api/v1/search", query_string={"q": q, **params}).json
    return [hit["slug"] for hit in body["results"]]


def test_search_answers_in_the_contract_shape(client: Any, make_team: Any) -> None:
    make_team()
    body = client.get("/api/v1/search?q=payslip").json
    assert body["total"] == 1
    [hit] = body["results"]
    assert set(hit) >= {"slug", "name", "summary", "score", "highlights"}
    assert hit["slug"] == "payroll"
    assert any("<mark>" in html for html in hit["highlights"].values())
    assert set(body["facets"]) >= {"department", "tags", "location", "open_now"}
    assert "suggestion" in body


def test_a_write_is_found_by_the_next_search(client: Any, make_team: Any, auth_headers: dict[str, str]) -> None:
    make_team()
    assert slugs(client, "zeppelin") == []
    etag = client.get("/api/v1/teams/payroll").headers["ETag"]
    client.patch("/api/v1/teams/payroll", json={"summary": "We also book zeppelin travel."},
                 headers={**auth_headers, "If-Match": etag})
    assert slugs(client, "zeppelin") == ["payroll"]


def test_a_deleted_index_is_rebuilt(app: Any, client: Any, make_team: Any) -> None:
    make_team()
    assert slugs(client, "payslip") == ["payroll"]
    shutil.rmtree(app.config["INDEX_DIR"])
    assert slugs(client, "payslip") == ["payroll"]
    assert Path(app.config["INDEX_DIR"]).exists()


def test_a_corrupt_index_is_rebuilt(tmp_path: Path, make_team: Any) -> None:
    make_team()
    index_dir = tmp_path / "index"
    for path in index_dir.iterdir():
        if path.is_file():
            path.write_bytes(b"garbage")
    fresh = make_app(tmp_path)  # a new process starting on the damaged index
    assert slugs(fresh.test_client(), "payslip") == ["payroll"]


def test_search_falls_back_to_the_database_when_the_index_is_unusable(app: Any, client: Any, make_team: Any,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    make_team()
    service = app.extensions["directory_search"]

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("disk on fire")

    monkeypatch.setattr(service.index, "query", broken)
    monkeypatch.setattr(service.index, "rebuild", broken)
    response = client.get("/api/v1/search?q=payroll")
    assert response.status_code == 200
    assert [h["slug"] for h in response.json["results"]] == ["payroll"]


def test_a_second_instance_on_the_same_database_sees_the_first_ones_edit(
    tmp_path: Path, storage_url: str, auth_headers: dict[str, str]
) -> None:
    """Two hosts share one database, each with its own index."""
    first = make_app(tmp_path / "a", DATABASE_URL=storage_url, INDEX_DIR=str(tmp_path / "a-index"))
    second = make_app(tmp_path / "b", DATABASE_URL=storage_url, INDEX_DIR=str(tmp_path / "b-index"))
    from directory import accounts
    from directory.db import get_session

    with first.app_context():
        _t, token = accounts.create_token(get_session(), "t", "write")
        get_session().commit()
    headers = {"Authorization": f"Bearer {token}"}
    a, b = first.test_client(), second.test_client()
    assert a.post("/api/v1/teams", json=team_doc(), headers=headers).status_code == 201
    assert slugs(b, "payslip") == ["payroll"]
    etag = a.get("/api/v1/teams/payroll").headers["ETag"]
    a.patch("/api/v1/teams/payroll", json={"summary": "Now handling zeppelin claims."},
            headers={**headers, "If-Match": etag})
    assert slugs(b, "zeppelin") == ["payroll"]
    a.delete("/api/v1/teams/payroll", headers={**headers, "If-Match": a.get("/api/v1/teams/payroll").headers["ETag"]})
    assert slugs(b, "payslip") == []
    for app in (first, second):
        app.extensions["directory_db"].engine.dispose()


def test_suggest(client: Any, make_team: Any) -> None:
    make_team()
    body = client.get("/api/v1/search/suggest?q=payr").json
    assert body["suggestions"][0]["slug"] == "payroll"
    assert client.get("/api/v1/search/suggest").status_code == 422


def test_open_now_filter_and_facet(client: Any, make_team: Any) -> None:
    always = {"weekly": {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}
    make_team(slug="soc", name="Security Operations", summary="Incidents, phishing", hours=always,
              contacts=[], description="Report a security incident any time.")
    make_team(slug="nohours", name="Security Awareness", summary="Phishing training", hours=None, contacts=[])
    body = client.get("/api/v1/search?q=phishing").json
    assert body["facets"]["open_now"] == {"true": 1, "false": 1}
    assert slugs(client, "phishing", open_now="true") == ["soc"]
