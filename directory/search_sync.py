"""Keeps the Whoosh index in step with the database, which is the source of truth.

Every committed write is applied right after its commit; before answering a search, the index also
catches up on changes made by other processes or hosts (it remembers the last revision id it
applied). A missing, corrupt or outdated index is rebuilt; when the index cannot be used at all,
search answers from the database with a plainer match.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Connection, event, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from directory import hours
from directory.models import Revision, Team, TeamTag
from directory.services import CHANGED_KEY
from search import SearchIndex, SearchResults

log = logging.getLogger(__name__)

# Revisions committed out of order by concurrent transactions land below the remembered id;
# looking back this far on each catch-up picks them up.
LOOKBACK = 50


def index_document(team: Team) -> dict[str, Any]:
    doc = dict(team.data)
    doc["id"] = team.id
    return doc


class OpenNow:
    """Which teams are open at an instant.

    Schedules are kept per team version, and the answer per minute (hours are whole minutes) and
    per newest revision, so a burst of searches costs one small query each.
    """

    def __init__(self) -> None:
        self._schedules: dict[int, tuple[int, hours.Schedule | None]] = {}
        self._schedules_seq: int | None = None
        self._answer: tuple[tuple[int, int], frozenset[int]] | None = None
        self._lock = threading.Lock()

    def open_ids(self, session: Session, at: datetime, newest: int | None = None) -> frozenset[int]:
        """`newest` is the newest revision id, when the caller has just read it."""
        if newest is None:
            newest = newest_change(session)
        key = (int(at.timestamp() // 60), newest)
        with self._lock:
            if self._answer is not None and self._answer[0] == key:
                return self._answer[1]
            if self._schedules_seq != newest:
                self._refresh(session)
                self._schedules_seq = newest
            ids = frozenset(tid for tid, (_v, s) in self._schedules.items() if s is not None and s.is_open(at))
            self._answer = (key, ids)
            return ids

    def _refresh(self, session: Session) -> None:
        current = dict(session.execute(select(Team.id, Team.version).where(Team.archived_at.is_(None))).all())
        for gone in set(self._schedules) - set(current):
            del self._schedules[gone]
        stale = [tid for tid, v in current.items() if self._schedules.get(tid, (None,))[0] != v]
        for start in range(0, len(stale), 500):
            rows = session.execute(select(Team.id, Team.version, Team.timezone, Team.data)
                                   .where(Team.id.in_(stale[start:start + 500])))
            for team_id, version, timezone, data in rows:
                self._schedules[team_id] = (version, hours.Schedule.from_team(data.get("hours"), timezone))


class SearchService:
    def __init__(self, app: Flask, factory: sessionmaker[Session]) -> None:
        self.index = SearchIndex(
            app.config["INDEX_DIR"], app.config.get("SYNONYMS_PATH"), lock_timeout=app.config["SEARCH_LOCK_TIMEOUT"]
        )
        self.factory = factory
        self.engine = factory.kw["bind"]
        self.open_now = OpenNow()
        self._lock = threading.Lock()
        # Whoosh's file lock is per process: threads of one process take turns here.
        self._write_lock = threading.RLock()
        self._checked = False

    # -- keeping up -------------------------------------------------------------------------
    def ensure(self, progress: Callable[[int], None] | None = None) -> bool:
        """Rebuild when the index is missing, corrupt or of an older schema; True if it did."""
        if self.index.is_usable():
            return False
        self.rebuild(progress)
        return True

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        with self.factory() as session:
            seq = newest_change(session)
            teams = session.scalars(select(Team).where(Team.archived_at.is_(None)).execution_options(yield_per=500))
            with self._write_lock:
                return self.index.rebuild((index_document(t) for t in teams), seq, progress)

    def apply_teams(self, team_ids: Iterable[int]) -> None:
        """Index these teams as they are now in the database (archived ones are removed)."""
        ids = list(team_ids)
        if not ids:
            return
        if not self.index.is_usable():
            self.rebuild()
            return
        with self.factory() as session:
            seq = newest_change(session)
            teams = list(session.scalars(select(Team).where(Team.id.in_(ids))))
            found = {t.id for t in teams}
            upserts = [index_document(t) for t in teams if not t.archived]
            deletes = [t.id for t in teams if t.archived] + [i for i in ids if i not in found]
        with self._write_lock:
            self.index.apply(upserts, deletes, seq)

    def catch_up(self, newest: int | None = None) -> None:
        """Apply what other processes or hosts committed since this index last looked.

        `newest` is the newest revision id when the caller has just read it (one query saved).
        """
        last = self.index.last_seq()
        if newest is not None and newest <= last:
            return
        with self.factory() as session:
            newest = newest_change(session)
            if newest <= last:
                return
            ids = set(session.scalars(select(Revision.team_id).where(Revision.id > max(0, last - LOOKBACK))))
        self.apply_teams(ids)

    def after_commit(self, session: Session) -> None:
        changed = session.info.pop(CHANGED_KEY, None)
        if not changed:
            return
        try:
            self.apply_teams(changed)
        except Exception:  # the data is committed; the next catch-up repairs the index
            log.exception("search index update failed; it will catch up on the next search")

    # -- answering -------------------------------------------------------------------------
    def query(self, session: Session, q: str, *, filters: dict[str, list[str]] | None = None,
              open_now: bool = False, at: datetime | None = None, page: int = 1, page_size: int = 20,
              with_open_facet: bool = True) -> SearchResults:
        with self.engine.connect() as connection:  # one light query: what changed, and when
            newest = newest_change(connection)
        open_ids = self.open_now.open_ids(session, at, newest) if (open_now or with_open_facet) and at else None

        def ask() -> SearchResults:
            return self.index.query(q, filters=filters, open_ids=open_ids, open_now=open_now,
                                    page=page, page_size=page_size)

        try:
            return self._answer(ask, newest)
        except Exception:
            log.exception("search index unusable; answering from the database")
            return database_search(session, q, filters=filters, open_ids=open_ids if open_now else None,
                                   page=page, page_size=page_size)

    def _answer(self, ask: Callable[[], Any], newest: int | None = None) -> Any:
        """Make sure the index is there and current, then ask; rebuild once if asking fails."""
        with self._lock:
            if not self._checked or not os.path.isdir(self.index.path):
                self.ensure()
                self._checked = True
        try:
            self.catch_up(newest)
            return ask()
        except Exception:
            log.exception("search index failed; rebuilding it")
            with self._lock:
                self.rebuild()
            return ask()

    def suggest(self, prefix: str, limit: int = 8) -> list[dict[str, Any]]:
        try:
            return self._answer(lambda: self.index.suggest(prefix, limit))
        except Exception:
            log.exception("search index unusable for suggestions")
            with self.factory() as session:
                like = f"{prefix.strip()}%"
                rows = session.scalars(select(Team).where(Team.archived_at.is_(None), Team.name.ilike(like))
                                       .order_by(Team.name).limit(limit))
                return [{"slug": t.slug, "name": t.name, "department": t.department} for t in rows]


_NEWEST = select(func.max(Revision.id))


def newest_change(connection: Session | Connection) -> int:
    """The directory's change sequence: the newest revision id (0 when empty)."""
    return connection.execute(_NEWEST).scalar() or 0


