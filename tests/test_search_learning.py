"""Search learning without HTTP: recording, the retention purge, the click lift, insights and
adopted search terms, on a real SQLite database and a real index."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from directory import search_insights, search_learning, search_terms, services
from directory.errors import Forbidden, InvalidTeam
from directory.models import Revision, SearchChoice, SearchChoiceDay, SearchEvent, Team
from directory.search_sync import get_search

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
OWNER = services.Actor(name="alice@example.com", email="alice@example.com")
STRANGER = services.Actor(name="mallory@example.com", email="mallory@example.com")


def team_id(session: Any, slug: str) -> int:
    return session.scalar(select(Team.id).where(Team.slug == slug))


def person(n: int) -> str:
    return search_learning.searcher_key("test-secret", f"visit-{n:04d}-random-part")


def choose(session: Any, who: str, query: str, team: int, at: datetime, position: int = 2,
           results: int = 5) -> None:
    event = search_learning.record_search(session, query, results, 1, who, at)
    assert event is not None
    assert search_learning.record_choice(session, event.id, team, position, who, at + timedelta(seconds=5))
    session.commit()


def test_queries_are_counted_without_case_spacing_or_punctuation() -> None:
    assert search_learning.normalise_query("  Expense   CLAIMS? ") == "expense claims"
    assert search_learning.normalise_query("“p60”") == "p60"
    assert search_learning.normalise_query(" ?! ") == ""


def test_searcher_key_is_keyed_and_names_no_account() -> None:
    key = search_learning.searcher_key("secret-a", "visit-value-0123456789")
    assert key == search_learning.searcher_key("secret-a", "visit-value-0123456789")
    assert key != search_learning.searcher_key("secret-b", "visit-value-0123456789")
    assert len(key) == 32 and "visit" not in key


def test_one_persons_twenty_clicks_lift_nothing(session: Any, make_team: Any) -> None:
    make_team()
    payroll = team_id(session, "payroll")
    for i in range(20):
        choose(session, person(1), "payslip copy", payroll, NOW + timedelta(minutes=i))
    assert session.scalar(select(func.count()).select_from(SearchChoice)) == 20
    assert session.scalar(select(SearchChoiceDay.choosers)) == 1  # one person, counted once
    assert search_learning.lift(session, "payslip copy", NOW) == {}


def test_distinct_people_lift_a_team_and_the_lift_is_capped(session: Any, make_team: Any) -> None:
    make_team()
    payroll = team_id(session, "payroll")
    for n in range(2):
        choose(session, person(n), "payslip copy", payroll, NOW)
    assert search_learning.lift(session, "payslip copy", NOW) == {}  # two people are not enough
    for n in range(2, 5):
        choose(session, person(n), "payslip copy", payroll, NOW)
    five = search_learning.lift(session, "payslip copy", NOW)[payroll]
    assert 0 < five <= search_learning.MAX_LIFT
    for n in range(5, 200):
        choose(session, person(n), "payslip copy", payroll, NOW)
    assert five < search_learning.lift(session, "payslip copy", NOW)[payroll] <= search_learning.MAX_LIFT
    assert search_learning.lift(session, "other words", NOW) == {}


def test_lift_decays_with_time(session: Any, make_team: Any) -> None:
    make_team()
    payroll = team_id(session, "payroll")
    for n in range(5):
        choose(session, person(n), "payslip copy", payroll, NOW)
    fresh = search_learning.lift(session, "payslip copy", NOW)[payroll]
    month = search_learning.lift(session, "payslip copy", NOW + timedelta(days=30))[payroll]
    quarter = search_learning.lift(session, "payslip copy", NOW + timedelta(days=90))[payroll]
    assert fresh > month > quarter > 0
    assert search_learning.lift(session, "payslip copy", NOW + timedelta(days=400)) == {}


def test_retention_purge_removes_keys_and_raw_events_and_keeps_what_ranking_learned(
        session: Any, make_team: Any) -> None:
    make_team()
    payroll = team_id(session, "payroll")
    old = NOW - timedelta(days=40)
    for n in range(4):
        choose(session, person(n), "payslip copy", payroll, old)
    choose(session, person(9), "a rare query", payroll, old)
    choose(session, person(5), "payslip copy", payroll, NOW - timedelta(days=1))
    before = search_learning.lift(session, "payslip copy", NOW)[payroll]

    report = search_learning.purge(session, NOW, retention_days=30)
    session.commit()

    assert report.events == 5 and report.choices == 5
    assert report.aggregates == 1  # the query one person chose is not kept past the window
    keys = set(session.scalars(select(SearchEvent.searcher)))
    assert keys == {person(5)}  # every key older than the window is gone
    assert session.scalar(select(func.min(SearchEvent.at))) >= NOW - timedelta(days=30)
    days = {(q, d, c) for q, d, c in session.execute(
        select(SearchChoiceDay.query, SearchChoiceDay.day, SearchChoiceDay.choosers))}
    assert days == {("payslip copy", old.date(), 4), ("payslip copy", (NOW - timedelta(days=1)).date(), 1)}
    assert search_learning.lift(session, "payslip copy", NOW)[payroll] == pytest.approx(before)
    assert search_learning.purge(session, NOW, retention_days=30).events == 0  # nothing left to purge


def test_only_the_visit_shown_a_page_records_a_choice_on_it(session: Any, make_team: Any) -> None:
    make_team()
    payroll = team_id(session, "payroll")
    event = search_learning.record_search(session, "payslip", 3, 1, person(1), NOW)
    assert event is not None
    assert search_learning.record_choice(session, event.id, payroll, 1, person(2), NOW) is None
    assert search_learning.record_choice(session, 10_000, payroll, 1, person(1), NOW) is None
    assert session.scalar(select(func.count()).select_from(SearchChoice)) == 0
    assert search_learning.record_search(session, "", 3, 1, person(1), NOW) is None


def test_a_quick_search_with_other_words_after_no_choice_is_a_rephrasing(session: Any, make_team: Any) -> None:
    make_team()
    payroll = team_id(session, "payroll")
    first = search_learning.record_search(session, "p60", 0, 1, person(1), NOW)
    second = search_learning.record_search(session, "payslip", 3, 1, person(1), NOW + timedelta(seconds=40))
    assert first is not None and second is not None and first.rephrased_by_id == second.id
    # Too late, or after a choice, or the same words on the next page: not a rephrasing.
    later = search_learning.record_search(session, "tax code", 3, 1, person(1), NOW + timedelta(minutes=10))
    assert second.rephrased_by_id is None and later is not None
    assert search_learning.record_choice(session, later.id, payroll, 1, person(1), NOW + timedelta(minutes=10))
    after_choice = search_learning.record_search(session, "tax", 3, 1, person(1), NOW + timedelta(minutes=11))
    assert later.rephrased_by_id is None and after_choice is not None
    search_learning.record_search(session, "tax", 3, 2, person(1), NOW + timedelta(minutes=11, seconds=10))
    assert after_choice.rephrased_by_id is None
    # Another visit's search never marks this one's.
    search_learning.record_search(session, "something else", 3, 1, person(2), NOW + timedelta(minutes=11, seconds=20))
    assert after_choice.rephrased_by_id is None


def test_overview_counts_top_empty_rephrased_and_scrolled_queries(session: Any, make_team: Any) -> None:
    make_team()
    payroll = team_id(session, "payroll")
    for n in range(3):
        search_learning.record_search(session, "p60", 0, 1, person(n), NOW)
        search_learning.record_search(session, "payslip", 4, 1, person(n), NOW + timedelta(seconds=30))
    choose(session, person(7), "payslip", payroll, NOW, position=5)
    search_learning.record_search(session, "payslip", 4, 2, person(8), NOW)
    session.commit()

    found = search_insights.overview(session, NOW - timedelta(days=7), NOW + timedelta(hours=1))
    rows = {r.query: r for r in found.top}
    assert rows["payslip"].searches == 4 and rows["payslip"].people == 5 and rows["payslip"].choices == 1
    assert [(r.query, r.no_results, r.people) for r in found.empty] == [("p60", 3, 3)]
    struggled = {r.query: r for r in found.struggled}
    assert struggled["p60"].rephrased == 3
    assert struggled["payslip"].scrolled == 2  # position 5, and a second page
    assert found.searches == 7
    assert search_insights.overview(session, NOW + timedelta(hours=1), NOW + timedelta(hours=2)).top == []


def test_team_overview_shows_what_led_here_and_what_was_near(session: Any, make_team: Any) -> None:
    make_team()
    make_team(slug="it-help", name="IT Help", summary="Laptops and passwords", tags=["laptop"],
              services=[], contacts=[{"kind": "email", "value": "it@example.com"}])
    payroll = session.get(Team, team_id(session, "payroll"))
    for n in range(3):
        search_learning.record_search(session, "p60", 0, 1, person(n), NOW)
        choose(session, person(n), "payslip", payroll.id, NOW + timedelta(seconds=30))
    search_learning.record_search(session, "payslp", 0, 1, person(5), NOW)
    search_learning.record_search(session, "lapptop", 0, 1, person(6), NOW)
    session.commit()

    found = search_insights.team_overview(session, payroll, NOW - timedelta(days=1), NOW + timedelta(hours=1))
    assert [(q.query, q.people, q.best_position) for q in found.led_here] == [("payslip", 3, 2)]
    assert [(q.query, q.people) for q in found.tried_first] == [("p60", 3)]
    assert [q.query for q in found.found_nothing] == ["payslp"]  # near "payslips", not "lapptop"
    it = session.get(Team, team_id(session, "it-help"))
    other = search_insights.team_overview(session, it, NOW - timedelta(days=1), NOW + timedelta(hours=1))
    assert other.led_here == [] and other.tried_first == [] and [q.query for q in other.found_nothing] == ["lapptop"]


def test_owners_adopt_search_terms_as_revisions_and_search_finds_them(app: Any, session: Any, make_team: Any) -> None:
    make_team()
    payroll = session.get(Team, team_id(session, "payroll"))
    assert get_search().query(session, "p60", at=NOW).total == 0
    version = payroll.version

    term = search_terms.adopt(session, payroll, "  P60 ", OWNER, NOW)
    session.commit()
    assert term.term == "p60" and term.adopted_by == "alice@example.com"
    assert payroll.version == version + 1
    revision = session.scalar(select(Revision).where(Revision.team_id == payroll.id).order_by(Revision.id.desc()))
    assert revision.action == "search_terms" and "p60" in revision.note and revision.author == "alice@example.com"
    assert [h["slug"] for h in get_search().query(session, "p60", at=NOW).hits] == ["payroll"]
    assert search_terms.adopt(session, payroll, "p60", OWNER, NOW).id == term.id  # already adopted

    with pytest.raises(Forbidden):
        search_terms.adopt(session, payroll, "wages", STRANGER, NOW)
    with pytest.raises(InvalidTeam) as bad:
        search_terms.adopt(session, payroll, " ? ", OWNER, NOW)
    assert "term" in bad.value.errors
    session.rollback()

    search_terms.remove(session, payroll, term.id, OWNER)
    session.commit()
    assert search_terms.terms_of(payroll) == []
    assert get_search().query(session, "p60", at=NOW).total == 0


def test_a_new_process_indexes_adopted_terms_in_a_rebuild(app: Any, session: Any, make_team: Any) -> None:
    make_team()
    payroll = session.get(Team, team_id(session, "payroll"))
    search_terms.adopt(session, payroll, "wage slip", OWNER, NOW)
    session.commit()
    get_search().rebuild()
    assert [h["slug"] for h in get_search().query(session, "wage slip", at=NOW).hits] == ["payroll"]


def test_lift_counts_days_separately(session: Any, make_team: Any) -> None:
    make_team()
    payroll = team_id(session, "payroll")
    for n in range(3):
        choose(session, person(n), "payslip", payroll, NOW - timedelta(days=n))
    days = dict(session.execute(select(SearchChoiceDay.day, SearchChoiceDay.choosers)).all())
    assert days == {date(2026, 12, 1): 1, date(2026, 11, 30): 1, date(2026, 11, 29): 1}
    assert payroll in search_learning.lift(session, "payslip", NOW)


def _ranked(session: Any, q: str) -> list[str]:
    return [h["slug"] for h in get_search().query(session, q, at=NOW).hits]


def test_people_choosing_a_team_for_a_query_lift_it_above_its_former_place_but_not_above_strong_matches(
        session: Any, make_team: Any) -> None:
    for slug, name in (("claims", "Claims Team"), ("finance-help", "Finance Help"), ("travel", "Travel Office")):
        make_team(slug=slug, name=name, summary="Quokka permits and receipts.", description="", tags=["money"],
                  services=[], contacts=[{"kind": "email", "value": f"{slug}@example.com"}])
    make_team(slug="wildlife", name="Quokka Desk", summary="Quokka permits.", description="", tags=["quokka"],
              services=[], contacts=[{"kind": "email", "value": "wildlife@example.com"}])
    before = _ranked(session, "quokka")
    assert before == ["wildlife", "claims", "finance-help", "travel"]
    travel = team_id(session, "travel")

    for i in range(20):  # one person, many times: nothing moves
        choose(session, person(1), "quokka", travel, NOW + timedelta(minutes=i), position=4)
    assert _ranked(session, "quokka") == before

    for n in range(2, 6):  # five people in all
        choose(session, person(n), "quokka", travel, NOW, position=4)
    assert _ranked(session, "quokka") == ["wildlife", "travel", "claims", "finance-help"]

    for n in range(6, 300):  # however many people: a weak match stays below the strong one
        choose(session, person(n), "quokka", travel, NOW, position=2)
    assert _ranked(session, "quokka")[0] == "wildlife"
    assert _ranked(session, "permits")[1:] == ["claims", "finance-help", "travel"]  # learned for "quokka" only


def test_learning_holds_on_both_backends(storage_url: str, tmp_path: Any) -> None:
    """Recording, counting people once, lift, insights, adoption and the purge, on SQLite and PostgreSQL."""
    from directory.db import get_session as db_session
    from directory.schemas import load_team
    from tests.conftest import ADMIN, make_app, team_doc

    app = make_app(tmp_path, DATABASE_URL=storage_url)
    try:
        with app.app_context():
            session = db_session()
            team = services.create_team(session, load_team(team_doc()), ADMIN)
            session.commit()
            for n in range(4):
                search_learning.record_search(session, "p60", 0, 1, person(n), NOW - timedelta(days=40))
                choose(session, person(n), "payslip", team.id, NOW - timedelta(days=40, seconds=-30), position=5)
                choose(session, person(n), "payslip", team.id, NOW - timedelta(days=40, seconds=-60), position=5)
            assert session.scalar(select(SearchChoiceDay.choosers)) == 4
            assert team.id in search_learning.lift(session, "payslip", NOW)
            since, until = NOW - timedelta(days=41), NOW
            assert search_insights.overview(session, since, until).struggled[0].query in {"p60", "payslip"}
            assert [q.query for q in search_insights.team_overview(session, team, since, until).tried_first] == ["p60"]
            search_terms.adopt(session, team, "P60", OWNER, NOW)
            session.commit()
            assert [h["slug"] for h in get_search().query(session, "p60", at=NOW).hits] == ["payroll"]
            report = search_learning.purge(session, NOW, 30)
            session.commit()
            assert (report.events, report.choices) == (12, 8)
            assert session.scalar(select(func.count()).select_from(SearchEvent)) == 0
            assert team.id in search_learning.lift(session, "payslip", NOW)
    finally:
        app.extensions["directory_db"].engine.dispose()
