"""Hits as the results page shows them: the team's fields and its matches marked, safely escaped."""

from __future__ import annotations

import re

from search import SearchIndex
from search.analysis import HighlightTerms
from search.hits import hit_of
from search.snapshots import Snapshots
from tests.search.sample import TEAMS, team


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


def test_a_hit_without_terms_to_mark_has_no_highlights(index: SearchIndex) -> None:
    snap = Snapshots(index.path).current()
    hit = hit_of(snap, snap.docnum_of[1], 1.23456, HighlightTerms(frozenset()))
    assert hit["highlights"] == {}
    assert hit["score"] == 1.2346
    assert hit["last_reviewed"] is None


def test_matching_services_and_tags_are_each_marked(index: SearchIndex) -> None:
    snap = Snapshots(index.path).current()
    hit = hit_of(snap, snap.docnum_of[5], 1.0, HighlightTerms(frozenset({"badg"})))
    assert hit["highlights"]["tags"] == "<mark>badge</mark>"
    assert hit["highlights"]["services"] == (
        "Replacement <mark>badge</mark>: Broken or lost door <mark>badge</mark>.")
    assert "location" not in hit["highlights"]
