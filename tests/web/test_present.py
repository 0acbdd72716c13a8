"""directory.web.present: what a team page shows, from the document and an instant, without HTTP."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from directory.web.present import (
    booking_action,
    build_team_view,
    closure_text,
    contact_link,
    holidays_heading,
    offset_note,
    reader_interval,
    reader_timezone,
)
from tests.conftest import team_doc

# Tuesday 24 November 2026, 10:00 in London (GMT): the sample team is open until 17:30.
TUESDAY_10 = datetime(2026, 11, 24, 10, tzinfo=UTC)
SATURDAY_10 = datetime(2026, 11, 28, 10, tzinfo=UTC)
OUT_OF_HOURS = {"kind": "phone", "value": "+44 20 7946 0999", "label": "Out-of-hours line"}


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
    assert contact_link({"kind": "phone", "value": "+44 (0)20 7946-0130"}).href == "tel:+442079460130"
    assert contact_link({"kind": "phone", "value": "555 0100 x 12"}).href == "tel:5550100;ext=12"
    assert closure_text({"start": "2026-12-24", "end": "2026-12-24"}, date(2026, 11, 1)) == "Thu 24 Dec"
    assert closure_text({"start": "2027-01-02", "end": "2027-01-03", "reason": "Move"}, date(2026, 11, 1)) == \
        "Sat 2 Jan 2027 – Sun 3 Jan 2027: Move"
    email = booking_action({"method": "email", "url": None, "instructions": None},
                           [{"kind": "email", "value": "pay@example.com"}])
    assert email and email["href"] == "mailto:pay@example.com" and email["label"] == "Send an e-mail"
    walk_in = booking_action({"method": "walk_in"}, [], location="Floor 2")
    assert walk_in and walk_in["href"] is None and walk_in["location"] == "Floor 2"


def test_offset_notes_in_whole_hours_minutes_and_none() -> None:
    assert offset_note("UTC", "UTC", TUESDAY_10) == "the same time as the team"
    assert offset_note("Europe/London", "Europe/Paris", TUESDAY_10) == "1 hour ahead of the team"
    assert offset_note("Asia/Kolkata", "Europe/London", TUESDAY_10) == "5 h 30 min behind the team"
    assert offset_note("Europe/London", "Asia/Kathmandu", TUESDAY_10) == "5 h 45 min ahead of the team"
    summer = datetime(2026, 7, 1, 12, tzinfo=UTC)
    assert offset_note("Europe/London", "America/New_York", summer) == "5 hours behind the team"
    march = datetime(2026, 3, 20, 12, tzinfo=UTC)  # New York has moved its clocks, London not yet
    assert offset_note("Europe/London", "America/New_York", march) == "4 hours behind the team"


def test_closures_within_a_day_and_across_the_year_end() -> None:
    today = date(2026, 11, 1)
    assert closure_text({"start": "2026-11-27T13:00", "end": "2026-11-27T17:30", "reason": "Team training"},
                        today) == "Fri 27 Nov, 13:00–17:30: Team training"
    assert closure_text({"start": "2026-12-31T22:00", "end": "2027-01-01T02:00"}, today) == \
        "Thu 31 Dec 22:00 – Fri 1 Jan 2027 02:00"
    assert closure_text({"start": "2026-12-24", "end": "2026-12-26", "reason": None}, today) == \
        "Thu 24 Dec – Sat 26 Dec"


@pytest.mark.parametrize(("candidates", "chosen"), [
    ((None, "", "Mars/Olympus", "Asia/Tokyo", "UTC"), "Asia/Tokyo"),
    (("../../etc/passwd", None), None),
    (("Europe/London",), "Europe/London"),
    ((), None),
])
def test_the_reader_zone_is_the_first_one_this_server_knows(candidates: tuple[str | None, ...],
                                                           chosen: str | None) -> None:
    assert reader_timezone(*candidates) == chosen


def test_contact_links_per_kind() -> None:
    url = contact_link({"kind": "url", "value": "https://intranet.example/pay/"})
    assert (url.label, url.href, url.text, url.external) == ("Web", "https://intranet.example/pay/",
                                                              "intranet.example/pay", True)
    mail = contact_link({"kind": "email", "value": "pay@example.com", "label": "Team mailbox"})
    assert (mail.label, mail.href, mail.external) == ("Team mailbox", "mailto:pay@example.com", False)
    assert contact_link({"kind": "chat", "value": "#pay"}).href is None
    chat = contact_link({"kind": "chat", "value": "#pay"}, "https://chat.example/c/{channel}")
    assert (chat.href, chat.external) == ("https://chat.example/c/pay", True)
    other = contact_link({"kind": "pager", "value": "123"})
    assert (other.label, other.href, other.text) == ("Pager", None, "123")


def test_the_booking_button_falls_back_to_the_first_matching_contact() -> None:
    contacts = [{"kind": "phone", "value": "+44 20 7946 0100"}, {"kind": "phone", "value": "+44 20 7946 0200"}]
    phone = booking_action({"method": "phone"}, contacts)
    assert phone and phone["href"] == "tel:+442079460100" and phone["external"] is False
    assert booking_action({"method": "phone"}, [])["href"] is None  # type: ignore[index]
    form = booking_action({"method": "form", "url": "https://intranet.example/f", "instructions": "Attach it"}, [])
    assert form == {"method": "form", "label": "Open the request form", "href": "https://intranet.example/f",
                    "external": True, "instructions": "Attach it", "location": None}
    assert booking_action({"method": "email", "url": "https://intranet.example/f"},
                          [{"kind": "email", "value": "pay@example.com"}])["href"] == "https://intranet.example/f"  # type: ignore[index]
    assert booking_action({"method": "form"}, [], location="Floor 2")["location"] is None  # type: ignore[index]
    assert booking_action({"method": "carrier pigeon"}, [])["label"] == "Get in touch"  # type: ignore[index]
    assert booking_action(None, contacts) is None and booking_action({}, contacts) is None


def test_an_open_team_page_for_a_reader_in_another_zone() -> None:
    view = build_team_view(team_doc(), TUESDAY_10, "America/New_York", chat_url="https://chat.example/c/{channel}")
    assert view.published and view.status["open"] and view.badge_class == "badge--open"
    assert view.reader_differs and view.reader_offset_note == "5 hours behind the team"
    days = {day.abbr: day for day in view.grid}
    assert list(days) == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert days["Tue"].is_today and days["Mon"].is_past and not days["Wed"].is_past
    assert [(i.team, i.reader) for i in days["Tue"].intervals] == [("09:00–17:30", "04:00–12:30")]
    assert [i.team for i in days["Fri"].intervals] == ["09:00–13:00"]  # the afternoon's training closure
    assert view.closures == ["Fri 27 Nov, 13:00–17:30: Team training", "Thu 24 Dec – Sat 26 Dec: Office closed"]
    assert [name for _day, name in view.holidays][:2] == ["Christmas Day", "Boxing Day"]
    assert view.reply_text == "Tue 24 Nov, 14:00" and view.reply_text_reader == "Tue 24 Nov, 09:00"
    assert view.response_time_text == "4 business hours"
    assert [link.href for link in view.contacts] == ["mailto:payroll@example.com", "https://chat.example/c/payroll-help"]
    assert view.urgent == [], "the out-of-hours line is shown only while closed"
    assert view.services[0]["turnaround"] == "3 business days" and view.services[0]["done_by"]
    assert view.booking and view.booking["label"] == "Open the request form"
    assert view.reviewed == date(2026, 11, 1) and not view.review_stale


def test_a_closed_team_shows_its_out_of_hours_contacts_and_a_bad_reader_zone_is_ignored() -> None:
    doc = team_doc(contacts=[*team_doc()["contacts"], OUT_OF_HOURS])
    view = build_team_view(doc, SATURDAY_10, "Not/AZone")
    assert not view.status["open"] and view.badge_class == "badge--closed"
    assert view.reader_tz is None and not view.reader_differs and view.reader_offset_note is None
    assert [link.href for link in view.urgent] == ["tel:+442079460999"]
    assert all(i.reader is None for day in view.grid for i in day.intervals)


def test_a_reader_in_the_teams_own_zone_gets_no_second_clock() -> None:
    view = build_team_view(team_doc(), TUESDAY_10, "Europe/London")
    assert not view.reader_differs and view.reply_text_reader is None and view.reader_offset_note is None
    assert all(i.reader is None for day in view.grid for i in day.intervals)


def test_a_team_without_published_hours_or_a_readable_review_date() -> None:
    view = build_team_view(team_doc(hours=None, last_reviewed="someday", contacts=[OUT_OF_HOURS]), TUESDAY_10, None)
    assert not view.published and view.grid == [] and view.closures == [] and view.holidays == []
    assert view.badge_class == "badge--unknown"
    assert view.urgent == [], "unknown hours are not 'closed'"
    assert view.reviewed is None and view.review_stale


def test_a_page_reviewed_long_ago_is_flagged() -> None:
    assert build_team_view(team_doc(last_reviewed="2025-01-01"), TUESDAY_10, None).review_stale
    assert not build_team_view(team_doc(last_reviewed="2026-11-20"), TUESDAY_10, None).review_stale


@pytest.mark.parametrize(("holidays", "heading"), [
    ({"country": "GB"}, "Public holidays"),
    ({"calendar": "org:shutdowns"}, "Organisation closures"),
    ({"country": "GB", "calendar": "org:shutdowns"}, "Holidays and organisation closures"),
])
def test_the_days_off_are_named_for_where_they_come_from(holidays: dict[str, str], heading: str) -> None:
    assert holidays_heading({"hours": {"holidays": holidays}}) == heading
