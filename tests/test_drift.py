"""Issue 11, "Drift already visible": each rule that had grown two or more versions now lives once
in directory/, and every caller gives the same answer. Each test here failed before the fix."""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import Schema

from directory import accounts, autoreply, contacts, hours, schemas, vocabulary
from directory.db import get_session
from directory.errors import InvalidTeam
from directory.schemas import TeamSchema, load_team
from tests.conftest import team_doc

LONDON = ZoneInfo("Europe/London")
NO_OPENING = "Closed — no opening in the coming year"


def ldn(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


# --- one status policy: /status, auto-reply, team page, lists and search say the same ----------


def test_published_hours_without_an_opening_read_the_same_everywhere(client: FlaskClient, make_team: Any) -> None:
    make_team(hours={"weekly": {}})  # published, closed every day: not the same as unpublished hours
    at = "2026-11-24T10:00:00Z"
    status = client.get(f"/api/v1/teams/payroll/status?at={at}").json
    assert status["text"]["badge"] == NO_OPENING
    reply = client.get(f"/api/v1/teams/payroll/auto-reply?at={at}&format=json").json
    assert reply["facts"]["text"]["badge"] == NO_OPENING
    assert NO_OPENING in reply["text"] and "Hours not published" not in reply["text"]
    pages = {
        "team page": client.get("/teams/payroll"),
        "department list": client.get("/departments/finance"),
        "search results": client.get("/search?q=payroll"),
    }
    for where, page in pages.items():
        assert page.status_code == 200, where
        text = html.unescape(page.get_data(as_text=True))
        assert NO_OPENING in text, where
        assert "Hours not published" not in text.replace('value="no"', ""), where


def test_unpublished_hours_read_the_same_everywhere(client: FlaskClient, make_team: Any) -> None:
    make_team(hours=None)
    status = client.get("/api/v1/teams/payroll/status").json
    assert status["text"]["badge"] == "Hours not published"
    reply = client.get("/api/v1/teams/payroll/auto-reply?format=json").json
    assert reply["facts"]["text"]["badge"] == "Hours not published"
    assert "Hours not published" in client.get("/search?q=payroll").get_data(as_text=True)


# --- one e-mail rule: what is saved is what answers --------------------------------------------

NEVER_ANSWER = ["payroll@example.com.", "first..last@example.com"]


@pytest.mark.parametrize("address", NEVER_ANSWER)
def test_an_address_that_would_never_answer_is_not_saved(
        client: FlaskClient, auth_headers: dict[str, str], address: str) -> None:
    assert contacts.normalize_address(address) is None  # the auto-reply could never find it
    contact = client.post("/api/v1/teams", json=team_doc(contacts=[{"kind": "email", "value": address}]),
                          headers=auth_headers)
    assert contact.status_code == 422 and "contacts.0.value" in contact.json["errors"]
    owner = client.post("/api/v1/teams", json=team_doc(owners=[address]), headers=auth_headers)
    assert owner.status_code == 422 and "owners.0" in owner.json["errors"]


@pytest.mark.parametrize("address", NEVER_ANSWER)
def test_accounts_use_the_same_rule(app: Flask, address: str) -> None:
    with app.app_context(), pytest.raises(accounts.InvalidAccount) as refused:
        accounts.create_user(get_session(), address, "Someone", "long password!")
    assert list(refused.value.errors) == ["email"]


def test_a_saved_address_answers(client: FlaskClient, make_team: Any) -> None:
    make_team(contacts=[{"kind": "email", "value": "Pay.Roll+desk@Example.com"}])
    assert client.get("/api/v1/auto-reply?to=pay.roll%40example.com&format=json").status_code == 200


# --- one phone link (RFC 3966) on the page and in the auto-reply --------------------------------


def test_phone_links_agree(client: FlaskClient, make_team: Any) -> None:
    make_team(contacts=[{"kind": "phone", "value": "+44 20 7946 0100 ext. 12", "label": "Desk"}])
    page = client.get("/teams/payroll").get_data(as_text=True)
    reply = client.get("/api/v1/teams/payroll/auto-reply?format=html").get_data(as_text=True)
    for where, text in (("page", page), ("auto-reply", reply)):
        assert set(re.findall(r'href="(tel:[^"]*)"', text)) == {"tel:+442079460100;ext=12"}, where


# --- one list of time zones for the editor and the schema ---------------------------------------


def test_the_editor_offers_only_zones_the_schema_accepts(app: Flask, client: FlaskClient, make_team: Any) -> None:
    from tests.web.conftest import sign_in

    make_team()
    sign_in(client, app, "admin@example.com", is_admin=True)
    page = client.get("/teams/payroll/edit").get_data(as_text=True)
    listed = page.split('<datalist id="timezones">', 1)[1].split("</datalist>", 1)[0]
    offered = re.findall(r'<option value="([^"]+)"', listed)
    assert offered == list(vocabulary.time_zones())
    assert {"Factory", "localtime", "posixrules"}.isdisjoint(offered)
    assert "Europe/London" in offered
    refused = [zone for zone in offered if hours.validate_timezone(zone)]
    assert refused == []
    for zone in ("Factory", "localtime"):
        with pytest.raises(InvalidTeam) as refused_zone:
            load_team(team_doc(timezone=zone))
        assert "timezone" in refused_zone.value.errors


# --- one list of fields: the schema, the vocabulary and the editor -----------------------------


def test_the_vocabulary_names_every_field_the_schema_loads() -> None:
    writable = [name for name, field in TeamSchema._declared_fields.items() if not field.dump_only]
    assert sorted(writable) == sorted(vocabulary.TEAM_FIELDS)
    assert tuple(vocabulary.FIELD_LABELS) == vocabulary.TEAM_FIELDS
    assert sorted(vocabulary.EDITOR_ORDER) == sorted(vocabulary.TEAM_FIELDS)


def test_the_editor_has_a_place_for_every_field(app: Flask, client: FlaskClient, make_team: Any) -> None:
    from tests.web.conftest import sign_in

    make_team()
    sign_in(client, app, "admin@example.com", is_admin=True)
    page = client.get("/teams/payroll/edit").get_data(as_text=True)
    missing = [key for key in vocabulary.TEAM_FIELDS if f'id="f-{key}"' not in page]
    assert missing == []


def test_a_team_goes_through_the_editor_unchanged() -> None:
    """What the editor shows is what it saves: the form reads and writes every field, free text
    fields included however many the schema has, with no list of its own to forget one in."""
    from directory.web.forms import document_from_form, form_from_post, form_from_team

    stored = load_team(team_doc(notices=[{"message": "Short-staffed", "starts": "2026-12-01", "ends": None,
                                          "level": "warning"}]))
    from tests.web.test_forms import posted_fields

    assert load_team(document_from_form(form_from_post(posted_fields(form_from_team(stored))))) == stored


# --- one list of values, with one wording, for each closed list ---------------------------------


def _options(page: str, name: str) -> list[str]:
    select = page.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]
    return [v for v in re.findall(r'<option value="([^"]*)"', select) if v]


