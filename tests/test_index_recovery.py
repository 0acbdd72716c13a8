"""Faults that used to become outages or silent loss in search.

A lost or corrupt index is rebuilt once, in the background, while searches answer from the
database; an index update that failed (lock timeout, full disk, a worker killed after its commit)
is applied by the next catch-up even when later changes moved the sequence past it.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from whoosh.filedb.filestore import FileStorage

from directory import services
from directory.db import get_session
from directory.schemas import load_team
from directory.services import CHANGED_KEY
from search.documents import INDEX_NAME
from tests.conftest import ADMIN, make_app, team_doc

WAIT = 30  # seconds a test waits for something that should take milliseconds


def slugs(client: Any, q: str) -> list[str]:
    response = client.get("/api/v1/search", query_string={"q": q})
    assert response.status_code == 200
    return [hit["slug"] for hit in response.json["results"]]


def add_team(app: Flask, **overrides: Any) -> None:
    with app.app_context():
        session = get_session()
        services.create_team(session, load_team(team_doc(**overrides)), ADMIN)
        session.commit()


def edit_summary(app: Flask, slug: str, summary: str, *, lose_index_update: bool = False) -> None:
    """Save a new summary through the service layer; `lose_index_update` commits it as a worker
    killed right after its commit would: the index hears nothing of it."""
    with app.app_context():
        session = get_session()
        team = services.get_team(session, slug)
        data = load_team({**services.team_document(team), "summary": summary})
        assert services.update_team(session, team, data, ADMIN)
        if lose_index_update:
            session.info.pop(CHANGED_KEY)
        session.commit()


def three_teams(app: Flask) -> None:
    add_team(app)
    add_team(app, slug="travel", name="Travel Desk", summary="Flights, hotels and visas.", contacts=[],
             description="Book business travel.", services=[], tags=["travel"])
    add_team(app, slug="legal", name="Legal", summary="Contracts and NDA review.", contacts=[],
             description="Ask before you sign.", services=[], tags=["legal"])


class GatedRebuild:
    """Wraps an index's rebuild so it starts, counts itself and waits until the test opens it."""

    def __init__(self, index: Any) -> None:
        self.real = index.rebuild
        self.calls = 0
        self.started = threading.Event()
        self.gate = threading.Event()
        index.rebuild = self

    def __call__(self, *args: Any, **kwargs: Any) -> int:
        self.calls += 1
        self.started.set()
        assert self.gate.wait(WAIT), "the test never let the rebuild finish"
        return self.real(*args, **kwargs)


