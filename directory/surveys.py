"""Periodic surveys: people rate the teams they worked with, round by round.

An administrator opens a round and closes it; while it is open each signed-in person rates any
team but their own on the agreed parameters (1-5 each), once per team: answering again replaces
the earlier answer. Results are shown per team and per department, but a figure appears only when
at least `ANONYMITY_FLOOR` different people contributed to it, in every breakdown, so nobody can
tell who said what. Every write leaves an audit record (`audit`), read by administrators.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from directory import people
from directory.errors import Conflict, Forbidden, Invalid, NotFound
from directory.models import RecognitionAudit, SurveyResponse, SurveyRound, Team, User, utcnow
from directory.services import Actor
from directory.text import storable

PARAMETERS = ("responsiveness", "clarity", "helpfulness")
PARAMETER_LABELS = {"responsiveness": "Responsiveness", "clarity": "Clarity", "helpfulness": "Helpfulness"}
LOWEST, HIGHEST = 1, 5
ANONYMITY_FLOOR = 5
MAX_TITLE = 200
MAX_ID = 2**31 - 1  # the largest number an integer column holds on every backend


class InvalidSurveyInput(Invalid):
    """A rating or title that cannot be stored; `errors` names the field."""


# --------------------------------------------------------------------------- audit


def audit(session: Session, actor: Actor, action: str, subject: str, detail: Mapping[str, Any] | None = None) -> None:
    """One record per write to surveys or kudos, so administrators can see who did what."""
    session.add(RecognitionAudit(actor=actor.email or actor.name, action=action, subject=subject[:200],
                                 detail=dict(detail or {}), at=utcnow()))


def audit_log(session: Session, limit: int = 200) -> list[RecognitionAudit]:
    return list(session.scalars(select(RecognitionAudit).order_by(RecognitionAudit.at.desc(),
                                                                  RecognitionAudit.id.desc()).limit(limit)))


# --------------------------------------------------------------------------- rounds


def _person(actor: Actor | None) -> str:
    if actor is None or not actor.email:
        raise Forbidden("Sign in as a person to take part in surveys.")
    return actor.email.strip().lower()


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("Only the directory's administrators can open or close survey rounds.")


def open_round(session: Session) -> SurveyRound | None:
    return session.scalar(select(SurveyRound).where(SurveyRound.closed_at.is_(None))
                          .order_by(SurveyRound.opened_at.desc()).limit(1))


def rounds(session: Session) -> list[SurveyRound]:
    """Every round, newest first."""
    return list(session.scalars(select(SurveyRound).order_by(SurveyRound.opened_at.desc(), SurveyRound.id.desc())))


def get_round(session: Session, round_id: int) -> SurveyRound:
    found = session.get(SurveyRound, round_id) if 0 < round_id <= MAX_ID else None
    if found is None:
        raise NotFound(f"There is no survey round {round_id}.")
    return found


def previous_round(session: Session, current: SurveyRound) -> SurveyRound | None:
    """The round opened just before `current`: what its results are compared with."""
    return session.scalar(
        select(SurveyRound)
        .where((SurveyRound.opened_at < current.opened_at)
               | ((SurveyRound.opened_at == current.opened_at) & (SurveyRound.id < current.id)))
        .order_by(SurveyRound.opened_at.desc(), SurveyRound.id.desc()).limit(1))


def start_round(session: Session, title: str, actor: Actor, *, at: datetime | None = None) -> SurveyRound:
    """Open a round; one at a time, so that "this quarter's survey" is never ambiguous."""
    _require_admin(actor)
    title = (title or "").strip()
    if not title:
        raise InvalidSurveyInput("The round needs a title.", {"title": ["is required"]})
    if len(title) > MAX_TITLE:
        raise InvalidSurveyInput(f"The title is longer than {MAX_TITLE} characters.",
                                 {"title": [f"at most {MAX_TITLE} characters"]})
    if not storable(title):
        raise InvalidSurveyInput("The title contains characters that cannot be stored.",
                                 {"title": ["contains characters that cannot be stored"]})
    current = open_round(session)
    if current is not None:
        raise Conflict(f"The round '{current.title}' is still open: close it first.")
    created = SurveyRound(title=title, opened_by=actor.email or actor.name, opened_at=at or utcnow())
    session.add(created)
    session.flush()
    audit(session, actor, "survey.open", f"round {created.id}", {"title": title})
    return created


def close_round(session: Session, survey: SurveyRound, actor: Actor, *, at: datetime | None = None) -> SurveyRound:
    _require_admin(actor)
    if not survey.is_open:
        raise Conflict(f"The round '{survey.title}' is already closed.")
    survey.closed_at = at or utcnow()
    survey.closed_by = actor.email or actor.name
    audit(session, actor, "survey.close", f"round {survey.id}", {"title": survey.title})
    session.flush()
    return survey


# --------------------------------------------------------------------------- answering


def parse_ratings(values: Mapping[str, Any]) -> dict[str, int]:
    """Each parameter as a whole number 1-5; every problem named by its field, nothing stored."""
    ratings: dict[str, int] = {}
    errors: dict[str, list[str]] = {}
    for name in PARAMETERS:
        raw = values.get(name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            errors[name] = ["is required (1 to 5)"]
            continue
        if isinstance(raw, bool):
            errors[name] = ["must be a whole number from 1 to 5"]
            continue
        try:
            number = int(str(raw).strip())
        except ValueError:
            errors[name] = ["must be a whole number from 1 to 5"]
            continue
        if not LOWEST <= number <= HIGHEST:
            errors[name] = ["must be a whole number from 1 to 5"]
            continue
        ratings[name] = number
    if errors:
        fields = ", ".join(PARAMETER_LABELS[k].lower() for k in errors)
        raise InvalidSurveyInput(f"Please rate {fields} from 1 to 5.", errors)
    return ratings


def respond(session: Session, survey: SurveyRound, team: Team, values: Mapping[str, Any], actor: Actor,
            *, at: datetime | None = None) -> SurveyResponse:
    """Record one person's ratings of one team; an earlier answer of theirs in this round is replaced."""
    respondent = _person(actor)
    if not survey.is_open:
        raise Conflict(f"The round '{survey.title}' is closed: answers are no longer taken.")
    if team.archived:
        raise NotFound(f"The team '{team.slug}' is archived.")
    if people.owns(team.data, respondent):
        raise Forbidden("You keep this team's page: rate the teams you worked with, not your own.",
                        {"team": ["is your own team"]})
    ratings = parse_ratings(values)
    existing = session.scalar(select(SurveyResponse).where(
        SurveyResponse.round_id == survey.id, SurveyResponse.team_id == team.id,
        SurveyResponse.respondent == respondent))
    replaced = existing is not None
    if existing is None:
        try:
            with session.begin_nested():  # the same person answering twice at once: the unique key decides
                existing = SurveyResponse(round_id=survey.id, team_id=team.id, respondent=respondent, **ratings)
                session.add(existing)
        except IntegrityError:
            existing = session.scalar(select(SurveyResponse).where(
                SurveyResponse.round_id == survey.id, SurveyResponse.team_id == team.id,
                SurveyResponse.respondent == respondent))
            if existing is None:
                raise
            replaced = True
    if replaced:
        for name, value in ratings.items():
            setattr(existing, name, value)
    existing.submitted_at = at or utcnow()
    audit(session, actor, "survey.replace" if replaced else "survey.answer", f"round {survey.id}, team {team.slug}",
          {"round": survey.id, "team": team.slug})
    session.flush()
    return existing


