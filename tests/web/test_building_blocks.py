"""The pure pieces behind the pages, without HTTP: Markdown, the editor's form mapping, time zones, diffs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from directory.web.diff import field_changes
from directory.web.forms import ErrorMap, document_from_form, form_from_post, form_from_team
from directory.web.markdown import render_markdown
from directory.web.present import booking_action, closure_text, offset_note, reader_interval, tel_href


@pytest.mark.parametrize("source", [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "<a href=\"jAvAsCrIpT:alert(1)\">x</a>",
    "<a href=\"java&#x09;script:alert(1)\">x</a>",
    "<p onmouseover=\"alert(1)\">x</p>",
    "<svg><script>alert(1)</script></svg>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    "<style>body{display:none}</style>",
    "<form action=\"https://evil.example\"><input name=x></form>",
    "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>",
])
def test_markdown_leaves_nothing_executable(source: str) -> None:
    from html.parser import HTMLParser

    html = str(render_markdown(source))
    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    Collect().feed(html)
    assert not {t for t, _ in found} & {"script", "iframe", "style", "form", "input", "svg", "img"}, html
    for tag, attrs in found:
        for name, value in attrs:
            assert not name.startswith("on") and name not in {"style", "srcdoc"}, (tag, name)
            assert not (value or "").lower().replace("\t", "").startswith(("javascript:", "data:")), (tag, value)


def test_markdown_keeps_what_owners_write() -> None:
    html = str(render_markdown("# Title\n\n**Bold** and [a link](https://example.com)\n\n- one\n- two\n\n"
                               "| a | b |\n|---|---|\n| 1 | 2 |"))
    assert "<h3>Title</h3>" in html  # moved below the page's own headings
    assert '<a href="https://example.com" rel="noopener noreferrer nofollow">a link</a>' in html
    assert "<li>one</li>" in html and "<table>" in html and "<strong>Bold</strong>" in html
    assert str(render_markdown(None)) == "" and str(render_markdown("  ")) == ""


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


def test_reader_intervals_name_the_day_when_it_changes() -> None:
    london, new_york, tokyo = ZoneInfo("Europe/London"), ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo")
    monday = date(2026, 11, 23)
    assert reader_interval(monday, "09:00", "17:30", london, new_york) == "04:00–12:30"
    assert reader_interval(monday, "22:00", "24:00", london, tokyo) == "Tue 07:00–09:00"
    assert reader_interval(monday, "20:00", "24:00", london, new_york) == "15:00–19:00"
    assert reader_interval(monday, "19:00", "24:00", new_york, london) == "Tue 00:00–05:00"
    assert reader_interval(monday, "09:00", "17:00", tokyo, london) == "00:00–08:00"
    assert reader_interval(monday, "08:00", "17:00", tokyo, london) == "Sun 23:00–Mon 08:00"
    assert reader_interval(monday, "00:00", "24:00", london, new_york) == "Sun 19:00–Mon 19:00"


def test_small_wordings() -> None:
    now = datetime(2026, 11, 24, 10, tzinfo=UTC)
    assert offset_note("Europe/London", "America/New_York", now) == "5 hours behind the team"
    assert offset_note("Europe/London", "Asia/Kolkata", now) == "5 h 30 min ahead of the team"
    assert tel_href("+44 (0)20 7946-0130") == "tel:+442079460130"
    assert tel_href("555 0100 x 12") == "tel:5550100;ext=12"
    assert closure_text({"start": "2026-12-24", "end": "2026-12-24"}, date(2026, 11, 1)) == "Thu 24 Dec"
    assert closure_text({"start": "2027-01-02", "end": "2027-01-03", "reason": "Move"}, date(2026, 11, 1)) == \
        "Sat 2 Jan 2027 – Sun 3 Jan 2027: Move"
    email = booking_action({"method": "email", "url": None, "instructions": None},
                           [{"kind": "email", "value": "pay@example.com"}])
    assert email and email["href"] == "mailto:pay@example.com" and email["label"] == "Send an e-mail"
    walk_in = booking_action({"method": "walk_in"}, [], location="Floor 2")
    assert walk_in and walk_in["href"] is None and walk_in["location"] == "Floor 2"


def test_diffs_are_field_by_field() -> None:
    week = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    old = {"name": "A", "summary": "Old", "hours": {"weekly": week, "holidays": None}, "tags": ["a", "b"]}
    new = {"name": "A", "summary": "New", "hours": {"weekly": {**week, "mon": [["08:00", "17:00"]]},
                                                    "holidays": None}, "tags": ["a"]}
    changes = {c.key: c for c in field_changes(old, new)}
    assert set(changes) == {"summary", "hours", "tags"}
    assert changes["summary"].simple and (changes["summary"].old, changes["summary"].new) == ("Old", "New")
    assert changes["tags"].old == "a, b" and changes["tags"].new == "a"
    kinds = [(line.kind, line.text.strip()) for line in changes["hours"].lines]
    assert ("remove", "Mon–Fri 09:00–17:00") in kinds
    assert ("add", "Mon 08:00–17:00") in kinds and ("add", "Tue–Fri 09:00–17:00") in kinds
    assert ("same", "Sat–Sun closed") in kinds
    assert field_changes(old, old) == []
