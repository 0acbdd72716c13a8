"""What a new user met (issue 9): owners by name, readable history, "My teams", the admin table."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from directory import accounts, services
from directory.db import get_session
from directory.schemas import load_team
from tests.conftest import ADMIN, team_doc
from tests.web.conftest import PASSWORD, csrf_token, sign_in

TODAY = datetime.now(UTC).date()
LONG_AGO = (TODAY - timedelta(days=400)).isoformat()


def text(response: Any) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def section(html: str, anchor_id: str) -> str:
    """The HTML from the element with this id to the end of its <section>."""
    start = html.index(f'id="{anchor_id}"')
    return html[start:html.index("</section>", start)]


def person(app: Flask, email: str, name: str) -> None:
    with app.app_context():
        session = get_session()
        accounts.create_user(session, email, name, PASSWORD)
        session.commit()


def change(app: Flask, slug: str, actor: services.Actor, **fields: Any) -> None:
    with app.app_context():
        session = get_session()
        team = services.get_team(session, slug)
        services.update_team(session, team, load_team({**team.data, **fields}), actor)
        session.commit()


@pytest.fixture
def teams(app: Flask, make_team: Any) -> None:
    """Alice (named) keeps Payroll (reviewed today) and Old Pensions (reviewed long ago); Bob (no
    account) keeps Tax, never reviewed."""
    person(app, "alice@example.com", "Alice Liddell")
    make_team(owners=["alice@example.com", "carol@example.com"], last_reviewed=TODAY.isoformat())
    make_team(slug="old-pensions", name="Old Pensions", department="HR", contacts=[],
              owners=["Alice@Example.com"], last_reviewed=LONG_AGO)
    make_team(slug="tax", name="Tax", department="Finance", contacts=[], owners=["bob@example.com"],
              last_reviewed=None)


# --------------------------------------------------------------------------- owners by name


def test_team_page_names_owners_and_falls_back_to_the_address(client: FlaskClient, teams: None) -> None:
    owners = section(text(client.get("/teams/payroll")), "owners-title")
    assert ">Alice Liddell</a>" in owners and 'href="mailto:alice@example.com"' in owners
    assert ">carol@example.com</a>" in owners  # no account: the address itself


def test_history_names_who_changed_what_and_words_the_week(
    app: Flask, client: FlaskClient, teams: None
) -> None:
    alice = services.Actor(name="alice@example.com", email="alice@example.com")
    week = {**team_doc()["hours"]["weekly"], "fri": [["09:00", "17:30"]]}
    change(app, "payroll", alice, hours={**team_doc()["hours"], "weekly": week},
           owners=["alice@example.com", "carol@example.com", "bob@example.com"])
    html = text(client.get("/teams/payroll/history"))
    versions = section(html, "versions-title")
    assert re.search(r'<span title="alice@example.com">Alice Liddell</span>', versions)
    assert re.search(r'<span title="admin@example.com">admin@example.com</span>', versions)
    changes = html[html.index('class="changes"'):]
    changes = changes[:changes.index("</dl>")]
    assert re.search(r'diff__line--remove">.*?Tue–Thu 09:00–17:30', changes)
    assert re.search(r'diff__line--remove">.*?Fri 09:00–16:00', changes)
    assert re.search(r'diff__line--add">.*?Tue–Fri 09:00–17:30', changes)
    assert "Sat–Sun closed" in changes and "Closed on public holidays: GB (ENG)" in changes
    assert '[["' not in changes and '"weekly"' not in changes  # no JSON left
    assert re.search(r'diff__line--add">.*?bob@example.com', changes)
    assert "Alice Liddell (alice@example.com)" in changes


# --------------------------------------------------------------------------- My teams


def test_my_teams_lists_what_i_keep_what_needs_review_and_others_changes(
    app: Flask, client: FlaskClient, teams: None
) -> None:
    alice = services.Actor(name="alice@example.com", email="alice@example.com")
    person(app, "dave@example.com", "Dave Bowman")
    change(app, "payroll", services.Actor(name="dave@example.com", email="dave@example.com", is_admin=True),
           summary="Changed by Dave.")
    change(app, "payroll", alice, summary="Changed back by me.")
    change(app, "tax", ADMIN, summary="Not my team.")
    sign_in(client, app, "alice@example.com")

    html = text(client.get("/"))
    assert re.search(r'<a href="/me"[^>]*>My teams</a>', html)
    html = text(client.get("/me"))
    assert "Payroll" in html and "Old Pensions" in html
    assert 'href="/teams/tax"' not in html
    due = section(html, "review-title")
    assert "Old Pensions" in due and "Payroll" not in due
    others = section(html, "changes-title")
    assert "Dave Bowman" in others and 'href="/teams/payroll/history?from=1&to=2"' in others
    assert "version 3" not in others  # her own change is not news to her
    assert "Payroll, version 1<" not in others  # nor is the team's creation a change to it
    assert "Tax" not in others


def test_my_teams_needs_a_sign_in_and_is_friendly_when_empty(app: Flask, client: FlaskClient,
                                                              teams: None) -> None:
    response = client.get("/me")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=/me")
    assert 'href="/me"' not in text(client.get("/"))
    sign_in(client, app, "nobody@example.com")
    html = text(client.get("/me"))
    assert "not named as an owner of any team" in html


# --------------------------------------------------------------------------- the admin table


def rows(html: str) -> list[str]:
    """Team names in table order."""
    body = html[html.index("<tbody>", html.index('id="active-title"')):]
    return re.findall(r'<th scope="row"><a href="/teams/[^"]+">([^<]+)</a>', body[:body.index("</tbody>")])


@pytest.fixture
def admin(app: Flask, client: FlaskClient, teams: None) -> FlaskClient:
    change(app, "old-pensions", ADMIN, summary="Touched last.")  # the most recently changed
    sign_in(client, app, "admin@example.com", is_admin=True)
    return client


def test_admin_table_sorts_by_each_column(admin: FlaskClient) -> None:
    assert rows(text(admin.get("/admin"))) == ["Old Pensions", "Payroll", "Tax"]
    assert rows(text(admin.get("/admin?sort=name&dir=desc"))) == ["Tax", "Payroll", "Old Pensions"]
    assert rows(text(admin.get("/admin?sort=department"))) == ["Payroll", "Tax", "Old Pensions"]
    # never reviewed counts as the oldest review
    assert rows(text(admin.get("/admin?sort=reviewed&dir=asc"))) == ["Tax", "Old Pensions", "Payroll"]
    assert rows(text(admin.get("/admin?sort=changed&dir=desc")))[0] == "Old Pensions"
    html = text(admin.get("/admin?sort=reviewed&dir=asc"))
    assert 'aria-sort="ascending"' in html
    assert 'href="/admin?sort=reviewed&dir=desc"' in html  # the current column's link reverses it


def test_admin_table_filters_and_flags_stale_pages(admin: FlaskClient) -> None:
    html = text(admin.get("/admin"))
    flagged = re.findall(r'<tr class="is-stale">\s*<th scope="row"><a href="/teams/[^"]+">([^<]+)<', html)
    assert sorted(flagged) == ["Old Pensions", "Tax"]
    assert "2 not reviewed for more than six months" in html
    assert rows(text(admin.get("/admin?stale=1"))) == ["Old Pensions", "Tax"]
    assert rows(text(admin.get("/admin?department=finance"))) == ["Payroll", "Tax"]
    assert rows(text(admin.get("/admin?q=liddell"))) == ["Old Pensions", "Payroll"]  # owners by name
    assert rows(text(admin.get("/admin?q=tax&department=Finance"))) == ["Tax"]
    html = text(admin.get("/admin?q=nothing-like-this"))
    assert rows(html) == [] and "No team matches these filters." in html


def test_admin_table_explains_a_bad_sort(admin: FlaskClient) -> None:
    response = admin.get("/admin?sort=salary&dir=sideways")
    html = text(response)
    assert response.status_code == 200
    assert "sort: 'salary' is not a column to sort by" in html
    assert "dir: 'sideways' is not a direction" in html
    assert rows(html) == ["Old Pensions", "Payroll", "Tax"]


def test_new_pages_pass_the_page_checks(admin: FlaskClient) -> None:
    from tests.web.test_pages import _check_page

    for url in ("/me", "/admin?sort=reviewed&stale=1", "/teams/payroll/history"):
        response = admin.get(url)
        assert response.status_code == 200, url
        _check_page(response.get_data(as_text=True), url)
    assert csrf_token(admin, "/admin")
