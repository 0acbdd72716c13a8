"""Feedback without HTTP: the anonymity floor (also in breakdowns), replacing, refusals, the rate
limit, the follow-up of concerns, and what owners and admins get to read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from directory import accounts, feedback
from directory.errors import Conflict, Forbidden, Invalid, Throttled
from directory.models import Feedback, FeedbackAudit, FeedbackFollowUp, Team
from directory.services import Actor

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # 10:00 in London, Payroll open
SINCE, UNTIL = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def team(make_team: Callable[..., Any], session: Session) -> Team:
    make_team(services=[
        {"name": "Payslip corrections", "turnaround": {"value": 3, "unit": "business_days"}},
        {"name": "Expenses", "turnaround": {"value": 5, "unit": "business_days"}},
    ])
    return session.scalar(select(Team).where(Team.slug == "payroll"))


def person(session: Session, n: int | str) -> Actor:
    email = f"rater{n}@example.com"
    if accounts.find_user(session, email) is None:
        accounts.create_user(session, email, name=f"Rater Number{n}")
        session.flush()
    return Actor(name=email, email=email)


def rate(session: Session, team: Team, who: int | str, rating: int, at: datetime = MONDAY, **kw: Any) -> feedback.Given:
    given = feedback.give_feedback(session, team, person(session, who), rating=rating, now=at, **kw)
    session.commit()
    return given


def count(session: Session, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


# --------------------------------------------------------------------------- the floor


def test_average_is_null_with_four_people_and_shown_with_five(session: Session, team: Team) -> None:
    for n, rating in enumerate([5, 4, 4, 3]):
        rate(session, team, n, rating)
    assert feedback.satisfaction(session, team, SINCE, UNTIL) == {"responses": 4, "average": None}
    assert feedback.summary(session, team, SINCE, UNTIL)["distribution"] is None
    rate(session, team, 4, 2)
    assert feedback.satisfaction(session, team, SINCE, UNTIL) == {"responses": 5, "average": 3.6}
    assert feedback.summary(session, team, SINCE, UNTIL)["distribution"] == {1: 0, 2: 1, 3: 1, 4: 2, 5: 1}


def test_one_person_rating_many_times_does_not_lift_the_floor(session: Session, team: Team) -> None:
    for n in range(3):
        rate(session, team, "a", 5, request_id=f"R{n}")
        rate(session, team, "b", 1, request_id=f"R{n}")
    found = feedback.satisfaction(session, team, SINCE, UNTIL)
    assert found == {"responses": 6, "average": None}


def test_window_is_half_open(session: Session, team: Team) -> None:
    for n in range(5):
        rate(session, team, n, 4, at=MONDAY + timedelta(minutes=n))
    assert feedback.satisfaction(session, team, MONDAY, MONDAY + timedelta(minutes=4))["average"] is None
    assert feedback.satisfaction(session, team, MONDAY, MONDAY + timedelta(minutes=5))["average"] == 4.0


def test_breakdown_by_service_keeps_the_floor_in_each_part(session: Session, team: Team) -> None:
    for n in range(4):
        rate(session, team, n, 5, service="Expenses")
    for n in range(10, 15):
        rate(session, team, n, 2, service="Payslip corrections")
    parts = {p["key"]: p for p in feedback.breakdown(session, team, SINCE, UNTIL, by="service")}
    assert parts["Expenses"]["responses"] == 4 and parts["Expenses"]["average"] is None
    # Payslips has 5 people, but the rest (Expenses) only 4: total minus Payslips would show them.
    assert parts["Payslip corrections"]["average"] is None
    assert feedback.satisfaction(session, team, SINCE, UNTIL)["average"] == pytest.approx((4 * 5 + 5 * 2) / 9, abs=0.01)
    rate(session, team, 4, 5, service="Expenses")
    parts = {p["key"]: p for p in feedback.breakdown(session, team, SINCE, UNTIL, by="service")}
    assert parts["Expenses"]["average"] == 5.0 and parts["Payslip corrections"]["average"] == 2.0


def test_breakdown_by_month_keeps_the_floor_in_each_month(session: Session, team: Team) -> None:
    october, november = datetime(2026, 10, 12, 9, tzinfo=UTC), datetime(2026, 11, 12, 9, tzinfo=UTC)
    for n in range(5):
        rate(session, team, n, 4, at=october)
    for n in range(10, 14):
        rate(session, team, n, 1, at=november)
    window = (datetime(2026, 10, 1, tzinfo=UTC), UNTIL)
    months = {p["key"]: p for p in feedback.breakdown(session, team, *window, by="month")}
    assert months["2026-11"]["responses"] == 4 and months["2026-11"]["average"] is None
    assert months["2026-10"]["average"] is None  # else the total minus October gives November away
    rate(session, team, 14, 1, at=november)
    months = {p["key"]: p for p in feedback.breakdown(session, team, *window, by="month")}
    assert months["2026-10"]["average"] == 4.0 and months["2026-11"]["average"] == 1.0


# --------------------------------------------------------------------------- writing


def test_the_same_persons_rating_of_the_same_request_replaces_the_earlier(session: Session, team: Team) -> None:
    first = rate(session, team, 1, 2, request_id="T-1", comment="slow")
    again = rate(session, team, 1, 5, request_id="T-1", at=MONDAY + timedelta(hours=1))
    assert (first.replaced, again.replaced) == (False, True)
    rows = list(session.scalars(select(Feedback)))
    assert [(r.rating, r.comment, r.rated_at) for r in rows] == [(5, None, MONDAY + timedelta(hours=1))]
    rate(session, team, 2, 4, request_id="T-1")  # someone else, same request: their own rating
    rate(session, team, 1, 3)  # no request: a new rating
    assert count(session, Feedback) == 3


@pytest.mark.parametrize("rating", [0, 6, -1, True, 4.5, "4", None])
def test_a_rating_outside_1_to_5_is_refused_and_nothing_written(session: Session, team: Team, rating: Any) -> None:
    with pytest.raises(feedback.InvalidFeedback) as refused:
        feedback.give_feedback(session, team, person(session, 1), rating=rating, now=MONDAY)
    assert isinstance(refused.value, Invalid) and list(refused.value.errors) == ["rating"]
    session.rollback()
    assert count(session, Feedback) == count(session, FeedbackAudit) == 0


def test_other_bad_input_names_its_field(session: Session, team: Team) -> None:
    for kwargs, field in (({"comment": "x" * 2001}, "comment"), ({"service": "Catering"}, "service"),
                          ({"request_id": "r" * 201}, "request_id"), ({"comment": "a\x00b"}, "comment")):
        with pytest.raises(feedback.InvalidFeedback) as refused:
            feedback.give_feedback(session, team, person(session, 1), rating=3, now=MONDAY, **kwargs)
        assert list(refused.value.errors) == [field]
    session.rollback()
    assert count(session, Feedback) == 0


def test_owners_cannot_rate_their_own_team(session: Session, team: Team) -> None:
    accounts.create_user(session, "alice@example.com", name="Alice")
    with pytest.raises(Forbidden):
        feedback.give_feedback(session, team, Actor(name="x", email="Alice@Example.com"), rating=5, now=MONDAY)
    session.rollback()
    assert count(session, Feedback) == 0


def test_an_actor_naming_no_person_cannot_rate(session: Session, team: Team) -> None:
    operator = Actor(name="token:integration", is_admin=True)
    with pytest.raises(Forbidden, match="names nobody"):
        feedback.give_feedback(session, team, operator, rating=5, now=MONDAY)
    with pytest.raises(Forbidden):
        feedback.give_feedback(session, team, Actor(name="ghost", email="ghost@example.com"), rating=5, now=MONDAY)


def test_one_person_may_write_ten_times_an_hour(session: Session, team: Team) -> None:
    for n in range(10):
        rate(session, team, 1, 4, at=MONDAY + timedelta(minutes=n), request_id="same")  # replacing counts too
    with pytest.raises(feedback.TooMuchFeedback) as refused:
        rate(session, team, 1, 4, at=MONDAY + timedelta(minutes=30))
    assert isinstance(refused.value, Throttled) and refused.value.retry_after == 30 * 60
    session.rollback()
    rate(session, team, 2, 4, at=MONDAY + timedelta(minutes=30))  # someone else is not held back
    rate(session, team, 1, 4, at=MONDAY + timedelta(minutes=60, seconds=1))  # the first write left the hour
    assert count(session, Feedback) == 3


def test_every_write_is_audited_without_what_was_said(session: Session, team: Team) -> None:
    rate(session, team, 1, 1, comment="Rude on the phone")
    entries = feedback.audit_log(session)
    assert [(e.actor, e.action, slug) for e, slug in entries] == [("rater1@example.com", "feedback.give", "payroll")]
    assert set(FeedbackAudit.__table__.columns.keys()) == {"id", "at", "actor", "actor_user_id", "action", "team_id",
                                                           "subject"}  # no rating, comment or feedback row
    assert entries[0][0].subject == "payroll"


# --------------------------------------------------------------------------- concerns


def test_concern_lifecycle_open_acknowledged_replied_resolved(session: Session, team: Team) -> None:
    given = rate(session, team, 1, 2, comment="Nobody answered for a week")
    follow_up = given.feedback.follow_up
    assert follow_up is not None and follow_up.state == "open" and follow_up.reason == "low_rating"
    assert follow_up.due_at == MONDAY + timedelta(days=7)  # five of Payroll's business days: next Monday
    owner = Actor(name="alice@example.com", email="alice@example.com")
    with pytest.raises(Forbidden):
        feedback.advance_follow_up(session, team, follow_up.id, person(session, 2), "acknowledge")
    feedback.advance_follow_up(session, team, follow_up.id, owner, "acknowledge", now=MONDAY)
    assert follow_up.state == "acknowledged"
    with pytest.raises(Conflict):
        feedback.advance_follow_up(session, team, follow_up.id, owner, "acknowledge")
    with pytest.raises(feedback.InvalidFeedback) as refused:
        feedback.advance_follow_up(session, team, follow_up.id, owner, "reply", "  ")
    assert list(refused.value.errors) == ["message"]
    assert feedback.is_overdue(follow_up, follow_up.due_at)  # acknowledging alone does not answer it
    feedback.advance_follow_up(session, team, follow_up.id, owner, "reply", "We added a second person.")
    assert (follow_up.state, follow_up.reply) == ("replied", "We added a second person.")
    assert not feedback.is_overdue(follow_up, follow_up.due_at + timedelta(days=30))
    feedback.advance_follow_up(session, team, follow_up.id, owner, "resolve")
    session.commit()
    assert follow_up.state == "resolved" and follow_up.resolved_at is not None
    assert [(e.action, e.actor) for e, _slug in feedback.audit_log(session)] == [
        ("follow_up.resolve", "alice@example.com"), ("follow_up.reply", "alice@example.com"),
        ("follow_up.acknowledge", "alice@example.com"), ("feedback.give", "rater1@example.com")]
    again = rate(session, team, 1, 1, comment="Still nobody", at=MONDAY + timedelta(days=20))
    assert again.feedback.follow_up is not None and again.feedback.follow_up.state == "open"  # a new concern


def test_what_opens_a_follow_up(session: Session, team: Team) -> None:
    assert rate(session, team, 1, 3).feedback.follow_up is None
    assert rate(session, team, 2, 1).feedback.follow_up.reason == "low_rating"  # type: ignore[union-attr]
    assert rate(session, team, 3, 5, comment="Great, but the form is broken", complaint=True
                ).feedback.follow_up.reason == "complaint"  # type: ignore[union-attr]
    assert count(session, FeedbackFollowUp) == 2


def test_the_author_sees_overdue_and_the_escalation_path(session: Session, team: Team) -> None:
    rate(session, team, 1, 1, comment="Lost my claim")
    mine = feedback.own_feedback(session, "rater1@example.com", now=MONDAY + timedelta(days=3))
    assert mine[0]["follow_up"]["state"] == "open" and not mine[0]["follow_up"]["overdue"]
    late = feedback.own_feedback(session, "rater1@example.com", now=MONDAY + timedelta(days=7, seconds=1))
    assert late[0]["follow_up"]["overdue"]
    assert late[0]["follow_up"]["escalation"] == team.data["escalation"]
    assert feedback.own_feedback(session, "rater2@example.com") == []


def test_without_hours_a_concern_is_due_after_five_weekdays(session: Session, make_team: Callable[..., Any]) -> None:
    make_team(slug="facilities", name="Facilities", hours=None, contacts=[], response_time=None, services=[])
    team = session.scalar(select(Team).where(Team.slug == "facilities"))
    friday = datetime(2026, 11, 27, 15, tzinfo=UTC)
    assert feedback.follow_up_due(team, friday) == datetime(2026, 12, 4, 15, tzinfo=UTC)


# --------------------------------------------------------------------------- what others read


def test_owners_read_comments_without_names_unless_signed(session: Session, team: Team) -> None:
    rate(session, team, 1, 2, comment="Too slow")
    rate(session, team, 2, 5, comment="Lovely people", signed=True)
    comments = feedback.comments_for_owners(session, team)
    follow_ups = feedback.follow_ups_for_owners(session, team)
    assert len(comments) == 2 and len(follow_ups) == 1 and follow_ups[0]["comment"] == "Too slow"
    by_text = {c["comment"]: c for c in comments}
    assert by_text["Lovely people"]["signed_by"] == "Rater Number2"
    assert by_text["Too slow"]["signed_by"] is None
    shown = repr(comments) + repr(follow_ups)
    assert "rater1" not in shown and "Number1" not in shown
    assert "rating" not in repr([sorted(c) for c in comments])  # individual ratings stay private


def test_link_signature_binds_team_and_request(session: Session, team: Team) -> None:
    sig = feedback.link_signature("secret", team.id, "T-42")
    assert feedback.link_is_valid("secret", team.id, "T-42", sig)
    assert not feedback.link_is_valid("secret", team.id, "T-43", sig)
    assert not feedback.link_is_valid("secret", team.id + 1, "T-42", sig)
    assert not feedback.link_is_valid("other", team.id, "T-42", sig)
    assert not feedback.link_is_valid("secret", team.id, "T-42", None)
    assert not feedback.link_is_valid("secret", team.id, "T-42", sig[:-1] + ("0" if sig[-1] != "0" else "1"))
    assert feedback.link_is_valid("secret", team.id, None, None)  # no request: the team in general


def test_the_default_auto_reply_asks_how_we_did() -> None:
    from directory.autoreply import render_auto_reply
    from tests.autoreply.factories import make_facts

    reply = render_auto_reply(make_facts())
    assert "How did we do? Once we've helped, tell us: https://directory.example/teams/payroll/feedback" in reply.text
    assert '<a href="https://directory.example/teams/payroll/feedback">' in reply.html
    assert "How did we do?" not in render_auto_reply(make_facts(team_url="")).text


def test_floor_replace_and_limit_hold_on_each_backend(tmp_path: Any, storage_url: str) -> None:
    from directory import services
    from directory.db import get_db, get_session
    from directory.schemas import load_team
    from tests.conftest import ADMIN, make_app, team_doc

    app = make_app(tmp_path, DATABASE_URL=storage_url)
    try:
        with app.app_context():
            session = get_session()
            team = services.create_team(session, load_team(team_doc()), ADMIN)
            session.commit()
            for n in range(4):
                rate(session, team, n, 5, request_id="T-1")
            rate(session, team, 0, 1, request_id="T-1")  # replaces, so still four people and four ratings
            assert feedback.satisfaction(session, team, SINCE, UNTIL) == {"responses": 4, "average": None}
            rate(session, team, 4, 3, request_id=None)
            assert feedback.satisfaction(session, team, SINCE, UNTIL) == {"responses": 5, "average": 3.8}
            for n in range(9):  # ten writes in all by this person
                rate(session, team, 4, 3, at=MONDAY + timedelta(minutes=n + 1))
            with pytest.raises(feedback.TooMuchFeedback):
                rate(session, team, 4, 3, at=MONDAY + timedelta(minutes=20))
            session.rollback()
    finally:
        with app.app_context():
            get_db().engine.dispose()