def database_search(session: Session, q: str, *, filters: dict[str, list[str]] | None = None,
                    open_ids: set[int] | None = None, page: int = 1, page_size: int = 20) -> SearchResults:
    """A plainer match straight from the database, for when the index is unusable."""
    stmt = select(Team).where(Team.archived_at.is_(None))
    for word in q.split()[:8]:
        like = f"%{word}%"
        stmt = stmt.where(or_(Team.name.ilike(like), Team.slug.ilike(like), Team.department.ilike(like)))
    filters = filters or {}
    if filters.get("department"):
        stmt = stmt.where(Team.department.in_(filters["department"]))
    if filters.get("location"):
        stmt = stmt.where(Team.location.in_(filters["location"]))
    if filters.get("tag"):
        stmt = stmt.where(Team.id.in_(select(TeamTag.team_id).where(TeamTag.tag.in_(filters["tag"]))))
    teams = [t for t in session.scalars(stmt.order_by(Team.name)) if open_ids is None or t.id in open_ids]
    start = (page - 1) * page_size
    hits = [
        {"id": t.id, "slug": t.slug, "name": t.name, "summary": t.data.get("summary"),
         "department": t.department, "score": 0.0, "highlights": {}}
        for t in teams[start:start + page_size]
    ]
    return SearchResults(total=len(teams), hits=hits, facets={}, suggestion=None, page=page, page_size=page_size)


def init_app(app: Flask) -> None:
    factory = app.extensions["directory_db"].sessionmaker
    service = SearchService(app, factory)
    app.extensions["directory_search"] = service
    event.listen(factory, "after_commit", service.after_commit)
    event.listen(factory, "after_soft_rollback", lambda s, _t: s.info.pop(CHANGED_KEY, None))


def get_search() -> SearchService:
    return current_app.extensions["directory_search"]