@pytest.fixture
def apps(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Apps (stand-ins for worker processes) on one database and one index folder, each rebuilding
    a lost index in the background whatever its size."""
    made: list[Flask] = []

    def make(name: str = "a", **config: Any) -> Flask:
        app = make_app(tmp_path / name, DATABASE_URL=f"sqlite:///{tmp_path / 'shared.sqlite3'}",
                       INDEX_DIR=str(tmp_path / "index"), SEARCH_INLINE_REBUILD_TEAMS=0, **config)
        made.append(app)
        return app

    yield make
    for app in made:
        service = app.extensions["directory_search"]
        gate = service.index.rebuild
        if isinstance(gate, GatedRebuild):
            gate.gate.set()
        service.wait_rebuilt(WAIT)
        app.extensions["directory_db"].engine.dispose()


def damage(index_dir: Path, how: str) -> None:
    if how == "deleted":
        shutil.rmtree(index_dir)
    else:
        for path in index_dir.iterdir():
            if path.is_file():
                path.write_bytes(b"garbage")


# -- a lost index ----------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["deleted", "corrupt"])
def test_searches_answer_from_the_database_while_one_background_rebuild_runs(
    apps: Callable[..., Flask], tmp_path: Path, how: str
) -> None:
    app = apps()
    assert app.extensions["directory_search"].ensure()
    three_teams(app)
    assert slugs(app.test_client(), "payslip") == ["payroll"]
    damage(tmp_path / "index", how)
    if how == "corrupt":  # a worker starting on the damaged index (a running one keeps its open files)
        app = apps("fresh")
    service = app.extensions["directory_search"]
    client = app.test_client()
    gated = GatedRebuild(service.index)

    answers: list[tuple[int, list[str]]] = []

    def search() -> None:
        response = app.test_client().get("/api/v1/search?q=payroll")
        answers.append((response.status_code, [hit["slug"] for hit in response.json["results"]]))

    searchers = [threading.Thread(target=search) for _ in range(6)]
    for thread in searchers:
        thread.start()
    for thread in searchers:
        thread.join(WAIT)
    # Every searcher answered while the rebuild was still held at its gate: none waited for it.
    assert not gated.gate.is_set()
    assert answers == [(200, ["payroll"])] * 6
    assert gated.started.wait(WAIT) and gated.calls == 1
    health = client.get("/healthz")
    assert (health.status_code, health.json) == (200, {"status": "ok", "search": "rebuilding", "semantic": "off"})
    # The database fallback matches names, not summaries: "payslip" is only in the index.
    assert slugs(client, "payslip") == []

    gated.gate.set()
    assert service.wait_rebuilt(WAIT)
    assert client.get("/healthz").json == {"status": "ok", "search": "ok", "semantic": "off"}
    body = client.get("/api/v1/search?q=payslip").json
    assert [hit["slug"] for hit in body["results"]] == ["payroll"]
    assert any("<mark>" in html for html in body["results"][0]["highlights"].values())
    assert gated.calls == 1


def test_of_the_processes_noticing_a_lost_index_only_one_rebuilds_it(apps: Callable[..., Flask],
                                                                    tmp_path: Path) -> None:
    first, second = apps("a"), apps("b")
    assert first.extensions["directory_search"].ensure()
    three_teams(first)
    shutil.rmtree(tmp_path / "index")
    builder = GatedRebuild(first.extensions["directory_search"].index)
    waiter = GatedRebuild(second.extensions["directory_search"].index)
    waiter.gate.set()

    assert slugs(first.test_client(), "legal") == ["legal"]  # from the database
    assert builder.started.wait(WAIT)
    assert slugs(second.test_client(), "legal") == ["legal"]  # also from the database
    # The second process's rebuild thread waits on the rebuild lock the first one holds.
    assert second.test_client().get("/healthz").json["search"] == "rebuilding"

    builder.gate.set()
    for app in (first, second):
        assert app.extensions["directory_search"].wait_rebuilt(WAIT)
        assert slugs(app.test_client(), "nda") == ["legal"]  # words only the index knows
    assert (builder.calls, waiter.calls) == (1, 0)


def test_a_failed_background_rebuild_keeps_search_answering_and_is_retried(
    apps: Callable[..., Flask], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = apps()
    service = app.extensions["directory_search"]
    assert service.ensure()
    three_teams(app)
    shutil.rmtree(tmp_path / "index")
    real = service.index.rebuild
    attempts = []

    def full_disk(*args: Any, **kwargs: Any) -> int:
        attempts.append(1)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(service.index, "rebuild", full_disk)
    client = app.test_client()
    assert slugs(client, "travel") == ["travel"]
    assert service.wait_rebuilt(WAIT)
    assert slugs(client, "travel") == ["travel"]  # not retried on every search
    assert service.wait_rebuilt(WAIT) and len(attempts) == 1

    monkeypatch.setattr(service.index, "rebuild", real)
    monkeypatch.setattr(service, "_retry_at", 0.0)  # the retry delay has passed
    assert slugs(client, "visas") == []  # from the database; starts the retry
    assert service.wait_rebuilt(WAIT)
    assert slugs(client, "visas") == ["travel"]


# -- failed updates ---------------------------------------------------------------------------------


@pytest.fixture
def writer_app(apps: Callable[..., Flask]) -> Flask:
    app = apps(SEARCH_LOCK_TIMEOUT=0.2)
    assert app.extensions["directory_search"].ensure()
    three_teams(app)
    return app


def held_write_lock(tmp_path: Path) -> Any:
    """The index's write lock, as a writer stuck in another process would hold it."""
    lock = FileStorage(str(tmp_path / "index")).lock(f"{INDEX_NAME}_WRITELOCK")
    assert lock.acquire(blocking=False)
    return lock


def test_an_update_that_timed_out_is_applied_by_the_next_search(writer_app: Flask, tmp_path: Path) -> None:
    client = writer_app.test_client()
    lock = held_write_lock(tmp_path)
    try:
        edit_summary(writer_app, "payroll", "We also book zeppelin travel.")
        assert slugs(client, "zeppelin") == []  # the catch-up cannot write either: the index as it is
    finally:
        lock.release()
    assert slugs(client, "zeppelin") == ["payroll"]


def test_an_update_that_timed_out_is_repaired_after_later_changes_moved_the_sequence_on(
    writer_app: Flask, tmp_path: Path
) -> None:
    lock = held_write_lock(tmp_path)
    try:
        edit_summary(writer_app, "payroll", "We also book zeppelin travel.")
    finally:
        lock.release()
    edit_summary(writer_app, "travel", "Flights, hotels, visas and rail passes.")  # indexed fine
    client = writer_app.test_client()
    assert slugs(client, "rail") == ["travel"]
    assert slugs(client, "zeppelin") == ["payroll"]


def test_an_update_lost_to_a_full_disk_is_repaired(writer_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    index = writer_app.extensions["directory_search"].index

    def full_disk(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(index, "apply", full_disk)
    edit_summary(writer_app, "legal", "Contracts, NDA review and zeppelin leases.")
    monkeypatch.undo()
    edit_summary(writer_app, "travel", "Flights, hotels, visas and rail passes.")
    client = writer_app.test_client()
    assert slugs(client, "zeppelin") == ["legal"]


def test_a_change_whose_worker_died_after_commit_is_applied(writer_app: Flask) -> None:
    edit_summary(writer_app, "legal", "Contracts, NDA review and zeppelin leases.", lose_index_update=True)
    for n in range(60):  # more later changes than the catch-up's look-back
        edit_summary(writer_app, "travel", f"Flights, hotels and visas (revision {n}).")
    assert slugs(writer_app.test_client(), "zeppelin") == ["legal"]


def test_applied_changes_are_not_written_again_by_the_catch_up(writer_app: Flask,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Remembering what was applied must not cost a re-write of every recent team per search."""
    client = writer_app.test_client()
    assert slugs(client, "payslip") == ["payroll"]
    index = writer_app.extensions["directory_search"].index
    written: list[list[int]] = []
    real = index.apply

    def spy(upserts: Any, deletes: Any, *args: Any, **kwargs: Any) -> None:
        upserts = list(upserts)
        written.append(sorted(doc["id"] for doc in upserts))
        real(upserts, deletes, *args, **kwargs)

    monkeypatch.setattr(index, "apply", spy)
    edit_summary(writer_app, "travel", "Flights, hotels, visas and rail passes.")
    assert slugs(client, "rail") == ["travel"]
    assert slugs(client, "payslip") == ["payroll"]
    assert len(written) == 1 and len(written[0]) == 1


def test_healthz_never_touches_the_index(apps: Callable[..., Flask], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    app = apps()
    service = app.extensions["directory_search"]
    assert service.ensure()
    shutil.rmtree(tmp_path / "index")

    def touched(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("/healthz touched the index")

    for name in ("is_usable", "state", "query", "rebuild", "apply"):
        monkeypatch.setattr(service.index, name, touched)
    health = app.test_client().get("/healthz")
    assert (health.status_code, health.json) == (200, {"status": "ok", "search": "ok", "semantic": "off"})
    assert not (tmp_path / "index").exists()
