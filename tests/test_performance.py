"""Promises kept, judged by hand: the expected instants below are worked out on paper, not by the engine.

The team: Europe/London, Mon–Fri 09:00–17:00, English bank holidays, replies within 4 business hours,
"Laptop repair" done within 2 business days.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from directory import performance, services
from directory.errors import Forbidden
from directory.models import Revision, ServiceRequest, Team
from directory.performance import InvalidRequest, Report
from directory.schemas import load_team
from tests.conftest import ADMIN, team_doc

WEEKDAYS = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
LONDON_HOURS = {"weekly": {**WEEKDAYS, "sat": [], "sun": []}, "holidays": {"country": "GB", "subdivision": "ENG"},
                "closures": []}
SERVICE = "Laptop repair"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def london_team(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "slug": "it-desk", "name": "IT desk", "timezone": "Europe/London", "hours": LONDON_HOURS,
        "response_time": {"value": 4, "unit": "business_hours"},
        "services": [{"name": SERVICE, "turnaround": {"value": 2, "unit": "business_days"}}], "contacts": []}
    return team_doc(**{**fields, **overrides})


@pytest.fixture
def team(session: Any) -> Team:
    made = services.create_team(session, load_team(london_team()), ADMIN)
    session.commit()
    # The team "existed" from the start of 2026, so every request below meets its first revision.
    session.execute(update(Revision).where(Revision.team_id == made.id).values(created_at=utc(2026, 1, 1)))
    session.commit()
    return made


def record(session: Any, team: Team, id: str, received_at: datetime, **events: Any) -> ServiceRequest:
    row, _created = performance.record_request(session, team, Report(id=id, received_at=received_at, **events), ADMIN)
    session.commit()
    return row


# Friday 27 March 2026, 16:00 GMT: one open hour left; the clocks go forward on Sunday 29 March, so the
# remaining three hours run Monday 30 March 09:00–12:00 BST, which is 11:00 UTC (not 12:00).
FRI_BEFORE_DST = utc(2026, 3, 27, 16)
REPLY_BY_AFTER_DST = datetime.fromisoformat("2026-03-30T12:00:00+01:00")
DONE_BY_AFTER_DST = datetime.fromisoformat("2026-03-31T16:00:00+01:00")  # Mon 30 (1st), Tue 31 (2nd), at 16:00 local
# Friday 23 October 2026, 16:00 BST (15:00 UTC); the clocks go back on Sunday 25 October: Monday
# 26 October 09:00–12:00 GMT, i.e. 12:00 UTC.
FRI_BEFORE_DST_END = datetime.fromisoformat("2026-10-23T16:00:00+01:00")
REPLY_BY_AFTER_DST_END = utc(2026, 10, 26, 12)
# Thursday 24 December 2026, 15:00: two open hours that day; Christmas Day (Fri 25), the weekend, and
# Monday 28 December (Boxing Day's substitute: the 26th is a Saturday) are closed; the other two hours
# run Tuesday 29 December 09:00–11:00 GMT.
CHRISTMAS_EVE = utc(2026, 12, 24, 15)
REPLY_BY_AFTER_CHRISTMAS = utc(2026, 12, 29, 11)
DONE_BY_AFTER_CHRISTMAS = utc(2026, 12, 30, 15)  # Tue 29 (1st), Wed 30 (2nd), at 15:00


def test_promises_are_those_of_the_instant_across_dst_and_holidays(team: Team, session: Any) -> None:
    spring = record(session, team, "spring", FRI_BEFORE_DST, service=SERVICE)
    autumn = record(session, team, "autumn", FRI_BEFORE_DST_END)
    christmas = record(session, team, "christmas", CHRISTMAS_EVE, service="laptop  REPAIR")
    assert spring.reply_by == REPLY_BY_AFTER_DST
    assert spring.done_by == DONE_BY_AFTER_DST
    assert autumn.reply_by == REPLY_BY_AFTER_DST_END
    assert autumn.done_by is None  # no service, no resolution promise
    assert christmas.reply_by == REPLY_BY_AFTER_CHRISTMAS
    assert christmas.done_by == DONE_BY_AFTER_CHRISTMAS
    assert christmas.service == SERVICE  # stored under the team's own spelling
    assert (spring.week.isoformat(), christmas.week.isoformat()) == ("2026-03-23", "2026-12-21")


@pytest.mark.parametrize(("received_at", "reply_at", "kept"), [
    (FRI_BEFORE_DST, utc(2026, 3, 30, 10, 59), True),
    (FRI_BEFORE_DST, utc(2026, 3, 30, 11, 0), True),  # at the promise is on time
    (FRI_BEFORE_DST, utc(2026, 3, 30, 11, 30), False),  # 12:30 BST: late, though before 12:00 "GMT"
    (FRI_BEFORE_DST_END, utc(2026, 10, 26, 11, 30), True),  # 11:30 GMT, half an hour early
    (FRI_BEFORE_DST_END, utc(2026, 10, 26, 12, 1), False),
    (CHRISTMAS_EVE, utc(2026, 12, 28, 16), True),  # answered on the bank holiday: early
    (CHRISTMAS_EVE, utc(2026, 12, 29, 10, 59), True),
    (CHRISTMAS_EVE, utc(2026, 12, 29, 11, 30), False),
])
def test_reply_kept_or_not(team: Team, session: Any, received_at: datetime, reply_at: datetime, kept: bool) -> None:
    record(session, team, "r", received_at, first_reply_at=reply_at)
    found = performance.performance(session, team, received_at, received_at + timedelta(days=30))
    assert found["requests"] == 1
    assert found["reply"] == {"measured": 1, "kept": int(kept), "kept_ratio": float(kept)}
    assert found["resolution"] == {"measured": 0, "kept": 0, "kept_ratio": None}


def test_resolution_per_service(team: Team, session: Any) -> None:
    record(session, team, "on-time", CHRISTMAS_EVE, service=SERVICE, resolved_at=utc(2026, 12, 30, 15))
    record(session, team, "late", CHRISTMAS_EVE + timedelta(minutes=1), service=SERVICE,
           resolved_at=utc(2026, 12, 30, 15, 2))  # promise 15:01, resolved 15:02
    record(session, team, "no-service", CHRISTMAS_EVE, resolved_at=utc(2026, 12, 24, 16))
    found = performance.performance(session, team, utc(2026, 12, 1), utc(2027, 1, 31))
    assert found["requests"] == 3
    assert found["resolution"] == {"measured": 2, "kept": 1, "kept_ratio": 0.5}
    assert found["services"] == [{"name": SERVICE, "requests": 2,
                                  "resolution": {"measured": 2, "kept": 1, "kept_ratio": 0.5}}]
    # Replies: none was reported, and every reply promise (29 Dec 11:00, 11:01) has passed.
    assert found["reply"] == {"measured": 3, "kept": 0, "kept_ratio": 0.0}


def test_judged_as_of_until(team: Team, session: Any) -> None:
    """No event and the promise still ahead: not measured; passed without event: not kept; an event
    after `until` is not yet known."""
    record(session, team, "silent", FRI_BEFORE_DST)
    record(session, team, "replied", FRI_BEFORE_DST + timedelta(seconds=1), first_reply_at=utc(2026, 3, 30, 10, 30))

    def reply(until: datetime) -> dict[str, Any]:
        return performance.performance(session, team, utc(2026, 3, 1), until)["reply"]

    assert reply(utc(2026, 3, 30, 10)) == {"measured": 0, "kept": 0, "kept_ratio": None}
    assert reply(utc(2026, 3, 30, 10, 45)) == {"measured": 1, "kept": 1, "kept_ratio": 1.0}
    assert reply(utc(2026, 3, 30, 11, 1)) == {"measured": 2, "kept": 1, "kept_ratio": 0.5}
    # The window is [since, until) on received_at.
    assert performance.performance(session, team, FRI_BEFORE_DST + timedelta(seconds=1),
                                   utc(2026, 4, 1))["requests"] == 1


def test_a_later_change_of_hours_does_not_rewrite_history(team: Team, session: Any) -> None:
    record(session, team, "late", FRI_BEFORE_DST, first_reply_at=utc(2026, 3, 30, 11, 30))
    window = (utc(2026, 3, 1), utc(2026, 4, 30))
    before = performance.performance(session, team, *window)
    assert before["reply"]["kept"] == 0

    # From 1 June the desk is open around the clock and promises a reply within a day.
    always = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    changed = london_team(hours={"weekly": always}, response_time={"value": 1, "unit": "days"})
    services.update_team(session, team, load_team(changed), ADMIN)
    session.commit()
    session.execute(update(Revision).where(Revision.team_id == team.id, Revision.number == 2)
                    .values(created_at=utc(2026, 6, 1)))
    session.commit()

    assert performance.performance(session, team, *window) == before
    # Reported again (same id) after the change: still judged by the hours of 27 March.
    again = record(session, team, "late", FRI_BEFORE_DST, first_reply_at=utc(2026, 3, 30, 11, 30))
    assert again.reply_by == REPLY_BY_AFTER_DST and again.revision_number == 1
    assert performance.performance(session, team, *window) == before
    # A request that arrived after the change meets the new promise: a day later, Saturday included.
    july = record(session, team, "july", utc(2026, 7, 4, 10))
    assert july.reply_by == utc(2026, 7, 5, 10) and july.revision_number == 2


def test_before_the_team_existed_the_first_revision_promises(team: Team, session: Any) -> None:
    session.execute(update(Revision).where(Revision.team_id == team.id).values(created_at=utc(2026, 11, 1)))
    session.commit()
    row = record(session, team, "old", FRI_BEFORE_DST)
    assert row.revision_number == 1 and row.reply_by == REPLY_BY_AFTER_DST


def test_the_same_id_again_updates_and_never_double_counts(team: Team, session: Any) -> None:
    first, created = performance.record_request(session, team, Report(id="T-1", received_at=FRI_BEFORE_DST), ADMIN)
    session.commit()
    assert created
    second, created = performance.record_request(
        session, team, Report(id="T-1", received_at=FRI_BEFORE_DST, first_reply_at=utc(2026, 3, 30, 9)), ADMIN)
    session.commit()
    assert not created and second.id == first.id
    assert session.scalar(select(func.count()).select_from(ServiceRequest)) == 1
    assert performance.performance(session, team, utc(2026, 3, 1), utc(2026, 4, 1))["reply"]["kept"] == 1


def test_a_concurrent_first_report_of_the_same_id_becomes_an_update(team: Team, session: Any,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers recording a new id at once: the unique key stops the second insert, which then
    updates the first row instead of failing (no 500, no double count)."""
    record(session, team, "T-1", FRI_BEFORE_DST)
    real, missed = session.scalar, []

    def unseen_once(stmt: Any, *args: Any, **kwargs: Any) -> Any:
        if "service_requests" in str(stmt) and not missed:
            missed.append(stmt)
            return None  # as if the other worker's row were not yet visible
        return real(stmt, *args, **kwargs)

    monkeypatch.setattr(session, "scalar", unseen_once)
    row, created = performance.record_request(
        session, team, Report(id="T-1", received_at=FRI_BEFORE_DST, first_reply_at=utc(2026, 3, 30, 9)), ADMIN)
    session.commit()
    assert missed and not created
    monkeypatch.undo()
    assert session.scalar(select(func.count()).select_from(ServiceRequest)) == 1
    assert row.reply_kept is True


