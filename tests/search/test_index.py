"""The search index on its own, on disk: what people type finds the right team, writes land,
and a broken index says so instead of failing searches."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from whoosh.filedb.filestore import FileStorage

from search import SCHEMA_VERSION, IndexLockedError, IndexUnusableError, SearchIndex
from search.analysis import FastAnalyzer, index_terms, plain_analyzer, stemming_analyzer
from search.documents import INDEX_NAME, build_schema

SYNONYMS = """\
# test synonyms
pay, salary, payslip, wages   # trailing comment
badge, door pass, access card
log in, password
"""


def team(team_id: int, slug: str, name: str, **fields: Any) -> dict[str, Any]:
    return {"id": team_id, "slug": slug, "name": name, **fields}


TEAMS = [
    team(1, "payroll", "Payroll", summary="Payslips, tax codes and overtime.", department="Finance",
         tags=["pay", "tax"], location="London HQ",
         contacts=[{"kind": "email", "value": "payroll@example.com"}, {"kind": "chat", "value": "#payroll-help"}],
         services=[{"name": "Payslip corrections", "description": "Wrong amount or missing overtime."}]),
    team(2, "expenses", "Expenses", summary="We reimburse what you spent on company business.",
         description="Submit receipts within 30 days. <script>alert('x')</script> & friends.",
         department="Finance", tags=["expenses", "travel"], location="Leeds",
         contacts=[{"kind": "email", "value": "expenses@example.com"}]),
    team(3, "it-helpdesk", "IT Helpdesk", summary="Laptops, passwords and printers.", department="IT",
         tags=["laptop", "password"], location="London HQ",
         contacts=[{"kind": "chat", "value": "#it-help"}, {"kind": "phone", "value": "+44 20 7946 0100"}],
         services=[{"name": "Password reset", "description": "Locked out of your account."}]),
    team(4, "cafe", "Café Lumière", summary="Coffee, lunch and catering for meetings.", department="Facilities",
         tags=["food"], location="London HQ"),
    team(5, "security-desk", "Security Desk", summary="Door badges, visitors and lost property.",
         department="Facilities", tags=["badge", "visitors"], location="Leeds",
         services=[{"name": "Replacement badge", "description": "Broken or lost door badge."}]),
    team(6, "print-room", "Print Room", summary="Large format printing and binding.", department="Facilities",
         tags=["printing"], location="Manchester"),
    team(7, "tax", "Tax", summary="Corporate tax returns.",
         description="We handle codes of conduct for tax filings and the VAT codes.", department="Finance",
         tags=["tax"], location="London HQ"),
    team(8, "travel", "Travel Desk", summary="Trains, flights and hotels for business trips.",
         description="Printing boarding passes is not something we do.", department="Operations",
         tags=["travel"], location="Manchester"),
]


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


def slugs(ix: SearchIndex, q: str, **kwargs: Any) -> list[str]:
    return [hit["slug"] for hit in ix.query(q, **kwargs).hits]


# -- analysis -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "Who do I ask about a broken door badge? Reimbursements, payslips & P60s.",
    "Crème brûlée Straße Æsir ÉCOLE naïve façade œuvre İstanbul ﬁnance",
    "e-mail wi-fi 3.5 v2.0 payroll@example.com #it-help it's IT's",
])
def test_fast_analysis_gives_exactly_the_whoosh_chain_terms(text: str) -> None:
    """Indexing uses a faster path than Whoosh's analyzer chain; both must agree term for term."""
    assert index_terms(text) == [t.text for t in stemming_analyzer()(text)]
    assert [t.text for t in FastAnalyzer(stemmed=False)(text)] == [t.text for t in plain_analyzer()(text)]


# -- health and bookkeeping --------------------------------------------------------------------


def test_missing_directory_is_not_usable(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "nowhere")
    assert ix.is_usable() is False
    assert ix.last_seq() == 0


