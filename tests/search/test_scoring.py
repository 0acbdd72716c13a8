"""Ranking: where matches rank, ties broken by name, meaning blended with words, stale pages
a little lower."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from search import SearchIndex
from search.scoring import REVIEW_PENALTY, demote_overdue, top
from search.semantic import Similarities
from search.snapshots import Snapshots
from tests.search.sample import TEAMS, slugs, team


def test_a_match_in_the_name_outranks_one_in_the_description(index: SearchIndex) -> None:
    found = slugs(index, "printing")
    assert found.index("print-room") < found.index("travel")


def test_the_top_of_a_ranking_breaks_ties_by_name_then_id(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "index")
    ix.rebuild([team(1, "c", "Gamma"), team(2, "a", "Alpha"), team(3, "b", "Beta"), team(4, "a2", "Alpha")], seq=1)
    snap = Snapshots(ix.path).current()
    d = snap.docnum_of
    scores = {d[1]: 2.0, d[2]: 1.0, d[3]: 1.0, d[4]: 1.0}
    ranked = [snap.ids[x] for x in top(snap, set(scores), scores, 3)]
    assert ranked == [1, 2, 4]
    assert [snap.ids[x] for x in top(snap, set(scores), scores, 10)] == [1, 2, 4, 3]
    assert [snap.ids[x] for x in top(snap, snap.live, {}, 2)] == [2, 4]  # no scores: by name
    assert top(snap, set(scores), scores, 0) == []


def test_overdue_pages_score_a_little_lower_and_stay_in(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "index")
    ix.rebuild([team(1, "stale", "Stale", last_reviewed="2020-01-01"),
                team(2, "fresh", "Fresh", last_reviewed="2026-01-01")], seq=1)
    snap = Snapshots(ix.path).current()
    stale, fresh = snap.docnum_of[1], snap.docnum_of[2]
    demoted = demote_overdue(snap, {stale: 2.0, fresh: 2.0}, ("2025-01-01", "2024-01-01"))
    assert demoted == {stale: 2.0 * REVIEW_PENALTY, fresh: 2.0}


def _similar(values: dict[int, float]) -> Similarities:
    return Similarities(np.array(list(values.values()), dtype=np.float32), list(values),
                        {team_id: row for row, team_id in enumerate(values)})


def test_a_team_matched_only_by_meaning_joins_the_results(index: SearchIndex) -> None:
    similar = _similar({t["id"]: 0.0 for t in TEAMS} | {5: 0.9})
    results = index.query("somewhere to leave my bicycle", semantic=("v1", lambda q, corrected: lambda: similar))
    assert "security-desk" in [hit["slug"] for hit in results.hits]
    assert slugs(index, "somewhere to leave my bicycle") == []


def test_a_contact_address_is_not_blended_with_meaning(index: SearchIndex) -> None:
    similar = _similar({t["id"]: 0.0 for t in TEAMS} | {5: 0.95})
    results = index.query("payroll@example.com", semantic=("v1", lambda q, corrected: lambda: similar))
    assert [hit["slug"] for hit in results.hits] == ["payroll"]
