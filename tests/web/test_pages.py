"""The reading pages through the test client: what a reader sees, with and without JavaScript."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from directory import services
from directory.db import get_session
from directory.schemas import load_team

ADMIN = services.Actor(name="admin@example.com", email="admin@example.com", is_admin=True)
TUESDAY_10_LONDON = "2026-11-24T10:00:00+00:00"
ALWAYS = {"weekly": {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def add_teams(app: Flask, *docs: dict[str, Any]) -> None:
    """Several teams in one transaction, through the service layer."""
    with app.app_context():
        session = get_session()
        for doc in docs:
            services.create_team(session, load_team(doc), ADMIN)
        session.commit()


@pytest.fixture
def org(app: Flask, make_team: Any) -> dict[str, Any]:
    """Payroll (Finance, London), an HR team open around the clock, and a team without hours."""
    payroll = make_team()
    make_team(slug="hr-helpdesk", name="HR Helpdesk", department="HR", tags=["leave", "policies"],
              summary="Leave, policies and employment letters.", description="Ask us about annual leave.",
              contacts=[{"kind": "email", "value": "hr@example.com"}], hours=ALWAYS, location="Remote",
              owners=["bob@example.com"], services=[])
    make_team(slug="tax", name="Tax", department="Finance", tags=["vat"], summary="VAT and tax advice.",
              hours=None, contacts=[{"kind": "email", "value": "tax@example.com"}], owners=["bob@example.com"],
              services=[], description="We do not publish fixed hours.")
    return payroll


# --------------------------------------------------------------------------- home


def test_home_has_search_departments_open_now_and_recent(client: FlaskClient, org: Any) -> None:
    response = client.get("/")
    html = text(response)
    assert response.status_code == 200
    assert 'role="search"' in html and 'name="q"' in html
    assert 'data-suggest-url="/api/v1/search/suggest"' in html
    assert 'aria-controls="q-suggestions"' in html
    assert 'href="/departments/finance"' in html and 'href="/departments/hr"' in html
    open_section = html[html.index('id="open-title"'):html.index('id="departments-title"')]
    assert "HR Helpdesk" in open_section  # open around the clock
    assert "Tax" not in open_section  # hours not published: never open
    recent = html[html.index('id="recent-title"'):]
    assert "/teams/payroll" in recent and "/teams/tax" in recent


def test_home_without_teams_is_friendly(client: FlaskClient) -> None:
    html = text(client.get("/"))
    assert "No team is open at the moment" in html
    assert "No departments yet" in html


# --------------------------------------------------------------------------- search


def test_search_results_have_highlighted_snippets_and_facets(client: FlaskClient, org: Any) -> None:
    response = client.get("/search?q=payslips")
    html = text(response)
    assert response.status_code == 200
    assert 'href="/search/go?e=1&amp;to=payroll&amp;at=1"' in html  # records the choice, then shows the team
    assert "<mark>" in html
    assert 'name="department" value="Finance"' in html
    assert 'name="tag" value="pay"' in html
    assert 'name="location" value="London HQ, floor 3"' in html
    assert 'name="open_now" value="1"' in html
    assert "<script>" not in html


def test_search_did_you_mean(client: FlaskClient, org: Any) -> None:
    html = text(client.get("/search?q=payrll"))
    assert "Did you mean" in html
    assert 'href="/search?q=payroll"' in html


def test_search_facets_filter(client: FlaskClient, org: Any) -> None:
    html = text(client.get("/search?department=HR"))
    assert "/teams/hr-helpdesk" in html
    assert "/teams/payroll" not in html
    assert re.search(r'name="department" value="HR" checked', html)
    assert "Clear all" in html
    # the chip removes the filter again
    assert 'href="/search"' in html

    html = text(client.get("/search?tag=vat"))
    assert "/teams/tax" in html and "/teams/payroll" not in html


def test_search_open_now_filter(client: FlaskClient, org: Any) -> None:
    html = text(client.get("/search?open_now=1"))
    assert "/teams/hr-helpdesk" in html
    assert "/teams/tax" not in html
    assert re.search(r'name="open_now" value="1" checked', html)


def test_search_empty_state_is_helpful(client: FlaskClient, org: Any) -> None:
    html = text(client.get("/search?q=xylophone+quartet"))
    assert "No team matches “xylophone quartet”" in html
    assert 'href="/departments"' in html and 'href="/teams"' in html


def test_search_paginates(app: Flask, client: FlaskClient) -> None:
    add_teams(app, *({"name": f"Team {i:02d}", "summary": "Widgets."} for i in range(27)))
    html = text(client.get("/search"))
    assert "27 teams" in html
    assert 'rel="next"' in html and 'href="/search?page=2"' in html
    page2 = text(client.get("/search?page=2"))
    assert "Team 26" in page2 and "Team 00" not in page2
    assert 'rel="prev"' in page2
    # a page beyond the last goes to the last
    assert client.get("/search?page=9").headers["Location"] == "/search?page=2"


def test_search_survives_odd_input(client: FlaskClient, org: Any) -> None:
    for url in ("/search?q=%22%27%3C%3E&page=abc", "/search?q=" + "x" * 800, "/search?q=a+AND+OR+NOT+(",
                "/search?department=Nope&tag=&location=%00"):
        with client.get(url) as asset:
            assert asset.status_code == 200, url


# --------------------------------------------------------------------------- team page


def test_team_page_shows_everything_a_reader_needs(client: FlaskClient, org: Any) -> None:
    html = text(client.get(f"/teams/payroll?at={TUESDAY_10_LONDON}"))
    assert "<h1 class=\"team-header__name\">Payroll</h1>" in html
    assert "Salaries, payslips, tax codes and expense reimbursement." in html
    # services with turnaround and how to request them
    assert "Payslip corrections" in html and "3 business days" in html
    assert "How to request:" in html
    # booking button
    assert re.search(r'<a class="button[^"]*book__button" href="https://intranet.example/forms/payroll"', html)
    assert "Open the request form" in html
    assert "Use the form; attach your payslip." in html
    # live badge, server-rendered
    assert 'id="status-badge"' in html and "badge--open" in html
    assert "Open until 17:30" in html
    assert 'data-status-url="/api/v1/teams/payroll/status"' in html
    # reply-by promise
    assert "If you ask now, expect a reply by" in html and "Tue 24 Nov, 14:00" in html
    # hours grid for the week, today highlighted
    grid = html[html.index('id="hours-grid"'):html.index("</table>", html.index('id="hours-grid"'))]
    today = re.search(r'<tr class="is-today[^"]*" aria-current="date">(.*?)</tr>', grid, re.S)
    assert today and "Tue" in today.group(1) and "09:00–17:30" in today.group(1)
    assert "09:00–12:30" in grid and "13:30–17:30" in grid  # Monday's lunch break
    assert "Team training" in grid  # Friday's partial closure noted
    # closures and the next public holiday
    assert "Fri 27 Nov, 13:00–17:30: Team training" in html
    assert "Thu 24 Dec – Sat 26 Dec: Office closed" in html
    assert "Christmas Day" in html and "Friday 25 December 2026" in html
    # contacts as one-click links
    assert 'href="mailto:payroll@example.com"' in html
    assert "#payroll-help" in html
    # escalation, owners, review date, API link
    assert "Ask for the Payroll manager" in html
    assert 'href="mailto:alice@example.com"' in html
    assert "Last reviewed on Sunday 1 November 2026." in html
    assert "more than six months" not in html
    assert 'href="/api/v1/teams/payroll"' in html
    # the description, rendered from Markdown
    assert "<strong>Payslips</strong>" in html


def test_team_page_in_the_readers_time_zone(client: FlaskClient, org: Any) -> None:
    html = text(client.get(f"/teams/payroll?at={TUESDAY_10_LONDON}&tz=America/New_York"))
    assert 'data-reader-tz="America/New_York"' in html
    assert "Your time" in html and "5 hours behind the team" in html
    assert "04:00–12:30" in html  # Tuesday 09:00–17:30 London, read in New York
    assert "Open until 12:30 your time" in html
    assert "Tue 24 Nov, 09:00 your time" in html

    # The cookie set by the page script works the same; a bad zone is ignored, not an error.
    client.set_cookie("tz", "Asia/Kolkata")
    html = text(client.get(f"/teams/payroll?at={TUESDAY_10_LONDON}"))
    assert "5 h 30 min ahead of the team" in html and "14:30–23:00" in html
    client.set_cookie("tz", "Mars/Olympus")
    response = client.get(f"/teams/payroll?at={TUESDAY_10_LONDON}")
    assert response.status_code == 200 and "Your time" not in text(response)


def test_team_page_when_closed_and_across_midnight(client: FlaskClient, make_team: Any) -> None:
    make_team(slug="night", name="Night desk", contacts=[], timezone="Europe/London",
              hours={"weekly": {"mon": [["22:00", "06:00"]]}})
    html = text(client.get("/teams/night?at=2026-11-24T12:00:00%2B00:00&tz=Asia/Tokyo"))
    assert "badge--closed" in html
    assert "Closed — opens" in html
    # Monday 22:00–24:00 London is Tuesday 07:00–09:00 in Tokyo; the grid says so.
    assert "Tue 07:00–09:00" in html


def test_team_page_without_hours(client: FlaskClient, org: Any) -> None:
    html = text(client.get("/teams/tax"))
    assert "Hours not published" in html
    assert "badge--unknown" in html
    assert "has not published its opening hours" in html
    assert 'id="hours-grid"' not in html


def test_review_warning_when_older_than_six_months(client: FlaskClient, make_team: Any) -> None:
    make_team(last_reviewed="2026-03-01")
    html = text(client.get(f"/teams/payroll?at={TUESDAY_10_LONDON}"))
    assert "Last reviewed on Sunday 1 March 2026." in html
    assert "more than six months ago" in html and "review-warning" in html
    make_team(slug="never", name="Never", contacts=[], last_reviewed=None)
    assert "never been marked as reviewed" in text(client.get("/teams/never"))


def test_description_markdown_is_sanitised(client: FlaskClient, make_team: Any) -> None:
    payload = (
        "Hello <script>alert('xss')</script>\n\n"
        "<img src=x onerror=\"alert('img')\"> <a href=\"javascript:alert('a')\" onclick=\"alert('c')\">click</a>\n\n"
        "[md link](javascript:alert('md')) <svg onload=alert('svg')></svg> <iframe src=\"https://evil.example\"></iframe>\n\n"
        "**still bold**\n\n<div style=\"background:url(javascript:alert('css'))\">styled</div>"
    )
    make_team(description=payload)
    html = text(client.get("/teams/payroll"))
    about = html[html.index('id="about-title"'):html.index("</section>", html.index('id="about-title"'))]
    tags = _tags(about)
    assert not {"script", "iframe", "svg", "img", "style"} & {tag for tag, _ in tags}
    for tag, attrs in tags:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert name != "style", tag
            assert "javascript:" not in (value or "").lower(), (tag, name, value)
    assert "<script" not in about.lower()
    assert "<strong>still bold</strong>" in about
    assert "Hello" in about


def _tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    from html.parser import HTMLParser

    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    Collect().feed(html)
    return found


def test_contacts_are_one_click_links(client: FlaskClient, make_team: Any, app: Flask) -> None:
    make_team(contacts=[
        {"kind": "email", "value": "payroll@example.com"},
        {"kind": "phone", "value": "+44 20 7946 0130 ext. 12", "label": "Payroll line"},
        {"kind": "url", "value": "https://intranet.example/payroll"},
        {"kind": "chat", "value": "#payroll-help"},
    ])
    app.config["DIRECTORY_CHAT_URL"] = "https://chat.example/channels/{channel}"
    html = text(client.get("/teams/payroll"))
    assert 'href="mailto:payroll@example.com"' in html
    assert 'href="tel:+442079460130;ext=12"' in html
    assert 'href="https://intranet.example/payroll"' in html
    assert 'href="https://chat.example/channels/payroll-help"' in html


def test_unknown_and_archived_teams(client: FlaskClient, app: Flask, org: Any) -> None:
    response = client.get("/teams/nobody")
    assert response.status_code == 404
    assert "Page not found" in text(response) and 'class="site-header"' in text(response)
    with app.app_context():
        session = get_session()
        services.archive_team(session, services.get_team(session, "tax"), ADMIN)
        session.commit()
    assert client.get("/teams/tax").status_code == 404


# --------------------------------------------------------------------------- lists


def test_departments_and_a_department(client: FlaskClient, org: Any) -> None:
    html = text(client.get("/departments"))
    assert 'href="/departments/finance"' in html and "2 teams" in html
    html = text(client.get("/departments/finance"))
    assert "<h1>Finance</h1>" in html
    assert "/teams/payroll" in html and "/teams/tax" in html and "/teams/hr-helpdesk" not in html
    assert client.get("/departments/nowhere").status_code == 404


def test_a_to_z(client: FlaskClient, org: Any) -> None:
    html = text(client.get("/teams"))
    assert 'href="#letter-H"' in html and 'id="letter-P"' in html
    assert html.index("HR Helpdesk") < html.index("Payroll") < html.index(">Tax<")
    assert "(open now)" in html  # the HR team is open around the clock


# --------------------------------------------------------------------------- the quality bar


PAGES = ["/", "/search?q=pay", "/search?q=nothing-matches-this", "/teams", "/teams/payroll", "/departments",
         "/departments/finance", "/teams/payroll/history", "/login", "/does-not-exist"]
SIGNED_IN_PAGES = ["/teams/payroll/edit", "/teams/new", "/admin", "/admin/users", "/admin/tokens", "/logout"]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
STYLE_ATTR = re.compile(r"<[^>]+\sstyle\s*=", re.I)


def _check_page(html: str, url: str) -> None:
    assert not INLINE_SCRIPT.search(html), f"inline script on {url}"
    assert not EVENT_HANDLER.search(html), f"event handler attribute on {url}"
    assert not STYLE_ATTR.search(html), f"style attribute on {url}"
    assert "<style" not in html, f"style element on {url}"
    for landmark in ("<header", "<main", "<footer", "<nav", 'class="skip-link" href="#main"'):
        assert landmark in html, f"{landmark} missing on {url}"
    assert '<html lang="en"' in html
    ids = re.findall(r'\sid="([^"]+)"', html)
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, f"duplicate ids on {url}: {duplicates}"
    for match in re.finditer(r"<(input|select|textarea)\b([^>]*)>", html):
        attrs = match.group(2)
        if re.search(r'type="(hidden|submit|button)"', attrs):
            continue
        inside_label = html.rfind("<label", 0, match.start()) > html.rfind("</label>", 0, match.start())
        control_id = re.search(r'\bid="([^"]+)"', attrs)
        if inside_label:
            continue
        assert control_id, f"control without a label on {url}: {match.group(0)[:120]}"
        if "__i__" in control_id.group(1):
            continue
        assert f'for="{control_id.group(1)}"' in html, f"control without label on {url}: {control_id.group(1)}"


def test_pages_have_strict_csp_no_inline_code_and_labels(client: FlaskClient, org: Any,
                                                          sign_in_as: Any) -> None:
    for url in PAGES:
        response = client.get(url)
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
        _check_page(text(response), url)
    sign_in_as(client, "admin@example.com", is_admin=True)
    for url in [*PAGES, *SIGNED_IN_PAGES]:
        response = client.get(url)
        assert response.status_code in (200, 404), url
        _check_page(text(response), url)


def test_assets_are_local(client: FlaskClient, org: Any) -> None:
    html = text(client.get("/teams/payroll"))
    for url in re.findall(r'(?:src|href)="([^"]+\.(?:js|css|woff2?|svg))"', html):
        assert url.startswith("/static/"), url
        with client.get(url) as asset:
            assert asset.status_code == 200, url
    assert "fonts.googleapis" not in html and "cdn" not in html.lower()


# --------------------------------------------------------------------------- whose time, why closed


@pytest.fixture
def bengaluru(app: Flask, make_team: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Bengaluru team in Finance, read on Tuesday 24 Nov 2026 at 10:00 London (15:30 in Bengaluru)."""
    from datetime import datetime

    from directory.web import views

    make_team(slug="blr", name="Bengaluru Finance", timezone="Asia/Kolkata", contacts=[], services=[],
              summary="Vendor payments for India.",
              hours={"weekly": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}})
    monkeypatch.setattr(views, "utcnow", lambda: datetime.fromisoformat(TUESDAY_10_LONDON))


