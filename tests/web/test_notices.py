"""Notices on the pages: the team page and search results show active ones only; the editor's
notices section and the team page's "Post a notice" save revisions; owners are reminded of
notices left up with no end."""

from __future__ import annotations

import html as html_lib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from directory import services
from directory.db import get_session
from directory.models import Team
from directory.web import views

WEEK = {"message": "Reduced capacity this week.", "starts": "2026-11-30", "ends": "2026-12-04", "level": "warning"}
OLD = {"message": "Phones were down.", "starts": "2026-11-02T09:00", "ends": "2026-11-02T10:00", "level": "info"}


def text(response: Any) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def stored(app: Flask, slug: str = "payroll") -> Team:
    with app.app_context():
        session = get_session()
        team = services.get_team(session, slug)
        session.expunge(team)
        return team


def test_team_page_shows_only_the_notices_active_at_the_instant(client: FlaskClient, make_team: Any) -> None:
    make_team(notices=[WEEK, OLD, {**WEEK, "message": "<script>alert(1)</script> Until further notice.",
                                   "starts": "2026-12-01", "ends": None, "level": "info"}])
    during = client.get("/teams/payroll?at=2026-12-01T10:00:00Z").get_data(as_text=True)
    assert 'id="notices"' in during
    assert "Reduced capacity this week." in during and "notice--warning team-notice" in during
    assert "Until Fri 4 Dec" in during and "Until further notice" in during
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in during and "<script>alert" not in during
    assert "Phones were down." not in during
    before = client.get("/teams/payroll?at=2026-11-29T10:00:00Z").get_data(as_text=True)
    assert 'id="notices"' not in before and "Reduced capacity" not in before


def test_search_results_show_active_notices_only(client: FlaskClient, make_team: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    make_team(notices=[WEEK, OLD])
    monkeypatch.setattr(views, "utcnow", lambda: datetime(2026, 12, 2, 12, tzinfo=UTC))
    page = text(client.get("/search?q=payslips"))
    assert "Reduced capacity this week." in page and "Phones were down." not in page
    monkeypatch.setattr(views, "utcnow", lambda: datetime(2026, 12, 7, 12, tzinfo=UTC))
    assert "Reduced capacity this week." not in text(client.get("/search?q=payslips"))


def test_the_editor_round_trips_notices_and_saves_a_revision(app: Flask, owner_client: FlaskClient,
                                                             make_team: Any, editor_fields: Any) -> None:
    make_team(notices=[WEEK])
    unchanged = owner_client.post("/teams/payroll/edit", data=editor_fields(owner_client, "payroll"))
    assert unchanged.status_code == 302 and stored(app).version == 1  # shown and posted back as stored

    fields = editor_fields(owner_client, "payroll")
    assert fields["notices.0.message"] == WEEK["message"] and fields["notices.0.level"] == "warning"
    fields.update({"notices.5.message": "Moved to floor 4.", "notices.5.starts": "2026-12-01 9:00",
                   "notices.5.ends": "", "notices.5.level": "info"})
    response = owner_client.post("/teams/payroll/edit", data=fields)
    assert response.status_code == 302, text(response)[:2000]
    team = stored(app)
    assert team.version == 2
    assert team.data["notices"] == [WEEK, {"message": "Moved to floor 4.", "starts": "2026-12-01T09:00",
                                           "ends": None, "level": "info"}]

    fields = editor_fields(owner_client, "payroll")
    for key in [k for k in fields if k.startswith("notices.")]:
        del fields[key]
    assert owner_client.post("/teams/payroll/edit", data=fields).status_code == 302
    assert "notices" not in stored(app).data and stored(app).version == 3


def test_the_editor_puts_notice_errors_beside_their_fields(owner_client: FlaskClient, make_team: Any,
                                                           editor_fields: Any) -> None:
    make_team()
    fields = editor_fields(owner_client, "payroll")
    fields.update({"notices.0.message": "Back soon.", "notices.0.starts": "2026-12-04",
                   "notices.0.ends": "2026-12-01", "notices.0.level": "info"})
    response = owner_client.post("/teams/payroll/edit", data=fields)
    assert response.status_code == 422
    page = text(response)
    assert "Notice 1 (ends): ends before it starts" in page
    assert 'href="#f-notices-0-ends"' in page and 'value="Back soon."' not in page  # a textarea keeps it
    assert ">Back soon.</textarea>" in page


def test_post_a_notice_from_the_team_page(app: Flask, owner_client: FlaskClient, make_team: Any,
                                          form_values: Any) -> None:
    make_team()
    page = owner_client.get("/teams/payroll").get_data(as_text=True)
    fields = form_values(page, form_id=None, form_index=_form_index(page, 'action="/teams/payroll/notices"'))
    assert set(fields) >= {"csrf_token", "version", "message", "starts", "ends", "level"}
    fields.update({"message": "Payroll runs late this month.", "ends": "2099-01-31", "level": "warning"})
    response = owner_client.post("/teams/payroll/notices", data=fields)
    assert response.status_code == 302 and response.headers["Location"] == "/teams/payroll"
    team = stored(app)
    assert team.version == 2
    today = datetime.now(UTC).astimezone().date()
    (notice,) = team.data["notices"]
    assert notice["ends"] == "2099-01-31" and notice["level"] == "warning"
    assert abs((datetime.fromisoformat(notice["starts"]).date() - today).days) <= 1  # from today, team time
    assert "Payroll runs late this month." in text(owner_client.get("/teams/payroll"))

    fields.update({"message": "x" * 501})
    refused = owner_client.post("/teams/payroll/notices", data=fields)
    assert refused.status_code == 422 and "Notice 2 (message)" in text(refused)
    assert stored(app).version == 2

    no_csrf = {k: v for k, v in fields.items() if k != "csrf_token"} | {"message": "Sneaky"}
    assert owner_client.post("/teams/payroll/notices", data=no_csrf).status_code == 400
    assert stored(app).version == 2
    anonymous = app.test_client().get("/teams/payroll").get_data(as_text=True)
    assert 'action="/teams/payroll/notices"' not in anonymous


def test_owners_are_reminded_of_notices_left_up_with_no_end(owner_client: FlaskClient, make_team: Any) -> None:
    long_ago = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    make_team(notices=[{"message": "We moved to floor 4.", "starts": long_ago, "ends": None, "level": "info"},
                       {**WEEK, "message": "Fresh and ending.", "starts": long_ago, "ends": "2099-01-01"}])
    page = text(owner_client.get("/teams/payroll/edit"))
    assert f"Still up since {long_ago} with no end: “We moved to floor 4.”" in page
    assert "no end: “Fresh and ending." not in page


def _form_index(html: str, marker: str) -> int:
    """The index among the page's forms of the one whose tag contains `marker`."""
    return html[:html.index(marker)].count("<form") - 1
