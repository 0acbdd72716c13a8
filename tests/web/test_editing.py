"""Editing a team from the browser: permissions, validation beside the fields, CSRF, conflicts,
history with diffs and restore, "mark as reviewed", and the editor's lists without JavaScript."""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from directory import services
from directory.db import get_session
from directory.models import Revision, Team
from directory.schemas import load_team


def text(response: Any) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def stored(app: Flask, slug: str = "payroll") -> Team:
    with app.app_context():
        session = get_session()
        team = services.get_team(session, slug, include_archived=True)
        session.expunge(team)
        return team


def revisions(app: Flask, slug: str = "payroll") -> list[Revision]:
    with app.app_context():
        session = get_session()
        team = services.get_team(session, slug, include_archived=True)
        rows = list(team.revisions)
        for row in rows:
            session.expunge(row)
        return rows


def edit_elsewhere(app: Flask, change: dict[str, Any], slug: str = "payroll",
                   author: str = "bob@example.com") -> None:
    """Someone else saves the team (through the service layer) while our editor is open."""
    with app.app_context():
        session = get_session()
        team = services.get_team(session, slug)
        actor = services.Actor(name=author, email=author, is_admin=True)
        services.update_team(session, team, load_team({**team.data, **change}), actor,
                             expected_version=team.version)
        session.commit()


@pytest.fixture
def payroll(make_team: Any) -> dict[str, Any]:
    return make_team()


@pytest.fixture
def other_team(make_team: Any) -> dict[str, Any]:
    return make_team(slug="legal", name="Legal", owners=["carol@example.com"],
                     contacts=[{"kind": "email", "value": "legal@example.com"}])


# --------------------------------------------------------------------------- who may edit


def test_anonymous_editor_is_sent_to_sign_in(client: FlaskClient, payroll: Any) -> None:
    response = client.get("/teams/payroll/edit")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/teams/payroll/edit"
    response = client.post("/teams/payroll/review", data={})
    assert response.status_code in (302, 400)  # no session and no CSRF token: refused either way


def test_owner_edits_own_team_but_not_another(app: Flask, owner_client: FlaskClient, payroll: Any,
                                              other_team: Any, editor_fields: Any) -> None:
    page = owner_client.get("/teams/payroll")
    assert "Edit this page" in text(page) and "Mark as reviewed" in text(page)
    assert "Edit this page" not in text(owner_client.get("/teams/legal"))

    fields = editor_fields(owner_client, "payroll")
    fields["summary"] = "Pay, payslips and tax codes."
    response = owner_client.post("/teams/payroll/edit", data=fields)
    assert response.status_code == 302 and response.headers["Location"] == "/teams/payroll"
    assert stored(app).data["summary"] == "Pay, payslips and tax codes."
    assert stored(app).version == 2
    newest = revisions(app)[0]
    assert (newest.number, newest.action, newest.author) == (2, "update", "alice@example.com")
    assert "is now at version 2" in text(owner_client.get("/teams/payroll"))

    forbidden = owner_client.get("/teams/legal/edit")
    assert forbidden.status_code == 403
    assert "only its owners" in text(forbidden) and 'class="site-header"' in text(forbidden)
    legal_fields = {**fields, "name": "Legal", "slug": "legal", "csrf_token": fields["csrf_token"]}
    assert owner_client.post("/teams/legal/edit", data=legal_fields).status_code == 403
    assert stored(app, "legal").version == 1


def test_saving_without_changes_records_nothing(app: Flask, owner_client: FlaskClient, payroll: Any,
                                                editor_fields: Any) -> None:
    response = owner_client.post("/teams/payroll/edit", data=editor_fields(owner_client, "payroll"))
    assert response.status_code == 302
    assert stored(app).version == 1
    assert "Nothing had changed" in text(owner_client.get("/teams/payroll"))


def test_the_form_round_trips_every_field(app: Flask, admin_client: FlaskClient, make_team: Any,
                                          editor_fields: Any) -> None:
    """What the editor shows and posts back unchanged is exactly the stored document."""
    make_team(auto_reply={"subject": "We got your message", "body": "Thanks, {{ team_name }}."},
              services=[{"name": "Advance", "description": None, "turnaround": {"value": 1.5, "unit": "days"},
                         "booking": {"method": "calendar", "url": "https://cal.example/pay", "instructions": None}}],
              contacts=[{"kind": "email", "value": "payroll@example.com", "label": "Mailbox"},
                        {"kind": "phone", "value": "+44 20 7946 0000"}])
    before = stored(app).data
    response = admin_client.post("/teams/payroll/edit", data=editor_fields(admin_client, "payroll"))
    assert response.status_code == 302
    after = stored(app)
    assert after.version == 1, "an unchanged form must not create a revision"
    assert after.data == before


