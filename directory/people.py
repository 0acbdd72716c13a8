"""People as the pages name them, and what a person keeps: the teams they own.

Owners and revision authors are stored as e-mail addresses (what sign-in and tokens know); pages
show the person's name from their account instead, and the address when there is no account or
no name, so nobody disappears from a page for lack of a profile.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from directory.models import Revision, Team, User


def display_names(session: Session, emails: Iterable[str]) -> dict[str, str]:
    """Lower-case address -> the name to show: the account's name, else the address as given."""
    wanted = {e.lower(): e for e in emails if e}
    if not wanted:
        return {}
    names = dict(wanted)
    rows = session.execute(select(User.email, User.name).where(func.lower(User.email).in_(list(wanted))))
    for email, name in rows:
        if name and name.strip():
            names[email.lower()] = name.strip()
    return names


def last_reviewed(data: dict[str, Any]) -> date | None:
    try:
        return date.fromisoformat(str(data.get("last_reviewed") or "")[:10])
    except ValueError:
        return None


def owns(data: dict[str, Any], email: str) -> bool:
    return email.lower() in {o.lower() for o in data.get("owners") or []}


def owned_teams(session: Session, email: str) -> list[Team]:
    """The active teams that list `email` among their owners, by name.

    Owners live inside each team's document, so this reads every active team: fine for a
    directory of thousands, and it cannot drift from what the editor and the service check.
    """
    teams = session.scalars(select(Team).where(Team.archived_at.is_(None)).order_by(Team.name))
    return [t for t in teams if owns(t.data, email)]


def changes_by_others(session: Session, teams: list[Team], email: str, *, since: datetime | None = None,
                      limit: int = 20) -> list[Revision]:
    """The newest changes to these teams made by someone other than `email`, newest first: what an
    owner has not seen because they did not do it (a team's creation is not a change to it)."""
    if not teams:
        return []
    stmt = (
        select(Revision)
        .where(Revision.team_id.in_([t.id for t in teams]), func.lower(Revision.author) != email.lower(),
               Revision.action != "create")
        .order_by(Revision.created_at.desc(), Revision.id.desc())
        .limit(limit)
    )
    if since is not None:
        stmt = stmt.where(Revision.created_at >= since)
    return list(session.scalars(stmt))
