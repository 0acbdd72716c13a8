"""Fixtures of the search tests: the sample organisation indexed on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from search import SearchIndex
from tests.search.sample import SYNONYMS, TEAMS


@pytest.fixture
def synonyms_file(tmp_path: Path) -> Path:
    path = tmp_path / "synonyms.txt"
    path.write_text(SYNONYMS, encoding="utf-8")
    return path


@pytest.fixture
def index(tmp_path: Path, synonyms_file: Path) -> SearchIndex:
    ix = SearchIndex(tmp_path / "index", synonyms_file, lock_timeout=5)
    assert ix.rebuild(TEAMS, seq=10) == len(TEAMS)
    return ix