def test_garbage_files_are_not_usable(tmp_path: Path) -> None:
    path = tmp_path / "index"
    path.mkdir()
    (path / f"_{INDEX_NAME}_3.toc").write_bytes(os.urandom(200))
    (path / f"{INDEX_NAME}_abcdef.seg").write_bytes(os.urandom(500))
    (path / "state.json").write_text("{not json", encoding="utf-8")
    assert SearchIndex(path).is_usable() is False
    (path / "state.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION, "last_seq": 3}))
    assert SearchIndex(path).is_usable() is False


def test_corrupt_segment_is_not_usable(index: SearchIndex) -> None:
    segment_files = [p for p in index.path.glob(f"{INDEX_NAME}_*.*") if not p.name.endswith("WRITELOCK")]
    assert segment_files
    for segment in segment_files:
        segment.write_bytes(b"\0" * 64)
    assert SearchIndex(index.path).is_usable() is False


def test_a_missing_segment_file_is_not_usable(index: SearchIndex) -> None:
    next(index.path.glob(f"{INDEX_NAME}_*.pst")).unlink()
    assert SearchIndex(index.path).is_usable() is False


def test_older_schema_version_is_not_usable(index: SearchIndex) -> None:
    state = json.loads((index.path / "state.json").read_text())
    (index.path / "state.json").write_text(json.dumps({**state, "schema_version": SCHEMA_VERSION - 1}))
    fresh = SearchIndex(index.path)
    assert fresh.is_usable() is False
    assert fresh.last_seq() == 0


def test_index_files_of_an_older_version_are_not_usable_and_are_cleaned_up(tmp_path: Path) -> None:
    path = tmp_path / "index"
    old_name = f"teams_v{SCHEMA_VERSION - 1}" if SCHEMA_VERSION > 1 else "teams_v0"
    storage = FileStorage(str(path)).create()
    storage.create_index(build_schema(), indexname=old_name)
    (path / "state.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION - 1, "last_seq": 5}))
    ix = SearchIndex(path)
    assert ix.is_usable() is False
    ix.rebuild(TEAMS[:2], seq=7)
    assert ix.is_usable() is True
    assert not [name for name in os.listdir(path) if name.startswith((old_name, f"_{old_name}"))]


def test_rebuild_makes_it_usable_and_records_the_sequence(index: SearchIndex) -> None:
    assert index.is_usable() is True
    assert index.last_seq() == 10
    assert index.query("").total == len(TEAMS)


def test_last_seq_only_moves_forward_on_apply_but_rebuild_sets_it(index: SearchIndex) -> None:
    index.apply([], [], seq=15)
    assert index.last_seq() == 15
    index.apply([], [], seq=12)
    assert index.last_seq() == 15
    assert SearchIndex(index.path).last_seq() == 15
    index.rebuild(TEAMS, seq=11)
    assert index.last_seq() == 11


def test_rebuild_reports_progress(tmp_path: Path) -> None:
    seen: list[int] = []
    many = [team(i, f"t{i}", f"Team {i}") for i in range(1, 1202)]
    assert SearchIndex(tmp_path / "ix").rebuild(many, seq=1, progress=seen.append) == 1201
    assert seen[:2] == [500, 1000] and seen[-1] == 1201


def test_apply_to_a_missing_index_asks_for_a_rebuild(tmp_path: Path) -> None:
    with pytest.raises(IndexUnusableError):
        SearchIndex(tmp_path / "index").apply([TEAMS[0]], [], seq=1)


def test_query_on_a_missing_index_raises_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IndexUnusableError):
        SearchIndex(tmp_path / "index").query("pay")


# -- writes -------------------------------------------------------------------------------------


def test_upsert_adds_and_replaces_by_id(index: SearchIndex) -> None:
    index.apply([team(9, "zeppelins", "Zeppelin Desk", summary="Airship bookings.")], [], seq=11)
    assert slugs(index, "zeppelin") == ["zeppelins"]
    renamed = team(9, "blimps", "Blimp Desk", summary="Airship bookings.")
    index.apply([renamed], [], seq=12)
    assert slugs(index, "zeppelin") == []
    assert slugs(index, "airship") == ["blimps"]
    assert index.query("").total == len(TEAMS) + 1


def test_delete_removes_by_id(index: SearchIndex) -> None:
    index.apply([], [6], seq=11)
    assert "print-room" not in slugs(index, "printing")
    assert index.query("").total == len(TEAMS) - 1
    index.apply([], [6, 999], seq=12)  # deleting what is absent is harmless
    assert index.query("").total == len(TEAMS) - 1


def test_a_team_upserted_and_deleted_in_one_call_ends_up_deleted(index: SearchIndex) -> None:
    index.apply([team(9, "gone", "Gone Team")], [9], seq=11)
    assert slugs(index, "gone") == []


def test_deleted_and_updated_teams_do_not_reappear_in_a_long_lived_reader(index: SearchIndex) -> None:
    reader = SearchIndex(index.path)
    assert slugs(reader, "print") == ["print-room", "travel"]
    writer = SearchIndex(index.path)
    writer.apply([{**TEAMS[5], "summary": "Binding only."}], [8], seq=11)
    assert slugs(reader, "large format") == []
    assert slugs(reader, "boarding passes") == []
    assert reader.query("").total == len(TEAMS) - 1
    assert slugs(reader, "binding") == ["print-room"]


def test_other_instances_see_a_rebuild(index: SearchIndex) -> None:
    reader = SearchIndex(index.path)
    assert reader.query("").total == len(TEAMS)
    index.rebuild(TEAMS[:3], seq=20)
    assert reader.query("").total == 3
    assert reader.last_seq() == 20


def test_a_deleted_index_fails_clearly_and_a_rebuild_is_seen(index: SearchIndex) -> None:
    reader = SearchIndex(index.path)
    assert reader.query("").total == len(TEAMS)
    shutil.rmtree(index.path)
    assert reader.is_usable() is False
    with pytest.raises(IndexUnusableError):
        reader.query("")
    SearchIndex(index.path).rebuild(TEAMS[:2], seq=3)
    assert reader.query("").total == 2


def test_a_held_lock_gives_a_clear_error_after_the_timeout(index: SearchIndex) -> None:
    lock = FileStorage(str(index.path)).lock(f"{INDEX_NAME}_WRITELOCK")
    assert lock.acquire()
    try:
        impatient = SearchIndex(index.path, lock_timeout=0.3)
        started = time.monotonic()
        with pytest.raises(IndexLockedError, match="locked"):
            impatient.apply([TEAMS[0]], [], seq=11)
        assert 0.25 <= time.monotonic() - started < 3
    finally:
        lock.release()
    SearchIndex(index.path, lock_timeout=0.3).apply([TEAMS[0]], [], seq=11)


def test_odd_team_data_is_indexed_without_fuss(index: SearchIndex) -> None:
    odd = {"id": 9, "name": "Odd", "tags": ["ok", 3, None], "services": ["not a dict", {"name": None}],
           "contacts": [{"kind": "email"}], "description": None, "summary": 42}
    index.apply([odd], [], seq=11)
    assert slugs(index, "odd") == [""]
    assert index.query("", filters={"tag": ["ok"]}).total == 1


# -- finding teams ------------------------------------------------------------------------------


def test_stemming_finds_other_forms_of_a_word(index: SearchIndex) -> None:
    assert slugs(index, "reimbursements")[0] == "expenses"
    assert slugs(index, "reimbursing")[0] == "expenses"


def test_accents_are_folded_both_ways(index: SearchIndex) -> None:
    assert slugs(index, "cafe lumiere") == ["cafe"]
    assert slugs(index, "CAFÉ") == ["cafe"]
    index.apply([team(9, "creche", "Creche")], [], seq=11)
    assert slugs(index, "crèche") == ["creche"]


def test_a_match_in_the_name_outranks_one_in_the_description(index: SearchIndex) -> None:
    found = slugs(index, "printing")
    assert found.index("print-room") < found.index("travel")


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


def test_highlights_mark_matches_and_escape_everything_else(index: SearchIndex) -> None:
    [hit] = [h for h in index.query("receipts script").hits if h["slug"] == "expenses"]
    description = hit["highlights"]["description"]
    assert "&lt;<mark>script</mark>&gt;" in description
    assert "&amp; friends" in description
    assert "<mark>receipts</mark>" in description
    for html in hit["highlights"].values():
        assert "<" not in re.sub(r"</?mark>", "", html)
    [payroll] = index.query("overtime").hits
    assert payroll["highlights"]["summary"] == "Payslips, tax codes and <mark>overtime</mark>."
    assert "<mark>overtime</mark>" in payroll["highlights"]["services"]
    assert "name" not in payroll["highlights"]


def test_highlights_follow_stemming_and_accents(index: SearchIndex) -> None:
    index.apply([team(9, "city", "City Room", summary="For crying babies; crèches nearby.")], [], seq=11)
    [hit] = index.query("cities cry creche").hits[:1]
    assert hit["highlights"]["name"] == "<mark>City</mark> Room"
    assert hit["highlights"]["summary"] == "For <mark>crying</mark> babies; <mark>crèches</mark> nearby."


def test_hits_carry_what_the_results_page_shows(index: SearchIndex) -> None:
    [hit] = index.query("payslip corrections").hits[:1]
    assert hit["id"] == 1 and hit["slug"] == "payroll" and hit["name"] == "Payroll"
    assert hit["summary"] == TEAMS[0]["summary"] and hit["department"] == "Finance"
    assert isinstance(hit["score"], float) and hit["score"] > 0


@pytest.mark.parametrize("q", ["???", '"', '"unclosed phrase', "pay* *", "\x00\x1e\x1f", "x" * 5000,
                               "qwertyuiopasdfghjklzxcvbnm" * 200, "payroll " * 500])
def test_odd_input_gets_a_quick_answer_not_an_error(index: SearchIndex, q: str) -> None:
    started = time.monotonic()
    index.query(q)
    index.suggest(q)
    assert time.monotonic() - started < 2


# -- browsing, facets, filters, pages ------------------------------------------------------------


def test_an_empty_query_lists_every_team_by_name_with_facets(index: SearchIndex) -> None:
    results = index.query("   ")
    assert results.total == len(TEAMS)
    names = [hit["name"] for hit in results.hits]
    assert names == sorted(names, key=lambda n: n.lower().replace("é", "e"))
    assert results.facets["department"] == {"Facilities": 3, "Finance": 3, "IT": 1, "Operations": 1}
    assert results.facets["location"]["London HQ"] == 4
    assert results.facets["tags"]["tax"] == 2
    assert "open_now" not in results.facets
    assert results.suggestion is None


def test_facets_count_the_whole_result_set_not_the_page(index: SearchIndex) -> None:
    results = index.query("", page_size=2)
    assert len(results.hits) == 2
    assert sum(results.facets["department"].values()) == len(TEAMS)


def test_filters_or_within_a_key_and_across_keys(index: SearchIndex) -> None:
    assert set(slugs(index, "", filters={"department": ["Finance"]})) == {"payroll", "expenses", "tax"}
    assert set(slugs(index, "", filters={"department": ["Finance", "IT"]})) == {"payroll", "expenses", "tax",
                                                                                "it-helpdesk"}
    assert set(slugs(index, "", filters={"department": ["Finance"], "location": ["London HQ"]})) == {"payroll",
                                                                                                     "tax"}
    assert set(slugs(index, "", filters={"tag": ["tax", "travel"]})) == {"payroll", "tax", "expenses", "travel"}
    assert slugs(index, "", filters={"department": ["Nope"]}) == []
    assert slugs(index, "tax", filters={"department": ["Facilities"]}) == []


def test_a_facet_counts_its_own_values_as_if_unfiltered(index: SearchIndex) -> None:
    results = index.query("", filters={"department": ["Finance"]})
    assert results.total == 3
    assert results.facets["department"] == {"Facilities": 3, "Finance": 3, "IT": 1, "Operations": 1}
    assert results.facets["location"] == {"London HQ": 2, "Leeds": 1}


def test_pages_split_the_ranked_results(index: SearchIndex) -> None:
    everything = slugs(index, "", page_size=100)
    pages = [slugs(index, "", page=p, page_size=3) for p in (1, 2, 3, 4)]
    assert pages[0] + pages[1] + pages[2] == everything
    assert pages[3] == []
    second = index.query("", page=2, page_size=3)
    assert (second.page, second.page_size, second.total) == (2, 3, len(TEAMS))


def test_open_now_restricts_to_the_open_teams_and_counts_them(index: SearchIndex) -> None:
    results = index.query("", open_ids={1, 3})
    assert results.total == len(TEAMS)
    assert results.facets["open_now"] == {"true": 2, "false": len(TEAMS) - 2}
    results = index.query("", open_ids={1, 3, 99}, open_now=True)
    assert {hit["slug"] for hit in results.hits} == {"payroll", "it-helpdesk"}
    assert results.facets["open_now"] == {"true": 2, "false": len(TEAMS) - 2}
    assert index.query("", open_now=True).total == 0


# -- search as you type -------------------------------------------------------------------------


def test_suggest_completes_names_services_and_tags(index: SearchIndex) -> None:
    assert index.suggest("pay")[0] == {"slug": "payroll", "name": "Payroll", "department": "Finance"}
    assert [s["slug"] for s in index.suggest("replacement ba")] == ["security-desk"]
    assert "it-helpdesk" in [s["slug"] for s in index.suggest("passw")]
    assert [s["slug"] for s in index.suggest("caf")] == ["cafe"]
    assert index.suggest("") == []
    assert index.suggest("zzz") == []
    assert len(index.suggest("t", limit=2)) == 2