def my_answers(session: Session, survey: SurveyRound, actor: Actor) -> dict[int, SurveyResponse]:
    """The person's own answers in this round, by team id (they may see and change their own)."""
    respondent = _person(actor)
    rows = session.scalars(select(SurveyResponse).where(SurveyResponse.round_id == survey.id,
                                                        SurveyResponse.respondent == respondent))
    return {r.team_id: r for r in rows}


def teams_worked_with(session: Session, actor: Actor) -> list[Team]:
    """The teams a person has had dealings with, as far as the directory knows: those they rated
    in earlier rounds, thanked, or gave feedback to (when feedback is recorded). Anyone else they
    find with the search box on the survey page."""
    from directory.models import Kudos

    email = _person(actor)
    ids: set[int] = set(session.scalars(select(SurveyResponse.team_id).where(SurveyResponse.respondent == email)))
    ids.update(session.scalars(select(Kudos.team_id).where(Kudos.author == email)))
    ids.update(_feedback_team_ids(session, email))
    if not ids:
        return []
    teams = session.scalars(select(Team).where(Team.id.in_(ids), Team.archived_at.is_(None)).order_by(Team.name))
    return [t for t in teams if not people.owns(t.data, email)]


def _feedback_team_ids(session: Session, email: str) -> Iterable[int]:
    """Teams the person rated through §4 feedback (`Feedback.rater_id`), when that feature is
    installed; none otherwise."""
    from directory import models

    model = getattr(models, "Feedback", None)
    if model is None or not hasattr(model, "rater_id"):
        return []
    return list(session.scalars(select(model.team_id).join(User, User.id == model.rater_id)
                                .where(func.lower(User.email) == email)))


