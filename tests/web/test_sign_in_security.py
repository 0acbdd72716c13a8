"""Signing in safely: the trusted proxy is the peer that connected, guessing is throttled, timing does
not reveal accounts, and signing out (or a new password) ends the sessions that were open."""

from __future__ import annotations

import html as html_lib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from directory import accounts, services
from directory.db import get_session
from directory.models import SignInFailure, utcnow
from directory.schemas import load_team
from tests.conftest import ADMIN, make_app
from tests.web.conftest import PASSWORD, add_user, csrf_token


def signed_in(client: FlaskClient) -> bool:
    return "Sign out" in client.get("/").get_data(as_text=True)


def attempt(client: FlaskClient, email: str, password: str, **form: str) -> Any:
    return client.post("/login", data={"csrf_token": csrf_token(client), "email": email, "password": password,
                                       **form})


def add_team(app: Flask, owners: list[str]) -> None:
    with app.app_context():
        session = get_session()
        services.create_team(session, load_team({"name": "Payroll", "owners": owners}), ADMIN)
        session.commit()


# --------------------------------------------------------------------------- the trusted proxy


def test_behind_proxy_fix_the_connecting_peer_is_what_is_trusted(web_app: Any) -> None:
    """As in the README: nginx on 127.0.0.1 forwards X-Forwarded-For and the user header."""
    app = web_app(DIRECTORY_AUTH="header", PROXY_FIX=1, DIRECTORY_TRUSTED_PROXIES=["127.0.0.1"])
    add_team(app, ["dana@example.com"])
    add_user(app, "admin@example.com", is_admin=True)

    forger = app.test_client()  # connects straight to the app server, claiming to be the proxy
    forger.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    forged = {"X-Forwarded-For": "127.0.0.1", "X-Remote-User": "admin@example.com"}
    response = forger.get("/admin", headers=forged)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "Sign out" not in forger.get("/", headers=forged).get_data(as_text=True)

    through_nginx = app.test_client()
    through_nginx.environ_base["REMOTE_ADDR"] = "127.0.0.1"
    real = {"X-Forwarded-For": "198.51.100.7", "X-Remote-User": "dana@example.com"}
    page = html_lib.unescape(through_nginx.get("/teams/payroll", headers=real).get_data(as_text=True))
    assert 'title="dana@example.com"' in page
    assert through_nginx.get("/teams/payroll/edit", headers=real).status_code == 200


# --------------------------------------------------------------------------- throttling


def test_guessing_a_password_is_throttled_even_when_the_guess_is_right(app: Flask, client: FlaskClient) -> None:
    add_user(app, "dana@example.com")
    for _ in range(accounts.ACCOUNT_LIMIT):
        assert attempt(client, "dana@example.com", "wrong-password").status_code == 401
    refused = attempt(client, "Dana@example.com", PASSWORD)
    assert refused.status_code == 429
    assert "Too many failed sign-ins" in html_lib.unescape(refused.get_data(as_text=True))
    assert not signed_in(client)

    # From another address too: the account itself is protected.
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.50"
    assert attempt(elsewhere, "dana@example.com", PASSWORD).status_code == 429

    # Once the failures are older than the window, the right password works again.
    with app.app_context():
        session = get_session()
        session.execute(update(SignInFailure).values(at=utcnow() - accounts.THROTTLE_WINDOW - timedelta(minutes=1)))
        session.commit()
    assert attempt(client, "dana@example.com", PASSWORD).status_code == 302
    assert signed_in(client)


def test_one_address_trying_many_accounts_is_throttled(app: Flask) -> None:
    add_user(app, "erin@example.com")
    guesser = app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "198.51.100.23"
    for n in range(accounts.CLIENT_LIMIT):
        assert attempt(guesser, f"person{n}@example.com", "wrong-password").status_code == 401
    assert attempt(guesser, "erin@example.com", PASSWORD).status_code == 429
    colleague = app.test_client()
    colleague.environ_base["REMOTE_ADDR"] = "198.51.100.24"
    assert attempt(colleague, "erin@example.com", PASSWORD).status_code == 302


def test_the_proxys_own_address_is_not_throttled_for_everyone(web_app: Any) -> None:
    """Behind a proxy without PROXY_FIX every request comes from the proxy: counting failures by that
    address would let one person's guesses lock every colleague out. The account is still protected."""
    app = web_app(DIRECTORY_TRUSTED_PROXIES=["10.0.0.5"])
    add_user(app, "erin@example.com")
    add_user(app, "dana@example.com")
    via_proxy = app.test_client()
    via_proxy.environ_base["REMOTE_ADDR"] = "10.0.0.5"
    for n in range(accounts.CLIENT_LIMIT):
        assert attempt(via_proxy, f"person{n}@example.com", "wrong-password").status_code == 401
    assert attempt(via_proxy, "erin@example.com", PASSWORD).status_code == 302
    colleague = app.test_client()
    colleague.environ_base["REMOTE_ADDR"] = "10.0.0.5"
    for _ in range(accounts.ACCOUNT_LIMIT):
        attempt(colleague, "dana@example.com", "wrong-password")
    assert attempt(colleague, "dana@example.com", PASSWORD).status_code == 429


