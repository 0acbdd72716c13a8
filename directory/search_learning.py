"""What searches teach the directory: which team people chose for what they typed.

Each results page shown is a `SearchEvent`; each team opened from it a `SearchChoice`. Both carry
an opaque searcher key (a keyed hash of a random value in the reader's session, never the account)
and are deleted after the retention window by `purge`. What ranking learns from survives the
window without any key: per query, team and day, how many people newly chose that team
(`SearchChoiceDay`). `lift` turns those counts into a small, decaying, capped boost.

Plain functions of a session and an instant: the web layer supplies both, tests call them directly.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from directory.models import SearchChoice, SearchChoiceDay, SearchEvent

QUERY_MAX = 200
# A new search by the same visit this soon after one that led nowhere is a rephrasing of it.
REPHRASE_WINDOW = timedelta(minutes=2)
# A choice below this position (or on a later page) means the person had to scroll for it.
SCROLL_AFTER = 3
RETENTION_DAYS = 30
# Fewer distinct people than this choosing a team for a query lift nothing: no one person's clicks,
# however many, can move a team; and a query chosen by fewer is not kept past the window, since rare
# queries are the ones most likely to point at someone.
MIN_CHOOSERS = 3
HALF_LIFE_DAYS = 30.0
# The most a team's score is raised (25%): enough to reorder near-ties, never enough to put a weak
# match above a strong one.
MAX_LIFT = 0.25
# People (after decay) at which a team gets half of MAX_LIFT.
HALF_LIFT_CHOOSERS = 3.0
# Counts this old contribute under 0.1% (ten half-lives) and are dropped.
AGGREGATE_HORIZON = timedelta(days=300)

_PUNCTUATION = re.compile(r"[\s\"'“”‘’`.,;:!?()\[\]{}<>]+")


def normalise_query(text: str | None) -> str:
    """The query as counted: case, accents' composition, spacing and surrounding punctuation do not
    make two searches different. "" for a query with no words (not recorded)."""
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    return " ".join(w for w in _PUNCTUATION.sub(" ", folded).split() if w)[:QUERY_MAX].strip()


def searcher_key(secret: str | bytes, session_value: str) -> str:
    """The opaque key of one visit: a keyed hash of a random value kept in the session, so the
    stored key names no account and cannot be reversed or recomputed without the secret."""
    raw = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(raw, b"search-searcher:" + session_value.encode(), hashlib.sha256).hexdigest()[:32]


def record_search(session: Session, query: str, results: int, page: int, searcher: str,
                  now: datetime) -> SearchEvent | None:
    """Record one results page (query already normalised); None for an empty query.

    A first page with other words, by the same visit within REPHRASE_WINDOW of its previous search
    that led to no choice, marks that search as rephrased by this one.
    """
    if not query or not searcher:
        return None
    event = SearchEvent(query=query[:QUERY_MAX], at=now, results=max(0, results), page=max(1, page),
                        searcher=searcher)
    session.add(event)
    session.flush()
    if event.page == 1:
        previous = session.scalar(
            select(SearchEvent).where(SearchEvent.searcher == searcher, SearchEvent.id != event.id,
                                      SearchEvent.at >= now - REPHRASE_WINDOW, SearchEvent.at <= now)
            .order_by(SearchEvent.at.desc(), SearchEvent.id.desc()).limit(1))
        if previous is not None and previous.query != event.query and previous.rephrased_by_id is None:
            chose = session.scalar(select(func.count()).select_from(SearchChoice)
                                   .join(SearchEvent, SearchEvent.id == SearchChoice.event_id)
                                   .where(SearchEvent.searcher == searcher, SearchEvent.query == previous.query,
                                          SearchChoice.at >= previous.at))
            if not chose:
                previous.rephrased_by_id = event.id
    return event


def record_choice(session: Session, event_id: int, team_id: int, position: int, searcher: str,
                  now: datetime) -> SearchChoice | None:
    """Record that the visit `searcher` opened `team_id` from its results page `event_id`.

    Only the visit that was shown the page may record a choice on it (None otherwise), so nobody
    can count for other people. The day's chooser count rises only for a person's first choice of
    this team for this query while their events are kept.
    """
    event = session.get(SearchEvent, event_id)
    if event is None or event.searcher != searcher:
        return None
    earlier = session.scalar(
        select(func.count()).select_from(SearchChoice).join(SearchEvent, SearchEvent.id == SearchChoice.event_id)
        .where(SearchEvent.searcher == searcher, SearchEvent.query == event.query, SearchChoice.team_id == team_id))
    choice = SearchChoice(event_id=event.id, team_id=team_id, position=max(1, position), at=now)
    session.add(choice)
    session.flush()
    if not earlier:
        _count_chooser(session, event.query, team_id, now.date())
    return choice


def _count_chooser(session: Session, query: str, team_id: int, day: date) -> None:
    where = (SearchChoiceDay.query == query, SearchChoiceDay.team_id == team_id, SearchChoiceDay.day == day)
    if session.execute(update(SearchChoiceDay).where(*where)
                       .values(choosers=SearchChoiceDay.choosers + 1)).rowcount:  # type: ignore[attr-defined]
        return
    try:
        with session.begin_nested():  # another worker may insert the day's row at the same moment
            session.add(SearchChoiceDay(query=query, team_id=team_id, day=day, choosers=1))
    except IntegrityError:
        session.execute(update(SearchChoiceDay).where(*where).values(choosers=SearchChoiceDay.choosers + 1))


@dataclass(frozen=True)
class PurgeReport:
    events: int
    choices: int
    aggregates: int


def purge(session: Session, now: datetime, retention_days: int = RETENTION_DAYS) -> PurgeReport:
    """Delete events and choices older than the window (and with them every searcher key), the
    per-day counts of queries fewer than MIN_CHOOSERS people chose that are past it, and counts
    past AGGREGATE_HORIZON. The caller commits."""
    cutoff = now - timedelta(days=max(1, retention_days))
    old_events = select(SearchEvent.id).where(SearchEvent.at < cutoff)
    choices = session.execute(delete(SearchChoice).where(SearchChoice.event_id.in_(old_events))).rowcount
    session.execute(update(SearchEvent).where(SearchEvent.rephrased_by_id.in_(old_events))
                    .values(rephrased_by_id=None))
    events = session.execute(delete(SearchEvent).where(SearchEvent.at < cutoff)).rowcount
    rare = (select(SearchChoiceDay.query, SearchChoiceDay.team_id)
            .group_by(SearchChoiceDay.query, SearchChoiceDay.team_id)
            .having(func.sum(SearchChoiceDay.choosers) < MIN_CHOOSERS,
                    func.max(SearchChoiceDay.day) < cutoff.date()))
    aggregates = 0
    for query, team_id in session.execute(rare).all():
        aggregates += session.execute(delete(SearchChoiceDay).where(
            SearchChoiceDay.query == query, SearchChoiceDay.team_id == team_id)).rowcount
    aggregates += session.execute(delete(SearchChoiceDay).where(
        SearchChoiceDay.day < (now - AGGREGATE_HORIZON).date())).rowcount
    return PurgeReport(events or 0, choices or 0, aggregates)


def lift(session: Session, query: str, now: datetime, *, half_life_days: float = HALF_LIFE_DAYS) -> dict[int, float]:
    """For a normalised query: team id -> the fraction its score is raised by (0 < lift <= MAX_LIFT).

    Each person who chose a team counts once, weighted by 2^(-age / half-life) from the day they
    chose; a team needs MIN_CHOOSERS people before it is lifted at all. The lift saturates towards
    MAX_LIFT, so it reorders teams that match about equally well and nothing more.
    """
    if not query:
        return {}
    today = now.date()
    rows = session.execute(select(SearchChoiceDay.team_id, SearchChoiceDay.day, SearchChoiceDay.choosers)
                           .where(SearchChoiceDay.query == query,
                                  SearchChoiceDay.day >= (now - AGGREGATE_HORIZON).date())).all()
    people: dict[int, int] = {}
    weight: dict[int, float] = {}
    for team_id, day, choosers in rows:
        age = max(0, (today - day).days)
        people[team_id] = people.get(team_id, 0) + choosers
        weight[team_id] = weight.get(team_id, 0.0) + choosers * 0.5 ** (age / half_life_days)
    return {team_id: MAX_LIFT * (1.0 - 0.5 ** (weight[team_id] / HALF_LIFT_CHOOSERS))
            for team_id in people if people[team_id] >= MIN_CHOOSERS}

