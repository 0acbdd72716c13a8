"""Relevance of search over the demo organisation, measured on the queries staff actually type.

MRR: mean over queries of 1/rank of the best-ranked acceptable team within the top 10 (0 when
none). Recall@3: share of queries with an acceptable team in the top 3. Both are printed; the
test fails when MRR drops below the floor, so a change to analysis, weights or synonyms that
makes search worse is caught here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from search import SearchIndex

ROOT = Path(__file__).resolve().parents[2]
TEAMS = ROOT / "seeds" / "teams.yaml"
SYNONYMS = ROOT / "seeds" / "synonyms.txt"
QUERIES = Path(__file__).with_name("relevance_queries.yaml")
MRR_FLOOR = 0.85
TOP = 10


def _require(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path.relative_to(ROOT)} is missing: relevance cannot be measured without it")


@pytest.fixture(scope="module")
def demo_index(tmp_path_factory: pytest.TempPathFactory) -> SearchIndex:
    for path in (TEAMS, SYNONYMS, QUERIES):
        _require(path)
    teams = yaml.safe_load(TEAMS.read_text(encoding="utf-8"))
    index = SearchIndex(tmp_path_factory.mktemp("relevance") / "index", SYNONYMS)
    index.rebuild([{**team, "id": i} for i, team in enumerate(teams, start=1)], seq=1)
    return index


def _queries() -> list[dict[str, Any]]:
    if not QUERIES.exists():
        return []
    return yaml.safe_load(QUERIES.read_text(encoding="utf-8")) or []


def test_relevance_on_the_demo_organisation(demo_index: SearchIndex, capsys: pytest.CaptureFixture[str]) -> None:
    queries = _queries()
    assert queries, "no relevance queries"
    reciprocal: list[float] = []
    in_top3 = 0
    misses: list[str] = []
    for case in queries:
        slugs = [hit["slug"] for hit in demo_index.query(case["q"], page_size=TOP).hits]
        expected = set(case["expect"])
        rank = next((i for i, slug in enumerate(slugs, start=1) if slug in expected), None)
        reciprocal.append(1.0 / rank if rank else 0.0)
        in_top3 += bool(rank and rank <= 3)
        if rank != 1:
            misses.append(f"  rank {rank or '>10'}: {case['q']!r} expected {case['expect']} got {slugs[:3]}")
    mrr = sum(reciprocal) / len(queries)
    recall3 = in_top3 / len(queries)
    with capsys.disabled():
        print(f"\nsearch relevance over {len(queries)} queries: MRR {mrr:.3f}, recall@3 {recall3:.3f}")
        for line in misses:
            print(line)
    assert mrr >= MRR_FLOOR, f"MRR {mrr:.3f} below {MRR_FLOOR} (recall@3 {recall3:.3f})\n" + "\n".join(misses)


@pytest.mark.parametrize("kind", ["word", "fragment", "question", "synonym", "typo", "contact", "slug"])
def test_every_kind_of_query_mostly_finds_its_team(demo_index: SearchIndex, kind: str) -> None:
    """No kind of query may be broken wholesale while the overall MRR still passes."""
    cases = [case for case in _queries() if case.get("kind") == kind]
    if not cases:
        pytest.skip(f"no {kind} queries")
    found = 0
    for case in cases:
        slugs = [hit["slug"] for hit in demo_index.query(case["q"], page_size=3).hits]
        found += any(slug in case["expect"] for slug in slugs)
    assert found / len(cases) >= 0.75, f"{kind}: only {found} of {len(cases)} have an acceptable team in the top 3"