@pytest.mark.parametrize(("report", "field"), [
    (Report(id="x", received_at=FRI_BEFORE_DST, first_reply_at=FRI_BEFORE_DST - timedelta(seconds=1)),
     "first_reply_at"),
    (Report(id="x", received_at=FRI_BEFORE_DST, resolved_at=utc(2026, 3, 1)), "resolved_at"),
    (Report(id="x", received_at=FRI_BEFORE_DST, service="Payroll"), "service"),
    (Report(id=" ", received_at=FRI_BEFORE_DST), "id"),
    (Report(id="x" * 201, received_at=FRI_BEFORE_DST), "id"),
])
def test_refused_reports_name_the_field_and_write_nothing(team: Team, session: Any, report: Report,
                                                          field: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        performance.record_request(session, team, report, ADMIN)
    assert list(refused.value.errors) == [field]
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ServiceRequest)) == 0


def test_only_owners_and_administrators_report(team: Team, session: Any) -> None:
    stranger = services.Actor(name="bob@example.com", email="bob@example.com")
    owner = services.Actor(name="alice@example.com", email="alice@example.com")
    with pytest.raises(Forbidden):
        performance.record_request(session, team, Report(id="x", received_at=FRI_BEFORE_DST), stranger)
    _row, created = performance.record_request(session, team, Report(id="x", received_at=FRI_BEFORE_DST), owner)
    assert created


