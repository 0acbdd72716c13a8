"""Several worker processes write to one index at once: every write lands and none of them
sees a lock error (they wait their turn on the index's file lock)."""

from __future__ import annotations

import multiprocessing
import threading
import traceback
from pathlib import Path
from typing import Any

from search import SearchIndex

WRITES_PER_PROCESS = 25


def _team(team_id: int, writer: int) -> dict[str, Any]:
    return {
        "id": team_id,
        "slug": f"team-{team_id}",
        "name": f"Team {team_id}",
        "summary": f"Written by worker{writer} in round {team_id % 100}.",
        "department": f"Dept {writer}",
        "tags": [f"worker{writer}"],
    }


def _write_many(path: str, writer: int, start: Any, errors: Any) -> None:
    """One worker process: many small commits, as after-commit hooks would make."""
    try:
        index = SearchIndex(path, lock_timeout=60)
        start.wait(30)
        for i in range(WRITES_PER_PROCESS):
            team_id = writer * 1000 + i
            index.apply([_team(team_id, writer)], [], seq=team_id)
            if i % 5 == 0:
                index.query(f"worker{writer}")  # readers and writers interleave too
    except BaseException:
        errors.put(f"worker {writer}:\n{traceback.format_exc()}")
        raise


def test_two_processes_writing_at_once_both_land(tmp_path: Path) -> None:
    path = tmp_path / "index"
    index = SearchIndex(path)
    index.rebuild([_team(1, 0)], seq=1)
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    errors = ctx.Queue()
    workers = [ctx.Process(target=_write_many, args=(str(path), w, start, errors)) for w in (1, 2)]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(180)
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    assert not problems, "\n".join(problems)
    assert [worker.exitcode for worker in workers] == [0, 0]

    results = index.query("", page_size=100)
    assert results.total == 1 + 2 * WRITES_PER_PROCESS
    assert results.facets["tags"] == {"worker1": WRITES_PER_PROCESS, "worker2": WRITES_PER_PROCESS, "worker0": 1}
    ids = {hit["id"] for hit in results.hits}
    assert ids >= {w * 1000 + i for w in (1, 2) for i in range(WRITES_PER_PROCESS)}
    assert index.last_seq() == 2000 + WRITES_PER_PROCESS - 1
    assert SearchIndex(path).is_usable()


def test_a_rebuild_and_writes_at_once_leave_a_usable_index(tmp_path: Path) -> None:
    path = tmp_path / "index"
    SearchIndex(path).rebuild([_team(i, 0) for i in range(1, 50)], seq=1)
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    errors = ctx.Queue()
    worker = ctx.Process(target=_write_many, args=(str(path), 3, start, errors))
    worker.start()
    start.set()
    rebuilt = SearchIndex(path)
    for round_ in range(3):
        rebuilt.rebuild([_team(i, 0) for i in range(1, 50)], seq=10 + round_)
    worker.join(180)
    assert errors.empty(), errors.get()
    assert worker.exitcode == 0
    assert rebuilt.is_usable()
    total = rebuilt.query("").total
    # Writes that landed before the last rebuild were replaced by it (the caller replays them
    # from last_seq); the ones after it are there. Nothing is duplicated or lost in between.
    assert 49 <= total <= 49 + WRITES_PER_PROCESS
    assert rebuilt.query("", filters={"tag": ["worker0"]}).total == 49


def test_threads_searching_while_another_writes(tmp_path: Path) -> None:
    """One SearchIndex shared by a threaded server's request threads and its write hook."""
    index = SearchIndex(tmp_path / "index")
    index.rebuild([_team(i, 0) for i in range(1, 30)], seq=1)
    failures: list[BaseException] = []

    def search() -> None:
        try:
            for round_ in range(40):
                results = index.query(f"worker0 round {round_ % 10}", page_size=5)
                assert results.total >= 29
                index.suggest("tea")
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    def write() -> None:
        try:
            for i in range(15):
                index.apply([_team(100 + i, 4)], [i + 1] if i % 3 == 0 else [], seq=2 + i)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=search) for _ in range(3)] + [threading.Thread(target=write)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures, failures
    assert index.query("").total == 29 + 15 - 5
