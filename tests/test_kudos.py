"""Kudos: never to one's own team, at most 20 a day per person, in the feed and the owners' note."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from directory import kudos
from directory.errors import Forbidden, Throttled
from directory.models import Kudos, RecognitionAudit, Team
from directory.services import Actor

NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
BOB = Actor(name="bob@example.com", email="bob@example.com")
ALICE = Actor(name="alice@example.com", email="alice@example.com")  # keeps payroll


@pytest.fixture
def teams(make_team: Callable[..., Any], session: Any) -> dict[str, Team]:
    make_team(slug="payroll", name="Payroll", contacts=[])
    make_team(slug="it-help", name="IT Help", department="Technology", contacts=[], owners=["olga@example.com"])
    return {t.slug: t for t in session.scalars(select(Team))}


def count(session: Any) -> int:
    return session.scalar(select(func.count()).select_from(Kudos)) or 0


def test_nobody_thanks_their_own_team(session: Any, teams: dict[str, Team]) -> None:
    with pytest.raises(Forbidden) as refused:
        kudos.give(session, teams["payroll"], "We are great", Actor(name="A", email="ALICE@example.com"))
    assert "other teams" in refused.value.message
    assert count(session) == 0
    kudos.give(session, teams["it-help"], "Thanks for the laptop", ALICE)  # another team is fine
    assert count(session) == 1


@pytest.mark.parametrize("message, named, field", [
    ("", [], "message"),
    ("   ", [], "message"),
    ("x" * 501, [], "message"),
    ("Thanks", [f"p{n}" for n in range(11)], "people"),
    ("Thanks\x00", [], "message"),
])
def test_bad_kudos_name_the_field_and_store_nothing(session: Any, teams: dict[str, Team], message: str,
                                                    named: list[str], field: str) -> None:
    with pytest.raises(kudos.InvalidKudos) as refused:
        kudos.give(session, teams["payroll"], message, BOB, named=named)
    assert list(refused.value.errors) == [field]
    assert count(session) == 0


def test_five_hundred_characters_are_enough(session: Any, teams: dict[str, Team]) -> None:
    given = kudos.give(session, teams["payroll"], "x" * 500, BOB, named="Dana, , Eve ")
    assert (len(given.message), given.people) == (500, ["Dana", "Eve"])


def test_twenty_kudos_a_day_then_refused_until_the_oldest_is_a_day_old(session: Any, teams: dict[str, Team]) -> None:
    for n in range(kudos.DAILY_LIMIT):
        kudos.give(session, teams["payroll"], f"Thanks {n}", BOB, at=NOON + timedelta(minutes=n))
    with pytest.raises(kudos.TooManyKudos) as refused:
        kudos.give(session, teams["it-help"], "One more", BOB, at=NOON + timedelta(hours=3))
    assert isinstance(refused.value, Throttled)
    assert refused.value.retry_after == 21 * 3600  # the first of the twenty turns 24 hours old at noon tomorrow
    assert "20 kudos" in refused.value.message
    assert count(session) == kudos.DAILY_LIMIT
    kudos.give(session, teams["it-help"], "Someone else may", ALICE, at=NOON + timedelta(hours=3))
    kudos.give(session, teams["it-help"], "A day later", BOB, at=NOON + timedelta(hours=24, seconds=1))
    assert count(session) == kudos.DAILY_LIMIT + 2


def test_feed_team_page_and_owner_note(session: Any, teams: dict[str, Team]) -> None:
    first = kudos.give(session, teams["payroll"], "Fixed my payslip", BOB, at=NOON)
    second = kudos.give(session, teams["it-help"], "New laptop in a day", BOB, at=NOON + timedelta(minutes=5))
    third = kudos.give(session, teams["payroll"], "Quick answer", ALICE.__class__(name="c", email="carol@example.com"),
                       at=NOON + timedelta(minutes=9))
    session.commit()
    assert [k.id for k in kudos.feed(session)] == [third.id, second.id, first.id]
    assert [k.id for k in kudos.feed(session, before=third.id)] == [second.id, first.id]
    assert [k.message for k in kudos.for_team(session, teams["payroll"])] == ["Quick answer", "Fixed my payslip"]
    assert [k.message for k in kudos.for_owner(session, "alice@example.com")] == ["Quick answer", "Fixed my payslip"]
    assert kudos.for_owner(session, "bob@example.com") == []
    audit = list(session.scalars(select(RecognitionAudit).order_by(RecognitionAudit.id)))
    assert [(a.actor, a.action, a.subject) for a in audit] == [
        ("bob@example.com", "kudos.give", "team payroll"), ("bob@example.com", "kudos.give", "team it-help"),
        ("carol@example.com", "kudos.give", "team payroll")]


def test_anonymous_and_token_without_a_person_are_refused(session: Any, teams: dict[str, Team]) -> None:
    for who in (None, Actor(name="integration")):
        with pytest.raises(Forbidden):
            kudos.give(session, teams["payroll"], "Thanks", who)
    assert count(session) == 0
