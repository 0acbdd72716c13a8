"""directory.models: aware UTC instants, the team's version guard, defaults, cascades and unique keys,
on the schema the migrations build (real SQLite)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from directory.db import make_engine, upgrade
from directory.models import (
    ApiToken,
    ContactAddress,
    Kudos,
    RecognitionAudit,
    Revision,
    SearchEvent,
    SurveyResponse,
    SurveyRound,
    Team,
    TeamTag,
    User,
)

NUMBERS = itertools.count(1)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    made = make_engine(f"sqlite:///{tmp_path_factory.mktemp('models') / 'models.sqlite3'}")
    upgrade(made)
    yield made
    made.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as opened:
        yield opened


def new_team(session: Session, **fields: Any) -> Team:
    slug = f"team-{next(NUMBERS)}"
    team = Team(**{"slug": slug, "name": slug.title(), "data": {"slug": slug}, **fields})
    session.add(team)
    session.commit()
    return team


def test_instants_are_stored_in_utc_and_read_back_aware(session: Session) -> None:
    paris = timezone(timedelta(hours=1))
    team = new_team(session, archived_at=datetime(2026, 12, 1, 10, 30, tzinfo=paris))
    session.expire_all()
    stored = session.get(Team, team.id)
    assert stored is not None and stored.archived_at == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert stored.archived_at.tzinfo is UTC
    assert stored.created_at.tzinfo is UTC and abs(datetime.now(UTC) - stored.created_at) < timedelta(minutes=1)


def test_a_naive_instant_is_refused_rather_than_guessed(session: Session) -> None:
    session.add(Team(slug=f"naive-{next(NUMBERS)}", name="Naive", data={}, archived_at=datetime(2026, 12, 1, 10)))
    with pytest.raises(StatementError, match="naive datetime given to a UTC column"):
        session.flush()


def test_a_new_team_starts_at_version_one_and_each_save_counts(session: Session) -> None:
    team = new_team(session)
    assert (team.version, team.timezone, team.archived) == (1, "UTC", False)
    assert repr(team) == f"<Team {team.slug} v1>"
    team.name = "Renamed"
    session.commit()
    assert team.version == 2
    team.archived_at = datetime.now(UTC)
    assert team.archived


def test_a_save_over_a_version_someone_else_saved_is_refused(engine: Engine, session: Session) -> None:
    team = new_team(session)
    with Session(engine) as first, Session(engine) as second:
        mine, theirs = first.get(Team, team.id), second.get(Team, team.id)
        assert mine is not None and theirs is not None
        theirs.name = "Theirs"
        second.commit()
        mine.name = "Mine"
        with pytest.raises(StaleDataError):
            first.commit()
    session.expire_all()
    stored = session.get(Team, team.id)
    assert stored is not None and (stored.name, stored.version) == ("Theirs", 2)


def test_removing_a_team_removes_what_belongs_to_it(session: Session) -> None:
    team = new_team(session)
    team.tags.append(TeamTag(tag="pay"))
    team.addresses.append(ContactAddress(address="pay@example.com"))
    team.revisions.append(Revision(number=1, action="create", author="a@example.com", data={}))
    session.add(Kudos(team_id=team.id, author="a@example.com", message="Thanks"))
    session.commit()
    team_id = team.id
    session.delete(team)
    session.commit()
    for model in (TeamTag, ContactAddress, Revision, Kudos):
        assert session.scalars(select(model).where(model.team_id == team_id)).all() == [], model.__name__


def test_revisions_come_newest_first(session: Session) -> None:
    team = new_team(session)
    for number in (1, 3, 2):
        session.add(Revision(team_id=team.id, number=number, action="update", author="a@example.com", data={}))
    session.commit()
    session.expire_all()
    stored = session.get(Team, team.id)
    assert stored is not None and [r.number for r in stored.revisions] == [3, 2, 1]


def test_a_team_lists_an_address_once(session: Session) -> None:
    team = new_team(session)
    session.add_all([ContactAddress(address="pay@example.com", team_id=team.id),
                     ContactAddress(address="pay@example.com", team_id=team.id)])
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    other = new_team(session)
    session.add_all([ContactAddress(address="shared@example.com", team_id=team.id),
                     ContactAddress(address="shared@example.com", team_id=other.id)])
    session.commit()  # several teams may list one shared mailbox


def test_a_person_answers_a_round_once_per_team(session: Session) -> None:
    team = new_team(session)
    survey = SurveyRound(title="Q4", opened_by="admin@example.com")
    session.add(survey)
    session.commit()
    assert survey.is_open
    rating = {"responsiveness": 4, "clarity": 4, "helpfulness": 5}
    session.add_all([SurveyResponse(round_id=survey.id, team_id=team.id, respondent="a@example.com", **rating),
                     SurveyResponse(round_id=survey.id, team_id=team.id, respondent="a@example.com", **rating)])
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    survey.closed_at = datetime.now(UTC)
    assert not survey.is_open


def test_a_user_speaks_flask_logins_protocol_and_a_new_generation_ends_old_cookies(session: Session) -> None:
    user = User(email=f"u{next(NUMBERS)}@example.com")
    session.add(user)
    session.commit()
    assert (user.is_authenticated, user.is_anonymous, user.is_active) == (True, False, True)
    assert user.get_id() == f"{user.id}:0" and not user.is_admin
    user.session_generation += 1
    user.active = False
    assert user.get_id() == f"{user.id}:1" and not user.is_active


def test_a_token_is_active_until_revoked_and_goes_with_its_user(session: Session) -> None:
    user = User(email=f"t{next(NUMBERS)}@example.com")
    token = ApiToken(name="ci", prefix="dir_abc", token_hash=f"{next(NUMBERS):064d}", scope="read", user=user)
    session.add(token)
    session.commit()
    assert token.active and user.tokens == [token]
    token.revoked_at = datetime.now(UTC)
    assert not token.active
    session.delete(user)
    session.commit()
    assert session.get(ApiToken, token.id) is None


def test_list_and_mapping_columns_default_to_fresh_empty_values(session: Session) -> None:
    team = new_team(session)
    first = Kudos(team_id=team.id, author="a@example.com", message="Thanks")
    second = Kudos(team_id=team.id, author="b@example.com", message="Thanks too")
    audit = RecognitionAudit(actor="a@example.com", action="kudos", subject=team.slug)
    session.add_all([first, second, audit])
    session.commit()
    assert first.people == [] and audit.detail == {}
    first.people.append("Dana")
    assert second.people == []


def test_deleting_a_search_forgets_which_search_it_rephrased(session: Session) -> None:
    later = SearchEvent(query="payslip", results=3, searcher="k" * 64)
    earlier = SearchEvent(query="paysip", results=0, searcher="k" * 64)
    session.add_all([later, earlier])
    session.flush()
    earlier.rephrased_by_id = later.id
    session.commit()
    session.delete(later)
    session.commit()
    session.expire_all()
    kept = session.get(SearchEvent, earlier.id)
    assert kept is not None and kept.rephrased_by_id is None