# --------------------------------------------------------------------------- results


@dataclass
class Figure:
    """One breakdown's figures: how many different people, and each parameter's average, or None
    below the anonymity floor (then nothing but the count is shown)."""

    people: int
    averages: dict[str, float | None] = field(default_factory=dict)
    overall: float | None = None

    @property
    def shown(self) -> bool:
        return self.overall is not None

    def as_dict(self) -> dict[str, Any]:
        return {"people": self.people, "shown": self.shown, "overall": self.overall, **self.averages}


def _figure(rows: list[SurveyResponse]) -> Figure:
    respondents = {r.respondent for r in rows}
    if len(respondents) < ANONYMITY_FLOOR:
        return Figure(len(respondents), {p: None for p in PARAMETERS}, None)
    averages = {p: round(sum(getattr(r, p) for r in rows) / len(rows), 2) for p in PARAMETERS}
    overall = round(sum(getattr(r, p) for r in rows for p in PARAMETERS) / (len(rows) * len(PARAMETERS)), 2)
    return Figure(len(respondents), averages, overall)


@dataclass
class Results:
    survey: SurveyRound
    teams: list[dict[str, Any]]
    departments: list[dict[str, Any]]


def results(session: Session, survey: SurveyRound) -> Results:
    """Per team and per department, each with the floor applied to its own set of people."""
    rows = list(session.scalars(select(SurveyResponse).where(SurveyResponse.round_id == survey.id)))
    by_team: dict[int, list[SurveyResponse]] = defaultdict(list)
    for r in rows:
        by_team[r.team_id].append(r)
    teams = {t.id: t for t in session.scalars(select(Team).where(Team.id.in_(list(by_team))))} if by_team else {}
    team_rows = []
    by_department: dict[str, list[SurveyResponse]] = defaultdict(list)
    for team_id, answers in by_team.items():
        team = teams[team_id]
        team_rows.append({"slug": team.slug, "name": team.name, "department": team.department or "",
                          "figure": _figure(answers)})
        by_department[team.department or ""].extend(answers)
    team_rows.sort(key=lambda row: (row["department"].lower(), row["name"].lower()))
    department_rows = []
    for name, answers in sorted(by_department.items(), key=lambda kv: kv[0].lower()):
        figure = _figure(answers)
        if figure.shown and 0 < _hidden_people(team_rows, by_team, teams, name) < ANONYMITY_FLOOR:
            figure = Figure(figure.people, {p: None for p in PARAMETERS}, None)
        department_rows.append({"name": name, "figure": figure})
    return Results(survey, team_rows, department_rows)


