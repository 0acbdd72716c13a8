"""Signing in and out, DIRECTORY_REQUIRE_LOGIN, and single sign-on through a trusted proxy's header."""

from __future__ import annotations

import html as html_lib
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from directory import accounts, services
from directory.db import get_session
from directory.schemas import load_team

PASSWORD = "a-long-password-1"
ADMIN = services.Actor(name="admin@example.com", email="admin@example.com", is_admin=True)


def text(response: Any) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def add_account(app: Flask, email: str, *, active: bool = True) -> None:
    with app.app_context():
        session = get_session()
        user = accounts.create_user(session, email, "Dana", PASSWORD)
        user.active = active
        session.commit()


def add_team(app: Flask, owners: list[str]) -> None:
    with app.app_context():
        session = get_session()
        services.create_team(session, load_team({"name": "Payroll", "owners": owners}), ADMIN)
        session.commit()


def test_sign_in_and_out(app: Flask, client: FlaskClient, csrf: Any) -> None:
    add_account(app, "dana@example.com")
    page = text(client.get("/login?next=/teams"))
    assert 'name="email"' in page and 'name="password"' in page and 'value="/teams"' in page

    response = client.post("/login", data={"csrf_token": csrf(client), "email": "dana@example.com",
                                           "password": "wrong-password", "next": "/teams"})
    assert response.status_code == 401
    assert "do not match an account" in text(response)
    assert 'value="dana@example.com"' in text(response)  # what was typed stays

    response = client.post("/login", data={"csrf_token": csrf(client), "email": "Dana@Example.com",
                                           "password": PASSWORD, "next": "/teams"})
    assert response.status_code == 302 and response.headers["Location"] == "/teams"
    home = text(client.get("/"))
    assert "Sign out" in home and "Dana" in home

    response = client.post("/logout", data={"csrf_token": csrf(client, "/")})
    assert response.status_code == 302
    assert "Sign in" in text(client.get("/")) and "Sign out" not in text(client.get("/"))


def test_sign_in_needs_csrf_and_refuses_inactive_accounts(app: Flask, client: FlaskClient, csrf: Any) -> None:
    add_account(app, "dana@example.com", active=False)
    response = client.post("/login", data={"email": "dana@example.com", "password": PASSWORD})
    assert response.status_code == 400
    response = client.post("/login", data={"csrf_token": csrf(client), "email": "dana@example.com",
                                           "password": PASSWORD})
    assert response.status_code == 401


def test_no_open_redirect_after_sign_in(app: Flask, client: FlaskClient, csrf: Any) -> None:
    add_account(app, "dana@example.com")
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        client.get("/")
        response = client.post("/login", data={"csrf_token": csrf(client), "email": "dana@example.com",
                                               "password": PASSWORD, "next": target})
        assert response.status_code == 302 and response.headers["Location"] == "/", target


def test_readers_need_no_sign_in_by_default(client: FlaskClient, make_team: Any) -> None:
    make_team()
    for url in ("/", "/search?q=pay", "/teams/payroll", "/departments", "/teams"):
        assert client.get(url).status_code == 200, url


def test_require_login_mode(web_app: Any, sign_in_as: Any) -> None:
    app = web_app(DIRECTORY_REQUIRE_LOGIN=True)
    add_team(app, ["dana@example.com"])
    client = app.test_client()
    for url in ("/", "/search?q=pay", "/teams/payroll", "/teams", "/departments", "/departments/x",
                "/teams/payroll/history", "/admin", "/no-such-page", "/api/v1/docs"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login?next="), url
    login = client.get("/login")
    assert login.status_code == 200 and "asks everyone to sign in" in text(login)
    with client.get("/static/css/directory.css") as css:
        assert css.status_code == 200
    assert client.get("/api/v1/teams").status_code == 401  # the API answers for itself, no redirect

    sign_in_as(client, "dana@example.com", on=app)
    for url in ("/", "/teams/payroll", "/search?q=pay"):
        assert client.get(url).status_code == 200, url


def test_header_auth_from_a_trusted_proxy(web_app: Any) -> None:
    app = web_app(DIRECTORY_AUTH="header", DIRECTORY_TRUSTED_PROXIES=["127.0.0.1", "10.1.0.0/16"])
    add_team(app, ["dana@example.com"])
    trusted = app.test_client()
    trusted.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    headers = {"X-Remote-User": "Dana@Example.com"}
    page = text(trusted.get("/teams/payroll", headers=headers))
    assert 'title="dana@example.com"' in page and "Edit this page" in page
    assert trusted.get("/teams/payroll/edit", headers=headers).status_code == 200

    untrusted = app.test_client()
    untrusted.environ_base["REMOTE_ADDR"] = "192.0.2.44"
    page = text(untrusted.get("/teams/payroll", headers=headers))
    assert 'title="dana@example.com"' not in page and "Edit this page" not in page
    response = untrusted.get("/teams/payroll/edit", headers=headers)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")

    login = text(untrusted.get("/login"))
    assert "Sign-in is handled by your organisation's single sign-on proxy" in login
    assert 'name="password"' not in login


def test_header_auth_with_require_login(web_app: Any) -> None:
    app = web_app(DIRECTORY_AUTH="header", DIRECTORY_REQUIRE_LOGIN=True, DIRECTORY_TRUSTED_PROXIES=["127.0.0.1"])
    add_team(app, ["dana@example.com"])
    trusted = app.test_client()
    trusted.environ_base["REMOTE_ADDR"] = "127.0.0.1"
    assert trusted.get("/teams/payroll", headers={"X-Remote-User": "erin@example.com"}).status_code == 200
    untrusted = app.test_client()
    untrusted.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    response = untrusted.get("/teams/payroll", headers={"X-Remote-User": "erin@example.com"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert untrusted.get("/login").status_code == 200


def test_error_pages_look_like_the_site(client: FlaskClient) -> None:
    response = client.get("/teams/nope/history")
    assert response.status_code == 404
    html = text(response)
    assert "Page not found" in html and 'class="site-header"' in html and 'class="site-footer"' in html
    assert "No team with the slug 'nope'." in html
    response = client.post("/teams/new", data={})
    assert response.status_code == 400 and "security token" in text(response)
    response = client.put("/teams")
    assert response.status_code == 405 and 'class="site-header"' in text(response)


def test_server_errors_are_rendered_as_pages(app: Flask, client: FlaskClient, monkeypatch: Any) -> None:
    from directory import queries

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(queries, "departments", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/departments")
    assert response.status_code == 500
    html = text(response)
    assert "Something went wrong on our side" in html and "boom" not in html and 'class="site-header"' in html
