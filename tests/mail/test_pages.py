"""What administrators, owners and monitoring see of the responder's work."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from directory.db import get_db, get_session
from directory.mail import store
from directory.mail.responder import Responder, Settings
from tests.web.conftest import csrf_token, sign_in

AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def _traffic(app: Flask) -> None:
    """Real decisions through the responder: one reply queued, two messages not answered."""
    with app.app_context():
        responder = Responder(get_db().sessionmaker, Settings())
    head = b"From: carol@staff.example.com\r\nSubject: help\r\nMessage-ID: <c1@staff.example.com>\r\n"
    responder.accept("carol@staff.example.com", ["payroll@example.com"], head + b"\r\n", AT)
    responder.accept("carol@staff.example.com", ["payroll@example.com"], head + b"Precedence: bulk\r\n\r\n", AT)
    responder.accept("dave@staff.example.com", ["nobody@example.com"], head + b"\r\n", AT)


def test_healthz_mail_gives_the_counters_and_the_queue(app: Flask, client: FlaskClient,
                                                        make_team: Callable[..., Any]) -> None:
    make_team()
    assert client.get("/healthz/mail").get_json()["mail"]["received"] == 0
    _traffic(app)
    mail = client.get("/healthz/mail").get_json()["mail"]
    assert (mail["received"], mail["queued"], mail["answered"], mail["failed"]) == (3, 1, 0, 0)
    assert mail["suppressed"] == {"precedence": 1, "unknown_address": 1}
    assert mail["queue"]["queued"] == 1


def test_admins_see_the_counters_and_set_a_teams_period(app: Flask, client: FlaskClient,
                                                       make_team: Callable[..., Any]) -> None:
    make_team()
    _traffic(app)
    sign_in(client, app, "admin@example.com", is_admin=True)
    html = client.get("/admin/mail").get_data(as_text=True)
    assert re.search(r'data-count="received">3<', html)
    assert re.search(r'data-suppressed="precedence">1<', html)
    assert re.search(r'data-suppressed="unknown_address">1<', html)

    token = csrf_token(client, "/admin/mail")
    response = client.post("/admin/mail", data={"csrf_token": token, "slug": "payroll", "period_days": "7"})
    assert response.status_code == 302
    with app.app_context():
        assert store.team_periods(get_session()) == {1: 7}
    client.post("/admin/mail", data={"csrf_token": token, "slug": "payroll", "period_days": "0"})
    with app.app_context():
        assert store.team_periods(get_session()) == {1: 7}  # refused: 1 to 365
    client.post("/admin/mail", data={"csrf_token": token, "slug": "payroll", "period_days": ""})
    with app.app_context():
        assert store.team_periods(get_session()) == {}


def test_only_admins_reach_the_mail_admin_page(app: Flask, client: FlaskClient) -> None:
    sign_in(client, app, "alice@example.com")
    assert client.get("/admin/mail").status_code == 403


def test_owners_see_the_replies_sent_for_their_team_and_nobody_else_does(
        app: Flask, make_team: Callable[..., Any]) -> None:
    make_team(owners=["alice@example.com"])
    _traffic(app)
    owner, stranger, anonymous = app.test_client(), app.test_client(), app.test_client()
    sign_in(owner, app, "alice@example.com")
    page = owner.get("/teams/payroll").get_data(as_text=True)
    assert "/teams/payroll/auto-replies" in page
    html = owner.get("/teams/payroll/auto-replies").get_data(as_text=True)
    assert "carol@staff.example.com" in html and 'data-status="queued"' in html
    assert "dave@staff.example.com" not in html

    sign_in(stranger, app, "eve@example.com")
    assert stranger.get("/teams/payroll/auto-replies").status_code == 403
    assert "/teams/payroll/auto-replies" not in stranger.get("/teams/payroll").get_data(as_text=True)
    assert anonymous.get("/teams/payroll/auto-replies").status_code == 302
