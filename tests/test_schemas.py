"""The team document's schema (`directory.schemas`) on its own: no app, no database, no HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from directory import vocabulary
from directory.errors import InvalidTeam
from directory.schemas import TEXT_FIELDS, TeamSchema, canonical_team, flatten_errors, load_team, load_teams
from tests.conftest import team_doc


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"hours": {"weekly": {"mon": [["09:00", "25:00"]]}}}, "hours.weekly.mon"),
        ({"hours": {"weekly": {"mon": [["09:00", "09:00"]]}}}, "hours.weekly.mon"),
        ({"hours": {"weekly": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}}}, "hours.weekly.mon"),
        ({"hours": {"weekly": {}, "closures": [{"start": "2026-12-24", "end": "2026-12-20"}]}},
         "hours.closures.0.end"),
        ({"hours": {"weekly": {}, "holidays": {"country": "XX"}}}, "hours.holidays.country"),
        ({"response_time": {"value": 0, "unit": "hours"}}, "response_time.value"),
        ({"response_time": {"value": -2, "unit": "hours"}}, "response_time.value"),
        ({"response_time": {"value": 2, "unit": "fortnights"}}, "response_time.unit"),
        ({"booking": {"method": "pigeon"}}, "booking.method"),
        ({"contacts": [{"kind": "fax", "value": "1"}]}, "contacts.0.kind"),
        ({"contacts": [{"kind": "email", "value": "not-an-address"}]}, "contacts.0.value"),
        ({"services": [{"name": "x", "turnaround": {"value": 1, "unit": "weeks"}}]}, "services.0.turnaround.unit"),
        ({"slug": "Not A Slug"}, "slug"),
        ({"name": ""}, "name"),
        ({"owners": ["nobody"]}, "owners.0"),
        ({"last_reviewed": "yesterday"}, "last_reviewed"),
    ],
)
def test_bad_documents_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidTeam) as caught:
        load_team(team_doc(**change))
    assert field in caught.value.errors, caught.value.errors


def test_services_may_be_plain_names_and_read_only_fields_are_ignored() -> None:
    doc = load_team(team_doc(services=["Payslips", {"name": "Tax codes"}], version=99, url="x", created_at="y"))
    assert [s["name"] for s in doc["services"]] == ["Payslips", "Tax codes"]
    assert "version" not in doc and "url" not in doc


def test_a_document_that_is_not_an_object_is_refused_as_a_whole() -> None:
    for raw in (["Payroll"], "Payroll", None, 3):
        with pytest.raises(InvalidTeam) as caught:
            load_team(raw)
        assert caught.value.errors == {"_schema": ["must be an object"]}


def test_a_loaded_document_has_every_field_in_the_vocabulary_order_and_loads_to_itself() -> None:
    doc = load_team(team_doc(notices=[]))
    assert tuple(doc) == tuple(k for k in vocabulary.TEAM_FIELDS if k not in vocabulary.OMITTED_WHEN_EMPTY)
    assert load_team(doc) == doc
    shuffled = dict(reversed(list(team_doc().items())))
    assert list(load_team(shuffled)) == list(doc)


def test_canonical_team_leaves_out_an_empty_slug_and_empty_notices() -> None:
    loaded = TeamSchema().load({"name": "Payroll", "notices": []})
    canonical = canonical_team(loaded)
    assert "slug" not in canonical and "notices" not in canonical
    assert canonical["name"] == "Payroll" and canonical["tags"] == [] and canonical["hours"] is None


def test_one_spelling_for_tags_owners_and_hours() -> None:
    doc = load_team(team_doc(tags=["Pay", "pay", " Tax "], owners=["Alice@Example.com", "alice@example.com"],
                             hours={"weekly": {"mon": [["09:00", "17:00"]]}, "holidays": {"country": "GB"},
                                    "closures": [{"start": "2026-12-24", "end": "2026-12-24", "reason": None}]}))
    assert doc["tags"] == ["pay", "tax"]
    assert doc["owners"] == ["alice@example.com"]
    assert doc["hours"] == {
        "weekly": {day: [["09:00", "17:00"]] if day == "mon" else [] for day in vocabulary.WEEKDAYS},
        "holidays": {"country": "GB"}, "closures": [{"start": "2026-12-24", "end": "2026-12-24"}],
    }


def test_free_text_fields_read_blank_as_absent_except_the_name() -> None:
    assert {"name", "summary", "description", "escalation"} <= set(TEXT_FIELDS)
    assert not {"slug", "timezone", "tags", "owners", "last_reviewed", "hours"} & set(TEXT_FIELDS)
    doc = load_team(team_doc(**{key: "  " for key in TEXT_FIELDS if key != "name"}))
    assert all(doc[key] is None for key in TEXT_FIELDS if key != "name")
    with pytest.raises(InvalidTeam) as caught:
        load_team(team_doc(name="   "))
    assert caught.value.errors == {"name": ["must not be empty"]}


@pytest.mark.parametrize(("values", "build", "path"), [
    (vocabulary.BOOKING_METHODS, lambda v: {"booking": {"method": v}}, "booking.method"),
    (vocabulary.CONTACT_KINDS, lambda v: {"contacts": [{"kind": v, "value": "x"}]}, "contacts.0.kind"),
    (vocabulary.DURATION_UNITS, lambda v: {"response_time": {"value": 1, "unit": v}}, "response_time.unit"),
    (vocabulary.NOTICE_LEVELS, lambda v: {"notices": [{"message": "m", "starts": "2026-12-01", "level": v}]},
     "notices.0.level"),
])
def test_each_closed_list_accepts_exactly_the_vocabulary(values: Any, build: Any, path: str) -> None:
    for value in values:
        try:
            load_team(team_doc(**build(value)))
        except InvalidTeam as exc:  # a contact's value may not suit its kind; its kind must still be allowed
            assert path not in exc.errors, (value, exc.errors)
    with pytest.raises(InvalidTeam) as caught:
        load_team(team_doc(**build("carrier-pigeon")))
    assert caught.value.errors[path] == ["must be one of: " + ", ".join(values)]


def test_flatten_errors_gives_one_path_per_field() -> None:
    nested = {"hours": {"weekly": {"mon": ["bad interval"]}}, "services": {0: {"turnaround": {"unit": ["bad unit"]}}},
              "_schema": ["whole"], "owners": {1: ["not an address"]}}
    assert flatten_errors(nested) == {
        "hours.weekly.mon": ["bad interval"], "services.0.turnaround.unit": ["bad unit"], "_schema": ["whole"],
        "owners.1": ["not an address"],
    }
    assert flatten_errors(["a", "b"]) == {"_schema": ["a", "b"]}
    assert flatten_errors([{"name": ["x"]}, {"name": ["y"]}]) == {"name": ["x", "y"]}


def test_load_teams_names_the_record_and_field_of_every_problem() -> None:
    records, problems = load_teams([
        team_doc(),
        {"name": "Legal Team", "timezone": "Nowhere"},
        team_doc(name="Again"),
        {"name": "Legal team"},
    ])
    assert len(problems) == 3
    assert problems[0].startswith("record 1 (legal-team): timezone: ")  # the wording is the hours engine's
    assert problems[1:] == ["record 2 (payroll): slug: duplicates record 0",
                            "record 3 (legal-team): slug: duplicates record 1"]
    assert [r["slug"] for r in records] == ["payroll", "payroll", "legal-team"]


def test_load_teams_wants_a_list_and_shortens_huge_slugs() -> None:
    assert load_teams({"name": "Payroll"}) == ([], ["the file must hold a list of teams, not an object"])
    assert load_teams("teams") == ([], ["the file must hold a list of teams, not str"])
    _records, problems = load_teams([{"slug": "x" * 500, "name": "Long"}])
    assert problems and all(p.startswith(f"record 0 ({'x' * 80}…): ") for p in problems)
