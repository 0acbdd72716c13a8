"""Search learning in the browser: recording results pages and choices, the administrators' and
owners' views of what people search for, and adopting search terms.

A results link goes through `/search/go`, which records the choice and redirects to the team: it
works without JavaScript and under the strict CSP, and only the visit that was shown a results page
can record a choice on it. The API's search is not recorded: integrations search on behalf of many
people with no visit to tell them apart, and would drown what people type.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask import session as cookie_session
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from directory import auth, search_insights, search_learning, search_terms, services
from directory.db import get_session
from directory.errors import Forbidden, InvalidTeam
from directory.models import Team
from directory.services import Actor
from directory.web import bp, utcnow
from directory.web.editing import signed_in

log = logging.getLogger(__name__)

VISIT_KEY = "search_visit"
WINDOWS = (1, 7, 30)
PURGE_EVERY_SECONDS = 3600.0
# SQLite: how long recording waits for another writer before giving up on this one record.
RECORD_WAIT_MS = 200
SQLITE_BUSY_TIMEOUT_MS = 30000  # the connection's usual wait (`directory.db.make_engine`)


def retention_days() -> int:
    return max(1, int(current_app.config.get("SEARCH_LOG_RETENTION_DAYS", search_learning.RETENTION_DAYS)))


def _visit_key(create: bool) -> str | None:
    """This visit's searcher key; a random value joins the session cookie on the first search."""
    value = cookie_session.get(VISIT_KEY)
    if not isinstance(value, str) or len(value) < 16:
        if not create:
            return None
        value = secrets.token_urlsafe(18)
        cookie_session[VISIT_KEY] = value
    return search_learning.searcher_key(current_app.secret_key or "", value)


def record_results_page(q: str, total: int, page: int) -> int | None:
    """Record the results page being shown (search view); its event id for the result links.

    Never fails the page: a database that cannot take the write loses this one record.
    """
    query = search_learning.normalise_query(q)
    if not query:
        return None
    session = get_session()
    try:
        with _brief_wait(session):
            event = search_learning.record_search(session, query, total, page, _visit_key(create=True) or "",
                                                  utcnow())
            session.commit()
    except SQLAlchemyError:
        session.rollback()
        log.warning("a search was not recorded (the database was busy or refused it); results shown all the same")
        return None
    _purge_if_due()
    return event.id if event is not None else None


@contextmanager
def _brief_wait(session: Session) -> Iterator[None]:
    """On SQLite, wait at most RECORD_WAIT_MS for another writer: a long write elsewhere (an
    import) costs one record, never a page held up for the connection's usual 30 seconds."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    # On the driver's connection itself, so that the usual wait is restored on the very connection
    # that goes back to the pool, whatever state a failed write left the session in.
    driver = session.connection().connection.dbapi_connection
    assert driver is not None
    driver.execute(f"PRAGMA busy_timeout={RECORD_WAIT_MS}")
    try:
        yield
    finally:
        driver.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def _purge_if_due() -> None:
    """Opportunistically, at most hourly per process: `directory purge-search-log` does the same."""
    due = current_app.extensions.get("search_log_purge_due", 0.0)
    if time.monotonic() < due:
        return
    current_app.extensions["search_log_purge_due"] = time.monotonic() + PURGE_EVERY_SECONDS
    session = get_session()
    try:
        search_learning.purge(session, utcnow(), retention_days())
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        log.exception("purging old searches failed; `directory purge-search-log` or the next hour retries")


def choice_url(event_id: int | None, slug: str, position: int) -> str:
    """The link of one result: through `/search/go` when the page was recorded."""
    if event_id is None:
        return url_for("web.team", slug=slug)
    return url_for("web.search_go", e=event_id, to=slug, at=position)


def _positive(name: str) -> int | None:
    try:
        value = int(request.args.get(name) or "")
    except ValueError:
        return None
    return value if 0 < value < 2**31 else None


@bp.route("/search/go")
def search_go() -> Response:
    """Record that this visit opened a team from its results page, then show the team."""
    slug = (request.args.get("to") or "").strip()[:80]
    if not slug:
        return redirect(url_for("web.search"))
    target = url_for("web.team", slug=slug)
    event_id, position, searcher = _positive("e"), _positive("at"), _visit_key(create=False)
    if event_id is None or position is None or searcher is None:
        return redirect(target)
    session = get_session()
    try:
        team = services.get_team(session, slug)
        with _brief_wait(session):
            search_learning.record_choice(session, event_id, team.id, position, searcher, utcnow())
            session.commit()
    except services.NotFound:
        session.rollback()
    except SQLAlchemyError:
        session.rollback()
        log.warning("a search choice was not recorded (the database was busy or refused it)")
    return redirect(target)


def _window() -> tuple[int, Any, Any]:
    try:
        days = int(request.args.get("days") or 7)
    except ValueError:
        days = 7
    days = min(max(1, days), retention_days())
    until = utcnow()
    return days, until - timedelta(days=days), until


def _windows() -> list[int]:
    return sorted({d for d in WINDOWS if d <= retention_days()} | {retention_days()})


@bp.route("/admin/search")
@signed_in
def admin_search() -> str:
    actor = auth.current_actor()
    if actor is None or not actor.is_admin:
        raise Forbidden("Only the directory's administrators can see what everyone searches for.")
    days, since, until = _window()
    found = search_insights.overview(get_session(), since, until)
    return render_template("admin/search.html", overview=found, days=days, windows=_windows(),
                           retention=retention_days())


def _team_for_owner(slug: str) -> tuple[Team, Actor]:
    actor = auth.current_actor()
    team = services.get_team(get_session(), slug)
    if actor is None or not actor.may_edit(team.data):
        raise Forbidden(f"Only the owners of {team.name} and administrators can see what people search for to find it.")
    return team, actor


@bp.route("/teams/<slug>/search")
@signed_in
def team_search(slug: str) -> str:
    team, _actor = _team_for_owner(slug)
    days, since, until = _window()
    terms = search_terms.terms_of(team)
    found = search_insights.team_overview(get_session(), team, since, until, adopted=[t.term for t in terms])
    return render_template("team_search.html", team=team, overview=found, terms=terms, days=days,
                           windows=_windows(), retention=retention_days(), term_max=search_terms.TERM_MAX)


@bp.route("/teams/<slug>/search-terms", methods=["POST"])
@signed_in
def adopt_search_term(slug: str) -> Response:
    team, actor = _team_for_owner(slug)
    session = get_session()
    try:
        adopted = search_terms.adopt(session, team, request.form.get("term"), actor, utcnow())
        session.commit()
    except InvalidTeam as exc:
        session.rollback()
        flash(f"Not adopted: {exc.message}", "error")
    else:
        flash(f"“{adopted.term}” is now one of {team.name}'s search terms.", "success")
    return redirect(_back(team))


@bp.route("/teams/<slug>/search-terms/<int:term_id>/remove", methods=["POST"])
@signed_in
def remove_search_term(slug: str, term_id: int) -> Response:
    team, actor = _team_for_owner(slug)
    session = get_session()
    term = search_terms.remove(session, team, term_id, actor)
    session.commit()
    flash(f"“{term}” is no longer one of {team.name}'s search terms.", "success")
    return redirect(_back(team))


def _back(team: Team) -> str:
    """Back to the page the form was on: the team's search page or its edit page."""
    if request.form.get("back") == "edit":
        return url_for("web.edit_team", slug=team.slug) + "#search-terms"
    return url_for("web.team_search", slug=team.slug)
