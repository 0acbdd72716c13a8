"""The results page keeps the long tail apart: strong matches first, then the teams that only
mention some of the words under a labelled, counted, collapsed section, across pages."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from directory.web.views import PAGE_SIZE


def _html(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _make_org(make_team: Any, mentions: int) -> None:
    make_team(slug="payroll", name="Payroll", summary="Payslips and payslip corrections.", tags=["payslip"])
    for i in range(mentions):
        make_team(slug=f"team-{i:02d}", name=f"Team {i:02d}", summary="Facilities and buildings.", tags=[],
                  description="Long text about other things. " * 20 + "We never touch payslips.",
                  services=[], contacts=[{"kind": "email", "value": f"team{i}@example.com"}])


def _names(html: str) -> list[str]:
    return re.findall(r'class="result__name"><a [^>]*>(?:<mark>)?([^<]+)', html)


def test_the_tail_is_labelled_counted_and_collapsed_below_the_strong_matches(client: FlaskClient,
                                                                            make_team: Any) -> None:
    _make_org(make_team, 3)
    html = _html(client, "/search?q=payslips")
    assert "4 teams" in html and "1 strong match" in html
    strong, _, tail = html.partition('<details class="results-tail">')  # no `open`: collapsed
    assert tail, "no tail section"
    assert _names(strong) == ["Payroll"]
    assert re.search(r"Other teams that mention these words <span class=\"count\">3</span>", tail)
    assert sorted(_names(tail)) == ["Team 00", "Team 01", "Team 02"]


def test_without_a_tail_the_page_has_no_tail_section(client: FlaskClient, make_team: Any) -> None:
    _make_org(make_team, 0)
    html = _html(client, "/search?q=payslips")
    assert "results-tail" not in html and "strong match" not in html
    assert _names(html) == ["Payroll"]


def test_a_page_of_the_tail_alone_shows_it_open(client: FlaskClient, make_team: Any) -> None:
    _make_org(make_team, PAGE_SIZE + 2)
    first = _html(client, "/search?q=payslips")
    second = _html(client, "/search?q=payslips&page=2")
    assert f"{PAGE_SIZE - 1} on this page" in first  # the tail continues on the next page
    assert '<details class="results-tail" open>' in second
    assert "Payroll" not in _names(second)
    assert len(_names(first)) + len(_names(second)) == PAGE_SIZE + 3  # nothing dropped
