"""The directory's shared reads: the few queries that the API, the web pages and the domain
modules all ask, written once so that they answer alike (which teams count as active, how a
department is named and counted, which revision a number means)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection, Row, func, select
from sqlalchemy.orm import Session

from directory.models import Revision, Team
from directory.slugs import slugify


def revision(session: Session, team_id: int, number: int) -> Revision | None:
    """One saved version of a team by its number; None when the team has no such revision."""
    return session.scalar(select(Revision).where(Revision.team_id == team_id, Revision.number == number))


def revision_data(session: Session, team_id: int, number: int) -> dict[str, Any] | None:
    """Only the document of a saved version, for callers that replay many of them."""
    return session.scalar(select(Revision.data).where(Revision.team_id == team_id, Revision.number == number))


def revisions(session: Session, team_id: int) -> list[Revision]:
    """Every saved version of a team, newest first."""
    return list(session.scalars(
        select(Revision).where(Revision.team_id == team_id).order_by(Revision.number.desc())))


def active_teams(session: Session) -> Sequence[Team]:
    """The teams that are not archived, by name."""
    return session.scalars(select(Team).where(Team.archived_at.is_(None)).order_by(Team.name)).all()


# Revisions committed out of order by concurrent transactions land below a sequence already
# seen; readers of the change log look back this many revisions to pick them up.
LOOKBACK = 50
_NEWEST = select(func.max(Revision.id))


def newest_change(connection: Session | Connection) -> int:
    """The directory's change sequence: the newest revision id (0 when empty)."""
    return connection.execute(_NEWEST).scalar() or 0


def recent_changes(session: Session, since: int) -> dict[int, int]:
    """Team id -> its newest revision id, for the teams changed after `since` (less LOOKBACK)."""
    return dict(session.execute(select(Revision.team_id, func.max(Revision.id))
                                .where(Revision.id > max(0, since - LOOKBACK)).group_by(Revision.team_id)).all())


def count_teams(session: Session) -> int:
    """How many teams are not archived."""
    return session.scalar(select(func.count(Team.id)).where(Team.archived_at.is_(None))) or 0


def departments(session: Session) -> list[dict[str, Any]]:
    """Every department that has active teams: name, slug and team count, by name."""
    rows = session.execute(
        select(Team.department, func.count(Team.id))
        .where(Team.archived_at.is_(None), Team.department.is_not(None))
        .group_by(Team.department)
        .order_by(Team.department)
    ).all()
    return [{"name": name, "slug": slugify(name), "team_count": count} for name, count in rows]


def department(session: Session, slug: str) -> dict[str, Any] | None:
    """The department a slug names (as `departments` lists it); None when no active team is in it."""
    return next((d for d in departments(session) if d["slug"] == slug), None)


def department_teams(session: Session, names: Collection[str]) -> Sequence[Team]:
    """The active teams of the departments named (names that share a slug are one department), by name."""
    return session.scalars(select(Team).where(Team.archived_at.is_(None), Team.department.in_(list(names)))
                           .order_by(Team.name)).all()


def team_head(connection: Connection, slug: str) -> Row[Any] | None:
    """A team's id, version and archived_at by slug, without loading its document: what a cached
    read needs to find its entry and answer 404s and ETags."""
    return connection.execute(
        select(Team.id, Team.version, Team.archived_at).where(Team.slug == slug)).first()
