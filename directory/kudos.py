"""Kudos: anyone signed in thanks a team, shown on its page, in the company feed and to its owners.

Thanks are only worth something when they come from outside, so nobody thanks their own team;
and a daily allowance per person keeps the feed from being flooded.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from directory import people
from directory.errors import Forbidden, Invalid, NotFound, Throttled
from directory.models import Kudos, Team, utcnow
from directory.services import Actor
from directory.surveys import audit
from directory.text import storable

MAX_MESSAGE = 500
MAX_PEOPLE = 10
MAX_PERSON = 200
DAILY_LIMIT = 20
DAY = timedelta(hours=24)


class InvalidKudos(Invalid):
    """A message or named people that cannot be stored; `errors` names the field."""


class TooManyKudos(Throttled):
    """More than the daily allowance in the last 24 hours; `retry_after` is in seconds."""

    def __init__(self, retry_after: int) -> None:
        hours = max(1, -(-retry_after // 3600))
        super().__init__(f"You have given {DAILY_LIMIT} kudos in the last 24 hours, the most a day allows. "
                         f"Try again in {hours} hour{'s' if hours != 1 else ''}.", retry_after)


def parse_people(text: str | Iterable[str] | None) -> list[str]:
    """Named people, from a comma- or line-separated text or a list, blanks dropped."""
    if text is None:
        return []
    items = text.replace("\n", ",").split(",") if isinstance(text, str) else list(text)
    return [str(item).strip() for item in items if str(item).strip()]


def give(session: Session, team: Team, message: str, actor: Actor | None, *, named: Iterable[str] = (),
         at: datetime | None = None) -> Kudos:
    """Thank `team`; refused (nothing stored) for one's own team, bad input or beyond the allowance."""
    if actor is None or not actor.email:
        raise Forbidden("Sign in as a person to thank a team.")
    author = actor.email.strip().lower()
    if team.archived:
        raise NotFound(f"The team '{team.slug}' is archived.")
    if people.owns(team.data, author):
        raise Forbidden("You keep this team's page: kudos are for thanking other teams.",
                        {"team": ["is your own team"]})
    text = (message or "").strip()
    names = parse_people(named)
    errors: dict[str, list[str]] = {}
    if not text:
        errors["message"] = ["is required: say what you are thanking them for"]
    elif len(text) > MAX_MESSAGE:
        errors["message"] = [f"is {len(text)} characters; at most {MAX_MESSAGE}"]
    elif not storable(text):
        errors["message"] = ["contains characters that cannot be stored"]
    if len(names) > MAX_PEOPLE:
        errors["people"] = [f"at most {MAX_PEOPLE} people"]
    elif any(len(n) > MAX_PERSON or not storable(n) for n in names):
        errors["people"] = [f"each name at most {MAX_PERSON} characters, printable"]
    if errors:
        raise InvalidKudos("The kudos could not be sent: " + "; ".join(f"{k} {v[0]}" for k, v in errors.items()),
                           errors)
    now = at or utcnow()
    recent = list(session.scalars(select(Kudos.created_at).where(Kudos.author == author, Kudos.created_at > now - DAY)
                                  .order_by(Kudos.created_at)))
    if len(recent) >= DAILY_LIMIT:
        frees_at = recent[len(recent) - DAILY_LIMIT] + DAY
        raise TooManyKudos(max(1, int((frees_at - now).total_seconds())))
    kudos = Kudos(team_id=team.id, author=author, people=names, message=text, created_at=now)
    session.add(kudos)
    session.flush()
    audit(session, actor, "kudos.give", f"team {team.slug}", {"kudos": kudos.id, "team": team.slug})
    return kudos


def for_team(session: Session, team: Team, limit: int = 10) -> list[Kudos]:
    return list(session.scalars(select(Kudos).where(Kudos.team_id == team.id)
                                .order_by(Kudos.created_at.desc(), Kudos.id.desc()).limit(limit)))


def count_for_team(session: Session, team: Team) -> int:
    return session.scalar(select(func.count()).select_from(Kudos).where(Kudos.team_id == team.id)) or 0


def feed(session: Session, limit: int = 50, before: int | None = None) -> list[Kudos]:
    """The company-wide feed, newest first; `before` (a kudos id) pages back."""
    stmt = (select(Kudos).join(Team, Team.id == Kudos.team_id).where(Team.archived_at.is_(None))
            .order_by(Kudos.id.desc()).limit(limit))
    if before is not None:
        stmt = stmt.where(Kudos.id < before)
    return list(session.scalars(stmt))


def for_owner(session: Session, email: str, *, since: datetime | None = None, limit: int = 20) -> list[Kudos]:
    """Kudos to the teams `email` keeps: the note on their "My teams" page."""
    owned = people.owned_teams(session, email)
    if not owned:
        return []
    stmt = (select(Kudos).where(Kudos.team_id.in_([t.id for t in owned]))
            .order_by(Kudos.created_at.desc(), Kudos.id.desc()).limit(limit))
    if since is not None:
        stmt = stmt.where(Kudos.created_at >= since)
    return list(session.scalars(stmt))