def test_the_editor_offers_exactly_the_values_the_schema_accepts(
        app: Flask, client: FlaskClient, make_team: Any) -> None:
    from tests.web.conftest import sign_in

    make_team(notices=[{"message": "Short-staffed", "starts": "2026-12-01", "ends": None, "level": "info"}])
    sign_in(client, app, "admin@example.com", is_admin=True)
    editor = client.get("/teams/payroll/edit").get_data(as_text=True)
    team_page = client.get("/teams/payroll").get_data(as_text=True)
    offered = {
        "booking.method": _options(editor, "booking.method"),
        "services.0.booking.method": _options(editor, "services.0.booking.method"),
        "contacts.0.kind": _options(editor, "contacts.0.kind"),
        "response_time.unit": _options(editor, "response_time.unit"),
        "notices.0.level": _options(editor, "notices.0.level"),
        "the team page's notice level": _options(team_page, "level"),
    }
    methods, kinds = _accepted(schemas.BookingSchema, "method"), _accepted(schemas.ContactSchema, "kind")
    units, levels = _accepted(schemas.DurationSchema, "unit"), _accepted(schemas.NoticeSchema, "level")
    assert offered == {
        "booking.method": methods, "services.0.booking.method": methods, "contacts.0.kind": kinds,
        "response_time.unit": units, "notices.0.level": levels, "the team page's notice level": levels,
    }
    assert ">Book a slot in a calendar<" in editor and ">Information<" in team_page


def _accepted(schema: type[Schema], field: str) -> list[str]:
    """The values a schema's field accepts, asked of its validators."""
    return [c for validator in schema._declared_fields[field].validators for c in getattr(validator, "choices", ())]


def test_every_value_has_its_wording_wherever_it_is_shown() -> None:
    methods, kinds = set(vocabulary.BOOKING_METHODS), set(vocabulary.CONTACT_KINDS)
    assert set(vocabulary.BOOKING_ACTIONS) == set(vocabulary.BOOKING_REPLY_PHRASES) == methods
    assert set(vocabulary.CONTACT_LABELS) == set(vocabulary.REPLY_CONTACT_LABELS) == kinds
    assert set(vocabulary.NOTICE_REPLY_LEADS) == set(vocabulary.NOTICE_LEVELS)
    assert set(vocabulary.DURATION_WORDS) == set(vocabulary.DURATION_UNITS)


