"""The search facade end to end, on disk: what people type finds the right team, quickly,
one page at a time."""

from __future__ import annotations

import time

import pytest

from search import SearchIndex
from tests.search.sample import TEAMS, slugs, team


def test_rebuild_makes_it_usable_and_records_the_sequence(index: SearchIndex) -> None:
    assert index.is_usable() is True
    assert index.last_seq() == 10
    assert index.query("").total == len(TEAMS)


def test_stemming_finds_other_forms_of_a_word(index: SearchIndex) -> None:
    assert slugs(index, "reimbursements")[0] == "expenses"
    assert slugs(index, "reimbursing")[0] == "expenses"


def test_accents_are_folded_both_ways(index: SearchIndex) -> None:
    assert slugs(index, "cafe lumiere") == ["cafe"]
    assert slugs(index, "CAFÉ") == ["cafe"]
    index.apply([team(9, "creche", "Creche")], [], seq=11)
    assert slugs(index, "crèche") == ["creche"]


@pytest.mark.parametrize("q", ["???", '"', '"unclosed phrase', "pay* *", "\x00\x1e\x1f", "x" * 5000,
                               "qwertyuiopasdfghjklzxcvbnm" * 200, "payroll " * 500])
def test_odd_input_gets_a_quick_answer_not_an_error(index: SearchIndex, q: str) -> None:
    started = time.monotonic()
    index.query(q)
    index.suggest(q)
    assert time.monotonic() - started < 2


def test_pages_split_the_ranked_results(index: SearchIndex) -> None:
    everything = slugs(index, "", page_size=100)
    pages = [slugs(index, "", page=p, page_size=3) for p in (1, 2, 3, 4)]
    assert pages[0] + pages[1] + pages[2] == everything
    assert pages[3] == []
    second = index.query("", page=2, page_size=3)
    assert (second.page, second.page_size, second.total) == (2, 3, len(TEAMS))