@pytest.mark.parametrize("url", ["/", "/search?q=vendor+payments", "/departments/finance"])
def test_list_badges_name_the_teams_zone_when_the_readers_is_unknown(client: FlaskClient, bengaluru: None,
                                                                     url: str) -> None:
    html = text(client.get(url))
    assert "Open until 18:00 Kolkata time" in html
    assert "Open until 18:00<" not in html


@pytest.mark.parametrize("url", ["/", "/search?q=vendor+payments", "/departments/finance"])
def test_list_badges_in_the_readers_time_when_known(client: FlaskClient, bengaluru: None, url: str) -> None:
    client.set_cookie("tz", "Europe/London")
    html = text(client.get(url))
    assert "Open until 12:30 your time" in html and "Kolkata time" not in html
    client.set_cookie("tz", "Asia/Kolkata")  # the team's own zone: its times are the reader's
    assert "Open until 18:00<" in text(client.get(url))


def test_team_page_badge_says_why_it_is_closed(client: FlaskClient, make_team: Any) -> None:
    make_team()
    html = text(client.get("/teams/payroll?at=2027-01-01T10:00:00%2B00:00"))
    assert "Closed for New Year&#39;s Day — opens Monday at 09:00" in html
    html = text(client.get("/teams/payroll?at=2026-12-24T10:00:00%2B00:00"))
    assert "Closed: Office closed — opens" in html