def test_no_hours_means_no_promise_and_nothing_measured(session: Any) -> None:
    made = services.create_team(session, load_team(london_team(slug="dark", name="Dark", hours=None)), ADMIN)
    session.commit()
    row = record(session, made, "x", FRI_BEFORE_DST, service=SERVICE)
    assert row.reply_by is None and row.done_by is None
    found = performance.performance(session, made, utc(2026, 3, 1), utc(2026, 12, 1))
    assert found["requests"] == 1 and found["reply"]["measured"] == 0 and found["resolution"]["measured"] == 0


def test_percent_needs_enough_measured_and_rounds_down() -> None:
    assert performance.percent({"measured": 9, "kept": 9}) is None
    assert performance.percent({"measured": 10, "kept": 9}) == 90
    assert performance.percent({"measured": 200, "kept": 199}) == 99  # never "100%" with a miss


def test_weekly_groups_by_the_teams_monday_and_lists_empty_weeks(team: Team, session: Any) -> None:
    record(session, team, "a", FRI_BEFORE_DST, first_reply_at=utc(2026, 3, 30, 9))
    # Sunday 29 March 23:30 UTC is Monday 30 March 00:30 in London (BST): the London week of 30 March.
    record(session, team, "b", utc(2026, 3, 29, 23, 30), first_reply_at=utc(2026, 3, 30, 12))
    weeks = performance.weekly(session, team, utc(2026, 3, 16), utc(2026, 4, 12, 12))
    assert [w["week"] for w in weeks] == ["2026-03-16", "2026-03-23", "2026-03-30", "2026-04-06"]
    assert [w["requests"] for w in weeks] == [0, 1, 1, 0]
    assert weeks[1]["reply"] == {"measured": 1, "kept": 1, "kept_ratio": 1.0}
    # Monday 30 March 00:30 BST + 4 business hours = 13:00 BST = 12:00 UTC: replied at the promise.
    assert weeks[2]["reply"] == {"measured": 1, "kept": 1, "kept_ratio": 1.0}