def test_the_throttle_is_shared_by_every_app_server(tmp_path: Path) -> None:
    """Failures live in the database, so workers and servers sharing it count the same attempts."""
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    one = make_app(tmp_path / "one", DATABASE_URL=url)
    two = make_app(tmp_path / "two", DATABASE_URL=url)
    try:
        add_user(one, "dana@example.com")
        for n in range(accounts.ACCOUNT_LIMIT):
            app = one if n % 2 else two
            assert attempt(app.test_client(), "dana@example.com", "wrong-password").status_code == 401
        assert attempt(one.test_client(), "dana@example.com", PASSWORD).status_code == 429
        assert attempt(two.test_client(), "dana@example.com", PASSWORD).status_code == 429
    finally:
        for app in (one, two):
            app.extensions["directory_db"].engine.dispose()


def test_a_successful_sign_in_clears_the_accounts_failures(app: Flask, client: FlaskClient) -> None:
    add_user(app, "dana@example.com")
    for _ in range(accounts.ACCOUNT_LIMIT - 1):
        attempt(client, "dana@example.com", "wrong-password")
    assert attempt(client, "dana@example.com", PASSWORD).status_code == 302
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(SignInFailure)
                                    .where(SignInFailure.account == "dana@example.com")) == 0


# --------------------------------------------------------------------------- timing


def test_unknown_and_known_accounts_cost_the_same_hashing(app: Flask, client: FlaskClient,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Timing is compared by the work done, not the wall clock: one password hash either way."""
    add_user(app, "dana@example.com")
    attempt(client, "warm-up@example.com", "wrong-password")  # the dummy hash is made once per process
    calls: list[str] = []
    real_check, real_generate = accounts.check_password_hash, accounts.generate_password_hash

    def check(*args: Any) -> bool:
        calls.append("check")
        return real_check(*args)

    def generate(*args: Any, **kwargs: Any) -> str:
        calls.append("generate")
        return real_generate(*args, **kwargs)

    monkeypatch.setattr(accounts, "check_password_hash", check)
    monkeypatch.setattr(accounts, "generate_password_hash", generate)
    for email in ("dana@example.com", "nobody@example.com"):
        calls.clear()
        assert attempt(client, email, "wrong-password").status_code == 401
        assert calls == ["check"], email


# --------------------------------------------------------------------------- ending sessions


def test_a_session_cookie_is_useless_after_signing_out(app: Flask, client: FlaskClient) -> None:
    add_user(app, "dana@example.com")
    assert attempt(client, "dana@example.com", PASSWORD).status_code == 302
    stolen = client.get_cookie("session")
    assert stolen is not None and signed_in(client)
    assert client.post("/logout", data={"csrf_token": csrf_token(client, "/")}).status_code == 302
    assert not signed_in(client)

    replay = app.test_client()
    replay.set_cookie("session", stolen.value)
    assert not signed_in(replay)


def test_remember_me_ends_with_sign_out_and_with_a_new_password(app: Flask, client: FlaskClient) -> None:
    add_user(app, "dana@example.com")
    assert attempt(client, "dana@example.com", PASSWORD, remember="yes").status_code == 302
    remembered = client.get_cookie("remember_token")
    assert remembered is not None
    kept = app.test_client()
    kept.set_cookie("remember_token", remembered.value)
    assert signed_in(kept)  # the cookie does sign in while it is valid

    with app.app_context():
        session = get_session()
        accounts.set_password(accounts.find_user(session, "dana@example.com"), "a-brand-new-password")
        session.commit()
    after_change = app.test_client()
    after_change.set_cookie("remember_token", remembered.value)
    assert not signed_in(after_change)
    assert not signed_in(client)  # the session signed in with the old password is over too

    assert attempt(client, "dana@example.com", "a-brand-new-password", remember="yes").status_code == 302
    remembered = client.get_cookie("remember_token")
    assert client.post("/logout", data={"csrf_token": csrf_token(client, "/")}).status_code == 302
    after_logout = app.test_client()
    after_logout.set_cookie("remember_token", remembered.value)
    assert not signed_in(after_logout)
