"""Filters and facet counts: OR within a key, AND across keys, each facet counted as if its own
filter were not set, over the whole result set."""

from __future__ import annotations

from search import SearchIndex
from search.facets import filter_and_count, frozen_filters
from search.snapshots import Snapshots
from tests.search.sample import TEAMS, slugs


def test_an_empty_query_lists_every_team_by_name_with_facets(index: SearchIndex) -> None:
    results = index.query("   ")
    assert results.total == len(TEAMS)
    names = [hit["name"] for hit in results.hits]
    assert names == sorted(names, key=lambda n: n.lower().replace("é", "e"))
    assert results.facets["department"] == {"Facilities": 3, "Finance": 3, "IT": 1, "Operations": 1}
    assert results.facets["location"]["London HQ"] == 4
    assert results.facets["tags"]["tax"] == 2
    assert "open_now" not in results.facets
    assert results.suggestion is None


def test_facets_count_the_whole_result_set_not_the_page(index: SearchIndex) -> None:
    results = index.query("", page_size=2)
    assert len(results.hits) == 2
    assert sum(results.facets["department"].values()) == len(TEAMS)


def test_filters_or_within_a_key_and_across_keys(index: SearchIndex) -> None:
    assert set(slugs(index, "", filters={"department": ["Finance"]})) == {"payroll", "expenses", "tax"}
    assert set(slugs(index, "", filters={"department": ["Finance", "IT"]})) == {"payroll", "expenses", "tax",
                                                                                "it-helpdesk"}
    assert set(slugs(index, "", filters={"department": ["Finance"], "location": ["London HQ"]})) == {"payroll",
                                                                                                     "tax"}
    assert set(slugs(index, "", filters={"tag": ["tax", "travel"]})) == {"payroll", "tax", "expenses", "travel"}
    assert slugs(index, "", filters={"department": ["Nope"]}) == []
    assert slugs(index, "tax", filters={"department": ["Facilities"]}) == []


def test_a_facet_counts_its_own_values_as_if_unfiltered(index: SearchIndex) -> None:
    results = index.query("", filters={"department": ["Finance"]})
    assert results.total == 3
    assert results.facets["department"] == {"Facilities": 3, "Finance": 3, "IT": 1, "Operations": 1}
    assert results.facets["location"] == {"London HQ": 2, "Leeds": 1}


def test_open_now_restricts_to_the_open_teams_and_counts_them(index: SearchIndex) -> None:
    results = index.query("", open_ids={1, 3})
    assert results.total == len(TEAMS)
    assert results.facets["open_now"] == {"true": 2, "false": len(TEAMS) - 2}
    results = index.query("", open_ids={1, 3, 99}, open_now=True)
    assert {hit["slug"] for hit in results.hits} == {"payroll", "it-helpdesk"}
    assert results.facets["open_now"] == {"true": 2, "false": len(TEAMS) - 2}
    assert index.query("", open_now=True).total == 0


def test_equal_filters_make_one_cache_key_whatever_their_order() -> None:
    a = frozen_filters({"tag": ["travel", "tax"], "department": ["Finance"], "location": []})
    b = frozen_filters({"department": ["Finance"], "tag": ["tax", "travel", 3]})  # type: ignore[list-item]
    assert a == b == (("department", ("Finance",)), ("tag", ("tax", "travel")))
    hash(a)


def test_tags_may_be_filtered_under_either_spelling(index: SearchIndex) -> None:
    assert set(slugs(index, "", filters={"tags": ["travel"]})) == {"expenses", "travel"}
    assert set(slugs(index, "", filters={"tag": ["food"], "tags": ["travel"]})) == {"cafe"}


def test_counting_most_of_the_teams_gives_the_same_counts_as_counting_few(index: SearchIndex) -> None:
    snap = Snapshots(index.path).current()
    few = {snap.docnum_of[i] for i in (1, 2)}
    most = snap.live - {snap.docnum_of[8]}
    _, few_facets = filter_and_count(snap, few, {}, None, False)
    _, most_facets = filter_and_count(snap, most, {}, None, False)
    assert few_facets["department"] == {"Finance": 2}
    assert most_facets["department"] == {"Facilities": 3, "Finance": 3, "IT": 1}
    assert most_facets["tags"]["tax"] == 2 and "travel" in most_facets["tags"]
    assert "" not in most_facets["location"]


def test_non_text_filter_values_are_ignored(index: SearchIndex) -> None:
    snap = Snapshots(index.path).current()
    allowed, _ = filter_and_count(snap, snap.live, {"department": [None, 7]}, None, False)  # type: ignore[list-item]
    assert len(allowed) == len(TEAMS)