def _hidden_people(team_rows: list[dict[str, Any]], by_team: dict[int, list[SurveyResponse]],
                   teams: dict[int, Team], department: str) -> int:
    """How many different people rated the department's hidden teams. Between 1 and the floor, the
    department's figure is hidden too: with its shown teams' figures it would give theirs away."""
    hidden = {row["slug"] for row in team_rows if row["department"] == department and not row["figure"].shown}
    return len({r.respondent for team_id, rows in by_team.items() if teams[team_id].slug in hidden for r in rows})


def _change(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else round(now - before, 2)


def comparison(session: Session, survey: SurveyRound) -> dict[str, Any]:
    """This round beside the one before it, per team and department, overall averages only where
    both rounds passed the floor (a change is computed from shown figures only)."""
    current = results(session, survey)
    before_round = previous_round(session, survey)
    before = results(session, before_round) if before_round is not None else None
    before_teams = {row["slug"]: row["figure"] for row in before.teams} if before else {}
    before_departments = {row["name"]: row["figure"] for row in before.departments} if before else {}

    def row(key: str, label: str, department: str, figure: Figure, previous: Figure | None) -> dict[str, Any]:
        prev_overall = previous.overall if previous else None
        return {
            "key": key, "name": label, "department": department,
            "people": figure.people, "overall": figure.overall,
            **{p: figure.averages.get(p) for p in PARAMETERS},
            "previous_people": previous.people if previous else 0, "previous_overall": prev_overall,
            "change": _change(figure.overall, prev_overall),
        }

    slugs = {r["slug"]: r for r in current.teams}
    team_rows = [row(r["slug"], r["name"], r["department"], r["figure"], before_teams.get(r["slug"]))
                 for r in current.teams]
    if before:  # teams rated last round but not this one still show what they had
        for r in before.teams:
            if r["slug"] not in slugs:
                team_rows.append(row(r["slug"], r["name"], r["department"], Figure(0, {p: None for p in PARAMETERS}),
                                     r["figure"]))
    departments = {r["name"] for r in current.departments} | set(before_departments)
    current_departments = {r["name"]: r["figure"] for r in current.departments}
    department_rows = [row(name, name or "No department", name,
                           current_departments.get(name) or Figure(0, {p: None for p in PARAMETERS}),
                           before_departments.get(name))
                       for name in sorted(departments, key=str.lower)]
    return {
        "round": {"id": survey.id, "title": survey.title, "open": survey.is_open},
        "previous_round": ({"id": before_round.id, "title": before_round.title} if before_round else None),
        "floor": ANONYMITY_FLOOR,
        "parameters": list(PARAMETERS),
        "teams": team_rows,
        "departments": department_rows,
    }


def comparison_csv_rows(data: dict[str, Any]) -> list[list[Any]]:
    """The comparison as CSV rows (header first): the page's table, one line per team and department."""
    header = ["breakdown", "name", "department", "people", *PARAMETERS, "overall", "previous_people",
              "previous_overall", "change"]
    lines: list[list[Any]] = [header]
    for kind, rows in (("team", data["teams"]), ("department", data["departments"])):
        for r in rows:
            lines.append([kind, r["name"], r["department"], r["people"], *[_blank(r[p]) for p in PARAMETERS],
                          _blank(r["overall"]), r["previous_people"], _blank(r["previous_overall"]),
                          _blank(r["change"])])
    return lines


def _blank(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def quarter_survey_figures(session: Session, since: datetime, until: datetime) -> dict[int, Figure]:
    """Per team id, the figure over every answer in rounds opened in `[since, until)`: what the
    recognition page calls the quarter's survey average (floor applied)."""
    round_ids = list(session.scalars(select(SurveyRound.id).where(SurveyRound.opened_at >= since,
                                                                  SurveyRound.opened_at < until)))
    if not round_ids:
        return {}
    by_team: dict[int, list[SurveyResponse]] = defaultdict(list)
    for r in session.scalars(select(SurveyResponse).where(SurveyResponse.round_id.in_(round_ids))):
        by_team[r.team_id].append(r)
    return {team_id: _figure(rows) for team_id, rows in by_team.items()}
