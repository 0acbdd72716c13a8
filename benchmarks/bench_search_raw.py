"""Raw search-index benchmark: build, query and update `search.SearchIndex` with no web stack.

    .venv/bin/python benchmarks/bench_search_raw.py [--teams 10000] [--queries 500] [--seed 1]

`synthetic_teams(n, seed)` and `mixed_queries(k, seed)` are importable so the API benchmark
can reuse the same data and workload. Vocabulary comes from `seeds/teams.yaml` when present
(real wording) plus generated words (a long tail, as a large organisation has), drawn with a
Zipf-like skew so some words are everywhere and most are rare.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from search import SearchIndex  # noqa: E402

_FALLBACK_TEXT = """
payroll payslip salary expenses reimbursement tax pension benefits laptop password printer
badge door access building desk booking meeting room travel visa passport hotel train flight
contract legal privacy data protection security incident phishing recruitment hiring interview
onboarding training learning wellbeing health safety fire first aid parking bicycle catering
coffee kitchen cleaning maintenance heating lights network wifi vpn email calendar phone mobile
invoice supplier purchase order procurement budget forecast audit compliance risk insurance
marketing brand design website content social media press events translation reception post
"""
_FALLBACK_WORDS = _FALLBACK_TEXT.split()

_STOP = {"the", "and", "for", "you", "your", "with", "our", "are", "can", "will", "not", "from", "this", "that"}
_SUFFIXES = ["Team", "Desk", "Services", "Support", "Operations", "Office", "Hub", "Unit", "Group", "Centre"]
_QUESTION_FORMS = [
    "who do I ask about {}?", "where can I get help with {}", "how do I {}?", "I need {}",
    "who handles {}", "my {} is broken", "can someone help with {}?",
]


@functools.lru_cache(maxsize=4)
def _vocabulary(seed: int) -> tuple[list[str], list[str], list[str], list[str]]:
    """(words, departments, locations, tags): real words first, then generated ones."""
    rng = random.Random(seed)
    real: list[str] = []
    departments: list[str] = []
    locations: list[str] = []
    tags: list[str] = []
    seeds = ROOT / "seeds" / "teams.yaml"
    if seeds.exists():
        import yaml

        teams = yaml.safe_load(seeds.read_text(encoding="utf-8")) or []
        seen: set[str] = set()
        for team in teams:
            text = " ".join(str(team.get(k) or "") for k in ("name", "summary", "description"))
            text += " " + " ".join(f"{s.get('name', '')} {s.get('description', '')}" for s in team.get("services") or [])
            for word in re.findall(r"[A-Za-z]{3,}", text):
                w = word.lower()
                if w not in seen and w not in _STOP:
                    seen.add(w)
                    real.append(w)
            departments.append(team.get("department") or "")
            locations.append(team.get("location") or "")
            tags += [t for t in team.get("tags") or [] if isinstance(t, str)]
    if not real:
        real = list(_FALLBACK_WORDS)
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou", "ee")]
    generated = set()
    while len(generated) < 12000:
        generated.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) + rng.choice(["", "", "n", "r", "s", "t"]))
    words = real + sorted(generated)
    rng.shuffle(words)
    departments = sorted({d for d in departments if d}) or ["Finance", "IT", "People", "Facilities", "Legal"]
    departments += [f"{w.title()} Division" for w in sorted(generated)[:20]]
    locations = sorted({loc for loc in locations if loc}) or ["London HQ", "Leeds", "Remote"]
    locations += [f"{w.title()} Office, floor {i % 9 + 1}" for i, w in enumerate(sorted(generated)[20:45])]
    tags = sorted(set(tags)) or list(_FALLBACK_WORDS[:40])
    tags += sorted(generated)[45:345]
    return words, departments, locations, tags


class _Zipf:
    """Draws items with probability ~ 1/rank, cheaply (precomputed cumulative weights)."""

    def __init__(self, items: list[str], rng: random.Random, exponent: float = 1.0) -> None:
        self.items = items
        self.rng = rng
        total = 0.0
        self.cum: list[float] = []
        for rank in range(1, len(items) + 1):
            total += 1.0 / rank**exponent
            self.cum.append(total)

    def draw(self, k: int) -> list[str]:
        return self.rng.choices(self.items, cum_weights=self.cum, k=k)


def synthetic_teams(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """`n` teams in §1 shape (plus "id"), deterministic for a seed, slugs unique."""
    words, departments, locations, tags = _vocabulary(seed)
    rng = random.Random(seed * 7919 + n)
    zipf = _Zipf(words, rng)
    topic = _Zipf(words[:4000], rng, exponent=0.7)
    tag_draw = _Zipf(tags, rng, exponent=0.8)
    teams = []
    for i in range(1, n + 1):
        name_words = topic.draw(rng.randint(1, 3))
        name = " ".join(w.title() for w in name_words) + " " + rng.choice(_SUFFIXES)
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") + f"-{i}"
        services = []
        for _ in range(rng.randint(1, 5)):
            services.append({
                "name": " ".join(topic.draw(rng.randint(2, 4))).capitalize(),
                "description": " ".join(zipf.draw(rng.randint(6, 15))).capitalize() + ".",
                "turnaround": {"value": rng.randint(1, 5), "unit": "business_days"},
                "booking": None,
            })
        paragraphs = [" ".join(zipf.draw(rng.randint(15, 50))).capitalize() + "." for _ in range(rng.randint(1, 4))]
        teams.append({
            "id": i,
            "slug": slug,
            "name": name,
            "summary": " ".join(name_words + zipf.draw(rng.randint(6, 16))).capitalize() + ".",
            "description": "\n\n".join(paragraphs),
            "department": rng.choice(departments),
            "tags": sorted(set(tag_draw.draw(rng.randint(2, 6)))),
            "location": rng.choice(locations),
            "timezone": "Europe/London",
            "contacts": [
                {"kind": "email", "value": f"{slug}@example.com"},
                {"kind": "chat", "value": f"#{slug}"},
            ],
            "services": services,
        })
    return teams


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["swap", "drop", "double", "replace"])
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == "drop":
        return word[:i] + word[i + 1:]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice("aeioustrnl") + word[i + 1:]


def mixed_queries(k: int, seed: int = 1) -> list[str]:
    """`k` queries people might type: single words, several words, questions, typos, prefixes,
    quoted phrases, contact addresses and an occasional empty browse."""
    words, _departments, _locations, _tags = _vocabulary(seed)
    rng = random.Random(seed * 104729 + k)
    common = _Zipf(words[:6000], rng, exponent=0.8)
    queries = []
    kinds = ["single", "single", "multi", "multi", "question", "typo", "prefix", "prefix_star", "phrase",
             "contact", "empty"]
    weights = [14, 10, 16, 10, 14, 14, 8, 4, 6, 2, 2]
    for kind in rng.choices(kinds, weights=weights, k=k):
        if kind == "single":
            q = common.draw(1)[0]
        elif kind == "multi":
            q = " ".join(common.draw(rng.randint(2, 4)))
        elif kind == "question":
            q = rng.choice(_QUESTION_FORMS).format(" ".join(common.draw(rng.randint(1, 3))))
        elif kind == "typo":
            long_words = [w for w in common.draw(20) if len(w) >= 6]
            q = _typo(long_words[0], rng) if long_words else common.draw(1)[0]
        elif kind == "prefix":
            w = common.draw(1)[0]
            q = w[: max(3, len(w) - rng.randint(1, 3))]
        elif kind == "prefix_star":
            w = common.draw(1)[0]
            q = w[: max(3, len(w) // 2)] + "*"
        elif kind == "phrase":
            q = '"' + " ".join(common.draw(2)) + '"'
        elif kind == "contact":
            q = f"#{rng.choice(common.draw(3))}-{rng.randint(1, 100)}"
        else:
            q = ""
        queries.append(q)
    return queries


def _filters_for(i: int, seed: int) -> dict[str, list[str]] | None:
    """Every fifth query carries a filter, as a results page with a facet clicked would."""
    if i % 5:
        return None
    _words, departments, locations, tags = _vocabulary(seed)
    choice = (i // 5) % 3
    if choice == 0:
        return {"department": [departments[i % len(departments)]]}
    if choice == 1:
        return {"tag": [tags[i % 40]]}
    return {"location": [locations[i % len(locations)]], "department": [departments[(i * 3) % len(departments)]]}


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"median {statistics.median(ordered) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms"


def run(n: int, k: int, seed: int, workdir: Path, updates: int = 50) -> dict[str, float]:
    teams = synthetic_teams(n, seed)
    queries = mixed_queries(k, seed)
    index = SearchIndex(workdir / "index", ROOT / "seeds" / "synonyms.txt")

    started = time.perf_counter()
    index.rebuild(teams, seq=1)
    build = time.perf_counter() - started
    print(f"build: {n} teams in {build:.1f} s ({os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f})")

    started = time.perf_counter()
    index.query("warm up")
    print(f"first query (opens the searcher, loads facet values): {(time.perf_counter() - started) * 1000:.0f} ms")
    started = time.perf_counter()
    index.query("warmupp")
    print(f"first typo (loads the vocabulary): {(time.perf_counter() - started) * 1000:.0f} ms")

    timings: list[float] = []
    cpu: list[float] = []
    slow: list[tuple[float, str]] = []
    open_ids = {t["id"] for t in teams[::3]}
    for i, q in enumerate(queries):
        filters = _filters_for(i, seed)
        started, started_cpu = time.perf_counter(), time.process_time()
        index.query(q, filters=filters, open_ids=open_ids if i % 7 == 0 else None, open_now=i % 14 == 0)
        elapsed = time.perf_counter() - started
        timings.append(elapsed)
        cpu.append(time.process_time() - started_cpu)
        slow.append((elapsed, q))
    print(f"query x{k}: {_ms(timings)}  (cpu: {_ms(cpu)})")
    for elapsed, q in sorted(slow, reverse=True)[:5]:
        print(f"  slowest: {elapsed * 1000:6.1f} ms  {q!r}")

    suggest_times = []
    for q in queries[:200]:
        prefix = q.strip('"*#')[:4]
        started = time.perf_counter()
        index.suggest(prefix)
        suggest_times.append(time.perf_counter() - started)
    print(f"suggest x{len(suggest_times)}: {_ms(suggest_times)}")

    rng = random.Random(seed)
    update_times = []
    update_cpu = []
    for j in range(updates):
        team = dict(rng.choice(teams))
        team["summary"] = f"Updated summary {j} " + team["summary"]
        started, started_cpu = time.perf_counter(), time.process_time()
        index.apply([team], [], seq=2 + j)
        update_times.append(time.perf_counter() - started)
        update_cpu.append(time.process_time() - started_cpu)
    print(f"apply (one upsert) x{updates}: {_ms(update_times)}  (cpu: {_ms(update_cpu)})")
    started = time.perf_counter()
    index.query("updated summary")
    print(f"first query after updates (reopens changed segments): {(time.perf_counter() - started) * 1000:.0f} ms")

    ordered = sorted(timings)
    return {
        "build_s": build,
        "query_median_ms": statistics.median(ordered) * 1000,
        "query_p95_ms": ordered[int(0.95 * (len(ordered) - 1))] * 1000,
        "apply_median_ms": statistics.median(update_times) * 1000,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--updates", type=int, default=50)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        run(args.teams, args.queries, args.seed, Path(tmp), args.updates)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