# --------------------------------------------------------------------------- validation beside the fields


def test_bad_time_shows_message_beside_the_day_and_keeps_what_was_typed(
        app: Flask, owner_client: FlaskClient, payroll: Any, editor_fields: Any) -> None:
    fields = editor_fields(owner_client, "payroll")
    fields["hours.weekly.mon.0.start"] = "25:00"
    fields["summary"] = "A summary typed but not saved"
    response = owner_client.post("/teams/payroll/edit", data=fields)
    html = text(response)
    assert response.status_code == 422
    monday = html[html.index('id="f-hours-weekly-mon"'):html.index('id="f-hours-weekly-tue"')]
    assert "'25:00' is not a time of day" in monday
    assert 'value="25:00"' in monday and 'aria-invalid="true"' in monday
    assert 'value="A summary typed but not saved"' in html
    assert "Nothing was saved" in html and 'href="#f-hours-weekly-mon"' in html
    assert stored(app).version == 1
    assert stored(app).data["hours"]["weekly"]["mon"][0] == ["09:00", "12:30"]


def test_nested_errors_land_on_their_inputs(app: Flask, owner_client: FlaskClient, payroll: Any,
                                            editor_fields: Any) -> None:
    fields = editor_fields(owner_client, "payroll")
    fields["services.0.turnaround.value"] = "soon"
    fields["contacts.0.value"] = "not-an-address"
    fields["hours.closures.0.end"] = "2026-12-01"  # before its start
    fields["timezone"] = "Mars/Olympus"
    fields["owners"] = "alice@example.com\nnot an email"
    response = owner_client.post("/teams/payroll/edit", data=fields)
    html = text(response)
    assert response.status_code == 422
    turnaround = html[html.index('id="f-services-0"'):]
    assert re.search(r'id="f-services-0-turnaround-value-error">.*?must be a number', turnaround, re.S)
    assert 'value="soon"' in turnaround
    assert re.search(r'id="f-contacts-0-value-error">.*?is not an e-mail address', html, re.S)
    assert re.search(r'id="f-hours-closures-0-end-error">.*?ends before it starts', html, re.S)
    assert re.search(r'id="f-timezone-error">.*?unknown time zone', html, re.S)
    assert re.search(r'id="f-owners-error">.*?', html, re.S)
    assert "not an email" in html
    assert stored(app).version == 1


def test_conflicting_slug_is_shown_beside_the_slug(
        app: Flask, owner_client: FlaskClient, payroll: Any, other_team: Any, editor_fields: Any) -> None:
    fields = editor_fields(owner_client, "payroll")
    fields["slug"] = "legal"
    response = owner_client.post("/teams/payroll/edit", data=fields)
    assert response.status_code == 409
    html = text(response)
    assert re.search(r'id="f-slug-error">.*?is already the slug of Legal', html, re.S)
    assert stored(app).version == 1


def test_a_shared_mailbox_may_be_listed_by_two_teams(
        app: Flask, owner_client: FlaskClient, payroll: Any, other_team: Any, editor_fields: Any) -> None:
    fields = editor_fields(owner_client, "payroll")
    fields["contacts.0.value"] = "legal@example.com"
    response = owner_client.post("/teams/payroll/edit", data=fields)
    assert response.status_code == 302
    assert stored(app).version == 2
    page = text(owner_client.get(response.headers["Location"]))
    assert "legal@example.com is answered by Legal (legal)" in page
    assert "only they or an administrator can hand it over" in page


def test_publishing_choice_protects_typed_hours(app: Flask, owner_client: FlaskClient, payroll: Any,
                                                editor_fields: Any) -> None:
    fields = editor_fields(owner_client, "payroll")
    fields["hours.published"] = "no"
    response = owner_client.post("/teams/payroll/edit", data=fields)
    assert response.status_code == 422
    assert "you entered opening hours but chose" in text(response)
    # Cleared hours and "not published": saved as unpublished.
    fields = {k: v for k, v in fields.items() if not k.startswith("hours.") or k == "hours.published"}
    response = owner_client.post("/teams/payroll/edit", data=fields)
    assert response.status_code == 302
    assert stored(app).data["hours"] is None


