"""What administrators and owners are shown of the search log: counts per query, never who.

Administrators see the whole directory's top queries, the ones that found nothing and the ones
people had to scroll for or rephrase (`overview`); a team's owners see the queries that led to
their team and the ones near their team's words that found nothing or were given up for a search
that led to them (`team_overview`), the words they may adopt as search terms (`directory.search_terms`).
Raw events only reach back as far as the retention window; choices per day reach further.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from directory.models import SearchChoice, SearchChoiceDay, SearchEvent, Team
from directory.search_learning import SCROLL_AFTER, normalise_query

_WORD = re.compile(r"\w+")


@dataclass
class QueryRow:
    query: str
    searches: int = 0
    people: int = 0
    no_results: int = 0
    rephrased: int = 0
    scrolled: int = 0
    choices: int = 0


@dataclass
class Overview:
    since: datetime
    until: datetime
    searches: int
    top: list[QueryRow]
    empty: list[QueryRow]
    struggled: list[QueryRow]


def _rows(session: Session, since: datetime, until: datetime, queries: Iterable[str] | None = None
          ) -> dict[str, QueryRow]:
    window = [SearchEvent.at >= since, SearchEvent.at < until]
    if queries is not None:
        window.append(SearchEvent.query.in_(list(queries)))
    first = SearchEvent.page == 1
    rows: dict[str, QueryRow] = {}
    for query, searches, people, empty, rephrased in session.execute(
            select(SearchEvent.query, func.sum(case((first, 1), else_=0)), func.count(SearchEvent.searcher.distinct()),
                   func.sum(case((and_(first, SearchEvent.results == 0), 1), else_=0)),
                   func.count(SearchEvent.rephrased_by_id))
            .where(*window).group_by(SearchEvent.query)):
        rows[query] = QueryRow(query, int(searches or 0), int(people or 0), int(empty or 0), int(rephrased or 0))
    scrolled = (select(SearchEvent.query, func.count(SearchEvent.searcher.distinct()))
                .outerjoin(SearchChoice, SearchChoice.event_id == SearchEvent.id)
                .where(*window, (SearchEvent.page > 1) | (SearchChoice.position > SCROLL_AFTER))
                .group_by(SearchEvent.query))
    for query, visits in session.execute(scrolled):
        rows[query].scrolled = int(visits)
    chosen = (select(SearchEvent.query, func.count(SearchChoice.id)).join(SearchChoice, SearchChoice.event_id == SearchEvent.id)
              .where(*window).group_by(SearchEvent.query))
    for query, choices in session.execute(chosen):
        rows[query].choices = int(choices)
    return rows


def overview(session: Session, since: datetime, until: datetime, limit: int = 50) -> Overview:
    """The window's queries three ways: most searched; most often finding nothing; most often
    rephrased or scrolled for. Each list holds at most `limit` queries."""
    rows = list(_rows(session, since, until).values())
    top = sorted((r for r in rows if r.searches), key=lambda r: (-r.searches, -r.people, r.query))[:limit]
    empty = sorted((r for r in rows if r.no_results), key=lambda r: (-r.no_results, -r.people, r.query))[:limit]
    struggled = sorted((r for r in rows if r.rephrased or r.scrolled),
                       key=lambda r: (-(r.rephrased + r.scrolled), -r.people, r.query))[:limit]
    return Overview(since, until, sum(r.searches for r in rows), top, empty, struggled)


@dataclass
class TeamQuery:
    query: str
    people: int
    choices: int = 0
    best_position: int | None = None
    adopted: bool = False


@dataclass
class TeamOverview:
    led_here: list[TeamQuery] = field(default_factory=list)
    tried_first: list[TeamQuery] = field(default_factory=list)
    found_nothing: list[TeamQuery] = field(default_factory=list)


def team_words(data: dict[str, Any], terms: Iterable[str] = ()) -> set[str]:
    """The words a team is found by: its name, summary, tags, services and adopted terms."""
    parts: list[str] = [str(data.get(k) or "") for k in ("name", "summary", "department")]
    parts += [str(t) for t in data.get("tags") or []]
    parts += [str(s.get("name") or "") for s in data.get("services") or [] if isinstance(s, dict)]
    parts += list(terms)
    return {w for w in _WORD.findall(normalise_query(" ".join(parts))) if len(w) >= 3}


def is_near(query: str, words: set[str]) -> bool:
    """A query one of whose words is spelled nearly like one of `words`, or starts or extends one
    (at least four letters in common): "payslp", "payrol", "reimburse" for "reimbursement"."""
    for token in _WORD.findall(query):
        if len(token) < 3:
            continue
        if token in words or difflib.get_close_matches(token, words, n=1, cutoff=0.75):
            return True
        if len(token) >= 4 and any(w.startswith(token) or (len(w) >= 4 and token.startswith(w)) for w in words):
            return True
    return False


def team_overview(session: Session, team: Team, since: datetime, until: datetime, *,
                  adopted: Iterable[str] = (), limit: int = 30) -> TeamOverview:
    """For a team's owners: the queries people chose it for (people counted once per query), the
    queries people gave up, soon after, for a search that led here, and the queries near the
    team's words that found nothing."""
    adopted_set = {normalise_query(t) for t in adopted}
    result = TeamOverview()
    led = session.execute(
        select(SearchChoiceDay.query, func.sum(SearchChoiceDay.choosers))
        .where(SearchChoiceDay.team_id == team.id, SearchChoiceDay.day >= since.date(),
               SearchChoiceDay.day <= until.date())
        .group_by(SearchChoiceDay.query).order_by(func.sum(SearchChoiceDay.choosers).desc(), SearchChoiceDay.query)
        .limit(limit)).all()
    raw = dict((q, (int(n), int(best))) for q, n, best in session.execute(
        select(SearchEvent.query, func.count(SearchChoice.id), func.min(SearchChoice.position))
        .join(SearchEvent, SearchEvent.id == SearchChoice.event_id)
        .where(SearchChoice.team_id == team.id, SearchChoice.at >= since, SearchChoice.at < until)
        .group_by(SearchEvent.query)))
    for query, people in led:
        choices, best = raw.get(query, (0, None))  # type: ignore[assignment]
        result.led_here.append(TeamQuery(query, int(people or 0), choices, best, query in adopted_set))

    gave_up, then, chosen = aliased(SearchEvent), aliased(SearchEvent), aliased(SearchEvent)
    tried = session.execute(
        select(gave_up.query, func.count(gave_up.searcher.distinct()))
        .join(then, then.id == gave_up.rephrased_by_id)
        .join(chosen, and_(chosen.searcher == then.searcher, chosen.query == then.query))
        .join(SearchChoice, SearchChoice.event_id == chosen.id)
        .where(SearchChoice.team_id == team.id, gave_up.at >= since, gave_up.at < until)
        .group_by(gave_up.query).order_by(func.count(gave_up.searcher.distinct()).desc(), gave_up.query)
        .limit(limit)).all()
    result.tried_first = [TeamQuery(q, int(n), adopted=q in adopted_set) for q, n in tried]

    words = team_words(team.data, adopted_set)
    empty = session.execute(
        select(SearchEvent.query, func.count(SearchEvent.searcher.distinct()))
        .where(SearchEvent.page == 1, SearchEvent.results == 0, SearchEvent.at >= since, SearchEvent.at < until)
        .group_by(SearchEvent.query).order_by(func.count(SearchEvent.searcher.distinct()).desc(), SearchEvent.query)
        .limit(1000)).all()
    result.found_nothing = [TeamQuery(q, int(n), adopted=q in adopted_set)
                            for q, n in empty if is_near(q, words)][:limit]
    return result
