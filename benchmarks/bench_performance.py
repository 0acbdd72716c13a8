"""Time `performance` (CONTRACT §4) for one team with many recorded requests.

    python benchmarks/bench_performance.py [--requests 100000] [--repeats 30] [--database-url URL]

Loads the requests through `directory.performance.import_requests` (the path `directory
import-requests` takes: promises from the hours engine, bulk inserts), then prints the median and
p95 milliseconds of `performance()` over the default 90-day window, of `weekly()`, and of
`GET /api/v1/teams/{slug}/performance` through the app, against two baselines measured in the same
run: a trivial `SELECT 1` and a plain indexed count of the same window's rows. The ratio to the
count is what the grouped query costs beyond reading the window at all.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from directory import create_app, performance, services  # noqa: E402
from directory.db import get_db, get_session, upgrade  # noqa: E402
from directory.models import ServiceRequest  # noqa: E402
from directory.schemas import load_team  # noqa: E402

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
ADMIN = services.Actor(name="bench", is_admin=True)
WEEKDAY = [["09:00", "12:30"], ["13:30", "17:30"]]
TEAM = {
    "slug": "payroll", "name": "Payroll", "timezone": "Europe/London", "owners": ["alice@example.com"],
    "hours": {"weekly": {"mon": WEEKDAY, "tue": WEEKDAY, "wed": WEEKDAY, "thu": WEEKDAY, "fri": [["09:00", "16:00"]]},
              "holidays": {"country": "GB", "subdivision": "ENG"}},
    "response_time": {"value": 4, "unit": "business_hours"},
    "services": [{"name": "Payslip corrections", "turnaround": {"value": 3, "unit": "business_days"}},
                 {"name": "Expenses", "turnaround": {"value": 5, "unit": "business_days"}}],
}


def reports(count: int) -> list[tuple[int, str, performance.Report]]:
    """Requests over the 180 days before NOW: most answered within a day or two, some never."""
    rng = random.Random(13)
    span = int(timedelta(days=180).total_seconds())
    found = []
    for n in range(count):
        received = NOW - timedelta(seconds=rng.randrange(span))
        reply = received + timedelta(minutes=rng.randrange(5, 3 * 24 * 60)) if rng.random() < 0.9 else None
        service = rng.choice([None, "Payslip corrections", "Expenses"])
        resolved = received + timedelta(hours=rng.randrange(1, 10 * 24)) if service and rng.random() < 0.8 else None
        found.append((n + 2, "payroll", performance.Report(
            id=f"T-{n}", received_at=received, first_reply_at=reply, resolved_at=resolved, service=service)))
    return found


Samples = tuple[list[float], list[float]]  # wall-clock ms, this process's CPU ms


def timed(fn: Callable[[], Any], repeats: int) -> Samples:
    """Wall-clock and CPU milliseconds per call. SQLite runs inside this process, so its CPU time
    is the figure that stays put when other work shares the machine."""
    fn()  # warm: statement cache, pages in memory
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return wall, cpu


def line(label: str, samples: Samples, baseline: Samples | None = None) -> str:
    wall, cpu = samples
    median = statistics.median(wall)
    p95 = sorted(wall)[max(int(len(wall) * 0.95) - 1, 0)]
    ratio = ""
    if baseline:
        ratio = f"  ({statistics.median(cpu) / max(statistics.median(baseline[1]), 1e-3):.1f}x the count's CPU)"
    return (f"{label:<42} median {median:8.2f} ms  p95 {p95:8.2f} ms  CPU {statistics.median(cpu):8.2f} ms"
            f"{ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--database-url", help="default: SQLite in a temporary folder")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        app = create_app({
            "INSTANCE_PATH": f"{folder}/instance", "INDEX_DIR": f"{folder}/index", "SECRET_KEY": "bench",
            "DATABASE_URL": options.database_url or f"sqlite:///{folder}/bench.sqlite3",
        })
        with app.app_context():
            upgrade(get_db().engine)
            session = get_session()
            team = services.create_team(session, load_team(TEAM), ADMIN)
            session.commit()
            from sqlalchemy import update

            from directory.models import Revision

            session.execute(update(Revision).where(Revision.team_id == team.id)
                            .values(created_at=NOW - timedelta(days=400)))
            session.commit()

            lines = reports(options.requests)
            start = time.perf_counter()
            result = performance.import_requests(session, lines, ADMIN)
            session.commit()
            loaded = time.perf_counter() - start
            print(f"loaded {result.created} requests through import_requests in {loaded:.1f} s "
                  f"({result.created / loaded:,.0f} a second, promises included)")

            since, until = NOW - performance.DEFAULT_WINDOW, NOW
            in_window = session.scalar(select(func.count()).select_from(ServiceRequest).where(
                ServiceRequest.team_id == team.id, ServiceRequest.received_at >= since,
                ServiceRequest.received_at < until))
            print(f"{in_window} requests in the 90-day window; {options.repeats} timed runs each")

            trivial = timed(lambda: session.execute(text("SELECT 1")).scalar(), options.repeats)
            counted = timed(lambda: session.scalar(select(func.count()).select_from(ServiceRequest).where(
                ServiceRequest.team_id == team.id, ServiceRequest.received_at >= since,
                ServiceRequest.received_at < until)), options.repeats)
            base = counted
            found = performance.performance(session, team, since, until)
            measured = timed(lambda: performance.performance(session, team, since, until), options.repeats)
            weeks = timed(lambda: performance.weekly(session, team, since, until), options.repeats)
            summary = timed(lambda: performance.page_summary(session, team, NOW), options.repeats)
            session.rollback()

        client = app.test_client()
        url = f"/api/v1/teams/payroll/performance?until={NOW.isoformat().replace('+', '%2B')}"
        assert client.get(url).status_code == 200
        http = timed(lambda: client.get(url), options.repeats)

        print(line("baseline: SELECT 1", trivial))
        print(line("baseline: indexed count of the window", counted))
        print(line("performance() (one grouped query)", measured, base))
        print(line("weekly()", weeks, base))
        print(line("team page figures (performance + weekly)", summary, base))
        print(line("GET /api/v1/teams/payroll/performance", http, base))
        print(f"reply kept {found['reply']['kept']}/{found['reply']['measured']}, "
              f"resolution kept {found['resolution']['kept']}/{found['resolution']['measured']}")


if __name__ == "__main__":
    main()