# --------------------------------------------------------------------------- CSRF


def test_missing_csrf_token_is_refused_and_nothing_saved(app: Flask, owner_client: FlaskClient, payroll: Any,
                                                          editor_fields: Any) -> None:
    fields = editor_fields(owner_client, "payroll")
    fields["summary"] = "Sneaky"
    del fields["csrf_token"]
    response = owner_client.post("/teams/payroll/edit", data=fields)
    assert response.status_code == 400
    assert "security token" in text(response)
    fields["csrf_token"] = "forged"
    assert owner_client.post("/teams/payroll/edit", data=fields).status_code == 400
    assert owner_client.post("/teams/payroll/review", data={"version": "1"}).status_code == 400
    assert owner_client.post("/teams/payroll/history/1/restore", data={}).status_code == 400
    assert stored(app).version == 1 and stored(app).data["summary"] != "Sneaky"


# --------------------------------------------------------------------------- conflicts


def test_stale_save_shows_a_conflict_and_overwrites_nothing(app: Flask, owner_client: FlaskClient, payroll: Any,
                                                            editor_fields: Any, form_values: Any) -> None:
    fields = editor_fields(owner_client, "payroll")  # opened at version 1
    edit_elsewhere(app, {"summary": "Their summary", "location": "Leeds office"})
    fields["summary"] = "My summary"
    response = owner_client.post("/teams/payroll/edit", data=fields)
    html = text(response)
    assert response.status_code == 409
    assert "Someone else changed this page while you were editing" in html
    assert "bob@example.com saved version 2" in html
    assert "Your changes have not been saved" in html
    changes = html[html.index('id="conflict"'):html.index("</section>", html.index('id="conflict"'))]
    assert "Their summary" in changes and "Leeds office" in changes  # what they changed
    assert 'value="My summary"' in html  # what I typed, kept
    assert 'name="version" value="2"' in html  # a deliberate second save goes over their version
    team = stored(app)
    assert team.version == 2 and team.data["summary"] == "Their summary"

    # Saving again, knowingly, creates a new revision; theirs stays in the history.
    again = {**form_values(response.get_data(as_text=True), form_id="team-editor"), "save": "1"}
    response = owner_client.post("/teams/payroll/edit", data=again)
    assert response.status_code == 302
    assert stored(app).data["summary"] == "My summary"
    assert stored(app).data["location"] == "London HQ, floor 3"
    assert [r.number for r in revisions(app)] == [3, 2, 1]


# --------------------------------------------------------------------------- history and restore


def test_history_lists_revisions_diffs_them_and_restores(app: Flask, owner_client: FlaskClient, payroll: Any,
                                                         editor_fields: Any, csrf: Any) -> None:
    fields = editor_fields(owner_client, "payroll")
    fields["hours.weekly.mon.0.start"] = "08:30"
    fields["summary"] = "Changed summary"
    assert owner_client.post("/teams/payroll/edit", data=fields).status_code == 302

    html = text(owner_client.get("/teams/payroll/history"))
    assert 'id="revision-1"' in html and 'id="revision-2"' in html
    assert "Changes from version 1 to version 2" in html
    assert "Changed summary" in html
    diff = html[html.index('class="changes"'):]
    assert re.search(r'diff__line--remove">.*?Mon 09:00–12:30, 13:30–17:30', diff)
    assert re.search(r'diff__line--add">.*?Mon 08:30–12:30, 13:30–17:30', diff)
    assert "alice@example.com" in html

    # any two versions, either order
    html = text(owner_client.get("/teams/payroll/history?from=2&to=1"))
    assert "Changes from version 1 to version 2" in html

    token = csrf(owner_client, "/teams/payroll/history")
    response = owner_client.post("/teams/payroll/history/1/restore", data={"csrf_token": token, "version": "2"})
    assert response.status_code == 302
    team = stored(app)
    assert team.version == 3
    assert team.data["hours"]["weekly"]["mon"][0] == ["09:00", "12:30"]
    newest = revisions(app)[0]
    assert newest.action == "restore" and newest.note == "restored revision 1"
    assert "Restored version 1" in text(owner_client.get("/teams/payroll/history"))

    # a restore from a stale history page is refused
    response = owner_client.post("/teams/payroll/history/2/restore", data={"csrf_token": token, "version": "2"})
    assert response.status_code == 302
    assert stored(app).version == 3
    assert "nothing was restored" in text(owner_client.get("/teams/payroll/history"))


