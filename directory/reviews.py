"""When a team's page is due for review, when it is overdue, and whom to tell: the one rule that the
team page, "My teams", the admin lists, search and `directory notify` all apply.

A page is due `interval_days` after its last review (a page never reviewed is due from the day it
was created) and overdue `OVERDUE_AFTER_DAYS` later. The interval is one number for the whole
directory, set by administrators on /admin/reviews and stored in the database: every app server
and the notification job see a change at once, without a redeploy, and search can apply it at
query time (its index keeps the review date, not a verdict that would need reindexing).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.errors import Forbidden, InvalidTeam
from directory.models import ReviewSetting, Team, utcnow
from directory.people import last_reviewed
from directory.services import Actor

DEFAULT_INTERVAL_DAYS = 180
OVERDUE_AFTER_DAYS = 30
INTERVAL_LIMITS = (7, 3650)
INTERVAL_KEY = "interval_days"

State = Literal["current", "due", "overdue"]


@dataclass(frozen=True)
class Policy:
    interval_days: int = DEFAULT_INTERVAL_DAYS
    overdue_after_days: int = OVERDUE_AFTER_DAYS

    def due_on(self, data: dict[str, Any], created: date | None = None) -> date | None:
        """The day the page comes due; None when it was never reviewed and its creation is unknown
        (then it counts as due and overdue: nobody can vouch for it)."""
        reviewed = last_reviewed(data)
        if reviewed is not None:
            return reviewed + timedelta(days=self.interval_days)
        return created

    def state(self, data: dict[str, Any], today: date, created: date | None = None) -> State:
        due = self.due_on(data, created)
        if due is None or today >= due + timedelta(days=self.overdue_after_days):
            return "overdue"
        return "due" if today >= due else "current"

    def is_due(self, data: dict[str, Any], today: date, created: date | None = None) -> bool:
        """Due or overdue: the page asks its owners for a review."""
        return self.state(data, today, created) != "current"

    def overdue_cutoffs(self, today: date) -> tuple[str, str]:
        """(last review, creation) ISO dates on or before which a page is overdue, for search,
        which keeps both dates per team and compares them as text."""
        grace = timedelta(days=self.overdue_after_days)
        return ((today - grace - timedelta(days=self.interval_days)).isoformat(), (today - grace).isoformat())


def policy(session: Session) -> Policy:
    """The directory's review policy as administrators last set it (the default until then)."""
    value = session.scalar(select(ReviewSetting.value).where(ReviewSetting.key == INTERVAL_KEY))
    try:
        days = int(value) if value is not None else DEFAULT_INTERVAL_DAYS
    except ValueError:
        days = DEFAULT_INTERVAL_DAYS
    return Policy(interval_days=days)


def set_interval(session: Session, days: int, actor: Actor) -> None:
    """Change the review interval for every team (administrators only); the caller commits."""
    if not actor.is_admin:
        raise Forbidden("Only administrators set the review interval.")
    low, high = INTERVAL_LIMITS
    if not low <= days <= high:
        raise InvalidTeam("The review interval is out of range.",
                          {"interval_days": [f"must be between {low} and {high} days"]})
    setting = session.get(ReviewSetting, INTERVAL_KEY)
    if setting is None:
        setting = ReviewSetting(key=INTERVAL_KEY, value="", updated_by="")
        session.add(setting)
    setting.value = str(days)
    setting.updated_by = actor.email or actor.name
    setting.updated_at = utcnow()
    session.flush()


def recipients(data: dict[str, Any]) -> list[str]:
    """Whom to tell about a page: its owners, each once, as they wrote their address."""
    seen: dict[str, str] = {}
    for owner in data.get("owners") or []:
        if isinstance(owner, str) and "@" in owner:
            seen.setdefault(owner.strip().lower(), owner.strip())
    return list(seen.values())


@dataclass
class TeamReview:
    team: Team
    state: State
    due_on: date | None
    reviewed: date | None
    owners: list[str]


def reviews_of(teams: Iterable[Team], today: date, rule: Policy) -> list[TeamReview]:
    """Each active team's review state, oldest due date first (never-dated pages first of all)."""
    out = []
    for team in teams:
        if team.archived:
            continue
        created = team.created_at.date() if team.created_at else None
        out.append(TeamReview(team, rule.state(team.data, today, created), rule.due_on(team.data, created),
                              last_reviewed(team.data), recipients(team.data)))
    out.sort(key=lambda r: (r.due_on or date.min, r.team.name.lower()))
    return out


def overdue(session: Session, today: date, rule: Policy | None = None) -> list[TeamReview]:
    """The admin's list: active pages overdue for review, longest overdue first."""
    rule = rule or policy(session)
    teams = session.scalars(select(Team).where(Team.archived_at.is_(None)))
    return [r for r in reviews_of(teams, today, rule) if r.state == "overdue"]


def missing_facts(data: dict[str, Any]) -> list[str]:
    """What makes a page unusable however recently it was reviewed: nobody keeps it, or nobody
    can be reached through it."""
    problems = []
    if not recipients(data):
        problems.append("no owner")
    booking = data.get("booking") or {}
    if not data.get("contacts") and not (isinstance(booking, dict) and booking.get("url")):
        problems.append("no contact")
    return problems


@dataclass
class Attention:
    team: Team
    problems: list[str]
    broken: list[Any]  # LinkCheck rows that failed their last check


def needing_attention(session: Session) -> list[Attention]:
    """Active pages that fail their readers whatever their review date: no owner, no way to reach
    the team, or a booking or contact link that failed its last check (`directory check-links`)."""
    from directory.links import broken_links, team_links  # links reads teams; the rule stays importable alone

    broken = broken_links(session)
    found = []
    for team in session.scalars(select(Team).where(Team.archived_at.is_(None)).order_by(Team.name)):
        listed = {link.url for link in team_links(team)}
        dead = [row for row in broken.get(team.id, []) if row.url in listed]  # links since removed don't count
        problems = missing_facts(team.data) + [f"broken link: {row.url}" for row in dead]
        if problems:
            found.append(Attention(team, problems, dead))
    return found


def interval_words(days: int) -> str:
    """'six months' for the default interval, as people say it; other intervals in days."""
    for low, high, words in ((28, 31, "a month"), (89, 92, "three months"), (180, 184, "six months"),
                             (365, 366, "a year")):
        if low <= days <= high:
            return words
    return f"{days} days"
