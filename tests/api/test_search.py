"""`/api/v1/search` and `/api/v1/search/suggest`: parameters, paging, facets, and errors that
name the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

TEAMS = [
    ("payroll", "Payroll", "Finance", ["pay", "tax"], "London HQ"),
    ("tax", "Tax", "Finance", ["tax"], "Leeds"),
    ("it-helpdesk", "IT Helpdesk", "IT", ["laptop"], "London HQ"),
    ("sales-ops", "Sales Operations", "Sales & Customer Success", ["crm"], "Leeds"),
]


@pytest.fixture
def teams(make_team: Callable[..., Any]) -> list[dict[str, Any]]:
    return [make_team(slug=slug, name=name, department=department, tags=tags, location=location,
                      summary=f"{name}: questions about {' and '.join(tags)}.", description="", services=[],
                      contacts=[{"kind": "email", "value": f"{slug}@example.com"}])
            for slug, name, department, tags, location in TEAMS]


def search(client: FlaskClient, query: str = "") -> dict[str, Any]:
    response = client.get(f"/api/v1/search?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.json


def found(client: FlaskClient, query: str = "") -> list[str]:
    return [hit["slug"] for hit in search(client, query)["results"]]


def test_a_word_finds_its_teams_with_what_a_result_shows(client: FlaskClient, teams: Any) -> None:
    body = search(client, "q=tax")
    assert body["total"] == 2
    assert {hit["slug"] for hit in body["results"]} == {"payroll", "tax"}
    hit = next(hit for hit in body["results"] if hit["slug"] == "tax")
    assert (hit["name"], hit["department"]) == ("Tax", "Finance")
    assert hit["highlights"]["name"] == "<mark>Tax</mark>"
    assert hit["score"] > 0 and hit["notices"] == [] and hit["review_overdue"] is False
    assert "id" not in hit  # the API names teams by slug only


def test_an_exact_address_finds_its_team_alone(client: FlaskClient, teams: Any) -> None:
    assert found(client, "q=it-helpdesk@example.com") == ["it-helpdesk"]


def test_a_typo_is_searched_corrected_and_suggested(client: FlaskClient, teams: Any) -> None:
    body = search(client, "q=laptpo")
    assert body["suggestion"] == "laptop"
    assert [hit["slug"] for hit in body["results"]] == ["it-helpdesk"]


def test_pages_split_the_results_and_a_page_past_the_end_is_empty(client: FlaskClient, teams: Any) -> None:
    everything = found(client, "page_size=100")
    assert sorted(everything) == sorted(slug for slug, *_ in TEAMS)
    pages = [search(client, f"page={p}&page_size=3") for p in (1, 2, 3)]
    assert [len(p["results"]) for p in pages] == [3, 1, 0]
    assert [hit["slug"] for p in pages for hit in p["results"]] == everything
    assert {(p["page"], p["page_size"], p["total"]) for p in pages} == {(1, 3, 4), (2, 3, 4), (3, 3, 4)}


def test_filters_repeat_within_a_key_and_combine_across_keys(client: FlaskClient, teams: Any) -> None:
    assert sorted(found(client, "department=Finance&department=IT")) == ["it-helpdesk", "payroll", "tax"]
    assert found(client, "department=Finance&location=Leeds") == ["tax"]
    assert sorted(found(client, "tag=crm&tag=laptop")) == ["it-helpdesk", "sales-ops"]
    assert found(client, "q=tax&department=IT") == []


def test_facets_count_the_whole_result_set(client: FlaskClient, teams: Any) -> None:
    body = search(client, "page_size=1&department=Finance")
    assert len(body["results"]) == 1 and body["total"] == 2
    assert body["facets"]["department"] == {"Finance": 2, "IT": 1, "Sales & Customer Success": 1}
    assert body["facets"]["location"] == {"Leeds": 1, "London HQ": 1}
    assert body["facets"]["tags"] == {"tax": 2, "pay": 1}
    assert sum(body["facets"]["open_now"].values()) == 2


@pytest.mark.parametrize(("query", "field"), [
    ("page=0", "page"), ("page=10001", "page"), ("page=two", "page"),
    ("page_size=0", "page_size"), ("page_size=101", "page_size"),
    ("open_now=maybe", "open_now"), ("q=" + "x" * 501, "q"),
])
def test_bad_parameters_are_refused_naming_the_field(client: FlaskClient, teams: Any, query: str,
                                                     field: str) -> None:
    response = client.get(f"/api/v1/search?{query}")
    assert response.status_code == 422
    assert list(response.json["errors"]) == [field]
    assert field in response.json["message"]


def test_suggest_completes_what_was_typed(client: FlaskClient, teams: Any) -> None:
    response = client.get("/api/v1/search/suggest?q=Sal")
    assert response.status_code == 200
    assert response.json == {"q": "Sal", "suggestions": [
        {"slug": "sales-ops", "name": "Sales Operations", "department": "Sales & Customer Success"}]}
    assert client.get("/api/v1/search/suggest?q=zzz").json["suggestions"] == []
    assert len(client.get("/api/v1/search/suggest?q=t&limit=1").json["suggestions"]) == 1


@pytest.mark.parametrize(("query", "field"), [
    ("", "q"), ("q=", "q"), ("q=" + "p" * 101, "q"), ("q=pay&limit=0", "limit"), ("q=pay&limit=21", "limit"),
])
def test_bad_suggest_parameters_are_refused_naming_the_field(client: FlaskClient, query: str, field: str) -> None:
    response = client.get(f"/api/v1/search/suggest?{query}")
    assert response.status_code == 422
    assert list(response.json["errors"]) == [field]


def test_an_empty_directory_is_searched_by_its_index_without_an_error(
        client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    """A new directory has an index with no documents: Whoosh's reader for it lacks deletions and
    its idf divides by zero, which used to send every search to the database fallback."""
    with caplog.at_level("WARNING"):
        answer = search(client, "payroll")
    assert answer["total"] == 0 and answer["results"] == [] and answer["strong"] == 0
    assert not [r for r in caplog.records if "unusable" in r.getMessage()]