# --- one duration limit for the schema and the engine -------------------------------------------


@pytest.mark.parametrize("unit", hours.DURATION_UNITS)
def test_duration_limit_is_shared(unit: str) -> None:
    limit = hours.MAX_DURATION_VALUE
    schedule = hours.Schedule.from_team(team_doc()["hours"], "Europe/London")
    assert schedule is not None
    load_team(team_doc(response_time={"value": limit, "unit": unit}))
    schedule.add(ldn(2026, 11, 23, 10), limit, unit)  # computes (perhaps to None: beyond a sane horizon)
    with pytest.raises(InvalidTeam) as refused:
        load_team(team_doc(response_time={"value": limit + 1, "unit": unit}))
    assert f"at most {limit}" in " ".join(refused.value.errors["response_time.value"])
    with pytest.raises(ValueError, match=f"at most {limit}"):
        schedule.add(ldn(2026, 11, 23, 10), limit + 1, unit)
    assert hours.validate_duration({"value": limit + 1, "unit": unit})


# --- PATCH validates once -----------------------------------------------------------------------


def test_patch_loads_the_schema_and_renders_the_template_once(
        client: FlaskClient, make_team: Any, auth_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    make_team(auto_reply={"subject": "Re: {{ team_name }}", "body": "Hello from {{ team_name }}."})
    etag = client.get("/api/v1/teams/payroll").headers["ETag"]
    loads: list[Any] = []
    renders: list[Any] = []
    real_load, real_check = TeamSchema.load, autoreply.check_template

    def counting_load(self: Any, *args: Any, **kwargs: Any) -> Any:
        if type(self) is TeamSchema:
            loads.append(args)
        return real_load(self, *args, **kwargs)

    def counting_check(*args: Any, **kwargs: Any) -> Any:
        renders.append(args)
        return real_check(*args, **kwargs)

    monkeypatch.setattr(TeamSchema, "load", counting_load)
    monkeypatch.setattr(autoreply, "check_template", counting_check)
    response = client.patch("/api/v1/teams/payroll", json={"summary": "Pay and P60s"},
                            headers={**auth_headers, "If-Match": etag})
    assert response.status_code == 200, response.json
    assert response.json["summary"] == "Pay and P60s"
    assert len(loads) == 1
    assert len(renders) == 1
    bad = client.patch("/api/v1/teams/payroll", json={"owners": ["first..last@example.com"]},
                       headers={**auth_headers, "If-Match": response.headers["ETag"]})
    assert bad.status_code == 422 and "owners.0" in bad.json["errors"]
    not_object = client.patch("/api/v1/teams/payroll", json=["summary"],
                              headers={**auth_headers, "If-Match": response.headers["ETag"]})
    assert not_object.status_code == 422


# --- contract §2: durations without hours; §1: business days in a lunch gap ----------------------


def test_calendar_durations_are_answered_without_published_hours(client: FlaskClient, make_team: Any) -> None:
    make_team(hours=None, response_time={"value": 2, "unit": "hours"}, services=[
        {"name": "Days", "turnaround": {"value": 1, "unit": "days"}},
        {"name": "Business", "turnaround": {"value": 1, "unit": "business_days"}},
    ])
    # the night the clocks go back in London: `days` keeps the team's wall-clock time
    status = client.get("/api/v1/teams/payroll/status?at=2026-10-24T10:00:00%2B01:00").json
    assert status["reply_by"] == "2026-10-24T12:00:00+01:00"
    assert {s["name"]: s["done_by"] for s in status["services"]} == {
        "Days": "2026-10-25T10:00:00+00:00", "Business": None}


def test_business_days_in_a_lunch_gap_stay_there() -> None:
    schedule = hours.Schedule.from_team(team_doc()["hours"], "Europe/London")
    assert schedule is not None
    # Friday 12:45 + 1 business day: Monday 12:45 falls between 12:30 and 13:30
    assert schedule.add(ldn(2026, 11, 20, 12, 45), 1, "business_days") == ldn(2026, 11, 23, 12, 45)
    # still moved into the day's hours at either end
    assert schedule.add(ldn(2026, 11, 19, 17, 0), 1, "business_days") == ldn(2026, 11, 20, 16, 0)
    assert schedule.add(ldn(2026, 11, 22, 20, 0), 1, "business_days") == ldn(2026, 11, 24, 9, 0)
