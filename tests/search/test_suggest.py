"""Search as you type: every typed word starts a word of the team; name matches first."""

from __future__ import annotations

from pathlib import Path

from search import SearchIndex
from search.analysis import AUTOCOMPLETE_MAX
from search.suggest import typed_words
from tests.search.sample import team


def test_suggest_completes_names_services_and_tags(index: SearchIndex) -> None:
    assert index.suggest("pay")[0] == {"slug": "payroll", "name": "Payroll", "department": "Finance"}
    assert [s["slug"] for s in index.suggest("replacement ba")] == ["security-desk"]
    assert "it-helpdesk" in [s["slug"] for s in index.suggest("passw")]
    assert [s["slug"] for s in index.suggest("caf")] == ["cafe"]
    assert index.suggest("") == []
    assert index.suggest("zzz") == []
    assert len(index.suggest("t", limit=2)) == 2


def test_typed_words_are_folded_and_cut_to_what_the_index_holds() -> None:
    assert typed_words("  Café  PAY ") == ["cafe", "pay"]
    assert typed_words("x" * 100) == ["x" * AUTOCOMPLETE_MAX]
    assert typed_words("") == [] and typed_words("!!") == []


def test_name_matches_come_before_other_matches_then_shorter_names(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "index")
    ix.rebuild([team(1, "desk", "Help Desk", tags=["printers"]),
                team(2, "printing-services", "Printing Services"),
                team(3, "print", "Print Room")], seq=1)
    assert [s["slug"] for s in ix.suggest("print")] == ["print", "printing-services", "desk"]
    assert [s["slug"] for s in ix.suggest("print", limit=1)] == ["print"]
    assert ix.suggest("print", limit=0) == []


def test_a_long_word_still_completes(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "index")
    long_name = "Supercalifragilisticexpialidocious Services"
    ix.rebuild([team(1, "long", long_name)], seq=1)
    assert [s["slug"] for s in ix.suggest(long_name.split()[0].lower())] == ["long"]
