"""History in words: the week, closures, durations, contacts and services, one fact a line."""

from __future__ import annotations

from directory.web.diff import field_changes, week_lines

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def test_the_week_groups_consecutive_days_with_the_same_hours() -> None:
    assert week_lines({d: [["09:00", "17:30"]] for d in WEEKDAYS}) == ["Mon–Fri 09:00–17:30", "Sat–Sun closed"]
    assert week_lines({"mon": [["09:00", "12:30"], ["13:30", "17:30"]], "wed": [["22:00", "06:00"]]}) == [
        "Mon 09:00–12:30, 13:30–17:30", "Tue closed", "Wed 22:00–06:00", "Thu–Sun closed"]
    assert week_lines({d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}) == [
        "Mon–Sun 00:00–24:00"]
    assert week_lines({}) == ["Mon–Sun closed"]


def test_structured_fields_read_as_words_not_json() -> None:
    old = {"response_time": {"value": 4, "unit": "business_hours"},
           "contacts": [{"kind": "email", "value": "pay@example.com", "label": "Team mailbox"}],
           "services": [{"name": "Payslips", "turnaround": {"value": 1, "unit": "business_days"}}],
           "hours": {"weekly": {}, "closures": [{"start": "2026-12-24", "end": "2026-12-26", "reason": "Closed"}]}}
    new = {"response_time": {"value": 1, "unit": "days"},
           "contacts": [{"kind": "chat", "value": "#pay"}],
           "services": [{"name": "Payslips", "turnaround": {"value": 2, "unit": "business_days"}}],
           "hours": {"weekly": {}, "closures": []}}
    changes = {c.key: c for c in field_changes(old, new)}
    assert (changes["response_time"].old, changes["response_time"].new) == ("4 business hours", "1 day")
    assert (changes["contacts"].old, changes["contacts"].new) == ("E-mail: pay@example.com (Team mailbox)",
                                                                  "Chat: #pay")
    assert changes["services"].new == "Payslips: done within 2 business days"
    removed = [line.text for line in changes["hours"].lines if line.kind == "remove"]
    assert removed == ["Closed Thu 24 Dec 2026 – Sat 26 Dec 2026: Closed"]


def test_owners_by_name_and_odd_old_values_still_shown() -> None:
    names = {"alice@example.com": "Alice Liddell"}
    [owners] = field_changes({"owners": ["bob@example.com"]}, {"owners": ["Alice@example.com"]}, names)
    assert (owners.old, owners.new) == ("bob@example.com", "Alice Liddell (Alice@example.com)")
    [hours] = field_changes({"hours": {"weekly": "not a week"}}, {"hours": None})
    assert "not a week" in hours.old  # an outline rather than an error


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
