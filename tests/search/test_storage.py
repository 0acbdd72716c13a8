"""The index on disk: health checks, the state sidecar, locks, rebuilds and updates."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from whoosh.filedb.filestore import FileStorage

from search import SCHEMA_VERSION, IndexLockedError, IndexUnusableError, SearchIndex
from search.documents import INDEX_NAME, build_schema
from search.storage import IndexStorage
from tests.search.sample import TEAMS, slugs, team


def test_missing_directory_is_not_usable(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "nowhere")
    assert ix.is_usable() is False
    assert ix.last_seq() == 0


def test_garbage_files_are_not_usable(tmp_path: Path) -> None:
    path = tmp_path / "index"
    path.mkdir()
    (path / f"_{INDEX_NAME}_3.toc").write_bytes(os.urandom(200))
    (path / f"{INDEX_NAME}_abcdef.seg").write_bytes(os.urandom(500))
    (path / "state.json").write_text("{not json", encoding="utf-8")
    assert SearchIndex(path).is_usable() is False
    (path / "state.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION, "last_seq": 3}))
    assert SearchIndex(path).is_usable() is False


def test_corrupt_segment_is_not_usable(index: SearchIndex) -> None:
    segment_files = [p for p in index.path.glob(f"{INDEX_NAME}_*.*") if not p.name.endswith("WRITELOCK")]
    assert segment_files
    for segment in segment_files:
        segment.write_bytes(b"\0" * 64)
    assert SearchIndex(index.path).is_usable() is False


def test_a_missing_segment_file_is_not_usable(index: SearchIndex) -> None:
    next(index.path.glob(f"{INDEX_NAME}_*.pst")).unlink()
    assert SearchIndex(index.path).is_usable() is False


def test_older_schema_version_is_not_usable(index: SearchIndex) -> None:
    state = json.loads((index.path / "state.json").read_text())
    (index.path / "state.json").write_text(json.dumps({**state, "schema_version": SCHEMA_VERSION - 1}))
    fresh = SearchIndex(index.path)
    assert fresh.is_usable() is False
    assert fresh.last_seq() == 0


def test_index_files_of_an_older_version_are_not_usable_and_are_cleaned_up(tmp_path: Path) -> None:
    path = tmp_path / "index"
    old_name = f"teams_v{SCHEMA_VERSION - 1}" if SCHEMA_VERSION > 1 else "teams_v0"
    storage = FileStorage(str(path)).create()
    storage.create_index(build_schema(), indexname=old_name)
    (path / "state.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION - 1, "last_seq": 5}))
    ix = SearchIndex(path)
    assert ix.is_usable() is False
    ix.rebuild(TEAMS[:2], seq=7)
    assert ix.is_usable() is True
    assert not [name for name in os.listdir(path) if name.startswith((old_name, f"_{old_name}"))]


def test_last_seq_only_moves_forward_on_apply_but_rebuild_sets_it(index: SearchIndex) -> None:
    index.apply([], [], seq=15)
    assert index.last_seq() == 15
    index.apply([], [], seq=12)
    assert index.last_seq() == 15
    assert SearchIndex(index.path).last_seq() == 15
    index.rebuild(TEAMS, seq=11)
    assert index.last_seq() == 11


def test_rebuild_reports_progress(tmp_path: Path) -> None:
    seen: list[int] = []
    many = [team(i, f"t{i}", f"Team {i}") for i in range(1, 1202)]
    assert SearchIndex(tmp_path / "ix").rebuild(many, seq=1, progress=seen.append) == 1201
    assert seen[:2] == [500, 1000] and seen[-1] == 1201


def test_apply_to_a_missing_index_asks_for_a_rebuild(tmp_path: Path) -> None:
    with pytest.raises(IndexUnusableError):
        SearchIndex(tmp_path / "index").apply([TEAMS[0]], [], seq=1)


def test_upsert_adds_and_replaces_by_id(index: SearchIndex) -> None:
    index.apply([team(9, "zeppelins", "Zeppelin Desk", summary="Airship bookings.")], [], seq=11)
    assert slugs(index, "zeppelin") == ["zeppelins"]
    renamed = team(9, "blimps", "Blimp Desk", summary="Airship bookings.")
    index.apply([renamed], [], seq=12)
    assert slugs(index, "zeppelin") == []
    assert slugs(index, "airship") == ["blimps"]
    assert index.query("").total == len(TEAMS) + 1


def test_delete_removes_by_id(index: SearchIndex) -> None:
    index.apply([], [6], seq=11)
    assert "print-room" not in slugs(index, "printing")
    assert index.query("").total == len(TEAMS) - 1
    index.apply([], [6, 999], seq=12)  # deleting what is absent is harmless
    assert index.query("").total == len(TEAMS) - 1


def test_a_team_upserted_and_deleted_in_one_call_ends_up_deleted(index: SearchIndex) -> None:
    index.apply([team(9, "gone", "Gone Team")], [9], seq=11)
    assert slugs(index, "gone") == []


def test_a_held_lock_gives_a_clear_error_after_the_timeout(index: SearchIndex) -> None:
    lock = FileStorage(str(index.path)).lock(f"{INDEX_NAME}_WRITELOCK")
    assert lock.acquire()
    try:
        impatient = SearchIndex(index.path, lock_timeout=0.3)
        started = time.monotonic()
        with pytest.raises(IndexLockedError, match="locked"):
            impatient.apply([TEAMS[0]], [], seq=11)
        assert 0.25 <= time.monotonic() - started < 3
    finally:
        lock.release()
    SearchIndex(index.path, lock_timeout=0.3).apply([TEAMS[0]], [], seq=11)


def test_odd_team_data_is_indexed_without_fuss(index: SearchIndex) -> None:
    odd = {"id": 9, "name": "Odd", "tags": ["ok", 3, None], "services": ["not a dict", {"name": None}],
           "contacts": [{"kind": "email"}], "description": None, "summary": 42}
    index.apply([odd], [], seq=11)
    assert slugs(index, "odd") == [""]
    assert index.query("", filters={"tag": ["ok"]}).total == 1


def test_state_keeps_the_latest_change_per_team_and_forgets_old_ones(tmp_path: Path) -> None:
    store = IndexStorage(tmp_path / "index")
    store.rebuild(TEAMS[:3], seq=5, applied={1: 4, 2: 5})
    assert store.state() == (5, {1: 4, 2: 5})
    store.apply([TEAMS[0], TEAMS[1]], [], seq=7, applied={1: 7, 2: 3})
    assert store.state() == (7, {1: 7, 2: 5})
    store.apply([TEAMS[2]], [], seq=8, applied={3: 8}, keep_after=5)
    assert store.state() == (8, {1: 7, 3: 8})
    store.rebuild(TEAMS[:3], seq=6)
    assert store.state() == (6, {})


def test_a_garbled_state_file_reads_as_unknown(tmp_path: Path) -> None:
    store = IndexStorage(tmp_path / "index")
    store.rebuild(TEAMS[:1], seq=3, applied={1: 3})
    state_file = tmp_path / "index" / "state.json"
    state = json.loads(state_file.read_text())
    state_file.write_text(json.dumps({**state, "applied": {"one": "three"}}))
    assert store.state() == (0, {})
    state_file.write_text(json.dumps(["not", "an", "object"]))
    assert store.state() == (0, {})
    assert store.is_usable() is False


def test_a_second_rebuilder_waits_for_the_first(tmp_path: Path) -> None:
    path = tmp_path / "index"
    order: list[str] = []

    def second() -> None:
        with IndexStorage(path).rebuild_lock():
            order.append("second")

    with IndexStorage(path).rebuild_lock():
        waiter = threading.Thread(target=second)
        waiter.start()
        waiter.join(0.3)
        assert waiter.is_alive()
        order.append("first")
    waiter.join(5)
    assert order == ["first", "second"]
    assert (tmp_path / ".index.rebuild-lock").exists()  # beside the folder, so it outlives it


def test_a_failed_rebuild_leaves_the_index_as_it_was(index: SearchIndex) -> None:
    def teams_then_failure() -> Iterator[dict[str, Any]]:
        yield team(9, "half", "Half Built")
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError, match="went away"):
        index.rebuild(teams_then_failure(), seq=99)
    assert index.last_seq() == 10
    assert index.query("").total == len(TEAMS)
    assert slugs(index, "half built") == []
    assert not list(index.path.glob(".build-*"))


def test_a_rebuild_clears_scratch_folders_left_by_a_dead_rebuild(tmp_path: Path) -> None:
    path = tmp_path / "index"
    stale, recent = path / ".build-dead", path / ".build-running"
    for folder in (stale, recent):
        folder.mkdir(parents=True)
        (folder / "seg").write_bytes(b"x")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    IndexStorage(path).rebuild(TEAMS[:1], seq=1)
    assert not stale.exists()
    assert recent.exists()  # another process may still be building there


def test_a_write_made_while_a_long_lived_instance_waits_is_not_lost(index: SearchIndex) -> None:
    other = IndexStorage(index.path, lock_timeout=5)
    index.apply([team(9, "first", "First Desk")], [], seq=11)
    other.apply([team(10, "second", "Second Desk")], [], seq=12)
    assert set(slugs(index, "desk")) >= {"first", "second"}
    assert index.last_seq() == 12
