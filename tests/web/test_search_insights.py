"""Search learning through the pages: results record searches and choices, administrators and
owners see what people search for, owners adopt and remove search terms (CSRF-protected)."""

from __future__ import annotations

import re
import sqlite3
import time
from html import unescape
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from directory.db import get_session
from directory.models import Revision, SearchChoice, SearchEvent
from tests.web.conftest import csrf_token, sign_in

GO_LINK = re.compile(r'href="(/search/go\?[^"]+)"')


def go_links(client: FlaskClient, q: str) -> list[str]:
    html = client.get("/search", query_string={"q": q}).get_data(as_text=True)
    return [unescape(link) for link in GO_LINK.findall(html)]


def count(app: Flask, model: Any) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(model)) or 0


def test_a_search_is_recorded_and_its_result_link_records_the_choice(app: Flask, client: FlaskClient,
                                                                      make_team: Any) -> None:
    make_team()
    links = go_links(client, "Payslips")
    assert links and "to=payroll" in links[0] and "at=1" in links[0]
    with app.app_context():
        event = get_session().scalar(select(SearchEvent))
        assert (event.query, event.results, event.page) == ("payslips", 1, 1)
    answer = client.get(links[0])
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/teams/payroll")
    assert count(app, SearchChoice) == 1
    # Another visit following the same link sees the team but counts for nobody.
    other = app.test_client()
    assert other.get(links[0]).headers["Location"].endswith("/teams/payroll")
    assert count(app, SearchChoice) == 1
    # A link that names no team goes back to search; one that names an unknown team records nothing.
    assert client.get("/search/go?e=1&at=1").headers["Location"].endswith("/search")
    assert client.get("/search/go?e=1&at=1&to=nobody").status_code == 302
    assert count(app, SearchChoice) == 1


def test_browsing_without_words_is_not_recorded(app: Flask, client: FlaskClient, make_team: Any) -> None:
    make_team()
    html = client.get("/search").get_data(as_text=True)
    assert 'href="/teams/payroll"' in html
    assert count(app, SearchEvent) == 0


def test_administrators_see_what_everyone_searches_for(app: Flask, client: FlaskClient, make_team: Any) -> None:
    make_team()
    go_links(client, "payslips")
    go_links(client, "zzqx unknown words")
    sign_in(client, app, "admin@example.com", is_admin=True)
    html = client.get("/admin/search?days=7").get_data(as_text=True)
    assert "Top queries" in html and "payslips" in html
    no_results = html[html.index('id="no-results"'):html.index('id="struggled"')]
    assert "zzqx unknown words" in no_results and "payslips" not in no_results
    assert client.get("/admin/search?days=nonsense").status_code == 200


def test_owners_see_only_their_teams_and_others_are_refused(app: Flask, client: FlaskClient,
                                                          make_team: Any) -> None:
    make_team()
    make_team(slug="it-help", name="IT Help", owners=["bob@example.com"],
              contacts=[{"kind": "email", "value": "it@example.com"}])
    client.get(go_links(client, "payslips")[0])
    anonymous = app.test_client()
    assert anonymous.get("/teams/payroll/search").status_code == 302  # to sign in
    sign_in(client, app, "alice@example.com")
    html = client.get("/teams/payroll/search").get_data(as_text=True)
    assert "payslips" in html[html.index('id="led-here"'):]
    assert client.get("/teams/it-help/search").status_code == 403
    assert client.get("/admin/search").status_code == 403
    assert "/teams/payroll/search" in client.get("/me").get_data(as_text=True)


def test_owners_adopt_and_remove_search_terms_with_csrf(app: Flask, client: FlaskClient, make_team: Any) -> None:
    make_team()
    make_team(slug="it-help", name="IT Help", owners=["bob@example.com"],
              contacts=[{"kind": "email", "value": "it@example.com"}])
    sign_in(client, app, "alice@example.com")
    assert client.post("/teams/payroll/search-terms", data={"term": "p60"}).status_code == 400  # no CSRF token
    token = csrf_token(client, "/teams/payroll/search")
    assert client.post("/teams/it-help/search-terms", data={"term": "p60", "csrf_token": token}).status_code == 403
    bad = client.post("/teams/payroll/search-terms", data={"term": "?", "csrf_token": token}, follow_redirects=True)
    assert "Not adopted" in bad.get_data(as_text=True)
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(Revision)) == 2  # the two creations

    answer = client.post("/teams/payroll/search-terms", data={"term": "P60 form", "csrf_token": token,
                                                             "back": "edit"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/teams/payroll/edit#search-terms")
    edit = client.get("/teams/payroll/edit").get_data(as_text=True)
    assert "p60 form" in edit[edit.index('id="search-terms"'):]
    assert [link for link in go_links(client, "p60 form") if "to=payroll" in link]
    history = client.get("/teams/payroll/history").get_data(as_text=True)
    assert "p60 form" in history

    term_id = re.search(r'/teams/payroll/search-terms/(\d+)/remove', edit).group(1)  # type: ignore[union-attr]
    assert client.post(f"/teams/payroll/search-terms/{term_id}/remove").status_code == 400
    assert client.post(f"/teams/payroll/search-terms/{term_id}/remove",
                       data={"csrf_token": token}).status_code == 302
    edit = client.get("/teams/payroll/edit").get_data(as_text=True)
    assert "is no longer one of Payroll" in edit and "p60 form" not in edit[edit.index('id="search-terms"'):]
    assert not go_links(client, "p60 form")


def test_a_busy_database_costs_the_record_not_the_results_page(app: Flask, client: FlaskClient,
                                                               make_team: Any) -> None:
    make_team()
    link = go_links(client, "payslips")[0]  # the first search of the process also purges: done before the lock
    path = app.config["DATABASE_URL"].removeprefix("sqlite:///")
    writer = sqlite3.connect(path, timeout=1)
    writer.execute("BEGIN IMMEDIATE")  # another process in the middle of a long write
    try:
        started = time.monotonic()
        answer = client.get("/search?q=payslips")
        chosen = client.get(link)
        elapsed = time.monotonic() - started
    finally:
        writer.rollback()
        writer.close()
    assert answer.status_code == 200 and chosen.status_code == 302 and elapsed < 5
    assert 'href="/teams/payroll"' in answer.get_data(as_text=True)  # shown, just not recorded
    assert chosen.headers["Location"].endswith("/teams/payroll")
    assert count(app, SearchEvent) == 1 and count(app, SearchChoice) == 0
    engine = app.extensions["directory_db"].engine
    pooled = [engine.connect() for _ in range(3)]  # every connection the pool holds: the usual wait is back
    try:
        assert [c.execute(text("PRAGMA busy_timeout")).scalar() for c in pooled] == [30000] * 3
    finally:
        for c in pooled:
            c.close()
    assert go_links(client, "payslips")  # and recording resumes at once
