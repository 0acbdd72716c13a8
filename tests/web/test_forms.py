"""directory.web.forms: a team document to the editor's fields and back, and errors beside their inputs."""

from __future__ import annotations

from typing import Any

import pytest

from directory.schemas import load_team
from directory.vocabulary import WEEKDAYS
from directory.web.forms import (
    ErrorMap,
    TeamForm,
    document_from_form,
    field_id,
    form_errors,
    form_from_post,
    form_from_team,
    local_bound,
    overnight_notes,
    runs_overnight,
)
from tests.conftest import team_doc


def posted_fields(form: TeamForm) -> dict[str, str]:
    """What a browser posts back for a form it was shown unchanged."""
    posted = {**form.values, "version": form.version, "hours.published": "yes" if form.hours_published else "no"}
    for day, rows in form.weekly.items():
        for i, row in enumerate(rows):
            posted.update({f"hours.weekly.{day}.{i}.{k}": v for k, v in row.items()})
    for prefix, rows in (("hours.closures", form.closures), ("contacts", form.contacts),
                         ("services", form.services), ("notices", form.notices)):
        for i, row in enumerate(rows):
            posted.update({f"{prefix}.{i}.{k}": v for k, v in row.items()})
    return posted


def test_form_posts_become_documents() -> None:
    posted = {
        "name": " Payroll ", "tags": "pay, Tax,\nexpenses", "owners": "a@example.com\r\nb@example.com, c@example.com",
        "hours.published": "yes", "timezone": "Europe/London",
        "hours.weekly.mon.3.start": "13:30", "hours.weekly.mon.3.end": "17:30",
        "hours.weekly.mon.0.start": "09:00", "hours.weekly.mon.0.end": "12:30",
        "hours.weekly.tue.0.start": "", "hours.weekly.tue.0.end": "",
        "hours.closures.0.start": "2026-11-27 13:00", "hours.closures.0.end": "2026-11-27T17:30",
        "hours.holidays.country": "gb",
        "response_time.value": "4", "response_time.unit": "business_hours",
        "services.5.name": "Corrections", "services.5.turnaround.value": "1,5", "services.5.turnaround.unit": "days",
        "services.9.name": "", "services.9.description": "",
        "contacts.0.kind": "email", "contacts.0.value": "", "contacts.0.label": "",
        "booking.method": "", "booking.url": "", "booking.instructions": "",
    }
    doc = document_from_form(form_from_post(posted))
    assert doc["name"] == "Payroll"
    assert doc["tags"] == ["pay", "Tax", "expenses"]
    assert doc["owners"] == ["a@example.com", "b@example.com", "c@example.com"]
    assert doc["hours"]["weekly"]["mon"] == [["09:00", "12:30"], ["13:30", "17:30"]]
    assert doc["hours"]["weekly"]["tue"] == []
    assert doc["hours"]["closures"] == [{"start": "2026-11-27T13:00", "end": "2026-11-27T17:30"}]
    assert doc["hours"]["holidays"] == {"country": "GB"}
    assert doc["response_time"] == {"value": 4, "unit": "business_hours"}
    assert doc["services"] == [{"name": "Corrections", "description": None,
                                "turnaround": {"value": 1.5, "unit": "days"}, "booking": None}]
    assert doc["contacts"] == [] and doc["booking"] is None

    unpublished = document_from_form(form_from_post({"name": "X", "hours.published": "no"}))
    assert unpublished["hours"] is None


def test_a_stored_team_fills_the_form() -> None:
    form = form_from_team({"name": "X", "hours": {"weekly": {"mon": [["22:00", "06:00"]]}, "holidays": None,
                                                   "closures": []},
                           "response_time": {"value": 2.0, "unit": "days"}, "owners": ["a@example.com"]}, 7)
    assert form.version == "7" and form.hours_published
    assert form.weekly["mon"] == [{"start": "22:00", "end": "06:00", "overnight": "yes"}]  # stored overnight: already confirmed
    assert form.get("response_time.value") == "2"
    assert form.get("owners") == "a@example.com"
    assert not form_from_team({"name": "Y"}).hours_published


def test_errors_find_their_fields() -> None:
    form = form_from_post({"services.0.name": "A", "contacts.0.value": "x", "contacts.0.kind": "email"})
    errors = ErrorMap({
        "services.0.turnaround.value": ["must be a number"],
        "hours.weekly.mon": ["interval 2: '25:00' is not a time of day"],
        "owners.1": ["Not a valid email address."],
        "contacts.0.value": ["is not an e-mail address"],
        "_schema": ["odd"],
    }, form)
    assert errors.at("services.0.turnaround.value") == ["must be a number"]
    assert errors.at("hours.weekly.mon") and errors.bad_intervals("mon") == {1}
    assert errors.at("owners") == ["Not a valid email address."]
    assert errors.at("contacts.0.value")
    anchors = {anchor for anchor, _label, _message in errors.summary}
    assert {"f-services-0-turnaround-value", "f-hours-weekly-mon", "f-owners", "f-contacts-0-value"} <= anchors
    labels = {label for _anchor, label, _message in errors.summary}
    assert "Opening hours, Monday" in labels and "Service 1 (turnaround value)" in labels


