"""Administration pages: teams (archive, bring back), people and roles, API tokens."""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from directory import accounts, services
from directory.db import get_session
from directory.models import ApiToken, User


def text(response: Any) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def test_admin_pages_need_an_administrator(client: FlaskClient, owner_client: FlaskClient, make_team: Any) -> None:
    for url in ("/admin", "/admin/users", "/admin/tokens"):
        assert owner_client.get(url).status_code == 403, url
    owner_client.post("/logout", data={"csrf_token": re.search(
        r'name="csrf_token" value="([^"]+)"', text(owner_client.get("/logout"))).group(1)})
    response = client.get("/admin")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=/admin")


def test_admin_overview_archive_and_bring_back(app: Flask, admin_client: FlaskClient, make_team: Any,
                                               csrf: Any) -> None:
    make_team()
    html = text(admin_client.get("/admin"))
    assert "Payroll" in html and "Add a team" in html and 'href="/teams/new"' in html
    token = csrf(admin_client, "/admin")
    response = admin_client.post("/teams/payroll/archive", data={"csrf_token": token, "version": "1"})
    assert response.status_code == 302
    assert "is archived" in text(admin_client.get("/admin"))
    assert "/teams/payroll" not in text(admin_client.get("/search?q=payroll"))
    # administrators still see the archived page, with a way back
    page = text(admin_client.get("/teams/payroll"))
    assert "This team is archived" in page
    response = admin_client.post("/teams/payroll/unarchive", data={"csrf_token": token})
    assert response.status_code == 302
    with app.app_context():
        team = services.get_team(get_session(), "payroll")
        assert not team.archived and team.revisions[0].action == "restore"


def test_people_roles_and_ownership(app: Flask, admin_client: FlaskClient, make_team: Any, csrf: Any) -> None:
    make_team()
    token = csrf(admin_client, "/admin/users")
    response = admin_client.post("/admin/users", data={
        "csrf_token": token, "email": "Erin@Example.com", "name": "Erin", "password": "long-enough-pw"})
    assert response.status_code == 302
    with app.app_context():
        user = accounts.find_user(get_session(), "erin@example.com")
        assert user is not None and not user.is_admin
        user_id = user.id
    page = text(admin_client.get(f"/admin/users/{user_id}"))
    assert "Teams they own" in page and "None yet." in page

    # making someone an owner edits the team's owners, as a revision
    response = admin_client.post(f"/admin/users/{user_id}/teams",
                                 data={"csrf_token": token, "slug": "payroll", "action": "add"})
    assert response.status_code == 302
    with app.app_context():
        team = services.get_team(get_session(), "payroll")
        assert team.data["owners"] == ["alice@example.com", "erin@example.com"]
        assert team.revisions[0].note == "added owner erin@example.com"
    assert "Remove as owner" in text(admin_client.get(f"/admin/users/{user_id}"))
    admin_client.post(f"/admin/users/{user_id}/teams",
                      data={"csrf_token": token, "slug": "payroll", "action": "remove"})
    with app.app_context():
        assert services.get_team(get_session(), "payroll").data["owners"] == ["alice@example.com"]

    # roles and passwords
    response = admin_client.post(f"/admin/users/{user_id}", data={
        "csrf_token": token, "action": "profile", "name": "Erin E.", "is_admin": "yes", "active": "yes"})
    assert response.status_code == 302
    response = admin_client.post(f"/admin/users/{user_id}", data={
        "csrf_token": token, "action": "password", "password": "short"})
    assert response.status_code == 422 and "at least 10 characters" in text(response)
    with app.app_context():
        user = get_session().get(User, user_id)
        assert user.is_admin and user.name == "Erin E."

    # duplicates and bad addresses are shown beside the field
    response = admin_client.post("/admin/users", data={"csrf_token": token, "email": "erin@example.com"})
    assert response.status_code == 409 and "already has an account" in text(response)
    response = admin_client.post("/admin/users", data={"csrf_token": token, "email": "nobody"})
    assert response.status_code == 422 and "is not an e-mail address" in text(response)


def test_admins_cannot_lock_themselves_out(app: Flask, admin_client: FlaskClient, csrf: Any) -> None:
    with app.app_context():
        me = accounts.find_user(get_session(), "admin@example.com")
        assert me is not None
        my_id = me.id
    token = csrf(admin_client, "/admin/users")
    response = admin_client.post(f"/admin/users/{my_id}", data={"csrf_token": token, "action": "profile",
                                                                 "name": "Me", "active": "yes"})
    assert response.status_code == 422
    with app.app_context():
        assert get_session().get(User, my_id).is_admin


def test_tokens_are_shown_once_and_can_be_revoked(app: Flask, admin_client: FlaskClient, csrf: Any) -> None:
    token = csrf(admin_client, "/admin/tokens")
    response = admin_client.post("/admin/tokens", data={"csrf_token": token, "name": "HR sync", "scope": "write",
                                                        "user": ""})
    html = text(response)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    plain = re.search(r'<code id="new-token">(dir_[^<]+)</code>', html)
    assert plain and "shown only once" in html
    with app.app_context():
        stored = get_session().query(ApiToken).one()
        assert stored.token_hash == accounts.hash_token(plain.group(1)) and stored.scope == "write"
        token_id = stored.id
    # the plain token is never shown again
    assert plain.group(1) not in text(admin_client.get("/admin/tokens"))
    # and it works against the API until revoked
    headers = {"Authorization": f"Bearer {plain.group(1)}"}
    assert admin_client.get("/api/v1/teams", headers=headers).status_code == 200
    response = admin_client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": token})
    assert response.status_code == 302
    assert "is revoked" in text(admin_client.get("/admin/tokens"))
    assert admin_client.get("/api/v1/teams", headers=headers).status_code == 401

    response = admin_client.post("/admin/tokens", data={"csrf_token": token, "name": "", "scope": "read",
                                                        "user": "ghost@example.com"})
    assert response.status_code == 422
    assert "no person with the address ghost@example.com" in text(response)