def test_readers_see_history_without_restore_buttons(client: FlaskClient, payroll: Any, app: Flask) -> None:
    edit_elsewhere(app, {"summary": "Second"})
    html = text(client.get("/teams/payroll/history"))
    assert "Changes from version 1 to version 2" in html
    assert "/restore" not in html


def test_restore_by_someone_else_is_forbidden(app: Flask, client: FlaskClient, payroll: Any, other_team: Any,
                                              sign_in_as: Any, csrf: Any) -> None:
    edit_elsewhere(app, {"summary": "Second"})
    sign_in_as(client, "carol@example.com")
    token = csrf(client, "/teams/payroll/history")
    response = client.post("/teams/payroll/history/1/restore", data={"csrf_token": token, "version": "2"})
    assert response.status_code == 403
    assert stored(app).version == 2


def test_mark_as_reviewed_in_one_click(app: Flask, owner_client: FlaskClient, make_team: Any, csrf: Any) -> None:
    make_team(last_reviewed="2025-01-01")
    token = csrf(owner_client, "/teams/payroll")
    response = owner_client.post("/teams/payroll/review", data={"csrf_token": token, "version": "1"})
    assert response.status_code == 302
    team = stored(app)
    assert team.version == 2 and team.data["last_reviewed"] != "2025-01-01"
    assert revisions(app)[0].action == "review"
    assert "marked as reviewed today" in text(owner_client.get("/teams/payroll"))


# --------------------------------------------------------------------------- the editor without JavaScript


def test_add_and_remove_rows_without_javascript(app: Flask, owner_client: FlaskClient, payroll: Any,
                                                editor_fields: Any) -> None:
    fields = editor_fields(owner_client, "payroll")
    fields.pop("save")
    fields["summary"] = "Typed before adding a row"
    response = owner_client.post("/teams/payroll/edit", data={**fields, "add": "services"})
    html = text(response)
    assert response.status_code == 200
    assert 'name="services.1.name"' in html and 'value="Typed before adding a row"' in html
    response = owner_client.post("/teams/payroll/edit", data={**fields, "add": "hours.weekly.sat"})
    assert 'name="hours.weekly.sat.0.start"' in text(response)
    response = owner_client.post("/teams/payroll/edit", data={**fields, "remove": "hours.weekly.mon.1"})
    html = text(response)
    assert 'name="hours.weekly.mon.1.start"' not in html and 'value="13:30"' not in html
    assert 'name="hours.weekly.mon.0.end" value="12:30"' in html
    assert stored(app).version == 1  # nothing is saved by adding or removing rows

    # Rows may arrive with gaps in their numbering (the page script numbers new rows freely).
    fields = editor_fields(owner_client, "payroll")
    fields["hours.weekly.sat.1005.start"] = "10:00"
    fields["hours.weekly.sat.1005.end"] = "12:00"
    fields["services.1007.name"] = "Pension letters"
    fields["services.1007.turnaround.value"] = "5"
    fields["services.1007.turnaround.unit"] = "business_days"
    assert owner_client.post("/teams/payroll/edit", data=fields).status_code == 302
    data = stored(app).data
    assert data["hours"]["weekly"]["sat"] == [["10:00", "12:00"]]
    assert data["services"][-1]["name"] == "Pension letters"
    assert data["services"][-1]["turnaround"] == {"value": 5, "unit": "business_days"}


def test_renaming_the_slug_moves_the_page(app: Flask, owner_client: FlaskClient, payroll: Any,
                                          editor_fields: Any) -> None:
    fields = editor_fields(owner_client, "payroll")
    fields["slug"] = "pay"
    response = owner_client.post("/teams/payroll/edit", data=fields)
    assert response.headers["Location"] == "/teams/pay"
    assert owner_client.get("/teams/pay").status_code == 200


# --------------------------------------------------------------------------- creating teams


