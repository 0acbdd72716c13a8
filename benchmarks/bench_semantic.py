"""Search with meaning at 10,000 teams: API p95 with the semantic blend against raw Whoosh, the
time to compute the team vectors (apart from the import), and the serving process's memory.

Imports synthetic teams (benchmarks/bench_search_raw.py) with SEARCH_SEMANTIC off, so the import
is timed alone; then computes every team's vectors once (stored in team_vectors, as a write or
the first search would); then a second pass shows a restart finds them all cached.

    python benchmarks/bench_semantic.py [--teams 10000] [--queries 300] [--embed 500]

With --embed N only N teams are embedded for real (timed, and extrapolated to all); the others get
random vectors of the same shape, which cost a search exactly as much.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_search import pct, rss_mb, time_api_searches  # noqa: E402
from bench_search_raw import mixed_queries, synthetic_teams  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--teams", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--embed", type=int, default=0,
                        help="compute real vectors for only this many teams (0: all) and extrapolate")
    args = parser.parse_args()

    from directory import create_app
    from search import SearchIndex

    work = Path(tempfile.mkdtemp(prefix="bench-semantic-"))
    teams = synthetic_teams(args.teams, seed=1)
    for team in teams:
        team.pop("id")
    (work / "teams.json").write_text(json.dumps(teams))
    env = dict(os.environ, DIRECTORY_INSTANCE=str(work), SECRET_KEY="bench", SEARCH_SEMANTIC="0")
    env.pop("DATABASE_URL", None)
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "directory"), "import", str(work / "teams.json")],
                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"directory import of {args.teams} teams without vectors: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "directory"), "reindex"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"directory reindex (Whoosh index rebuilt from the database): {time.perf_counter() - started:.1f} s")

    config = {"INSTANCE_PATH": str(work), "SECRET_KEY": "bench", "SEARCH_SEMANTIC": True}
    app = create_app(config)
    ranker = app.extensions["directory_search"].semantic
    ranker.encoder()
    with app.app_context():
        import numpy as np
        from sqlalchemy import select

        from directory.db import get_session
        from directory.models import Team

        session = get_session()
        docs = [dict(data, id=team_id) for team_id, data in session.execute(select(Team.id, Team.data))]
        sample = docs[: args.embed] if args.embed else docs
        started = time.perf_counter()
        found = ranker.vectors_for(session, sample)
        computed = time.perf_counter() - started
        rows = sum(len(matrix) for _, matrix in found.values())
        print(f"team vectors computed and stored for {len(sample)} teams ({rows} passages): {computed:.1f} s, "
              f"{computed / len(sample) * 1000:.0f} ms per team"
              + (f"; {args.teams} teams would take ~{computed / len(sample) * args.teams / 60:.0f} min"
                 if len(sample) < len(docs) else ""))
        # Teams not in the sample get random unit vectors of the sample's shape, in memory only:
        # a search costs the same whatever the vectors hold.
        rng = np.random.default_rng(1)
        per_team = max(1, round(rows / len(sample)))
        for doc in docs[len(sample):]:
            matrix = rng.standard_normal((per_team, 384)).astype(np.float32)
            found[doc["id"]] = ("random", matrix / np.linalg.norm(matrix, axis=1, keepdims=True))

    restarted = create_app(config)  # another process or host: the sample's vectors are found by hash
    semantic_of = restarted.extensions["directory_search"].semantic
    started = time.perf_counter()
    with restarted.app_context(), semantic_of.factory() as session:
        reloaded = semantic_of.vectors_for(session, sample)
    print(f"{len(reloaded)} vectors loaded from the database by a restarted process: "
          f"{time.perf_counter() - started:.2f} s")
    semantic_of.vectors.update(found, replace=True)
    semantic_of.vectors.loaded = True

    client = restarted.test_client()
    queries = mixed_queries(args.queries, seed=1)
    api_ms = time_api_searches(client, queries)
    serving_rss = rss_mb()

    raw = SearchIndex(restarted.extensions["directory_search"].index.path, ROOT / "seeds" / "synonyms.txt")
    raw_ms: list[float] = []
    for q in queries:
        started = time.perf_counter()
        raw.query(q)
        raw_ms.append((time.perf_counter() - started) * 1000)

    print(f"\n{args.queries} mixed queries at {args.teams} teams:")
    print(f"{'':30} {'median ms':>10} {'p95 ms':>8}")
    print(f"{'API, words and meaning':30} {statistics.median(api_ms):10.2f} {pct(api_ms, 95):8.2f}")
    print(f"{'raw SearchIndex.query, words':30} {statistics.median(raw_ms):10.2f} {pct(raw_ms, 95):8.2f}")
    print(f"serving process resident memory (model, vectors, index caches): {serving_rss:.0f} MB")


if __name__ == "__main__":
    main()