def test_a_whole_team_survives_the_round_trip_through_the_editor() -> None:
    original = team_doc(notices=[{"message": "Moving floors", "starts": "2026-12-01T08:00",
                                  "ends": "2026-12-02T18:00", "level": "warning"}],
                        auto_reply={"subject": "Got it", "body": "Thank you for writing to {{ team_name }}."})
    form = form_from_team(original, 4)
    back = document_from_form(form_from_post(posted_fields(form)))
    assert load_team(back) == load_team(original)
    assert form_from_post(posted_fields(form)).version == "4"


def test_posted_text_is_trimmed_and_line_endings_made_plain() -> None:
    form = form_from_post({"slug": "  pay  ", "description": "  One\r\nTwo  ", "auto_reply.body": "Hi\r\nthere\r\n",
                           "version": " 3 "})
    assert form.get("slug") == "pay" and form.get("description") == "One\nTwo"
    assert form.get("auto_reply.body") == "Hi\nthere" and form.version == "3"
    doc = document_from_form(form)
    assert doc["slug"] == "pay" and doc["auto_reply"] == {"subject": None, "body": "Hi\nthere"}
    assert "slug" not in document_from_form(form_from_post({}))


def test_rows_come_in_index_order_and_blank_or_foreign_fields_are_ignored() -> None:
    form = form_from_post({
        "contacts.10.kind": "phone", "contacts.10.value": "+44 20 7946 0100",
        "contacts.2.kind": "email", "contacts.2.value": "pay@example.com", "contacts.2.label": "Desk",
        "contacts.3.kind": "email", "contacts.3.value": " ", "contacts.3.label": "",
        "contacts.4.colour": "red", "contacts.x.kind": "chat", "contactsx.0.value": "nope",
        "notices.0.level": "warning",
    })
    assert form.contacts == [{"kind": "email", "value": "pay@example.com", "label": "Desk"},
                             {"kind": "phone", "value": "+44 20 7946 0100", "label": ""}]
    assert form.notices == []  # a level alone says nothing
    assert document_from_form(form)["contacts"] == [
        {"kind": "email", "value": "pay@example.com", "label": "Desk"}, {"kind": "phone", "value": "+44 20 7946 0100"}]


def test_numbers_are_read_as_typed_and_anything_else_left_for_the_schema() -> None:
    def value(typed: str) -> Any:
        return document_from_form(form_from_post({"response_time.value": typed,
                                                  "response_time.unit": "days"}))["response_time"]["value"]

    assert value("3") == 3 and isinstance(value("3"), int)
    assert value("2.5") == 2.5 and value("2,5") == 2.5
    assert value("soon") == "soon"
    assert document_from_form(form_from_post({}))["response_time"] is None
    assert document_from_form(form_from_post({"response_time.unit": "days"}))["response_time"] == {"unit": "days"}


def test_holidays_take_a_country_an_organisation_calendar_or_both() -> None:
    def holidays(**typed: str) -> Any:
        return document_from_form(form_from_post({"hours.published": "yes", **typed}))["hours"]["holidays"]

    assert holidays() is None
    assert holidays(**{"hours.holidays.calendar": "org:acme"}) == {"calendar": "org:acme"}
    assert holidays(**{"hours.holidays.country": "gb", "hours.holidays.subdivision": "ENG",
                       "hours.holidays.calendar": "org:acme"}) == {"country": "GB", "subdivision": "ENG",
                                                                   "calendar": "org:acme"}


def test_notices_get_the_documents_spelling_of_their_bounds() -> None:
    doc = document_from_form(form_from_post({"notices.2.message": "Moving", "notices.2.starts": "2026-12-01 8:00",
                                             "notices.2.level": ""}))
    assert doc["notices"] == [{"message": "Moving", "starts": "2026-12-01T08:00", "ends": None, "level": "info"}]
    assert "notices" not in document_from_form(form_from_post({}))


@pytest.mark.parametrize(("typed", "stored"), [
    ("2026-12-24 9:00", "2026-12-24T09:00"), ("2026-12-24T13:30", "2026-12-24T13:30"), ("2026-12-24", "2026-12-24"),
    ("", None), ("tomorrow", "tomorrow"), ("2026-12-24  9:00", "2026-12-24  9:00"),
])
def test_local_bound(typed: str, stored: str | None) -> None:
    assert local_bound(typed) == stored


