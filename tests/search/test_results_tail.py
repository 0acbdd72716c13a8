"""Strong matches first, the long tail after them and labelled as such, and nothing left out:
a team using a rare word of the query is always strong; a synonym never lets another sense of a
word outrank the word typed; a contraction typed without its apostrophe still matches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from search import SearchIndex
from search.query import SYNONYM_WEIGHT
from search.scoring import KIN_WEIGHT, RARE_TEAMS, STRONG_SHARE, strong_first, top
from search.snapshots import Snapshots
from tests.search.sample import team

SYNONYMS = "laptop, notebook, thinkpad\nreporter, press, journalist\n"

REVIEWERS = [
    team(i, f"reviews-{i}", f"Reviews {i}", summary="Reviews: design review, code review and review boards.",
         services=[{"name": "Review", "description": "We review it."}])
    for i in range(1, 6)
]
TEAMS = [
    *REVIEWERS,
    # Uses the rare word once, deep in a long description: a low score, but the only team that has it.
    team(10, "legal", "Legal", summary="Contracts and signatures.",
         description="We draft agreements. " * 30 + "We also check the odd zanzibar clause."),
    team(20, "devices", "Devices", summary="Laptop repairs and laptop swaps.", tags=["laptop"]),
    team(21, "helpdesk", "Helpdesk", summary="Laptop will not start? Software won't open? Ask us."),
    team(22, "travel", "Travel", summary="Travelling with a laptop: insurance and adapters."),
    # "Notebook" in its other sense, all over the page.
    # "reporter" stems to "report": the typed word is everywhere, in its other sense.
    *(team(40 + i, f"reporting-{i}", f"Reporting {i}", summary="Reports, reporting and report dashboards.")
      for i in range(3)),
    team(50, "press", "Press Office", summary="Press releases; journalists go through us."),
    team(30, "ml", "ML Notebooks", summary="GPU notebooks, hosted notebooks.", tags=["notebook"], department="Data",
         services=[{"name": "Notebook servers", "description": "Notebooks for data science."}]),
]


@pytest.fixture
def tail_index(tmp_path: Path) -> SearchIndex:
    synonyms = tmp_path / "synonyms.txt"
    synonyms.write_text(SYNONYMS, encoding="utf-8")
    ix = SearchIndex(tmp_path / "index", synonyms)
    ix.rebuild(TEAMS, seq=1)
    return ix


def _hits(ix: SearchIndex, q: str, **kwargs: Any) -> list[dict[str, Any]]:
    return ix.query(q, page_size=100, **kwargs).hits


def test_strong_matches_come_first_and_the_tail_follows_with_nothing_dropped(tail_index: SearchIndex) -> None:
    found = tail_index.query("design review boards zanzibar", page_size=100)
    matches = [hit["match"] for hit in found.hits]
    assert found.total == len(found.hits) == len(REVIEWERS) + 1  # every team using either word
    assert matches == sorted(matches, key=lambda m: m != "strong")  # strong, then related
    assert found.strong == matches.count("strong")
    best = found.hits[0]["score"]
    for hit in found.hits:
        if hit["score"] >= STRONG_SHARE * best:
            assert hit["match"] == "strong", hit["slug"]


def test_a_team_using_a_rare_word_of_the_query_is_strong_however_low_it_scores(tail_index: SearchIndex) -> None:
    found = _hits(tail_index, "design review boards zanzibar")
    legal = next(hit for hit in found if hit["slug"] == "legal")
    assert legal["score"] < STRONG_SHARE * found[0]["score"]  # the score alone would put it in the tail
    assert legal["match"] == "strong"
    reviewers = [hit for hit in found if hit["slug"].startswith("reviews-")]
    # A word every team uses is not rare: without the score, it makes no strong match.
    assert len(reviewers) > RARE_TEAMS
    weak = [hit for hit in reviewers if hit["score"] < STRONG_SHARE * found[0]["score"]]
    assert all(hit["match"] == "related" for hit in weak)


def test_the_tail_is_ordered_after_every_strong_match_across_pages(tail_index: SearchIndex) -> None:
    q = "design review boards zanzibar"
    everything = _hits(tail_index, q)
    pages = [tail_index.query(q, page=p, page_size=2) for p in (1, 2, 3)]
    assert [hit["slug"] for page in pages for hit in page.hits] == [hit["slug"] for hit in everything]
    assert {page.strong for page in pages} == {sum(hit["match"] == "strong" for hit in everything)}


def test_a_filter_never_turns_a_weak_match_into_a_strong_one(tail_index: SearchIndex) -> None:
    """Strong is decided over the whole result set: filtering the strong teams away leaves related
    teams, still labelled related."""
    assert {hit["slug"]: hit["match"] for hit in _hits(tail_index, "laptop")}["ml"] == "related"
    filtered = tail_index.query("laptop", filters={"department": ["Data"]}, page_size=100)
    assert [(hit["slug"], hit["match"]) for hit in filtered.hits] == [("ml", "related")]
    assert (filtered.total, filtered.strong) == (1, 0)


def test_an_empty_query_lists_every_team_as_strong(tail_index: SearchIndex) -> None:
    found = tail_index.query("", page_size=100)
    assert found.strong == found.total == len(TEAMS)
    assert {hit["match"] for hit in found.hits} == {"strong"}


def test_a_synonym_in_another_sense_ranks_below_the_word_as_typed(tail_index: SearchIndex) -> None:
    found = _hits(tail_index, "laptop")
    order = [hit["slug"] for hit in found]
    assert "ml" in order  # the synonym still widens the search...
    for slug in ("devices", "helpdesk", "travel"):  # ...but never above a team using the word typed
        assert order.index(slug) < order.index("ml")
    assert found[order.index("ml")]["match"] == "related"
    typed = sorted(hit["score"] for hit in found if hit["slug"] in {"devices", "helpdesk", "travel"})
    assert found[order.index("ml")]["score"] <= SYNONYM_WEIGHT * typed[1] + 1e-4  # the median team's, discounted


def test_synonyms_carry_a_word_that_no_team_uses(tail_index: SearchIndex) -> None:
    """Nobody writes "thinkpad": its synonyms find the teams, at their usual weight."""
    found = _hits(tail_index, "thinkpad")
    assert {hit["slug"] for hit in found} == {"devices", "helpdesk", "travel", "ml"}
    assert found[0]["slug"] == "ml"  # "notebook" everywhere on its page: nothing typed to stay below
    assert found[0]["match"] == "strong"


def test_two_synonyms_on_one_page_confirm_the_meaning(tail_index: SearchIndex) -> None:
    """One synonym alone may be another sense of the word; two entries of the group on one page
    are the sense the person meant, and that team is not held back below the typed word's."""
    found = _hits(tail_index, "reporter")
    assert found[0]["slug"] == "press"
    assert found[0]["match"] == "strong"


@pytest.mark.parametrize("q", ["laptop wont open", "laptop won't open"])
def test_a_contraction_typed_without_its_apostrophe_matches_it(tail_index: SearchIndex, q: str) -> None:
    found = _hits(tail_index, q)
    assert found[0]["slug"] == "helpdesk"
    assert found[0]["score"] == _hits(tail_index, "laptop won't open")[0]["score"]


def test_in_the_tail_a_team_of_a_strong_matchs_department_counts_a_little_more(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "index")
    ix.rebuild([team(1, "a", "A", department="Legal"), team(2, "b", "B", department="Legal"),
                team(3, "c", "C", department="Engineering"), team(4, "d", "D", department="Engineering")], seq=1)
    snap = Snapshots(ix.path).current()
    d = snap.docnum_of
    scores = {d[1]: 10.0, d[2]: 2.0, d[3]: 2.0 * KIN_WEIGHT * 0.9, d[4]: 2.0 * KIN_WEIGHT * 1.1}
    order = strong_first(snap, scores, {d[1]})
    assert [snap.ids[x] for x in top(snap, set(scores), order, 4)] == [1, 4, 2, 3]
    assert strong_first(snap, scores, set()) == scores  # nothing strong: the scores as they are
