"""Search learning over HTTP on `make run`: several people (each their own cookies) search, open
the same team from the results, and that team rises for that query; administrators and the
team's owners then see the query on their pages."""

from __future__ import annotations

import re
from html import unescape
from itertools import pairwise
from urllib.parse import parse_qs, urlsplit

import pytest

from tests import served
from tests.smoke.conftest import ADMIN, Visitor

pytestmark = [pytest.mark.smoke, pytest.mark.slow]

GO_LINK = re.compile(r'href="(/search/go\?[^"]+)"')
CANDIDATES = ("laptop", "password", "payslip", "invoice", "holiday", "contract", "training", "access",
              "benefits", "printer", "expenses", "onboarding", "desk", "travel", "building")
PEOPLE = 5


def ranked_links(visitor: Visitor, q: str) -> list[tuple[str, str]]:
    """(team slug, result link) in the order the results page shows them."""
    page = visitor.get("/search", params={"q": q})
    assert page.status_code == 200, page.status_code
    links = [unescape(link) for link in GO_LINK.findall(page.text)]
    return [(parse_qs(urlsplit(link).query)["to"][0], link) for link in links]


def near_tie(directory: served.ServedDirectory) -> tuple[str, str, str]:
    """A seeded query with two neighbouring results (below the first) that score almost alike:
    (query, the team above, the team below)."""
    api = Visitor(directory)
    for q in CANDIDATES:
        results = api.get("/api/v1/search", params={"q": q}).json()["results"]
        for above, below in pairwise(results[1:9]):
            same_kind = above.get("match") == below.get("match")
            if same_kind and above["score"] > 0 and below["score"] >= 0.93 * above["score"]:
                return q, above["slug"], below["slug"]
    pytest.fail("no seeded query has two near-tied results to reorder")


def test_people_choosing_a_team_lift_it_for_their_query(directory: served.ServedDirectory) -> None:
    q, above, below = near_tie(directory)
    before = [slug for slug, _ in ranked_links(Visitor(directory), q)]
    assert before.index(above) < before.index(below)

    for _ in range(PEOPLE):
        person = Visitor(directory)  # a browser of its own: its own session cookie, its own searcher key
        links = dict(ranked_links(person, q))
        answer = person.get(links[below])
        assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/teams/{below}")
        # The same person opening it again counts once.
        person.get(dict(ranked_links(person, q))[below])

    after = [slug for slug, _ in ranked_links(Visitor(directory), q)]
    assert after.index(below) < before.index(below), (q, before, after)
    assert after.index(below) < after.index(above), (q, before, after)
    assert set(after) == set(before)  # reordered, nothing added or lost

    admin = Visitor(directory)
    admin.sign_in(ADMIN)
    insights = admin.get("/admin/search?days=1")
    assert insights.status_code == 200 and f">{q}<" in insights.text
    team_page = admin.get(f"/teams/{below}/search?days=1")
    assert team_page.status_code == 200
    led_here = team_page.text[team_page.text.index('id="led-here"'):]
    assert f">{q}<" in led_here and f"<td>{PEOPLE}</td>" in led_here
    assert Visitor(directory).get(f"/teams/{below}/search").status_code == 302  # anonymous: sign in first