def test_admin_creates_a_team(app: Flask, admin_client: FlaskClient, form_values: Any) -> None:
    html = text(admin_client.get("/teams/new"))
    fields = form_values(html, form_id="team-editor")
    fields.update({"name": "Travel Desk", "summary": "Trains, planes and hotels.", "department": "Finance",
                   "timezone": "Europe/Paris", "hours.published": "yes",
                   "hours.weekly.mon.0.start": "09:00", "hours.weekly.mon.0.end": "17:00",
                   "owners": "dana@example.com", "save": "1"})
    response = admin_client.post("/teams/new", data=fields)
    assert response.status_code == 302 and response.headers["Location"] == "/teams/travel-desk"
    team = stored(app, "travel-desk")
    assert team.data["hours"]["weekly"]["mon"] == [["09:00", "17:00"]]
    assert team.data["timezone"] == "Europe/Paris"

    fields["name"] = ""
    response = admin_client.post("/teams/new", data=fields)
    assert response.status_code == 422
    assert re.search(r'id="f-name-error">', text(response))


def test_only_admins_create_teams(client: FlaskClient, owner_client: FlaskClient, payroll: Any) -> None:
    assert owner_client.get("/teams/new").status_code == 403


def test_error_links_and_descriptions_point_at_real_elements(owner_client: FlaskClient, payroll: Any,
                                                             editor_fields: Any) -> None:
    """Every error-summary link and aria-describedby resolves, and no id is used twice."""
    fields = editor_fields(owner_client, "payroll")
    fields.update({"hours.weekly.mon.0.start": "25:00", "services.0.turnaround.value": "x",
                   "hours.closures.0.end": "bad", "response_time.value": "-1", "booking.url": "ftp://x",
                   "contacts.0.value": "bad"})
    html = owner_client.post("/teams/payroll/edit", data=fields).get_data(as_text=True)
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert not {i for i in ids if ids.count(i) > 1}
    links = re.findall(r'href="#([^"]+)"', html)
    assert len(links) >= 6
    for anchor in links:
        assert f'id="{anchor}"' in html, anchor
    for described in re.findall(r'aria-describedby="([^"]+)"', html):
        for target in described.split():
            assert f'id="{target}"' in html, target


# --------------------------------------------------------------------------- overnight hours, asked once


def test_an_interval_ending_before_it_starts_is_confirmed_before_saving(
        app: Flask, owner_client: FlaskClient, payroll: Any, editor_fields: Any) -> None:
    fields = editor_fields(owner_client, "payroll")
    fields["hours.weekly.tue.0.end"] = "05:00"
    response = owner_client.post("/teams/payroll/edit", data=fields)
    html = text(response)
    assert response.status_code == 422
    tuesday = html[html.index('id="f-hours-weekly-tue"'):html.index('id="f-hours-weekly-wed"')]
    assert ("interval 1: 09:00 to 05:00 ends before it starts, so it would run overnight until 05:00 on "
            "Wednesday (20 hours) — tick “runs overnight” to confirm") in tuesday
    assert 'value="05:00"' in tuesday and 'name="hours.weekly.tue.0.overnight"' in tuesday
    assert stored(app).version == 1

    fields["hours.weekly.tue.0.overnight"] = "yes"  # the owner ticks the box
    assert owner_client.post("/teams/payroll/edit", data=fields).status_code == 302
    assert stored(app).data["hours"]["weekly"]["tue"] == [["09:00", "05:00"]]
    # Opened again, the stored overnight shift comes back ticked: saving it again asks nothing.
    again = editor_fields(owner_client, "payroll")
    assert again["hours.weekly.tue.0.overnight"] == "yes"
    assert owner_client.post("/teams/payroll/edit", data=again).status_code == 302


def test_a_23_hour_overnight_slip_says_what_is_wrong(app: Flask, owner_client: FlaskClient, make_team: Any,
                                                     editor_fields: Any) -> None:
    make_team(hours={"weekly": {"mon": [["09:00", "12:30"], ["13:30", "17:30"]]}})
    fields = editor_fields(owner_client, "payroll")
    fields["hours.weekly.mon.1.end"] = "08:00"
    html = text(owner_client.post("/teams/payroll/edit", data=fields))
    assert "interval 2: 13:30 to 08:00 ends before it starts, so it would run overnight until 08:00 on Tuesday " \
           "(18 hours 30 minutes)" in html
    fields["hours.weekly.mon.0.end"] = "08:00"
    fields["hours.weekly.mon.0.overnight"] = "yes"
    html = text(owner_client.post("/teams/payroll/edit", data=fields))
    assert "intervals 1 and 2 overlap: interval 1, 09:00 to 08:00, ends before it starts, so it runs past " \
           "midnight until 08:00 the next day" in html
    assert stored(app).version == 1