def test_team_page_shows_the_urgent_line_beside_the_closed_badge(client: FlaskClient, make_team: Any) -> None:
    make_team(contacts=[{"kind": "email", "value": "payroll@example.com", "label": "Team mailbox"},
                        {"kind": "phone", "value": "+44 20 7946 0199", "label": "Out-of-hours line"},
                        {"kind": "email", "value": "later@example.com", "label": "Non-urgent follow-ups"}])
    html = text(client.get("/teams/payroll?at=2026-11-24T20:00:00%2B00:00"))  # Tuesday evening
    status = html[html.index('id="status"'):html.index('class="reply-by"')]
    assert 'id="urgent-contacts"' in status
    assert 'href="tel:+442079460199"' in status and "Out-of-hours line" in status
    assert "later@example.com" not in status
    html = text(client.get(f"/teams/payroll?at={TUESDAY_10_LONDON}"))  # open: no need to point elsewhere
    status = html[html.index('id="status"'):html.index('class="reply-by"')]
    assert 'id="urgent-contacts"' not in status


def test_no_urgent_line_when_hours_are_not_published(client: FlaskClient, make_team: Any) -> None:
    make_team(hours=None, contacts=[{"kind": "phone", "value": "+44 20 7946 0199", "label": "Out-of-hours line"}])
    html = text(client.get(f"/teams/payroll?at={TUESDAY_10_LONDON}"))
    assert 'id="urgent-contacts"' not in html and "Out-of-hours line" in html
