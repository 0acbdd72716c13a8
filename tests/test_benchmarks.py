"""The benchmark scripts run and print their figures (small sizes; no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> str:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.slow
def test_search_benchmark_prints_its_figures() -> None:
    out = run("benchmarks/bench_search.py", "--teams", "150", "--queries", "40", "--updates", "3")
    assert "served (HTTP, 2 workers + search service)" in out and "raw SearchIndex.query" in out
    assert "served / raw p95" in out and "PSS of the tree" in out
    assert "search service  pid" in out and out.count("worker          pid") == 2
    assert "team vectors:" in out and "ms per team" in out
    assert "3 updated teams found by the next search" in out


@pytest.mark.slow
def test_raw_search_benchmark_prints_its_figures() -> None:
    out = run("benchmarks/bench_search_raw.py", "--teams", "150", "--queries", "40", "--updates", "3")
    assert "median" in out.lower()


def test_module_table_counts_lines_long_functions_and_complexity(tmp_path: Path) -> None:
    package = tmp_path / "directory"
    package.mkdir()
    (package / "small.py").write_text("def f(x):\n    return x\n")
    branches = "\n".join(f"    if x == {i}:\n        return {i}" for i in range(20))
    (package / "big.py").write_text(f"def g(x):\n{branches}\n    return -1\n")
    out = run("benchmarks/module_table.py", str(tmp_path))
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith("directory/")}
    assert rows["directory/small.py"] == ["2", "0", "1"]
    assert rows["directory/big.py"] == ["42", "1", "21"]
    assert "worst function g (21)" in out
