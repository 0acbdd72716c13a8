"""Search at 10,000 teams: through the API (test client) against raw Whoosh, in the same run.

Generates synthetic teams (benchmarks/bench_search_raw.py), loads them into a temporary SQLite
directory through the service layer, rebuilds the index (seconds), then times the same mixed
queries through `GET /api/v1/search` and straight against `SearchIndex.query`, and a single team
update with its index update. Reports medians, p95s, their ratio, and the process's resident memory.

    python benchmarks/bench_search.py [--teams 10000] [--queries 500]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_search_raw import mixed_queries, synthetic_teams  # noqa: E402

WEEKDAY_HOURS = {
    "weekly": {d: [["09:00", "17:30"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": {"country": "GB", "subdivision": "ENG"},
}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--teams", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--updates", type=int, default=50)
    args = parser.parse_args()

    import json
    import os
    import subprocess

    from directory import create_app, services
    from directory.db import get_session
    from directory.models import Team
    from search import SearchIndex

    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    teams = synthetic_teams(args.teams, seed=1)
    for i, team in enumerate(teams):
        team.pop("id")
        if i % 2 == 0:
            team["hours"] = WEEKDAY_HOURS
    (work / "teams.json").write_text(json.dumps(teams))
    env = dict(os.environ, DIRECTORY_INSTANCE=str(work), SECRET_KEY="bench", SEARCH_SEMANTIC="0")  # words: bench_semantic.py
    env.pop("DATABASE_URL", None)
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "directory"), "import", str(work / "teams.json")],
                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"directory import of {args.teams} teams (validation, revisions, first indexing): "
          f"{time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "directory"), "reindex"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"directory reindex (index rebuilt from the database): {time.perf_counter() - started:.1f} s")

    # This process now plays one server: it opens the index and answers searches.
    app = create_app({"INSTANCE_PATH": str(work), "SECRET_KEY": "bench", "SEARCH_SEMANTIC": False})
    client = app.test_client()
    search = app.extensions["directory_search"]
    queries = mixed_queries(args.queries, seed=1)
    api_ms = time_api_searches(client, queries)
    serving_rss = rss_mb()

    # The same queries straight against Whoosh, on a second index object with caches as cold as the
    # API's were (the API's object has cached every answer by now).
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
        slugs = [t["slug"] for t in teams[: args.updates]]
        for n, slug in enumerate(slugs):
            team = session.query(Team).filter_by(slug=slug).one()
            data: dict[str, Any] = dict(team.data, summary=f"Updated summary number {n} about zeppelins.")
            started = time.perf_counter()
            services.update_team(session, team, data, services.SYSTEM)
            session.commit()
            update_ms.append((time.perf_counter() - started) * 1000)
    found = client.get("/api/v1/search?q=zeppelins").json["total"]

    print(f"\n{args.queries} mixed queries (words, phrases, questions, typos, prefixes) at {args.teams} teams:")
    print(f"{'':22} {'median ms':>10} {'p95 ms':>8}")
    print(f"{'through the API':22} {statistics.median(api_ms):10.2f} {pct(api_ms, 95):8.2f}")
    print(f"{'raw SearchIndex.query':22} {statistics.median(raw_ms):10.2f} {pct(raw_ms, 95):8.2f}")
    print(f"API / raw: median {statistics.median(api_ms) / statistics.median(raw_ms):.2f}x, "
          f"p95 {pct(api_ms, 95) / pct(raw_ms, 95):.2f}x")
    print(f"single team update incl. revision and index: median {statistics.median(update_ms):.1f} ms, "
          f"p95 {pct(update_ms, 95):.1f} ms ({found} updated teams found by the next search)")
    print(f"serving process resident memory with {args.teams} teams, after {args.queries} searches: "
          f"{serving_rss:.0f} MB")


if __name__ == "__main__":
    main()
