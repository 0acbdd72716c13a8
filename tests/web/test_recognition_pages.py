"""Surveys, kudos and recognition through the pages: forms with CSRF, refusals with their status and
message, and downloads that carry the figures the pages show."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from directory import kudos, recognition
from directory.db import get_session
from directory.models import Kudos, RecognitionAudit, SurveyResponse, Team
from tests.web.conftest import csrf_token, sign_in

RATE = {"responsiveness": "4", "clarity": "5", "helpfulness": "3"}


@pytest.fixture
def teams(make_team: Callable[..., Any]) -> None:
    make_team(slug="payroll", name="Payroll", department="Finance", contacts=[])
    make_team(slug="it-help", name="IT Help", department="Technology", contacts=[], owners=["olga@example.com"])


def cell_texts(html: str, table_id: str) -> list[list[str]]:
    body = html[html.index(f'id="{table_id}"'):]
    body = body[:body.index("</table>")]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)]
            for r in rows]


def test_kudos_through_the_team_page(app: Flask, client: FlaskClient, teams: None) -> None:
    sign_in(client, app, "bob@example.com")
    page = client.get("/teams/payroll").get_data(as_text=True)
    assert 'id="kudos"' in page and "Send kudos" in page
    answer = client.post("/teams/payroll/kudos", data={"csrf_token": csrf_token(client, "/teams/payroll"),
                                                       "message": "Sorted my tax code in a morning",
                                                       "people": "Dana, Eve"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/teams/payroll#kudos")
    page = client.get("/teams/payroll").get_data(as_text=True)
    assert "Sorted my tax code in a morning" in page and "thanking Dana, Eve" in page
    feed = client.get("/kudos").get_data(as_text=True)
    assert "Sorted my tax code in a morning" in feed and "Payroll" in feed
    # The owner is told on "My teams".
    owner = app.test_client()
    sign_in(owner, app, "alice@example.com")
    mine = owner.get("/me").get_data(as_text=True)
    assert 'id="kudos-received"' in mine and "Sorted my tax code in a morning" in mine
    # ... and may not thank their own team.
    assert "Send kudos" not in owner.get("/teams/payroll").get_data(as_text=True)
    refused = owner.post("/teams/payroll/kudos", data={"csrf_token": csrf_token(owner, "/teams/payroll"),
                                                       "message": "We rock"})
    assert refused.status_code == 403
    assert "kudos are for thanking other teams" in refused.get_data(as_text=True)
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(Kudos)) == 1


def test_kudos_without_csrf_or_sign_in_are_refused(app: Flask, client: FlaskClient, teams: None) -> None:
    anonymous = client.post("/teams/payroll/kudos", data={"csrf_token": csrf_token(client), "message": "hi"})
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    sign_in(client, app, "bob@example.com")
    assert client.post("/teams/payroll/kudos", data={"message": "hi"}).status_code == 400
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(Kudos)) == 0


def test_bad_and_too_many_kudos(app: Flask, client: FlaskClient, teams: None, monkeypatch: Any) -> None:
    sign_in(client, app, "bob@example.com")
    token = csrf_token(client, "/teams/payroll")
    long = client.post("/teams/payroll/kudos", data={"csrf_token": token, "message": "x" * 501})
    assert long.status_code == 422
    html = long.get_data(as_text=True)
    assert 'id="kudos-message-error"' in html and "at most 500" in html and "x" * 501 in html  # typed text kept
    monkeypatch.setattr(kudos, "DAILY_LIMIT", 2)
    for n in range(2):
        assert client.post("/teams/payroll/kudos", data={"csrf_token": token, "message": f"Thanks {n}"}).status_code == 302
    third = client.post("/teams/it-help/kudos", data={"csrf_token": token, "message": "Thanks again"})
    assert third.status_code == 429
    assert int(third.headers["Retry-After"]) > 0
    assert "the most a day allows" in third.get_data(as_text=True)
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(Kudos)) == 2


def _open_round(app: Flask) -> FlaskClient:
    admin = app.test_client()
    sign_in(admin, app, "admin@example.com", is_admin=True)
    token = csrf_token(admin, "/admin/surveys")
    assert admin.post("/admin/surveys", data={"csrf_token": token, "title": ""}).status_code == 422
    assert admin.post("/admin/surveys", data={"csrf_token": token, "title": "Q4 survey"}).status_code == 302
    return admin


def test_survey_round_answers_and_results(app: Flask, teams: None) -> None:
    admin = _open_round(app)
    round_id = int(re.search(r"/surveys/(\d+)/results", admin.get("/admin/surveys").get_data(as_text=True)).group(1))
    people = []
    for n in range(5):
        c = app.test_client()
        sign_in(c, app, f"p{n}@example.com")
        people.append(c)
    first = people[0]
    page = first.get("/surveys?q=pay").get_data(as_text=True)
    assert 'id="team-payroll"' in page and 'id="team-it-help"' not in page
    assert 'id="team-payroll"' not in first.get("/surveys?q=%25").get_data(as_text=True)  # % is a character
    assert first.get("/surveys?q=pay%00").status_code == 200
    token = csrf_token(first, "/surveys")
    url = f"/surveys/{round_id}/teams/payroll"
    bad = first.post(url, data={"csrf_token": token, "responsiveness": "9", "clarity": "5"})
    assert bad.status_code == 422
    assert "Responsiveness must be a whole number" in bad.get_data(as_text=True)
    assert "Helpfulness is required" in bad.get_data(as_text=True)
    assert first.post(url, data={"csrf_token": token, **RATE, "clarity": "1"}).status_code == 302
    assert first.post(url, data={"csrf_token": token, **RATE}).status_code == 302  # replaces the first answer
    assert 'id="team-payroll"' in first.get("/surveys").get_data(as_text=True)  # now listed as answered
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(SurveyResponse)) == 1
    # Four people: the figure stays hidden on the page and in the downloads.
    for c in people[1:4]:
        assert c.post(url, data={"csrf_token": csrf_token(c, "/surveys"), **RATE}).status_code == 302
    html = admin.get(f"/surveys/{round_id}/results").get_data(as_text=True)
    assert cell_texts(html, "team-results")[1][:8] == ["Payroll", "Finance", "4", "hidden", "hidden", "hidden",
                                                       "hidden", "hidden"]
    assert admin.get(f"/surveys/{round_id}/results.json").get_json()["teams"][0]["overall"] is None
    people[4].post(url, data={"csrf_token": csrf_token(people[4], "/surveys"), "responsiveness": "5",
                              "clarity": "5", "helpfulness": "5"})
    html = admin.get(f"/surveys/{round_id}/results").get_data(as_text=True)
    shown = cell_texts(html, "team-results")[1]
    assert shown[:8] == ["Payroll", "Finance", "5", "4.20", "5.00", "3.40", "4.20", "hidden"]
    assert "<svg" in html and "4.20" in html[html.index("<svg"):html.index("</svg>")]
    data = admin.get(f"/surveys/{round_id}/results.json").get_json()
    assert admin.get(f"/api/v1/surveys/{round_id}/results").get_json() == data
    payroll = data["teams"][0]
    assert [f"{payroll[k]:.2f}" for k in ("responsiveness", "clarity", "helpfulness", "overall")] == shown[3:7]
    lines = list(csv.reader(io.StringIO(admin.get(f"/surveys/{round_id}/results.csv").get_data(as_text=True))))
    assert lines[1][:8] == ["team", "Payroll", "Finance", "5", *shown[3:7]]
    department = cell_texts(html, "department-results")[1]
    assert department[:6] == ["Finance", "5", "4.20", "5.00", "3.40", "4.20"]
    assert lines[2][:8] == ["department", "Finance", "Finance", "5", *department[2:6]]
    # Closing: no more answers, and an audit record of each write for administrators.
    token = csrf_token(admin, "/admin/surveys")
    assert admin.post(f"/admin/surveys/{round_id}/close", data={"csrf_token": token}).status_code == 302
    closed = first.post(url, data={"csrf_token": csrf_token(first, "/surveys"), **RATE})
    assert closed.status_code == 409
    audit = admin.get("/admin/audit").get_data(as_text=True)
    assert audit.count("survey.answer") == 5 and "survey.replace" in audit and "survey.close" in audit
    assert first.get("/admin/audit").status_code == 403
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(RecognitionAudit)) == 1 + 6 + 1  # open, six answers, close


def test_only_admins_open_rounds(app: Flask, client: FlaskClient, teams: None) -> None:
    sign_in(client, app, "bob@example.com")
    assert client.post("/admin/surveys", data={"csrf_token": csrf_token(client, "/surveys"),
                                               "title": "Mine"}).status_code == 403


def test_recognition_page_json_and_csv_agree(app: Flask, client: FlaskClient, teams: None, monkeypatch: Any) -> None:
    from directory import surveys
    from directory.services import Actor
    from tests.conftest import ADMIN

    with app.app_context():
        session = get_session()
        survey = surveys.start_round(session, "Q4", ADMIN, at=datetime.fromisoformat("2026-10-02T09:00:00+00:00"))
        payroll = session.scalar(select(Team).where(Team.slug == "payroll"))
        for n in range(6):
            surveys.respond(session, survey, payroll, {"responsiveness": 5, "clarity": 4, "helpfulness": 5},
                            Actor(name="p", email=f"p{n}@example.com"))
        session.commit()
    measured = {"payroll": {"measured": 24, "kept": 23, "kept_ratio": 0.9583},
                "it-help": {"measured": 24, "kept": 10, "kept_ratio": 0.4167}}
    monkeypatch.setattr(recognition, "performance_source",
                        lambda: lambda session, team, since, until: measured[team.slug])
    html = client.get("/recognition?quarter=2026-Q4").get_data(as_text=True)
    assert "At least 20 measured requests with reply promises kept ≥ 90%" in html
    assert cell_texts(html, "considered")[1:] == [
        ["IT Help", "Technology", "24", "41.7%", "–", "reply promises kept 42% (below 90%); no rating from at least 5 people"],
        ["Payroll", "Finance", "24", "95.8%", "4.67 (6)", "✓ recognised"],
    ]
    assert re.search(r"<td>1</td>\s*<th scope=\"row\"><a href=\"/teams/payroll\">Payroll</a></th>\s*<td>24</td>\s*"
                     r"<td>23 \(95.8%\)</td>\s*<td>4.67</td>", html)
    api = client.get("/api/v1/recognition?quarter=2026-Q4").get_json()
    assert api["departments"] == [{"name": "Finance", "teams": [{
        "slug": "payroll", "name": "Payroll", "department": "Finance", "rank": 1, "recognised": True, "reasons": [],
        "reply": measured["payroll"], "rating": {"average": 4.67, "people": 6, "source": "survey"}}]}]
    lines = list(csv.reader(io.StringIO(client.get("/recognition.csv?quarter=2026-Q4").get_data(as_text=True))))
    assert lines[1] == ["2026-Q4", "Finance", "1", "Payroll", "payroll", "24", "23", "0.9583", "4.67", "6", "survey"]


def test_bad_quarter_is_named(client: FlaskClient) -> None:
    page = client.get("/recognition?quarter=2026-Q9")
    assert page.status_code == 422 and 'id="quarter-error"' in page.get_data(as_text=True)
    api = client.get("/api/v1/recognition?quarter=2026-Q9")
    assert api.status_code == 422 and api.get_json()["errors"] == {"quarter": ["must look like 2026-Q4"]}


def test_pages_meet_the_quality_bar(app: Flask, teams: None) -> None:
    """No inline script, handler or style; landmarks; unique ids; a label for every control."""
    from tests.web.test_pages import _check_page

    admin = _open_round(app)
    round_id = int(re.search(r"/surveys/(\d+)/results", admin.get("/admin/surveys").get_data(as_text=True)).group(1))
    bob = app.test_client()
    sign_in(bob, app, "bob@example.com")
    token = csrf_token(bob, "/surveys")
    bob.post("/teams/payroll/kudos", data={"csrf_token": token, "message": "Thanks", "people": "Dana"})
    bob.post(f"/surveys/{round_id}/teams/payroll", data={"csrf_token": token, **RATE})
    owner = app.test_client()
    sign_in(owner, app, "alice@example.com")
    for client, url in [(bob, "/surveys?q=i"), (bob, f"/surveys/{round_id}/results"), (bob, "/kudos"),
                        (bob, "/teams/payroll"), (bob, "/teams/payroll/kudos"), (bob, "/recognition"),
                        (bob, "/recognition?quarter=nope"), (owner, "/me"), (owner, "/teams/payroll"),
                        (admin, "/admin/surveys"), (admin, "/admin/audit")]:
        answer = client.get(url)
        assert answer.status_code in {200, 422}, url
        _check_page(answer.get_data(as_text=True), url)
    bad = bob.post(f"/surveys/{round_id}/teams/it-help", data={"csrf_token": token, "clarity": "7"})
    _check_page(bad.get_data(as_text=True), "survey error")


def test_out_of_range_numbers_are_not_found(client: FlaskClient) -> None:
    huge = 2**70
    assert client.get(f"/surveys/{huge}/results").status_code == 404
    assert client.get(f"/api/v1/surveys/{huge}/results").status_code == 404
    assert client.get(f"/kudos?before={huge}").status_code == 200
