"""The quarter's recognition: the rule picks the expected teams from constructed figures, ranks them
within their department and shows the figures (and every other team's reasons)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from directory import recognition, surveys
from directory.models import Team
from directory.services import Actor
from tests.conftest import ADMIN

# slug -> (department, measured, kept, per-person survey ratings in Q4 as (r, c, h))
TEAMS: dict[str, tuple[str, int, int, list[tuple[int, int, int]]]] = {
    "audit-team": ("Finance", 20, 20, [(5, 5, 5)] * 3 + [(4, 4, 4)] * 2),  # 4.6, all kept
    "payroll": ("Finance", 30, 29, [(5, 5, 5)] * 3 + [(4, 4, 4)] * 2),  # 4.6, 96.7%
    "expenses": ("Finance", 40, 38, [(4, 4, 4)] * 4 + [(5, 5, 5)]),  # 4.2, 95%
    "treasury": ("Finance", 19, 19, [(5, 5, 5)] * 5),  # too few measured
    "it-help": ("Technology", 25, 22, [(5, 5, 5)] * 4 + [(4, 4, 4)]),  # 88% kept
    "security": ("Technology", 20, 18, []),  # exactly 90%; rated through feedback
    "network": ("Technology", 50, 50, [(5, 5, 5)] * 4),  # four people: no figure
    "people-ops": ("People", 30, 30, [(4, 4, 4)] * 4 + [(4, 3, 4)]),  # 3.93
}
FEEDBACK = {"security": {"responses": 6, "average": 4.1}, "it-help": {"responses": 7, "average": 5.0}}


@pytest.fixture
def quarter(make_team: Callable[..., Any], session: Any) -> dict[str, Team]:
    for slug, (department, *_rest) in TEAMS.items():
        make_team(slug=slug, name=slug.replace("-", " ").title(), department=department, contacts=[])
    teams = {t.slug: t for t in session.scalars(select(Team))}
    earlier = surveys.start_round(session, "Q3", ADMIN, at=datetime(2026, 9, 1, tzinfo=UTC))
    for n in range(5):  # a glowing Q3 must not count towards Q4
        surveys.respond(session, earlier, teams["people-ops"], dict.fromkeys(surveys.PARAMETERS, 5),
                        Actor(name="x", email=f"q3-{n}@example.com"))
    surveys.close_round(session, earlier, ADMIN)
    q4 = surveys.start_round(session, "Q4", ADMIN, at=datetime(2026, 10, 5, tzinfo=UTC))
    for slug, (_d, _m, _k, ratings) in TEAMS.items():
        for n, (r, c, h) in enumerate(ratings):
            surveys.respond(session, q4, teams[slug], {"responsiveness": r, "clarity": c, "helpfulness": h},
                            Actor(name="x", email=f"person{n}@example.com"))
    session.commit()
    return teams


def promises(session: Any, team: Team, since: datetime, until: datetime) -> dict[str, Any]:
    assert (since, until) == (datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    _d, measured, kept, _r = TEAMS[team.slug]
    return {"measured": measured, "kept": kept, "kept_ratio": round(kept / measured, 4)}


def ratings(session: Any, team: Team, since: datetime, until: datetime) -> dict[str, Any]:
    return FEEDBACK.get(team.slug, {"responses": 0, "average": None})


def test_the_rule_picks_ranks_and_explains(session: Any, quarter: dict[str, Team]) -> None:
    data = recognition.recognise(session, "2026-Q4", promises=promises, ratings=ratings, use_installed=False)
    listed = [(d["name"], [(t["rank"], t["slug"]) for t in d["teams"]]) for d in data["departments"]]
    assert listed == [
        ("Finance", [(1, "audit-team"), (2, "payroll"), (3, "expenses")]),  # 4.6 tie broken by promises kept
        ("Technology", [(1, "security")]),
    ]
    payroll = data["departments"][0]["teams"][1]
    assert payroll["reply"] == {"measured": 30, "kept": 29, "kept_ratio": 0.9667}
    assert payroll["rating"] == {"average": 4.6, "people": 5, "source": "survey"}
    security = data["departments"][1]["teams"][0]
    assert security["rating"] == {"average": 4.1, "people": 6, "source": "feedback"}
    reasons = {c["slug"]: c["reasons"] for c in data["considered"]}
    assert reasons["treasury"] == ["19 measured requests (fewer than 20)"]
    assert reasons["it-help"] == ["reply promises kept 88% (below 90%)"]  # the survey figure wins over feedback
    assert reasons["network"] == ["no rating from at least 5 people"]
    assert reasons["people-ops"] == ["average rating 3.93 (below 4.0)"]
    assert "At least 20 measured requests" in data["rule"]["text"]
    assert data["rule"]["min_kept_ratio"] == 0.9


def test_csv_rows_carry_the_same_figures(session: Any, quarter: dict[str, Team]) -> None:
    data = recognition.recognise(session, "2026-Q4", promises=promises, ratings=ratings, use_installed=False)
    rows = recognition.csv_rows(data)
    assert rows[0] == ["quarter", "department", "rank", "team", "slug", "measured", "kept", "kept_ratio", "rating",
                       "rated_by", "rating_source"]
    assert rows[2] == ["2026-Q4", "Finance", 2, "Payroll", "payroll", 30, 29, "0.9667", "4.60", 5, "survey"]
    assert len(rows) == 1 + 4


def test_without_measured_promises_nobody_is_recognised(session: Any, quarter: dict[str, Team]) -> None:
    data = recognition.recognise(session, "2026-Q4", use_installed=False)
    assert data["departments"] == []
    assert data["sources"] == {"promises": False, "feedback": False}
    assert all("promises are not measured in this directory" in c["reasons"] for c in data["considered"])


def test_a_quarter_without_rounds_has_no_survey_figures(session: Any, quarter: dict[str, Team]) -> None:
    data = recognition.recognise(session, "2027-Q1", promises=lambda *a: {"measured": 30, "kept": 30},
                                 use_installed=False)
    assert data["departments"] == []
    assert {c["rating"]["average"] for c in data["considered"]} == {None}


@pytest.mark.parametrize("text, start, end", [
    ("2026-Q4", datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
    ("2026-Q1", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)),
    (" 2026-Q2 ", datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)),
])
def test_quarters(text: str, start: datetime, end: datetime) -> None:
    assert recognition.parse_quarter(text)[1:] == (start, end)


@pytest.mark.parametrize("text", ["", "2026-Q5", "2026Q4", "Q4-2026", "1900-Q1", "2026-q4"])
def test_bad_quarters_name_the_field(text: str) -> None:
    with pytest.raises(recognition.InvalidQuarter) as refused:
        recognition.parse_quarter(text)
    assert list(refused.value.errors) == ["quarter"]


def test_the_installed_request_measurements_are_read(session: Any, quarter: dict[str, Team]) -> None:
    """With `directory.performance` installed, its reply figures are the ones shown."""
    source = recognition.performance_source()
    if source is None:
        pytest.skip("directory.performance is not installed in this tree")
    figures = source(session, quarter["payroll"], datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert figures == {"measured": 0, "kept": 0, "kept_ratio": None}


def test_end_to_end_through_the_request_api(app: Any, client: Any, auth_headers: dict[str, str],
                                            make_team: Callable[..., Any]) -> None:
    """Requests recorded through CONTRACT §4's API and a Q4 survey round: the installed
    measurements recognise the team at exactly 90% of 20 promises kept."""
    if recognition.performance_source() is None:
        pytest.skip("directory.performance is not installed in this tree")
    from directory.db import get_session

    make_team(contacts=[])  # payroll: replies within 4 business hours
    for n in range(20):
        late = n < 2
        body = {"id": f"REQ-{n}", "received_at": "2026-10-06T09:30:00Z", "service": None,
                "first_reply_at": "2026-10-09T10:00:00Z" if late else "2026-10-06T10:00:00Z", "resolved_at": None}
        answer = client.post("/api/v1/teams/payroll/requests", json=body, headers=auth_headers)
        assert answer.status_code == 201, answer.get_json()
    with app.app_context():
        session = get_session()
        survey = surveys.start_round(session, "Q4", ADMIN, at=datetime(2026, 10, 2, tzinfo=UTC))
        team = session.scalar(select(Team).where(Team.slug == "payroll"))
        for n in range(5):
            surveys.respond(session, survey, team, {"responsiveness": 4, "clarity": 4, "helpfulness": 5},
                            Actor(name="x", email=f"p{n}@example.com"))
        session.commit()
    data = client.get("/api/v1/recognition?quarter=2026-Q4").get_json()
    assert data["sources"]["promises"] is True
    [finance] = data["departments"]
    assert finance["teams"][0]["slug"] == "payroll"
    assert finance["teams"][0]["reply"] == {"measured": 20, "kept": 18, "kept_ratio": 0.9}
    assert finance["teams"][0]["rating"] == {"average": 4.33, "people": 5, "source": "survey"}
