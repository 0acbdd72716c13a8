"""Survey rounds: one answer per person per team per round, the anonymity floor in every breakdown,
and the comparison with the previous round."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from directory import surveys
from directory.errors import Conflict, Forbidden
from directory.models import RecognitionAudit, SurveyResponse, Team
from directory.services import Actor
from tests.conftest import ADMIN

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


def person(n: int | str) -> Actor:
    email = n if isinstance(n, str) else f"person{n}@example.com"
    return Actor(name=email, email=email)


def rate(session: Any, survey: Any, team: Team, who: Actor, r: int, c: int, h: int) -> None:
    surveys.respond(session, survey, team, {"responsiveness": r, "clarity": c, "helpfulness": h}, who)


@pytest.fixture
def teams(make_team: Callable[..., Any], session: Any) -> dict[str, Team]:
    make_team(slug="payroll", name="Payroll", department="Finance", contacts=[])
    make_team(slug="expenses", name="Expenses", department="Finance", contacts=[])
    make_team(slug="it-help", name="IT Help", department="Technology", contacts=[], owners=["olga@example.com"])
    return {t.slug: t for t in session.scalars(select(Team))}


def test_a_second_answer_replaces_the_first(session: Any, teams: dict[str, Team]) -> None:
    survey = surveys.start_round(session, "Q4", ADMIN)
    rate(session, survey, teams["payroll"], person(1), 2, 2, 2)
    rate(session, survey, teams["payroll"], person(1), 5, 4, 3)
    session.commit()
    rows = list(session.scalars(select(SurveyResponse)))
    assert [(r.respondent, r.responsiveness, r.clarity, r.helpfulness) for r in rows] == [
        ("person1@example.com", 5, 4, 3)]
    actions = list(session.scalars(select(RecognitionAudit.action).order_by(RecognitionAudit.id)))
    assert actions == ["survey.open", "survey.answer", "survey.replace"]


def test_the_same_person_answers_again_in_a_new_round(session: Any, teams: dict[str, Team]) -> None:
    first = surveys.start_round(session, "Q3", ADMIN, at=T0)
    rate(session, first, teams["payroll"], person(1), 2, 2, 2)
    surveys.close_round(session, first, ADMIN)
    second = surveys.start_round(session, "Q4", ADMIN, at=T0 + timedelta(days=90))
    rate(session, second, teams["payroll"], person(1), 4, 4, 4)
    assert session.scalar(select(func.count()).select_from(SurveyResponse)) == 2


@pytest.mark.parametrize("values, field", [
    ({"responsiveness": 6, "clarity": 3, "helpfulness": 3}, "responsiveness"),
    ({"responsiveness": 3, "clarity": "abc", "helpfulness": 3}, "clarity"),
    ({"responsiveness": 3, "clarity": 3}, "helpfulness"),
    ({"responsiveness": 3, "clarity": 0, "helpfulness": 3}, "clarity"),
])
def test_bad_ratings_name_the_field_and_store_nothing(session: Any, teams: dict[str, Team], values: dict[str, Any],
                                                      field: str) -> None:
    survey = surveys.start_round(session, "Q4", ADMIN)
    with pytest.raises(surveys.InvalidSurveyInput) as refused:
        surveys.respond(session, survey, teams["payroll"], values, person(1))
    assert list(refused.value.errors) == [field]
    assert session.scalar(select(func.count()).select_from(SurveyResponse)) == 0


@pytest.mark.parametrize("title", ["", "  ", "x" * 201, "Q4\x00", "Q4 \ud800"])
def test_bad_round_titles_are_named(session: Any, title: str) -> None:
    with pytest.raises(surveys.InvalidSurveyInput) as refused:
        surveys.start_round(session, title, ADMIN)
    assert list(refused.value.errors) == ["title"]
    assert surveys.rounds(session) == []


def test_closed_rounds_own_teams_and_non_admins_are_refused(session: Any, teams: dict[str, Team]) -> None:
    with pytest.raises(Forbidden):
        surveys.start_round(session, "Q4", person(1))
    survey = surveys.start_round(session, "Q4", ADMIN)
    with pytest.raises(Conflict):
        surveys.start_round(session, "Another", ADMIN)
    with pytest.raises(Forbidden):
        rate(session, survey, teams["payroll"], person("alice@example.com"), 5, 5, 5)  # alice keeps payroll
    surveys.close_round(session, survey, ADMIN)
    with pytest.raises(Conflict):
        rate(session, survey, teams["payroll"], person(1), 5, 5, 5)
    assert session.scalar(select(func.count()).select_from(SurveyResponse)) == 0


def _team_figure(session: Any, survey: Any, slug: str) -> surveys.Figure:
    return next(r["figure"] for r in surveys.results(session, survey).teams if r["slug"] == slug)


def _department_figure(session: Any, survey: Any, name: str) -> surveys.Figure:
    return next(r["figure"] for r in surveys.results(session, survey).departments if r["name"] == name)


def test_team_figures_need_five_people(session: Any, teams: dict[str, Team]) -> None:
    survey = surveys.start_round(session, "Q4", ADMIN)
    for n in range(4):
        rate(session, survey, teams["payroll"], person(n), 4, 5, 3)
    rate(session, survey, teams["payroll"], person(0), 4, 5, 3)  # the same person again: still four people
    four = _team_figure(session, survey, "payroll")
    assert (four.people, four.overall, four.averages) == (4, None, {p: None for p in surveys.PARAMETERS})
    rate(session, survey, teams["payroll"], person(4), 2, 5, 3)
    five = _team_figure(session, survey, "payroll")
    assert five.people == 5
    assert five.averages == {"responsiveness": 3.6, "clarity": 5.0, "helpfulness": 3.0}
    assert five.overall == round((3.6 + 5 + 3) / 3, 2)


def test_department_figures_need_five_different_people(session: Any, teams: dict[str, Team]) -> None:
    survey = surveys.start_round(session, "Q4", ADMIN)
    for n in range(3):
        rate(session, survey, teams["payroll"], person(n), 5, 5, 5)
    rate(session, survey, teams["expenses"], person(0), 1, 1, 1)  # someone already counted: four people
    rate(session, survey, teams["expenses"], person(3), 1, 1, 1)
    finance = _department_figure(session, survey, "Finance")
    assert (finance.people, finance.overall) == (4, None)
    rate(session, survey, teams["expenses"], person(4), 3, 3, 3)
    finance = _department_figure(session, survey, "Finance")
    assert finance.people == 5
    assert finance.overall == round((5 * 3 + 1 * 2 + 3) / 6, 2)
    # Neither team reaches five people of its own, so neither shows a figure.
    assert _team_figure(session, survey, "payroll").overall is None
    assert _team_figure(session, survey, "expenses").overall is None


def test_a_department_figure_never_gives_away_a_hidden_team(session: Any, teams: dict[str, Team]) -> None:
    """Payroll shows its five people; one more person rated Expenses alone. Finance's six-person
    figure minus Payroll's would be that person's answer, so Finance is hidden too, until Expenses
    has five people of its own."""
    survey = surveys.start_round(session, "Q4", ADMIN)
    for n in range(5):
        rate(session, survey, teams["payroll"], person(n), 4, 4, 4)
    rate(session, survey, teams["expenses"], person(9), 1, 1, 1)
    finance = _department_figure(session, survey, "Finance")
    assert (finance.people, finance.overall) == (6, None)
    for n in range(10, 14):
        rate(session, survey, teams["expenses"], person(n), 2, 2, 2)
    finance = _department_figure(session, survey, "Finance")
    assert (finance.people, finance.overall) == (10, round((5 * 4 + 1 + 4 * 2) / 10, 2))


def test_comparison_with_the_previous_round(session: Any, teams: dict[str, Team]) -> None:
    before = surveys.start_round(session, "Q3", ADMIN, at=T0)
    for n in range(5):
        rate(session, before, teams["payroll"], person(n), 3, 3, 3)
    for n in range(3):
        rate(session, before, teams["it-help"], person(n), 5, 5, 5)
    surveys.close_round(session, before, ADMIN)
    now = surveys.start_round(session, "Q4", ADMIN, at=T0 + timedelta(days=90))
    for n in range(5):
        rate(session, now, teams["payroll"], person(n + 10), 4, 4, 5)
        rate(session, now, teams["it-help"], person(n + 10), 2, 2, 2)
    data = surveys.comparison(session, now)
    assert data["previous_round"] == {"id": before.id, "title": "Q3"}
    rows = {r["key"]: r for r in data["teams"]}
    assert rows["payroll"]["previous_overall"] == 3.0
    assert rows["payroll"]["overall"] == 4.33
    assert rows["payroll"]["change"] == 1.33
    assert (rows["it-help"]["previous_people"], rows["it-help"]["previous_overall"], rows["it-help"]["change"]) == (
        3, None, None)  # three people last round: hidden, so no change is claimed
    departments = {r["key"]: r for r in data["departments"]}
    assert departments["Finance"]["change"] == 1.33
    csv = surveys.comparison_csv_rows(data)
    assert csv[0][:4] == ["breakdown", "name", "department", "people"]
    assert ["team", "Payroll", "Finance", 5, "4.00", "4.00", "5.00", "4.33", 5, "3.00", "1.33"] in csv
    # The first round has nothing before it.
    assert surveys.comparison(session, before)["previous_round"] is None


def test_teams_worked_with_come_from_earlier_answers_and_kudos(session: Any, teams: dict[str, Team]) -> None:
    from directory import kudos

    first = surveys.start_round(session, "Q3", ADMIN, at=T0)
    rate(session, first, teams["payroll"], person(1), 3, 3, 3)
    kudos.give(session, teams["it-help"], "Fixed my laptop in ten minutes", person(1))
    assert [t.slug for t in surveys.teams_worked_with(session, person(1))] == ["it-help", "payroll"]
    assert surveys.teams_worked_with(session, person(2)) == []


def test_teams_given_feedback_are_offered(session: Any, teams: dict[str, Team]) -> None:
    try:
        from directory import feedback
    except ImportError:
        pytest.skip("directory.feedback is not installed in this tree")
    from directory import accounts

    accounts.create_user(session, "person7@example.com", "Person Seven", "a-long-password-1")
    feedback.give_feedback(session, teams["expenses"], person(7), rating=4)
    assert [t.slug for t in surveys.teams_worked_with(session, person(7))] == ["expenses"]


def test_on_both_backends_and_the_migration_goes_both_ways(storage_url: str, tmp_path: Any) -> None:
    """One answer per person per team per round holds on SQLite and PostgreSQL alike, and 0011
    downgrades and upgrades cleanly."""
    from alembic import command
    from sqlalchemy import inspect

    from directory import kudos, services
    from directory.db import alembic_config, get_db, get_session
    from directory.schemas import load_team
    from tests.conftest import make_app, team_doc

    app = make_app(tmp_path, DATABASE_URL=storage_url)
    with app.app_context():
        session = get_session()
        team = services.create_team(session, load_team(team_doc(contacts=[])), ADMIN)
        survey = surveys.start_round(session, "Q4", ADMIN)
        rate(session, survey, team, person(1), 1, 1, 1)
        session.commit()
        rate(session, survey, team, person(1), 5, 5, 5)
        kudos.give(session, team, "Thanks", person(1))
        session.commit()
        assert [(r.responsiveness, r.respondent) for r in session.scalars(select(SurveyResponse))] == [
            (5, "person1@example.com")]
        session.close()
        engine = get_db().engine
        for target, present in (("0010", False), ("head", True)):
            cfg = alembic_config(engine.url.render_as_string(hide_password=False))
            with engine.begin() as connection:
                cfg.attributes["connection"] = connection
                (command.downgrade if target == "0010" else command.upgrade)(cfg, target)
            tables = set(inspect(engine).get_table_names())
            assert {"survey_rounds", "survey_responses", "kudos", "recognition_audit"} <= tables if present else \
                not tables & {"survey_rounds", "survey_responses", "kudos", "recognition_audit"}
        engine.dispose()
