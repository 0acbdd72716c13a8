"""benchmarks/bench_pages.py runs and prints its figures (a small directory; no timing is asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_pages_benchmark_prints_its_figures_and_reaches_every_team() -> None:
    done = subprocess.run([sys.executable, "benchmarks/bench_pages.py", "--teams", "250", "--seconds", "0.2"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "250 team links on 3 page(s), 250 distinct" in done.stdout
    assert "/healthz (baseline)" in done.stdout
    figures = re.findall(r"\((first page|a letter link|last page)\): (\d+) KB, [\d.]+ req/s", done.stdout)
    assert [what for what, _kb in figures] == ["first page", "a letter link", "last page"]
    assert all(int(kb) < 60 for _what, kb in figures)
