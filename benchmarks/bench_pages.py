"""The A–Z page (`/teams`) at 6,000 teams: bytes per page and requests per second.

Loads synthetic teams (benchmarks/bench_search_raw.py) into a temporary SQLite directory with
`directory import`, then requests the first page, a page reached by a letter link and the last
page through the test client, serially, and `/healthz` as the baseline measured in the same run.
Also checks that every team is listed exactly once across the pages. Prints figures only.

    python benchmarks/bench_pages.py [--teams 6000] [--seconds 3] [--keep] [--instance DIR]

`--keep` leaves the loaded instance folder in place; `--instance` reuses one (loading takes minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_search_raw import synthetic_teams  # noqa: E402

WEEKDAY_HOURS = {"weekly": {d: [["09:00", "17:30"]] for d in ("mon", "tue", "wed", "thu", "fri")}}
TEAM_LINK = re.compile(r'href="/teams/([a-z0-9-]+)"')
PAGE_LINK = re.compile(r'href="(/teams\?[^"#]*page=(\d+)[^"]*)"')


def rate(client: Any, url: str, seconds: float) -> tuple[float, int]:
    """Requests per second for `url`, served one after another, and the size of the answer."""
    size = len(client.get(url).data)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        count += 1
    return count / (time.perf_counter() - started), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--teams", type=int, default=6000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--instance", type=Path, help="an instance folder this script loaded before")
    parser.add_argument("--keep", action="store_true", help="keep the instance folder it loads")
    args = parser.parse_args()
    work = args.instance or Path(tempfile.mkdtemp(prefix="bench-pages-"))
    try:
        measure(args, work)
    finally:
        if args.instance is None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def measure(args: argparse.Namespace, work: Path) -> None:
    """Load the teams unless `work` holds them already, then print the figures."""
    if args.instance is None:
        teams = synthetic_teams(args.teams, seed=2)
        for i, team in enumerate(teams):
            team.pop("id")
            if i % 2 == 0:
                team["hours"] = WEEKDAY_HOURS
        (work / "teams.json").write_text(json.dumps(teams))
        env = dict(os.environ, DIRECTORY_INSTANCE=str(work), SECRET_KEY="bench")
        env.pop("DATABASE_URL", None)
        env.pop("INDEX_DIR", None)
        started = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "directory"), "import", str(work / "teams.json")],
                       env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kept = f" (kept in {work})" if args.keep else ""
        print(f"directory import of {args.teams} teams: {time.perf_counter() - started:.1f} s{kept}")

    os.environ.update(DIRECTORY_INSTANCE=str(work), SECRET_KEY="bench")
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("INDEX_DIR", None)
    from directory import create_app

    client = create_app().test_client()
    first = client.get("/teams").get_data(as_text=True)
    pages = sorted({int(n) for _url, n in PAGE_LINK.findall(first)} | {1})
    last = max(pages)
    seen: list[str] = []
    largest = 0
    for page in range(1, last + 1):
        body = client.get(f"/teams?page={page}").get_data(as_text=True)
        largest = max(largest, len(body.encode()))
        seen.extend(TEAM_LINK.findall(body))
    print(f"{len(seen)} team links on {last} page(s), {len(set(seen))} distinct; "
          f"largest page {largest / 1024:.0f} KB")
    letter_urls = [url.split("#")[0] for url, _n in PAGE_LINK.findall(first) if "#letter" in url]

    baseline, _size = rate(client, "/healthz", args.seconds)
    print(f"/healthz (baseline): {baseline:.0f} req/s")
    targets = [("/teams", "first page")]
    if letter_urls:
        targets.append((letter_urls[len(letter_urls) // 2], "a letter link"))
    if last > 1:
        targets.append((f"/teams?page={last}", "last page"))
    for url, what in targets:
        per_second, size = rate(client, url, args.seconds)
        print(f"{url} ({what}): {size / 1024:.0f} KB, {per_second:.1f} req/s "
              f"({per_second / baseline:.3f}x the baseline)")


if __name__ == "__main__":
    main()
