"""Time the hours engine: is_open, next_open and add (1 business hour vs 30 business days).

    python benchmarks/bench_hours.py [--seeds seeds/teams.yaml]

Runs on the seeded teams (when the YAML list of §1 teams exists) and on a synthetic calendar
with many closures. Prints the median microseconds per call for each operation, warm (the
schedule's per-date memo filled, as in a long-running server) and cold (a fresh schedule per
instant), and the ratio time(30 business days) / time(1 business hour), which must stay under 5:
the engine walks open periods and days, never minutes.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from directory.hours import Schedule  # noqa: E402

RATIO_LIMIT = 5.0
INSTANTS = 200
REPEATS = 20
BATCH = 10


def synthetic_hours(closures: int = 500) -> dict[str, Any]:
    """Office hours with lunch, English bank holidays and `closures` closures over 2026-2028."""
    rng = random.Random(7)
    items = []
    for i in range(closures):
        day = date(2026, 1, 1) + timedelta(days=rng.randrange(3 * 365))
        if i % 2:
            items.append({"start": day.isoformat(), "end": (day + timedelta(days=rng.randrange(3))).isoformat()})
        else:
            start = datetime(day.year, day.month, day.day, rng.randrange(8, 16), rng.choice((0, 30)))
            end = start + timedelta(minutes=rng.choice((30, 60, 90, 120, 240)))
            items.append({"start": start.strftime("%Y-%m-%dT%H:%M"), "end": end.strftime("%Y-%m-%dT%H:%M")})
    weekday = [["09:00", "12:30"], ["13:30", "17:30"]]
    return {
        "weekly": {"mon": weekday, "tue": weekday, "wed": weekday, "thu": weekday, "fri": [["09:00", "16:00"]]},
        "holidays": {"country": "GB", "subdivision": "ENG"},
        "closures": items,
    }


def load_seeds(path: Path) -> list[tuple[str, dict[str, Any], str]]:
    if not path.exists():
        print(f"(no {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: seeded teams skipped)")
        return []
    import yaml

    teams = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    found = []
    for team in teams:
        if isinstance(team, dict) and team.get("hours"):
            found.append((str(team.get("slug") or team.get("name")), team["hours"], team.get("timezone") or "UTC"))
    return found


def instants(count: int) -> list[datetime]:
    rng = random.Random(11)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [start + timedelta(minutes=rng.randrange(2 * 365 * 24 * 60)) for _ in range(count)]


OPS: dict[str, Callable[[Schedule, datetime], object]] = {
    "is_open": lambda s, at: s.is_open(at),
    "next_open": lambda s, at: s.next_open(at),
    "add 1 business_hours": lambda s, at: s.add(at, 1, "business_hours"),
    "add 30 business_days": lambda s, at: s.add(at, 30, "business_days"),
}


def warm_medians(schedule: Schedule, ats: list[datetime]) -> dict[str, float]:
    """Median time per call, in microseconds, with the schedule's per-date memo filled.

    Each sample times BATCH calls; the operations take turns batch by batch, so on a shared,
    busy machine a burst of load spoils a few samples of every operation alike, and the median
    drops them.
    """
    for f in OPS.values():  # warm up: fill the schedule's per-date memo
        for at in ats:
            f(schedule, at)
    batches = [ats[i : i + BATCH] for i in range(0, len(ats), BATCH)]
    samples: dict[str, list[float]] = {op: [] for op in OPS}
    gc.collect()
    for _ in range(REPEATS):
        for batch in batches:
            for op, f in OPS.items():
                t0 = time.perf_counter_ns()
                for at in batch:
                    f(schedule, at)
                samples[op].append((time.perf_counter_ns() - t0) / len(batch) / 1000)
    return {op: statistics.median(values) for op, values in samples.items()}


def cold_median_us(build: Callable[[], Schedule], op: Callable[[Schedule, datetime], object], ats: list[datetime]) -> float:
    """Median time per call on a fresh schedule (empty per-date memo), building excluded."""
    samples = []
    for at in ats:
        schedule = build()
        t0 = time.perf_counter_ns()
        op(schedule, at)
        samples.append((time.perf_counter_ns() - t0) / 1000)
    return statistics.median(samples)


SHORT = {"is_open": "is_open", "next_open": "next_open", "add 1 business_hours": "1 bh", "add 30 business_days": "30 bd"}


def bench(name: str, hours: dict[str, Any], tz: str, ats: list[datetime]) -> dict[str, float]:
    """Print one table row: warm and cold medians (µs per call) and the 30 bd / 1 bh ratios."""
    schedule = Schedule.from_team(hours, tz)
    assert schedule is not None

    def fresh() -> Schedule:
        spec = hours.get("holidays")
        return Schedule(
            ZoneInfo(tz),
            hours.get("weekly") or {},
            (spec["country"], spec.get("subdivision")) if spec else None,
            list(hours.get("closures") or ()),
        )

    warm = warm_medians(schedule, ats)
    cold = {op: cold_median_us(fresh, f, ats[:50]) for op, f in OPS.items()}
    ratio = warm["add 30 business_days"] / warm["add 1 business_hours"]
    cold_ratio = cold["add 30 business_days"] / cold["add 1 business_hours"]
    cells = "".join(f"{warm[op]:>10.1f}" for op in OPS) + f"{ratio:>8.2f}"
    cells += "   " + "".join(f"{cold[op]:>10.1f}" for op in OPS) + f"{cold_ratio:>8.2f}"
    print(f"{name[:40]:<40}{cells}")
    return {"ratio": ratio, **warm}


def main(argv: list[str] | None = None) -> int:
    gc.disable()  # as timeit does: collector pauses are noise here, not cost of the engine
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=Path, default=ROOT / "seeds" / "teams.yaml")
    args = parser.parse_args(argv)
    ats = instants(INSTANTS)
    seeds = load_seeds(args.seeds)
    names = "".join(f"{SHORT[op]:>10}" for op in OPS)
    print("median µs per call; warm = schedule reused (per-date memo filled), cold = fresh schedule")
    print(f"{'':<40}{'warm':<48}   {'cold'}")
    print(f"{'calendar':<40}{names}{'ratio':>8}   {names}{'ratio':>8}")
    results = [bench("synthetic: 500 closures, GB holidays", synthetic_hours(), "Europe/London", ats)]
    for name, hours, tz in seeds:
        try:
            results.append(bench(f"{name} ({tz})", hours, tz, ats))
        except ValueError as error:
            print(f"{name}: invalid hours, skipped: {error}")
    ratios = sorted(r["ratio"] for r in results)
    print(
        f"\nwarm ratio 30 business days / 1 business hour over {len(results)} calendars: "
        f"median {statistics.median(ratios):.2f}, worst {ratios[-1]:.2f} (limit {RATIO_LIMIT})"
    )
    return 0 if ratios[-1] < RATIO_LIMIT else 1


if __name__ == "__main__":
    raise SystemExit(main())
