"""The searcher of the latest generation and its caches: reopened when the index changes,
never showing deleted teams, and failing clearly when the index is gone."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from search import IndexUnusableError, SearchIndex
from search.snapshots import Snapshots, count_values
from tests.search.sample import TEAMS, slugs, team


def test_query_on_a_missing_index_raises_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IndexUnusableError):
        SearchIndex(tmp_path / "index").query("pay")


def test_deleted_and_updated_teams_do_not_reappear_in_a_long_lived_reader(index: SearchIndex) -> None:
    reader = SearchIndex(index.path)
    assert slugs(reader, "print") == ["print-room", "travel"]
    writer = SearchIndex(index.path)
    writer.apply([{**TEAMS[5], "summary": "Binding only."}], [8], seq=11)
    assert slugs(reader, "large format") == []
    assert slugs(reader, "boarding passes") == []
    assert reader.query("").total == len(TEAMS) - 1
    assert slugs(reader, "binding") == ["print-room"]


def test_other_instances_see_a_rebuild(index: SearchIndex) -> None:
    reader = SearchIndex(index.path)
    assert reader.query("").total == len(TEAMS)
    index.rebuild(TEAMS[:3], seq=20)
    assert reader.query("").total == 3
    assert reader.last_seq() == 20


def test_a_deleted_index_fails_clearly_and_a_rebuild_is_seen(index: SearchIndex) -> None:
    reader = SearchIndex(index.path)
    assert reader.query("").total == len(TEAMS)
    shutil.rmtree(index.path)
    assert reader.is_usable() is False
    with pytest.raises(IndexUnusableError):
        reader.query("")
    SearchIndex(index.path).rebuild(TEAMS[:2], seq=3)
    assert reader.query("").total == 2


def test_the_snapshot_is_kept_until_another_writer_commits(index: SearchIndex) -> None:
    snapshots = Snapshots(index.path)
    first = snapshots.current()
    assert snapshots.current() is first
    SearchIndex(index.path).apply([team(9, "zeppelins", "Zeppelin Desk")], [], seq=11)
    second = snapshots.current()
    assert second is not first
    assert second.generation > first.generation
    assert 9 in second.docnum_of and 9 not in first.docnum_of
    snapshots.close()


def test_segment_caches_follow_the_segments_of_the_index(index: SearchIndex) -> None:
    snapshots = Snapshots(index.path)
    before = snapshots.current()
    index.apply([team(9, "zeppelins", "Zeppelin Desk")], [], seq=11)
    index.rebuild(TEAMS, seq=12)
    after = snapshots.current()
    live = {leaf.segment_id for leaf in after.leaves}
    assert set(snapshots.caches.segments) == live
    assert not live & {leaf.segment_id for leaf in before.leaves}
    assert sorted(after.ids[d] for d in after.live) == [t["id"] for t in TEAMS]
    snapshots.close()


def test_a_forked_process_opens_its_own_searcher(index: SearchIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    snapshots = Snapshots(index.path)
    parent = snapshots.current()
    child_pid = os.getpid() + 1
    monkeypatch.setattr(os, "getpid", lambda: child_pid)
    child = snapshots.current()
    assert child is not parent and child.searcher is not parent.searcher
    assert snapshots.current() is child
    assert sorted(child.ids) == sorted(parent.ids)
    snapshots.close()


def test_browse_order_is_by_name_then_id(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "index")
    ix.rebuild([team(3, "b", "Beta"), team(1, "a2", "alpha"), team(2, "a1", "Alpha")], seq=1)
    snap = Snapshots(ix.path).current()
    assert [snap.ids[d] for d in snap.order] == [1, 2, 3]
    assert [snap.rank[d] for d in sorted(snap.live, key=snap.ids.__getitem__)] == [0, 1, 2]


def test_overdue_by_the_last_review_or_else_by_creation(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "index")
    ix.rebuild([team(1, "old-review", "A", last_reviewed="2024-01-01", created_at="2020-01-01"),
                team(2, "new-review", "B", last_reviewed="2026-01-01", created_at="2020-01-01"),
                team(3, "old-never", "C", created_at="2023-06-01"),
                team(4, "new-never", "D", created_at="2026-06-01"),
                team(5, "no-dates", "E")], seq=1)
    snap = Snapshots(ix.path).current()
    cutoffs = ("2025-01-01", "2024-01-01")
    overdue = {snap.ids[d]: snap.overdue(d, cutoffs) for d in snap.live}
    assert overdue == {1: True, 2: False, 3: True, 4: False, 5: False}
    assert not any(snap.overdue(d, None) for d in snap.live)


def test_facet_values_are_counted_per_team(index: SearchIndex) -> None:
    assert count_values(["x", "y", "x"], [0, 1, 2], many=False) == {"x": 2, "y": 1}
    assert count_values([("a", "b"), ("b",), ()], [0, 1, 2], many=True) == {"a": 1, "b": 2}
    snap = Snapshots(index.path).current()
    assert snap.facet_totals["department"]["Finance"] == 3
    assert {snap.ids[d] for d in snap.by_tag["tax"]} == {1, 7}


def test_stored_documents_are_those_indexed(index: SearchIndex) -> None:
    snap = Snapshots(index.path).current()
    doc = snap.document(snap.docnum_of[1])
    assert (doc["slug"], doc["department"], doc["tags"]) == ("payroll", "Finance", ["pay", "tax"])
    assert snap.document(snap.docnum_of[1]) is doc