def test_midnight_endings_need_no_confirming(app: Flask, owner_client: FlaskClient, payroll: Any,
                                            editor_fields: Any) -> None:
    fields = editor_fields(owner_client, "payroll")
    fields["hours.weekly.wed.0.end"] = "24:00"
    fields["hours.weekly.thu.0.end"] = "00:00"
    assert owner_client.post("/teams/payroll/edit", data=fields).status_code == 302


# --------------------------------------------------------------------------- shared mailboxes, said as they are


def test_the_editor_and_team_page_say_who_else_lists_a_shared_mailbox(
        app: Flask, owner_client: FlaskClient, payroll: Any, make_team: Any) -> None:
    make_team(slug="legal", name="Legal", owners=["carol@example.com"],
              contacts=[{"kind": "email", "value": "Payroll+legal@Example.com"}])
    make_team(slug="hr", name="HR", owners=["carol@example.com"],
              contacts=[{"kind": "email", "value": "payroll@example.com"}])
    html = text(owner_client.get("/teams/payroll/edit"))
    assert "must be unique" not in html
    assert "Several teams may list one shared mailbox" in html
    contact = html[html.index('id="f-contacts-0"'):html.index('id="f-contacts-1"')]
    assert "Also listed by Legal and HR: a shared mailbox." in contact
    assert "Also listed by" not in html[html.index('id="f-contacts-1"'):]  # the chat handle is nobody else's
    page = text(owner_client.get("/teams/payroll"))
    contacts = page[page.index('id="contacts-title"'):]
    assert "Also listed by Legal and HR (a shared mailbox)" in contacts
    assert "Also listed by Payroll and HR" in text(owner_client.get("/teams/legal"))


def test_an_address_nobody_else_lists_gets_no_note(owner_client: FlaskClient, payroll: Any) -> None:
    assert "Also listed by" not in text(owner_client.get("/teams/payroll/edit"))
    assert "Also listed by" not in text(owner_client.get("/teams/payroll"))


# --------------------------------------------------------------------------- long descriptions, kept


def test_an_over_long_description_says_by_how_much_and_keeps_the_text(
        app: Flask, owner_client: FlaskClient, payroll: Any, editor_fields: Any) -> None:
    fields = editor_fields(owner_client, "payroll")
    fields["description"] = "word " * 10_062 + "end.xx"  # 50,316 characters
    response = owner_client.post("/teams/payroll/edit", data=fields)
    html = text(response)
    assert response.status_code == 422
    assert "Description is 50,316 characters; the most is 50,000 — shorten it by 316." in html
    assert "Longer than maximum length" not in html
    assert fields["description"] in html  # what was typed is still in the box
    assert "50,316 of 50,000 characters — 316 too many" in html
    assert stored(app).version == 1


def test_the_editor_counts_characters(owner_client: FlaskClient, payroll: Any) -> None:
    html = text(owner_client.get("/teams/payroll/edit"))
    assert 'data-max-chars="50000"' in html
    assert "42 of 50,000 characters" in html  # "We pay everyone. **Payslips** on the 25th."


def test_a_post_over_the_api_body_limit_comes_back_as_a_field_error(
        app: Flask, owner_client: FlaskClient, payroll: Any, editor_fields: Any) -> None:
    fields = editor_fields(owner_client, "payroll")
    fields["description"] = "é" * 700_000  # 1.4 MB as UTF-8: over MAX_CONTENT_LENGTH (1 MiB)
    fields["summary"] = "Typed alongside"
    response = owner_client.post("/teams/payroll/edit", data=fields)
    html = text(response)
    assert response.status_code == 422
    assert "Description is 700,000 characters; the most is 50,000 — shorten it by 650,000." in html
    assert 'value="Typed alongside"' in html and "é" * 1000 in html
    assert stored(app).version == 1


def test_the_api_keeps_its_one_mebibyte_limit(client: FlaskClient, payroll: Any, auth_headers: dict[str, str]) -> None:
    body = '{"name": "Payroll", "description": "' + "x" * (1024 * 1024) + '"}'
    response = client.put("/api/v1/teams/payroll", data=body, content_type="application/json",
                          headers={**auth_headers, "If-Match": "whatever"})
    assert response.status_code == 413


def test_the_character_count_describes_its_box(owner_client: FlaskClient, payroll: Any) -> None:
    html = text(owner_client.get("/teams/payroll/edit"))
    box = re.search(r'<textarea id="f-description"[^>]*>', html)
    assert box and 'aria-describedby="f-description-hint f-description-count"' in box.group(0)
    assert 'id="f-description-count"' in html
