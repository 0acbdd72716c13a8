"""Keeps the Whoosh index in step with the database, which is the source of truth.

Every committed write is applied right after its commit; before answering a search, the index also
catches up on changes made by other processes or hosts, and on any of its own updates that failed
(it remembers the last revision id it applied, and which change each recently written team is
indexed as of). A missing, corrupt or outdated index is rebuilt in the background; until then, and
whenever the index cannot be used at all, search answers from the database with a plainer match.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event, func, inspect, or_, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from directory import holiday_calendars, hours, queries, reviews, search_learning
from directory.models import Revision, Team, TeamTag, User
from directory.people import display_names
from directory.queries import LOOKBACK, newest_change
from directory.search_service import SOCKET_SETTING, RemoteRanker
from directory.search_vectors import AUTO_MAX_TEAMS, SemanticRanker
from directory.services import CHANGED_KEY
from search import IndexLockedError, IndexUnusableError, SearchIndex, SearchResults

log = logging.getLogger(__name__)

# After a failed background rebuild, searches keep answering from the database this long
# before the next attempt (a full disk would otherwise be retried on every search).
REBUILD_RETRY_SECONDS = 30.0
# A lost index of at most this many teams is rebuilt within the request that notices (well under
# a second); larger ones in the background. SEARCH_INLINE_REBUILD_TEAMS overrides it (0: never).
INLINE_REBUILD_TEAMS = 100


# Addresses of people whose account name changed in a session: their teams are reindexed after commit.
RENAMED_KEY = "directory.renamed_people"


def index_document(team: Team, owner_names: dict[str, str] | None = None) -> dict[str, Any]:
    """The team as the index takes it; `owner_names` (`owner_names()`) adds its owners' names."""
    doc = dict(team.data)
    doc["id"] = team.id
    names = owner_names or {}
    doc["owner_names"] = [names[o.lower()] for o in _owners(team) if o.lower() in names]
    doc["created_at"] = team.created_at.isoformat() if team.created_at else None  # never-reviewed pages age from here
    doc["search_terms"] = [t.term for t in team.search_terms]  # adopted by its owners (`directory.search_terms`)
    return doc


def _owners(team: Team) -> list[str]:
    owners = team.data.get("owners")
    return [o for o in owners if isinstance(o, str)] if isinstance(owners, list) else []


def owner_names(session: Session, teams: Iterable[Team]) -> dict[str, str]:
    """Lower-case address -> account name, for the owners of these teams who have a named account.
    An owner without one is left out: indexing the address would match every team of its domain."""
    names = display_names(session, {o for team in teams for o in _owners(team)})
    return {email: name for email, name in names.items() if name.lower() != email}


def index_documents(session: Session, teams: Iterable[Team], batch: int = 500) -> Iterator[dict[str, Any]]:
    """`index_document` of each team, looking owners' names up once per `batch` teams."""
    chunk: list[Team] = []
    for team in teams:
        chunk.append(team)
        if len(chunk) >= batch:
            names = owner_names(session, chunk)
            yield from (index_document(t, names) for t in chunk)
            chunk = []
    names = owner_names(session, chunk)
    yield from (index_document(t, names) for t in chunk)


def teams_owned_by(session: Session, emails: set[str]) -> list[int]:
    """Ids of the active teams listing any of these lower-case addresses among their owners (reads
    every active team: owners live in each team's document; run when a name changes, not per search)."""
    rows = session.execute(select(Team.id, Team.data).where(Team.archived_at.is_(None)))
    return [team_id for team_id, data in rows
            if any(isinstance(o, str) and o.lower() in emails for o in (data or {}).get("owners") or ())]


def note_renamed_people(session: Session, _context: Any = None) -> None:
    """after_flush: remember the addresses of accounts created, deleted or renamed (or readdressed),
    so that the teams they own are reindexed with the names as committed."""
    found: set[str] = set()
    for user in session.new:
        if isinstance(user, User) and user.email and (user.name or "").strip():
            found.add(user.email.lower())
    for user in session.deleted:
        if isinstance(user, User) and user.email:
            found.add(user.email.lower())
    for user in session.dirty:
        if not isinstance(user, User):
            continue
        attrs = inspect(user).attrs
        if attrs.name.history.has_changes() or attrs.email.history.has_changes():
            found.update(e.lower() for e in (user.email, *attrs.email.history.deleted) if isinstance(e, str) and e)
    if found:
        session.info.setdefault(RENAMED_KEY, set()).update(found)


