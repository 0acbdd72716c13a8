"""Notices without HTTP: when each is active, the schema's refusals, and the auto-reply's wording."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from directory import facts, notices
from directory.autoreply import SAMPLE_FACTS, render_auto_reply
from directory.errors import InvalidTeam
from directory.schemas import load_team
from tests.conftest import team_doc

WEEK = {"message": "Reduced capacity this week.", "starts": "2026-11-30", "ends": "2026-12-04", "level": "warning"}
AFTERNOON = {"message": "Phones down this afternoon.", "starts": "2026-12-01T13:00", "ends": "2026-12-01T17:30",
             "level": "info"}
OPEN_ENDED = {"message": "We moved to floor 4.", "starts": "2026-11-01", "ends": None, "level": "info"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def messages(found: list[dict[str, Any]]) -> list[str]:
    return [n["message"] for n in found]


@pytest.mark.parametrize(("instant", "active"), [
    ("2026-11-30T04:59:59Z", False),  # 23:59:59 on the 29th in New York
    ("2026-11-30T05:00:00Z", True),  # local midnight starts the first day
    ("2026-12-05T04:59:59Z", True),  # the last day is included
    ("2026-12-05T05:00:00Z", False),
])
def test_whole_days_are_local_dates_with_the_last_included(instant: str, active: bool) -> None:
    found = notices.active_notices([WEEK], at(instant), "America/New_York")
    assert messages(found) == (["Reduced capacity this week."] if active else [])


@pytest.mark.parametrize(("instant", "active"), [
    ("2026-12-01T12:59Z", False), ("2026-12-01T13:00Z", True), ("2026-12-01T17:29Z", True),
    ("2026-12-01T17:30Z", False),
])
def test_date_times_end_exclusive(instant: str, active: bool) -> None:
    assert bool(notices.active_notices([AFTERNOON], at(instant), "Europe/London")) is active


def test_active_notice_carries_its_instants_and_keeps_the_teams_order() -> None:
    found = notices.active_notices([AFTERNOON, WEEK, OPEN_ENDED], at("2026-12-01T14:00Z"), "Europe/London")
    assert messages(found) == [AFTERNOON["message"], WEEK["message"], OPEN_ENDED["message"]]
    assert found[1]["starts_at"] == "2026-11-30T00:00:00+00:00"
    assert found[1]["ends_at"] == "2026-12-05T00:00:00+00:00"
    assert found[2]["ends"] is None and found[2]["ends_at"] is None


def test_until_removed_never_ends_and_is_not_active_before_it_starts() -> None:
    assert notices.active_notices([OPEN_ENDED], at("2031-06-01T00:00Z"), "UTC")
    assert not notices.active_notices([OPEN_ENDED], at("2026-10-31T23:59Z"), "UTC")


def test_next_change_is_the_first_start_or_end_after_the_instant() -> None:
    listed = [WEEK, AFTERNOON]
    assert notices.next_change(listed, at("2026-11-29T12:00Z"), "UTC") == at("2026-11-30T00:00Z")
    assert notices.next_change(listed, at("2026-12-01T13:00Z"), "UTC") == at("2026-12-01T17:30Z")
    assert notices.next_change(listed, at("2026-12-05T00:00Z"), "UTC") is None
    assert notices.next_change([OPEN_ENDED], at("2026-12-01T00:00Z"), "UTC") is None


def test_reminders_are_due_for_open_ended_notices_older_than_two_weeks() -> None:
    now = at("2026-11-15T00:00:01Z")
    assert messages(notices.reminders_due([OPEN_ENDED, WEEK], now, "UTC")) == [OPEN_ENDED["message"]]
    assert notices.reminders_due([OPEN_ENDED], now - timedelta(seconds=2), "UTC") == []
    assert notices.reminders_due([WEEK], at("2027-01-01T00:00Z"), "UTC") == []  # it has an end


def test_unreadable_stored_notices_are_never_shown_and_never_raise() -> None:
    odd = [{"message": "no start"}, {"message": "bad", "starts": "soon"}, "not an object",
           {"message": 5, "starts": "2026-01-01"}, {"starts": "2026-01-01"}]
    assert notices.active_notices(odd, at("2026-12-01T00:00Z"), "Europe/London") == []
    assert notices.active_notices([WEEK], at("2026-12-01T00:00Z"), "Not/AZone") == []
    assert notices.active_notices("not a list", at("2026-12-01T00:00Z"), "UTC") == []


# --------------------------------------------------------------------------- the schema


def problems(*listed: Any) -> dict[str, list[str]]:
    with pytest.raises(InvalidTeam) as caught:
        load_team(team_doc(notices=list(listed)))
    return caught.value.errors


def test_schema_refuses_bad_notices_naming_the_field() -> None:
    assert "notices.0.level" in problems({**WEEK, "level": "urgent"})
    assert problems({**WEEK, "ends": "2026-11-29"}) == {"notices.0.ends": ["ends before it starts"]}
    assert "notices.1.ends" in problems(WEEK, {**AFTERNOON, "ends": "2026-12-01T13:00"})
    assert "notices.0.ends" in problems({**WEEK, "ends": "2026-12-04T10:00"})  # not the same kind
    too_long = problems({**WEEK, "message": "x" * 501})
    assert "shorten it by 1" in too_long["notices.0.message"][0]
    assert "notices.0.starts" in problems({**WEEK, "starts": "next monday"})
    assert problems({**WEEK, "starts": None})["notices.0.starts"][0].startswith("required: a date")
    assert "notices.0.message" in problems({**WEEK, "message": "   "})
    assert "notices" in problems(*[WEEK] * (notices.NOTICES_MAX + 1))


def test_schema_spells_each_notice_one_way_and_leaves_out_an_empty_list() -> None:
    loaded = load_team(team_doc(notices=[{"message": " Back soon ", "starts": "2026-12-01"}]))
    assert loaded["notices"] == [{"message": "Back soon", "starts": "2026-12-01", "ends": None, "level": "info"}]
    assert "notices" not in load_team(team_doc(notices=[]))
    assert "notices" not in load_team(team_doc())


# --------------------------------------------------------------------------- facts and the auto-reply


def test_status_facts_carry_the_active_notices_only() -> None:
    data = load_team(team_doc(notices=[WEEK, AFTERNOON]))
    before = facts.status_json(facts.team_facts(data, at("2026-11-29T10:00Z")))
    during = facts.status_json(facts.team_facts(data, at("2026-12-01T14:00Z")))
    assert before["notices"] == []
    assert messages(during["notices"]) == [WEEK["message"], AFTERNOON["message"]]


def test_default_reply_names_each_notice_by_level_in_text_and_escaped_html() -> None:
    facts_now = replace(SAMPLE_FACTS, notices=[
        {"message": "Reduced capacity <b>this week</b>, see https://intranet.example/status", "level": "warning"},
        {"message": "We moved.", "level": "info"}])
    reply = render_auto_reply(facts_now)
    assert "Important: Reduced capacity <b>this week</b>, see https://intranet.example/status" in reply.text
    assert "Please note: We moved." in reply.text
    assert reply.text.index("Important:") < reply.text.index("Right now:")
    assert "&lt;b&gt;this week&lt;/b&gt;" in reply.html and "<b>" not in reply.html
    assert '<a href="https://intranet.example/status">' in reply.html
    assert "Important:" not in render_auto_reply(SAMPLE_FACTS).text


def test_a_teams_own_template_still_carries_the_notice_first() -> None:
    facts_now = replace(SAMPLE_FACTS, notices=[{"message": "Closed for stocktaking.", "level": "info"}])
    reply = render_auto_reply(facts_now, {"subject": None, "body": "Thanks, {{ team_name }}."})
    assert reply.template_used == "team"
    assert reply.text == "Please note: Closed for stocktaking.\n\nThanks, Payroll.\n"
    assert reply.html.startswith("<p>Please note: Closed for stocktaking.</p>")
    assert render_auto_reply(SAMPLE_FACTS, {"subject": None, "body": "Thanks."}).text == "Thanks.\n"


def test_history_words_a_notice_with_no_end_as_until_removed() -> None:
    from directory.web.diff import field_changes

    (change,) = field_changes(team_doc(), team_doc(notices=[OPEN_ENDED, WEEK]))
    assert change.new == ("Info from 2026-11-01 until removed: We moved to floor 4.\n"
                          "Warning from 2026-11-30 to 2026-12-04: Reduced capacity this week.")
