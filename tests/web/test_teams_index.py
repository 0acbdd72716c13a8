"""The A–Z page at a few hundred teams: bounded pages, every team reachable once, letter links that land."""

from __future__ import annotations

import json
import re
import unicodedata

import pytest
from flask import Flask
from flask.testing import FlaskClient

from directory import services
from directory.db import get_session
from directory.schemas import load_team
from directory.web.views import AZ_PAGE_SIZE
from tests.conftest import ADMIN

TEAM_LINK = re.compile(r'<a href="/teams/([a-z0-9-]+)">([^<]+)</a>')
HEADING = re.compile(r'<h2 id="(letter-[^"]+)" class="az__letter" tabindex="-1">([^<]+?)( <span[^>]*>\(continued\)</span>)?</h2>')
LETTER_LINK = re.compile(r'<nav class="letter-nav".*?</nav>', re.S)


def names() -> list[str]:
    """332 names: 150 under S (so S spans pages), accents and lower case filed with their letter, digits under #."""
    out = [f"Support desk {n:03d}" for n in range(150)]
    out += [f"{letter}-team {n}" for letter in "ABCDEFGHJKLMNOPRTUVWYZ" for n in range(8)]
    out += ["24/7 Operations", "3D Printing", "Émile's workshop", "élan studio", "zeta squad", "Österreich office"]
    return out


@pytest.fixture
def many(app: Flask) -> list[dict[str, str]]:
    runner = app.test_cli_runner()
    docs = [{"name": name, "slug": f"t{n}"} for n, name in enumerate(names())]
    result = runner.invoke(args=["import", "-"], input=json.dumps(docs))
    assert result.exit_code == 0, result.output
    return docs


def team_links(html: str) -> list[tuple[str, str]]:
    return TEAM_LINK.findall(html.split('<div class="az">', 1)[1])


def fold(name: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)).casefold()


def test_pages_are_bounded_and_list_every_team_once_in_order(client: FlaskClient, many: list[dict[str, str]]) -> None:
    total = len(many)
    pages = -(-total // AZ_PAGE_SIZE)
    assert pages == 4
    listed: list[tuple[str, str]] = []
    for page in range(1, pages + 1):
        html = client.get(f"/teams?page={page}").get_data(as_text=True)
        links = team_links(html)
        assert len(links) == (AZ_PAGE_SIZE if page < pages else total - AZ_PAGE_SIZE * (pages - 1))
        assert f"{total} teams; this page lists {(page - 1) * AZ_PAGE_SIZE + 1} to" in html
        listed.extend(links)
    assert sorted(slug for slug, _name in listed) == sorted(doc["slug"] for doc in many)
    ordered = [name for _slug, name in listed]
    digits_first = [n for n in ordered if not fold(n)[0].isalpha()]
    assert ordered[:len(digits_first)] == ["24/7 Operations", "3D Printing"]
    assert [fold(n) for n in ordered[2:]] == sorted(fold(n) for n in ordered[2:])
    # The page holds a bounded amount of HTML (at 6,000 teams it used to be over 600 KB in one page).
    assert len(client.get("/teams").data) < 60_000


def test_letter_links_open_the_page_where_the_letter_starts(client: FlaskClient, many: list[dict[str, str]]) -> None:
    first = client.get("/teams").get_data(as_text=True)
    nav = LETTER_LINK.search(first).group()
    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', nav)
    letters = [letter for _href, letter in links]
    assert letters[0] == "#" and "S" in letters and "E" in letters and "O" in letters
    assert "É" not in letters and "Ö" not in letters  # filed under E and O
    assert len(letters) == len(set(letters))
    for href, letter in links:
        url, anchor = href.split("#")
        html = client.get(url or "/teams").get_data(as_text=True)
        headings = {found[0]: found for found in HEADING.findall(html)}
        assert anchor in headings, (letter, href)
        assert headings[anchor][1] == letter and not headings[anchor][2], (letter, href)
        section = html.split(f'id="{anchor}"', 1)[1].split("</section>", 1)[0]
        first_name = TEAM_LINK.search(section).group(2)
        everyone = sorted((n for n in names() if (fold(n)[0].upper() if fold(n)[0].isalpha() else "#") == letter),
                          key=fold)
        assert first_name == everyone[0], letter


def test_a_letter_spanning_pages_is_marked_continued(client: FlaskClient, many: list[dict[str, str]]) -> None:
    html = client.get("/teams?page=3").get_data(as_text=True)
    headings = HEADING.findall(html)
    assert headings[0][:2] == ("letter-S", "S") and headings[0][2]
    assert 'rel="prev"' in html and 'rel="next"' in html


def test_letter_and_page_parameters(client: FlaskClient, many: list[dict[str, str]]) -> None:
    s_page = client.get("/teams?letter=s")
    assert s_page.status_code == 302
    target = s_page.headers["Location"]
    assert target.endswith("#letter-S") and "page=" in target
    assert client.get("/teams?letter=%C3%A9").headers["Location"].endswith("#letter-E")
    assert client.get("/teams?letter=I").headers["Location"].endswith("#letter-J")  # no I: the next letter
    assert client.get("/teams?letter=9").headers["Location"] == "/teams#letter-other"
    assert client.get("/teams?page=999").headers["Location"] == "/teams?page=4"
    assert client.get("/teams?page=nonsense").status_code == 200


def test_the_list_follows_changes(app: Flask, client: FlaskClient, many: list[dict[str, str]]) -> None:
    assert "Aardvark care" not in client.get("/teams").get_data(as_text=True)
    with app.app_context():
        session = get_session()
        services.create_team(session, load_team({"name": "Aardvark care", "slug": "aardvark"}), ADMIN)
        services.archive_team(session, services.get_team(session, "t0"), ADMIN)
        session.commit()
    html = "".join(client.get(f"/teams?page={n}").get_data(as_text=True) for n in range(1, 5))
    slugs = [slug for slug, _name in TEAM_LINK.findall(html)]
    assert "aardvark" in slugs and "t0" not in slugs
    assert len(slugs) == len(many)


def test_an_empty_directory(client: FlaskClient) -> None:
    html = client.get("/teams").get_data(as_text=True)
    assert "There are no teams in the directory yet." in html
    assert client.get("/teams?letter=B").headers["Location"] == "/teams"
    assert client.get("/teams?page=3").headers["Location"] == "/teams"