# --------------------------------------------------------------------------- both backends, and the benchmark


def test_recording_importing_and_measuring_on_each_backend(tmp_path: Path, storage_url: str) -> None:
    """The grouped query, the verdict columns and the bulk insert hold on SQLite and PostgreSQL."""
    from directory.db import get_session
    from tests.conftest import get_db_engine, make_app

    app = make_app(tmp_path, DATABASE_URL=storage_url)
    try:
        with app.app_context():
            session = get_session()
            made = services.create_team(session, load_team(london_team()), ADMIN)
            session.commit()
            record(session, made, "one", CHRISTMAS_EVE, first_reply_at=utc(2026, 12, 29, 10, 59), service=SERVICE)
            lines = [(n, "it-desk", Report(id=f"bulk-{n}", received_at=FRI_BEFORE_DST + timedelta(minutes=n),
                                           first_reply_at=utc(2026, 3, 30, 11, 30) if n % 2 else None))
                     for n in range(4)]
            result = performance.import_requests(session, lines, ADMIN)
            session.commit()
            assert (result.created, result.updated, result.unchanged) == (4, 0, 0)
            found = performance.performance(session, made, utc(2026, 1, 1), utc(2027, 1, 31))
            assert found["requests"] == 5
            assert found["reply"] == {"measured": 5, "kept": 1, "kept_ratio": 0.2}
            assert found["resolution"] == {"measured": 1, "kept": 0, "kept_ratio": 0.0}
            weeks = {w["week"]: w["requests"] for w in performance.weekly(session, made, utc(2026, 1, 1),
                                                                          utc(2027, 1, 31))}
            assert weeks["2026-03-23"] == 4 and weeks["2026-12-21"] == 1
    finally:
        get_db_engine(app).dispose()


@pytest.mark.slow
def test_the_benchmark_prints_its_figures() -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "benchmarks/bench_performance.py", "--requests", "300", "--repeats", "2"],
                          cwd=root, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "loaded 300 requests" in done.stdout
    for label in ("baseline: SELECT 1", "baseline: indexed count", "performance() (one grouped query)",
                  "GET /api/v1/teams/payroll/performance"):
        assert label in done.stdout
