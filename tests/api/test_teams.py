"""The teams API: every endpoint, status code and header integrations rely on."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import team_doc


def test_list_paginates_with_headers_and_filters(client: Any, make_team: Any) -> None:
    for i in range(5):
        make_team(slug=f"team-{i}", name=f"Team {i}", contacts=[], tags=["even" if i % 2 == 0 else "odd"],
                  department="Finance" if i < 3 else "Legal")
    response = client.get("/api/v1/teams?page=2&page_size=2")
    assert response.status_code == 200
    assert [t["slug"] for t in response.json] == ["team-2", "team-3"]
    meta = json.loads(response.headers["X-Pagination"])
    assert meta["total"] == 5 and meta["page"] == 2 and meta["total_pages"] == 3
    link = response.headers["Link"]
    assert 'rel="next"' in link and "page=3" in link and 'rel="prev"' in link
    assert [t["slug"] for t in client.get("/api/v1/teams?tag=odd").json] == ["team-1", "team-3"]
    assert len(client.get("/api/v1/teams?department=legal").json) == 2
    assert client.get("/api/v1/teams?page_size=101").status_code == 422


def test_list_filters_open_now(client: Any, make_team: Any) -> None:
    always = {"weekly": {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}
    make_team(slug="always", name="Always", contacts=[], hours=always)
    make_team(slug="never", name="Never", contacts=[], hours=None)
    assert [t["slug"] for t in client.get("/api/v1/teams?open_now=true").json] == ["always"]
    assert [t["slug"] for t in client.get("/api/v1/teams?open_now=false").json] == ["never"]


def test_get_returns_the_contract_document_with_etag(client: Any, make_team: Any) -> None:
    make_team()
    response = client.get("/api/v1/teams/payroll")
    assert response.status_code == 200
    assert response.headers["ETag"]
    body = response.json
    for key, value in team_doc().items():
        if key != "hours":
            assert body[key] == value, key
    assert body["hours"]["weekly"]["mon"] == [["09:00", "12:30"], ["13:30", "17:30"]]
    assert body["version"] == 1
    assert body["url"].endswith("/teams/payroll")
    assert body["api_url"].endswith("/api/v1/teams/payroll")
    cached = client.get("/api/v1/teams/payroll", headers={"If-None-Match": response.headers["ETag"]})
    assert cached.status_code == 304


def test_unknown_slug_and_route_are_json_404(client: Any) -> None:
    for path in ("/api/v1/teams/nobody", "/api/v1/nothing-here", "/api/v1/teams/nobody/status"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json["code"] == "not_found" and response.json["status"] == 404
        assert response.json["message"]


def test_create_needs_write_authority(client: Any, app: Any) -> None:
    assert client.post("/api/v1/teams", json={"name": "X"}).status_code == 401
    assert client.post("/api/v1/teams", json={"name": "X"},
                       headers={"Authorization": "Bearer dir_wrong"}).status_code == 401
    from directory import accounts
    from directory.db import get_session

    with app.app_context():
        _t, read_only = accounts.create_token(get_session(), "r", "read")
        owner = accounts.create_user(get_session(), "alice@example.com", password="long enough pw")
        _t, owner_token = accounts.create_token(get_session(), "o", "write", owner)
        get_session().commit()
    assert client.post("/api/v1/teams", json={"name": "X"},
                       headers={"Authorization": f"Bearer {read_only}"}).status_code == 403
    assert client.post("/api/v1/teams", json={"name": "X"},
                       headers={"Authorization": f"Bearer {owner_token}"}).status_code == 403


def test_create_returns_201_with_location(client: Any, auth_headers: dict[str, str]) -> None:
    response = client.post("/api/v1/teams", json={"name": "Legal Services"}, headers=auth_headers)
    assert response.status_code == 201, response.json
    assert response.headers["Location"].endswith("/api/v1/teams/legal-services")
    assert response.json["slug"] == "legal-services"
    assert client.get("/api/v1/teams/legal-services").status_code == 200


def test_create_refuses_bad_input_with_fields(client: Any, auth_headers: dict[str, str]) -> None:
    bad = team_doc(timezone="Nowhere/Land", response_time={"value": 0, "unit": "hours"})
    response = client.post("/api/v1/teams", json=bad, headers=auth_headers)
    assert response.status_code == 422
    body = response.json
    assert body["code"] == "validation_error" and body["status"] == 422
    assert "timezone" in body["errors"] and "response_time.value" in body["errors"]
    assert client.get("/api/v1/teams").json == []


def test_create_conflicts_are_409(client: Any, make_team: Any, auth_headers: dict[str, str]) -> None:
    make_team()
    response = client.post("/api/v1/teams", json=team_doc(), headers=auth_headers)
    assert response.status_code == 409
    assert response.json["code"] == "conflict"
    assert "slug" in response.json["errors"]


def test_writes_need_json(client: Any, auth_headers: dict[str, str]) -> None:
    response = client.post("/api/v1/teams", data="name=x", headers=auth_headers,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json["code"] == "unsupported_media_type"
    broken = client.post("/api/v1/teams", data="{not json", headers=auth_headers, content_type="application/json")
    assert broken.status_code == 400


def test_oversized_body_is_413(client: Any, auth_headers: dict[str, str]) -> None:
    response = client.post("/api/v1/teams", data=json.dumps({"name": "x" * 2_000_000}),
                           headers=auth_headers, content_type="application/json")
    assert response.status_code == 413
    assert response.json["status"] == 413


def test_wrong_method_is_405(client: Any, make_team: Any) -> None:
    make_team()
    response = client.post("/api/v1/teams/payroll/status")
    assert response.status_code == 405
    assert response.json["code"] == "method_not_allowed"


def test_put_needs_if_match_and_refuses_stale_etags(client: Any, make_team: Any, auth_headers: dict[str, str]) -> None:
    make_team()
    first = client.get("/api/v1/teams/payroll")
    doc = first.json
    doc["summary"] = "Editor one"
    missing = client.put("/api/v1/teams/payroll", json=doc, headers=auth_headers)
    assert missing.status_code == 428
    ok = client.put("/api/v1/teams/payroll", json=doc,
                    headers={**auth_headers, "If-Match": first.headers["ETag"]})
    assert ok.status_code == 200, ok.json
    assert ok.json["version"] == 2 and ok.headers["ETag"] != first.headers["ETag"]
    # The second editor read version 1 too: their save must not silently win.
    doc["summary"] = "Editor two"
    stale = client.put("/api/v1/teams/payroll", json=doc,
                       headers={**auth_headers, "If-Match": first.headers["ETag"]})
    assert stale.status_code == 412
    assert client.get("/api/v1/teams/payroll").json["summary"] == "Editor one"


def test_put_accepts_exactly_what_was_read(client: Any, make_team: Any, auth_headers: dict[str, str]) -> None:
    make_team()
    read = client.get("/api/v1/teams/payroll")
    same = client.put("/api/v1/teams/payroll", json=read.json, headers={**auth_headers, "If-Match": read.headers["ETag"]})
    assert same.status_code == 200
    assert same.json["version"] == 1
    assert len(client.get("/api/v1/teams/payroll/revisions").json) == 1


def test_patch_changes_only_the_given_fields(client: Any, make_team: Any, auth_headers: dict[str, str]) -> None:
    make_team()
    etag = client.get("/api/v1/teams/payroll").headers["ETag"]
    assert client.patch("/api/v1/teams/payroll", json={"summary": "x"}, headers=auth_headers).status_code == 428
    response = client.patch("/api/v1/teams/payroll", json={"summary": "Pay and P60s", "tags": ["P60"]},
                            headers={**auth_headers, "If-Match": etag})
    assert response.status_code == 200, response.json
    assert response.json["summary"] == "Pay and P60s"
    assert response.json["tags"] == ["p60"]
    assert response.json["services"] == team_doc()["services"]
    bad = client.patch("/api/v1/teams/payroll", json={"hours": {"weekly": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}}},
                       headers={**auth_headers, "If-Match": response.headers["ETag"]})
    assert bad.status_code == 422


def test_delete_archives_keeping_history(client: Any, make_team: Any, auth_headers: dict[str, str]) -> None:
    make_team()
    etag = client.get("/api/v1/teams/payroll").headers["ETag"]
    assert client.delete("/api/v1/teams/payroll", headers=auth_headers).status_code == 428
    response = client.delete("/api/v1/teams/payroll", headers={**auth_headers, "If-Match": etag})
    assert response.status_code == 204
    assert client.get("/api/v1/teams/payroll").status_code == 404
    assert client.get("/api/v1/teams").json == []
    assert client.get("/api/v1/search?q=payroll").json["total"] == 0
    archived = client.get("/api/v1/teams/payroll", headers=auth_headers)
    assert archived.status_code == 200 and archived.json["archived"] is True
    history = client.get("/api/v1/teams/payroll/revisions", headers=auth_headers).json
    assert [r["action"] for r in history] == ["archive", "create"]


def test_revisions_newest_first_and_restore(client: Any, make_team: Any, auth_headers: dict[str, str]) -> None:
    make_team()
    etag = client.get("/api/v1/teams/payroll").headers["ETag"]
    client.patch("/api/v1/teams/payroll", json={"summary": "changed"}, headers={**auth_headers, "If-Match": etag})
    revisions = client.get("/api/v1/teams/payroll/revisions").json
    assert [r["number"] for r in revisions] == [2, 1]
    assert revisions[0]["team"]["summary"] == "changed"
    assert client.get("/api/v1/teams/payroll/revisions/1").json["team"]["summary"] == team_doc()["summary"]
    assert client.get("/api/v1/teams/payroll/revisions/9").status_code == 404
    restored = client.post("/api/v1/teams/payroll/revisions/1/restore", headers=auth_headers)
    assert restored.status_code == 200
    assert restored.json["summary"] == team_doc()["summary"] and restored.json["version"] == 3
    stale = client.post("/api/v1/teams/payroll/revisions/2/restore", headers={**auth_headers, "If-Match": etag})
    assert stale.status_code == 412


def test_session_writes_need_csrf(app: Any, client: Any, make_team: Any) -> None:
    make_team()
    from directory import accounts
    from directory.db import get_session

    with app.app_context():
        accounts.create_user(get_session(), "admin@example.com", password="a long password", is_admin=True)
        get_session().commit()
    with client.session_transaction() as sess:
        sess["_user_id"] = "1:0"  # id:session generation, as User.get_id makes it
        sess["_fresh"] = True
    response = client.post("/api/v1/teams", json={"name": "No CSRF"})
    assert response.status_code == 400
    assert "CSRF" in response.json["message"]


@pytest.mark.parametrize("path", ["/api/v1/teams", "/api/v1/teams/payroll", "/api/v1/search?q=pay"])
def test_require_login_closes_reads(tmp_path: Any, path: str) -> None:
    from tests.conftest import make_app

    app = make_app(tmp_path, DIRECTORY_REQUIRE_LOGIN=True)
    response = app.test_client().get(path)
    assert response.status_code == 401
    assert response.json["code"] == "unauthorized"