class OpenNow:
    """Which teams are open at an instant.

    Schedules are kept per team version, and the answer per minute (hours are whole minutes) and
    per newest revision, so a burst of searches costs one small query each.
    """

    def __init__(self) -> None:
        self._schedules: dict[int, tuple[int, hours.Schedule | None]] = {}
        self._schedules_seq: tuple[int, Any] | None = None
        self._answer: tuple[tuple[int, int, Any], frozenset[int]] | None = None
        self._lock = threading.Lock()

    def open_ids(self, session: Session, at: datetime, newest: int | None = None) -> frozenset[int]:
        """`newest` is the newest revision id, when the caller has just read it."""
        if newest is None:
            newest = newest_change(session)
        calendars = holiday_calendars.stamp()  # organisation holiday calendars' versions
        key = (int(at.timestamp() // 60), newest, calendars)
        with self._lock:
            if self._answer is not None and self._answer[0] == key:
                return self._answer[1]
            if self._schedules_seq != (newest, calendars):
                if self._schedules_seq is not None and self._schedules_seq[1] != calendars:
                    self._schedules.clear()  # a calendar changed: every team's schedule may have
                self._refresh(session)
                self._schedules_seq = (newest, calendars)
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


class IndexRebuilding(IndexUnusableError):
    """The index is being rebuilt in the background: answer from the database meanwhile."""


class SearchService:
    """The index of this process, kept in step with the database.

    A lost or corrupt index is rebuilt once, by a background thread of whichever process
    notices first (the others' threads wait on the index's rebuild lock, then find it built),
    while searches answer from `database_search`: a rebuild of thousands of teams takes tens of
    seconds, far too long for a request to wait, and every worker noticing at once must not
    rebuild at once.
    """

    def __init__(self, app: Flask, factory: sessionmaker[Session]) -> None:
        self.index = SearchIndex(
            app.config["INDEX_DIR"], app.config.get("SYNONYMS_PATH"), lock_timeout=app.config["SEARCH_LOCK_TIMEOUT"]
        )
        self.factory = factory
        self.engine = factory.kw["bind"]
        self.open_now = OpenNow()
        service = app.config.get(SOCKET_SETTING)
        self.semantic: SemanticRanker | RemoteRanker
        if service and app.config.get("SEARCH_SEMANTIC", False):  # a worker of `directory serve`
            self.semantic = RemoteRanker(service)
        else:
            self.semantic = SemanticRanker(factory, enabled=app.config.get("SEARCH_SEMANTIC", False),
                                           max_teams=int(app.config.get("SEARCH_SEMANTIC_MAX_TEAMS", AUTO_MAX_TEAMS)))
        self._lock = threading.Lock()
        # Whoosh's file lock is per process: threads of one process take turns here.
        self._write_lock = threading.RLock()
        self._checked = False
        self._rebuilder: threading.Thread | None = None
        self._rebuilt = threading.Event()
        self._rebuilt.set()
        self._retry_at = 0.0
        self.inline_rebuild_teams = int(app.config.get("SEARCH_INLINE_REBUILD_TEAMS", INLINE_REBUILD_TEAMS))

    # -- rebuilding ----------------------------------------------------------------------------
    @property
    def rebuilding(self) -> bool:
        """True while this process rebuilds the index or waits for another process's rebuild."""
        thread = self._rebuilder
        return thread is not None and thread.is_alive()

    def status(self) -> str:
        """For /healthz: "rebuilding" or "ok", from memory alone (never touches the index)."""
        return "rebuilding" if self.rebuilding else "ok"

    def start_rebuild(self) -> bool:
        """Start the background rebuild unless one runs (or failed moments ago); True if started."""
        with self._lock:
            if self.rebuilding or time.monotonic() < self._retry_at:
                return False
            self._rebuilt.clear()
            self._rebuilder = threading.Thread(target=self._rebuild_in_background, name="search-index-rebuild",
                                               daemon=True)
            self._rebuilder.start()
            return True

    def wait_rebuilt(self, timeout: float | None = None) -> bool:
        """Wait for a background rebuild to end; True when none is running any more."""
        return self._rebuilt.wait(timeout)

    def _rebuild_in_background(self) -> None:
        try:
            with self.index.rebuild_lock():
                if not self.index.is_usable():  # else another process rebuilt it while we waited
                    self._build()
            self._checked = True
        except Exception:
            log.exception("search index rebuild failed; searches answer from the database until it succeeds")
            self._retry_at = time.monotonic() + REBUILD_RETRY_SECONDS
        finally:
            self._rebuilt.set()

    def recover(self) -> None:
        """Rebuild a lost or corrupt index: at once when the directory is small enough to take
        well under a second (a new installation, tests), else in the background, raising
        IndexRebuilding so the caller answers without the index meanwhile."""
        self._checked = False
        if not self.rebuilding and self.inline_rebuild_teams > 0:
            with self.factory() as session:
                small = queries.count_teams(session) <= self.inline_rebuild_teams
            if small:
                with self.index.rebuild_lock():
                    if not self.index.is_usable():
                        self._build()
                self._checked = True
                return
        self.start_rebuild()
        raise IndexRebuilding("the search index is missing or unusable; it is being rebuilt")

    def ensure(self, progress: Callable[[int], None] | None = None) -> bool:
        """Rebuild now when the index is missing, corrupt or of an older schema; True if it did.

        For `directory serve` before workers start, and for the CLI: requests never wait on this.
        """
        if self.index.is_usable():
            return False
        self.rebuild(progress)
        return True

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Rebuild from the database now, after any rebuild another process is running."""
        with self.index.rebuild_lock():
            count = self._build(progress)
        self._checked = True
        return count

    def _build(self, progress: Callable[[int], None] | None = None) -> int:
        with self.factory() as session:
            seq = newest_change(session)
            # What the teams read below already include, so that catch-up skips re-applying them.
            applied = dict(session.execute(select(Revision.team_id, func.max(Revision.id))
                                           .where(Revision.id > max(0, seq - LOOKBACK), Revision.id <= seq)
                                           .group_by(Revision.team_id)).all())
            teams = session.scalars(select(Team).where(Team.archived_at.is_(None)).options(selectinload(Team.search_terms))
                                    .execution_options(yield_per=500))
            with self._write_lock:
                return self.index.rebuild(index_documents(session, teams), seq, progress, applied=applied)

    # -- keeping up -------------------------------------------------------------------------
    def sync(self, team_ids: Iterable[int] = (), newest: int | None = None) -> None:
        """Index `team_ids` as they are now, and every change the index has not applied.

        The index records which change each recently written team is indexed as of, so a change
        whose update failed (lock timeout, full disk, a worker killed after its commit) is
        found and applied by the next sync, even after later changes moved the sequence past
        it. `newest` is the newest change when the caller has just read it (one query saved).
        """
        wanted = set(team_ids)
        last, applied = self.index.state()
        if not wanted and newest is not None and newest <= last:
            return
        with self.factory() as session:
            newest = newest_change(session)
            if not wanted and newest <= last:
                return
            recent = queries.recent_changes(session, last)
            wanted |= {team_id for team_id, change in recent.items() if applied.get(team_id, 0) < change}
            upserts: list[dict[str, Any]] = []
            deletes: list[int] = []
            done: dict[int, int] = {}
            ids = sorted(wanted)
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                # The team and its newest revision in one statement: one snapshot of both.
                as_of = (select(func.max(Revision.id)).where(Revision.team_id == Team.id)
                         .correlate(Team).scalar_subquery())
                found = set()
                rows = session.execute(select(Team, as_of).where(Team.id.in_(chunk))
                                       .options(selectinload(Team.search_terms))).all()
                names = owner_names(session, (team for team, _change in rows if not team.archived))
                for team, change in rows:
                    found.add(team.id)
                    done[team.id] = change or 0
                    if team.archived:
                        deletes.append(team.id)
                    else:
                        upserts.append(index_document(team, names))
                deletes += [i for i in chunk if i not in found]
        with self._write_lock:
            self.index.apply(upserts, deletes, newest, applied=done, keep_after=newest - LOOKBACK)
        try:
            self.semantic.apply(upserts, deletes)
        except Exception:  # the words still find the team; its vector is computed at the next change or restart
            log.exception("computing team vectors failed; these teams are found by their words alone")

    def apply_teams(self, team_ids: Iterable[int]) -> None:
        """Index these teams as they are now in the database (archived ones are removed), along
        with any change not yet applied. A lost index is rebuilt in the background instead."""
        ids = list(team_ids)
        if not ids or self.rebuilding:  # the rebuild, or the catch-up after it, includes them
            return
        if not self.index.is_usable():
            self.recover()  # includes these teams, or raises while it runs in the background
        self.sync(ids)

    def catch_up(self, newest: int | None = None) -> None:
        """Apply what other processes or hosts committed, and what failed here, since the index
        last looked. `newest` is the newest revision id when the caller has just read it."""
        self.sync((), newest)

    def after_commit(self, session: Session) -> None:
        changed = set(session.info.pop(CHANGED_KEY, None) or ())
        renamed = session.info.pop(RENAMED_KEY, None)
        if not changed and not renamed:
            return
        try:
            if renamed:  # the committed session cannot run queries any more: a fresh one does
                with self.factory() as fresh:
                    changed.update(teams_owned_by(fresh, renamed))
            self.apply_teams(changed)
        except Exception:  # the data is committed; the next sync (write or search) repairs the index
            log.exception("search index update failed; the next search or write applies it")

    # -- answering -------------------------------------------------------------------------
    def query(self, session: Session, q: str, *, filters: dict[str, list[str]] | None = None,
              open_now: bool = False, at: datetime | None = None, page: int = 1, page_size: int = 20,
              with_open_facet: bool = True) -> SearchResults:
        semantic = self.semantic.for_query(q, lambda: self._corrections(q))  # a search service starts on it
        with self.engine.connect() as connection:  # one light query: what changed, and when
            newest = newest_change(connection)
        open_ids = self.open_now.open_ids(session, at, newest) if (open_now or with_open_facet) and at else None

        cutoffs = reviews.policy(session).overdue_cutoffs((at or datetime.now(UTC)).astimezone(UTC).date())
        lifts = search_learning.lift(session, search_learning.normalise_query(q), at or datetime.now(UTC))

        def ask() -> SearchResults:
            return self.index.query(q, filters=filters, open_ids=open_ids, open_now=open_now,
                                    page=page, page_size=page_size, review_cutoffs=cutoffs,
                                    semantic=semantic, lifts=lifts)

        try:
            return self._answer(ask, newest)
        except IndexRebuilding:
            log.info("search index is being rebuilt; answering from the database")
        except Exception:
            log.exception("search index unusable; answering from the database")
        return database_search(session, q, filters=filters, open_ids=open_ids if open_now else None,
                               page=page, page_size=page_size)

    def _corrections(self, q: str) -> dict[str, str]:
        try:
            return self.index.corrections(q)
        except Exception:  # a lost index: the search answers from the database, or recovers first
            return {}

    def _answer(self, ask: Callable[[], Any], newest: int | None = None) -> Any:
        """Ask the index, caught up; raise IndexRebuilding (after starting the rebuild) when it
        is lost or corrupt, so the caller answers from the database without waiting."""
        if self.rebuilding:
            raise IndexRebuilding("the search index is being rebuilt")
        if not self._checked or not os.path.isdir(self.index.path):
            if not self.index.is_usable():
                self.recover()
            self._checked = True
        try:
            try:
                self.catch_up(newest)
            except IndexLockedError:  # a slow writer: answer from the index as it is, catch up next time
                log.warning("search index catch-up waited too long for the write lock; answering as it is")
            return ask()
        except Exception:
            if self.index.is_usable():
                raise
        self.recover()
        self.catch_up()
        return ask()

    def suggest(self, prefix: str, limit: int = 8) -> list[dict[str, Any]]:
        try:
            return self._answer(lambda: self.index.suggest(prefix, limit))
        except Exception as exc:
            if not isinstance(exc, IndexRebuilding):
                log.exception("search index unusable for suggestions")
            with self.factory() as session:
                like = f"{prefix.strip()}%"
                rows = session.scalars(select(Team).where(Team.archived_at.is_(None), Team.name.ilike(like))
                                       .order_by(Team.name).limit(limit))
                return [{"slug": t.slug, "name": t.name, "department": t.department} for t in rows]


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
    event.listen(factory, "after_flush", note_renamed_people)
    event.listen(factory, "after_commit", service.after_commit)
    event.listen(factory, "after_soft_rollback",
                 lambda s, _t: (s.info.pop(CHANGED_KEY, None), s.info.pop(RENAMED_KEY, None)))


def get_search() -> SearchService:
    return current_app.extensions["directory_search"]