@pytest.mark.parametrize(("start", "end", "overnight"), [
    ("22:00", "06:00", True), ("09:00", "05:00", True), ("23:59", "00:01", True),
    ("22:00", "00:00", False), ("22:00", "24:00", False), ("09:00", "17:00", False), ("09:00", "09:00", False),
    ("9:00", "05:00", False), ("25:00", "06:00", False), ("", "", False),
])
def test_runs_overnight(start: str, end: str, overnight: bool) -> None:
    assert runs_overnight(start, end) is overnight


def test_an_overnight_interval_is_confirmed_once_and_the_note_says_until_when() -> None:
    typed = {"hours.published": "yes", "hours.weekly.sun.0.start": "09:00", "hours.weekly.sun.0.end": "17:00",
             "hours.weekly.sun.1.start": "22:00", "hours.weekly.sun.1.end": "06:30"}
    notes = form_errors(form_from_post(typed))
    assert list(notes) == ["hours.weekly.sun"] and len(notes["hours.weekly.sun"]) == 1
    note = notes["hours.weekly.sun"][0]
    assert note.startswith("interval 2: 22:00 to 06:30")
    assert "until 06:30 on Monday (8 hours 30 minutes)" in note
    assert ErrorMap(notes, form_from_post(typed)).bad_intervals("sun") == {1}
    assert form_errors(form_from_post({**typed, "hours.weekly.sun.1.overnight": "yes"})) == {}
    short = overnight_notes(form_from_post({"hours.published": "yes", "hours.weekly.mon.0.start": "23:00",
                                            "hours.weekly.mon.0.end": "01:00"}))
    assert "until 01:00 on Tuesday (2 hours)" in short["hours.weekly.mon"][0]


@pytest.mark.parametrize("typed", [
    {"hours.weekly.wed.0.start": "09:00", "hours.weekly.wed.0.end": "17:00"},
    {"hours.closures.0.start": "2026-12-24"},
    {"hours.holidays.country": "GB"},
    {"hours.holidays.calendar": "org:acme"},
])
def test_hours_typed_while_not_published_are_refused_not_dropped(typed: dict[str, str]) -> None:
    errors = form_errors(form_from_post({"hours.published": "no", **typed}))
    assert list(errors) == ["hours"] and "Hours not published" in errors["hours"][0]
    assert form_errors(form_from_post({"hours.published": "no"})) == {}
    assert form_errors(form_from_post({"hours.published": "no", "hours.holidays.subdivision": "ENG"})) == {}


def test_add_row_adds_one_blank_row_to_the_named_list() -> None:
    form = TeamForm()
    for path in ("hours.weekly.mon", "hours.closures", "contacts", "services", "notices", "hours.weekly.xyz", "tags"):
        form.add_row(path)
    assert form.weekly["mon"] == [{"start": "", "end": "", "overnight": ""}]
    assert all(form.weekly[d] == [] for d in WEEKDAYS if d != "mon") and "xyz" not in form.weekly
    assert form.closures == [{"start": "", "end": "", "reason": ""}]
    assert form.contacts == [{"kind": "email", "value": "", "label": ""}]
    assert len(form.services) == 1 and set(form.services[0].values()) == {""}
    assert form.notices == [{"message": "", "starts": "", "ends": "", "level": "info"}]
    form.add_row("notices")
    form.notices[0]["message"] = "changed"
    assert form.notices[1]["message"] == "", "each blank row is a row of its own"


def test_errors_without_a_place_on_the_form_go_to_the_top_and_the_summary_reads_top_to_bottom() -> None:
    form = form_from_post({})
    errors = ErrorMap({"services.10.name": ["ten"], "services.2.name": ["two"], "nonsense.field": ["odd"],
                       "hours.weekly.sun": ["sun"], "hours.weekly.mon": ["mon"], "_schema": ["whole"]}, form)
    assert errors and not ErrorMap({}, form)
    assert errors.at("_form") == ["whole", "odd"] or errors.at("_form") == ["odd", "whole"]
    messages = [message for _anchor, _label, message in errors.summary]
    assert messages.index("mon") < messages.index("sun")
    assert messages.index("two") < messages.index("ten"), "rows in number order, not text order"
    assert errors.at("services") == ["two", "ten"]  # rows the form does not show land on the list
    assert errors.bad_intervals("tue") == set()


def test_field_ids_are_safe_html_ids() -> None:
    assert field_id("services.0.turnaround.value") == "f-services-0-turnaround-value"
    assert field_id('x" onclick="y') == "f-x--onclick--y"
    assert field_id("hours.weekly.mon") == "f-hours-weekly-mon"
