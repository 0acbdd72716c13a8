"""Review cycles: one rule on every page, the admin's overdue and attention lists, mark as reviewed,
and search that demotes overdue pages a little, says so, and never hides them."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from directory import reviews
from directory.db import get_session
from directory.models import LinkCheck, Revision, Team
from directory.search_sync import get_search
from tests.web.conftest import csrf_token, sign_in

TODAY = datetime.now(UTC).date()


def days_ago(n: int) -> str:
    return (TODAY - timedelta(days=n)).isoformat()


def twins(make_team: Callable[..., Any], *, stale_reviewed: str) -> None:
    """Two teams that match "payslips" equally; the one first by name is the stale one."""
    common = {"summary": "Payslips and salary questions.", "description": "We answer payslips questions.",
              "tags": ["pay"], "services": [], "contacts": [{"kind": "email", "value": "pay@example.com"}]}
    make_team(slug="pay-north", name="Pay North", last_reviewed=stale_reviewed, **common)
    make_team(slug="pay-south", name="Pay South", last_reviewed=days_ago(3), **common)


def ask(app: Flask, q: str) -> list[dict[str, Any]]:
    with app.app_context():
        return get_search().query(get_session(), q, at=datetime.now(UTC)).hits


def test_overdue_team_ranks_below_an_equally_matching_current_one_and_says_so(
        app: Flask, client: FlaskClient, make_team: Callable[..., Any]) -> None:
    twins(make_team, stale_reviewed=days_ago(400))
    hits = ask(app, "payslips")
    assert [h["slug"] for h in hits] == ["pay-south", "pay-north"]  # by name alone North would come first
    south, north = hits
    assert (north["review_overdue"], south["review_overdue"]) == (True, False)
    assert north["score"] == round(south["score"] * 0.85, 4)  # a little lower, not gone
    assert north["last_reviewed"] == days_ago(400)

    page = client.get("/search?q=payslips").get_data(as_text=True)
    assert page.index("to=pay-south") < page.index("to=pay-north")
    stale_date = datetime.fromisoformat(days_ago(400)).date()
    assert f"Not reviewed since {stale_date.day} {stale_date.strftime('%b')} {stale_date.year}" in page
    assert page.count("Not reviewed since") == 1

    api = client.get("/api/v1/search?q=payslips").get_json()["results"]
    assert [(r["slug"], r["review_overdue"], r["last_reviewed"]) for r in api] == [
        ("pay-south", False, days_ago(3)), ("pay-north", True, days_ago(400))]


def test_a_far_better_overdue_match_still_wins(app: Flask, make_team: Callable[..., Any]) -> None:
    make_team(slug="payroll", name="Payroll", last_reviewed=days_ago(500))
    make_team(slug="legal", name="Legal", summary="Contracts; we also forward payroll questions.",
              description="", tags=[], services=[], last_reviewed=days_ago(1),
              contacts=[{"kind": "email", "value": "legal@example.com"}])
    hits = ask(app, "payroll")
    assert [(h["slug"], h["review_overdue"]) for h in hits] == [("payroll", True), ("legal", False)]


def test_changing_the_interval_moves_the_line_without_reindexing(app: Flask, make_team: Callable[..., Any]) -> None:
    twins(make_team, stale_reviewed=days_ago(100))  # due only when the interval is under 70 days
    assert [h["review_overdue"] for h in ask(app, "payslips")] == [False, False]
    with app.app_context():
        session = get_session()
        reviews.set_interval(session, 60, _admin())
        session.commit()
    hits = ask(app, "payslips")
    assert [(h["slug"], h["review_overdue"]) for h in hits] == [("pay-south", False), ("pay-north", True)]


def _admin() -> Any:
    from tests.conftest import ADMIN

    return ADMIN


def test_admin_lists_overdue_pages_and_pages_that_fail_readers(app: Flask, client: FlaskClient,
                                                               make_team: Callable[..., Any]) -> None:
    make_team(slug="payroll", name="Payroll", last_reviewed=days_ago(300))
    make_team(slug="it-help", name="IT Help", last_reviewed=days_ago(190))  # due, not overdue
    make_team(slug="orphans", name="Orphans", owners=[], contacts=[], booking=None, last_reviewed=days_ago(1))
    make_team(slug="legal", name="Legal", last_reviewed=days_ago(1),
              booking={"method": "form", "url": "https://forms.example/legal"})
    with app.app_context():
        session = get_session()
        legal = session.scalar(select(Team).where(Team.slug == "legal"))
        session.add(LinkCheck(team_id=legal.id, url="https://forms.example/legal", place="booking", ok=False,
                              status=404, error="HTTP 404"))
        session.add(LinkCheck(team_id=legal.id, url="https://gone.example/old", place="booking", ok=False,
                              status=404, error="HTTP 404"))  # no longer on the page: not listed
        session.commit()
    sign_in(client, app, "admin@example.com", is_admin=True)
    page = client.get("/admin/reviews").get_data(as_text=True)
    overdue = page[page.index('id="overdue"'):page.index('id="attention"')]
    assert "Payroll" in overdue and "IT Help" not in overdue and "Legal" not in overdue
    attention = page[page.index('id="attention"'):page.index('id="interval"')]
    assert "Orphans" in attention and "no owner" in attention and "no contact" in attention
    assert "https://forms.example/legal" in attention and "HTTP 404" in attention
    assert "gone.example" not in attention
    assert "Payroll" not in attention
    assert not re.search(r"<script(?! src=)|\sstyle=|\son[a-z]+=", page)  # the CSP rules of every page


def test_admin_sets_the_interval_for_every_page(app: Flask, client: FlaskClient, make_team: Callable[..., Any]) -> None:
    make_team(slug="payroll", name="Payroll", last_reviewed=days_ago(100))
    sign_in(client, app, "admin@example.com", is_admin=True)
    assert "Overdue for review (0)" in client.get("/admin/reviews").get_data(as_text=True)
    refused = client.post("/admin/reviews", data={"csrf_token": csrf_token(client, "/admin/reviews"),
                                                  "interval_days": "2"})
    assert refused.status_code == 422
    assert "must be between 7 and 3650 days" in refused.get_data(as_text=True)
    saved = client.post("/admin/reviews", data={"csrf_token": csrf_token(client, "/admin/reviews"),
                                                "interval_days": "60"}, follow_redirects=True)
    assert "Overdue for review (1)" in saved.get_data(as_text=True)
    admin = client.get("/admin").get_data(as_text=True)  # the teams table applies the same rule
    assert "is-stale" in admin and "not reviewed for more than 60 days" in admin
    assert "That is more than 60 days ago" in client.get("/teams/payroll").get_data(as_text=True)


def test_reviews_page_is_for_administrators_only(app: Flask, client: FlaskClient) -> None:
    sign_in(client, app, "alice@example.com")
    assert client.get("/admin/reviews").status_code == 403


def test_mark_as_reviewed_is_one_click_for_an_owner_and_recorded(app: Flask, client: FlaskClient,
                                                                 make_team: Callable[..., Any]) -> None:
    make_team(slug="payroll", name="Payroll", last_reviewed=days_ago(300), owners=["alice@example.com"])
    sign_in(client, app, "alice@example.com")
    page = client.get("/teams/payroll").get_data(as_text=True)
    assert "some details may be out of date" in page
    form = re.search(r'<form action="/teams/payroll/review" method="post".*?</form>', page, re.S)
    assert form, "no Mark as reviewed form on the owner's page"
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(0)))
    response = client.post("/teams/payroll/review", data=fields)
    assert response.status_code == 302
    with app.app_context():
        session = get_session()
        team = session.scalar(select(Team).where(Team.slug == "payroll"))
        latest = session.scalar(select(Revision).where(Revision.team_id == team.id)
                                .order_by(Revision.number.desc()).limit(1))
        assert (latest.action, latest.author) == ("review", "alice@example.com")
        assert latest.data["last_reviewed"] == team.data["last_reviewed"] >= days_ago(1)  # today in the team's zone
    assert "some details may be out of date" not in client.get("/teams/payroll").get_data(as_text=True)
    assert [h["review_overdue"] for h in ask(app, "payroll")] == [False]
