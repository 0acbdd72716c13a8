"""Reading pages: home, search results, team pages, departments, the A–Z list, and signing in."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from directory import accounts, auth, hours, people, queries, reviews, services
from directory import performance as promises
from directory.db import get_session
from directory.models import Team, User
from directory.notices import active_notices
from directory.queries import newest_change
from directory.search_sync import get_search
from directory.text import storable
from directory.web import bp, safe_next, search_insights, utcnow
from directory.web.present import badge_for, build_team_view, reader_timezone

PAGE_SIZE = 20
FACET_LIMIT = 12
TRUE_WORDS = {"1", "true", "yes", "on"}


def reader_tz_from_request() -> str | None:
    """The reader's time zone: `?tz=` first, then the cookie the page script sets; None when unknown."""
    return reader_timezone(request.args.get("tz"), request.cookies.get("tz"))


def requested_instant() -> tuple[datetime, bool]:
    """Now, or the instant of `?at=` (ISO 8601; for previews and tests). Second value: was it given."""
    text = request.args.get("at") or ""
    if text.strip():
        try:
            at = hours.parse_instant(text)
        except ValueError:
            return utcnow(), False
        return (at if at.tzinfo else at.replace(tzinfo=UTC)), True
    return utcnow(), False


def team_cards(teams: list[Team], now: datetime) -> list[dict[str, Any]]:
    cards = []
    reader_tz = reader_tz_from_request()
    for team in teams:
        text, css = badge_for(team.data, now, reader_tz)
        cards.append({"team": team, "data": team.data, "badge": text, "badge_class": css})
    return cards


def known_names(emails: Iterable[str]) -> dict[str, str]:
    """Look up, in one query, the names of people a page is about to show; kept for the request."""
    names: dict[str, str] = g.setdefault("person_names", {})
    missing = {e for e in emails if e and e.lower() not in names}
    if missing:
        names.update(people.display_names(get_session(), missing))
    return names


@bp.app_template_global()
def person_name(email: str | None) -> str:
    """Owners and authors by name; the address itself when no account gives a name."""
    if not email:
        return ""
    return known_names([email]).get(email.lower(), email)


@bp.route("/")
def home() -> str:
    session = get_session()
    now = utcnow()
    open_ids = get_search().open_now.open_ids(session, now)
    open_teams = list(session.scalars(
        select(Team).where(Team.id.in_(open_ids), Team.archived_at.is_(None)).order_by(Team.name).limit(12)))
    recent = list(session.scalars(
        select(Team).where(Team.archived_at.is_(None)).order_by(Team.updated_at.desc(), Team.name).limit(6)))
    return render_template(
        "home.html",
        departments=queries.departments(session),
        open_teams=team_cards(open_teams, now),
        open_count=len(open_ids),
        recent=team_cards(recent, now),
        team_count=queries.count_teams(session),
    )


def _page_number(text: str | None) -> int:
    try:
        return max(1, min(10_000, int(text or 1)))
    except ValueError:
        return 1


@bp.route("/search")
def search() -> str:
    session = get_session()
    q = (request.args.get("q") or "").strip()[:500]
    selected = {
        "department": [v for v in request.args.getlist("department") if v],
        "tag": [v for v in request.args.getlist("tag") if v],
        "location": [v for v in request.args.getlist("location") if v],
    }
    open_now = (request.args.get("open_now") or "").lower() in TRUE_WORDS
    page = _page_number(request.args.get("page"))
    now = utcnow()
    filters = {k: v for k, v in selected.items() if v}
    found = get_search().query(session, q, filters=filters, open_now=open_now, at=now, page=page,
                               page_size=PAGE_SIZE)
    pages = max(1, math.ceil(found.total / PAGE_SIZE))
    if page > pages and found.total:
        return redirect(_search_url(q, selected, open_now, pages))  # type: ignore[return-value]
    teams = {t.id: t for t in session.scalars(select(Team).where(Team.id.in_([h["id"] for h in found.hits])))}
    event_id = search_insights.record_results_page(q, found.total, page)
    hits = []
    reader_tz = reader_tz_from_request()
    for position, hit in enumerate(found.hits, start=(page - 1) * PAGE_SIZE + 1):
        team = teams.get(hit["id"])
        badge, css = badge_for(team.data, now, reader_tz) if team is not None else ("", "badge--unknown")
        hits.append({**hit, "badge": badge, "badge_class": css, "tags": (team.data.get("tags") if team else []) or [],
                     "go_url": search_insights.choice_url(event_id, hit["slug"], position),
                     "notices": active_notices(team.data.get("notices"), now, team.timezone) if team else []})
    facets = _facets(found.facets, selected)
    strong_total = found.total if found.strong is None else found.strong
    return render_template(
        "search.html",
        q=q, hits=hits, total=found.total, page=page, pages=pages, suggestion=found.suggestion,
        result_parts=_result_parts(hits), strong_total=strong_total, related_total=found.total - strong_total,
        facets=facets, selected=selected, open_now=open_now,
        open_counts=found.facets.get("open_now") or {},
        any_filter=bool(filters) or open_now,
        page_url=lambda n: _search_url(q, selected, open_now, n),
        suggestion_url=_search_url(found.suggestion or "", selected, open_now, 1) if found.suggestion else None,
        clear_url=_search_url(q, {}, False, 1),
        remove_url=lambda kind, value: _search_url(
            q, {k: [v for v in vs if not (k == kind and v == value)] for k, vs in selected.items()}, open_now, 1),
        without_open_url=_search_url(q, selected, False, 1),
    )


def _result_parts(hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The page's hits as the strong matches, then the long tail of teams that only mention some of
    the words (`tail`, shown apart), leaving out an empty part."""
    strong = [h for h in hits if h.get("match", "strong") == "strong"]
    related = [h for h in hits if h.get("match", "strong") != "strong"]
    return [part for part in ({"tail": False, "hits": strong}, {"tail": True, "hits": related}) if part["hits"]]


def _facets(raw: dict[str, dict[str, int]], selected: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The facet groups to show: each value with its count, chosen ones first and always present."""
    groups = []
    for key, param, title in (("department", "department", "Department"), ("tags", "tag", "Tag"),
                              ("location", "location", "Location")):
        counts = dict(raw.get(key) or {})
        for value in selected[param]:
            counts.setdefault(value, 0)
        values = [{"value": v, "count": c, "checked": v in selected[param]} for v, c in counts.items()]
        values.sort(key=lambda item: (not item["checked"], -item["count"], item["value"].lower()))
        if values:
            groups.append({"key": key, "param": param, "title": title, "values": values[:FACET_LIMIT],
                           "more": values[FACET_LIMIT:]})
    return groups


def _search_url(q: str, selected: dict[str, list[str]], open_now: bool, page: int) -> str:
    args: dict[str, Any] = {}
    if q:
        args["q"] = q
    for key in ("department", "tag", "location"):
        if selected.get(key):
            args[key] = selected[key]
    if open_now:
        args["open_now"] = "1"
    if page > 1:
        args["page"] = page
    return url_for("web.search", **args)


AZ_PAGE_SIZE = 100


class AzEntry(NamedTuple):
    id: int
    slug: str
    name: str
    department: str | None
    letter: str


def _az_letter_and_key(name: str) -> tuple[str, tuple[int, str, str]]:
    """The group letter ("Émile" files under E; digits and signs under #) and the A–Z sort key."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)).casefold()
    first = folded[:1].upper()
    letter = first if first.isalpha() else "#"
    return letter, (0 if letter == "#" else 1, letter, folded)


def _az_entries(session: Any) -> tuple[list[AzEntry], dict[str, int]]:
    """Every active team in A–Z order (light columns only) and where each letter starts.

    Rebuilt only after a change (keyed by the change sequence: every write records a revision), so
    each worker sorts once per change instead of loading every team document on every request.
    """
    newest = newest_change(session)
    cached = current_app.extensions.get("directory_az")
    if cached is not None and cached[0] == newest:
        return cached[1], cached[2]
    rows = session.execute(select(Team.id, Team.slug, Team.name, Team.department)
                           .where(Team.archived_at.is_(None))).all()
    keyed = []
    for team_id, slug, name, department in rows:
        letter, key = _az_letter_and_key(name)
        keyed.append((key, slug, AzEntry(team_id, slug, name, department, letter)))
    keyed.sort(key=lambda item: (item[0], item[1]))
    entries = [entry for _key, _slug, entry in keyed]
    starts: dict[str, int] = {}
    for index, entry in enumerate(entries):
        starts.setdefault(entry.letter, index)
    current_app.extensions["directory_az"] = (newest, entries, starts)
    return entries, starts


@bp.route("/teams")
def teams_index() -> str | Response:
    """The A–Z list, AZ_PAGE_SIZE teams a page; a letter's link opens the page where it starts.

    `?letter=B` (bookmarkable) redirects to that page, at the letter's heading.
    """
    session = get_session()
    entries, starts = _az_entries(session)
    pages = max(1, math.ceil(len(entries) / AZ_PAGE_SIZE))

    base = url_for("web.teams_index")  # built once: a page has a hundred-odd links

    def page_url(page: int) -> str:
        return f"{base}?page={page}" if page > 1 else base

    def letter_url(letter: str) -> str:
        return page_url(starts[letter] // AZ_PAGE_SIZE + 1) + f"#{_az_anchor(letter)}"

    wanted = (request.args.get("letter") or "").strip()[:1]
    if wanted:
        wanted = _az_letter_and_key(wanted)[0]
        target = next((letter for letter in starts if letter >= wanted), None)  # "#" sorts first, as in `starts`
        return redirect(letter_url(target) if target else page_url(pages))
    page = _page_number(request.args.get("page"))
    if page > pages:
        return redirect(page_url(pages))
    shown = entries[(page - 1) * AZ_PAGE_SIZE:page * AZ_PAGE_SIZE]
    groups: list[dict[str, Any]] = []
    for entry in shown:
        if not groups or groups[-1]["letter"] != entry.letter:
            groups.append({"letter": entry.letter, "anchor": _az_anchor(entry.letter), "teams": [],
                           "continued": starts[entry.letter] < (page - 1) * AZ_PAGE_SIZE})
        groups[-1]["teams"].append(entry)
    return render_template(
        "teams_index.html", groups=groups, total=len(entries), page=page, pages=pages,
        first=(page - 1) * AZ_PAGE_SIZE + 1, last=(page - 1) * AZ_PAGE_SIZE + len(shown),
        letters=[(letter, f"#{_az_anchor(letter)}" if start // AZ_PAGE_SIZE + 1 == page else letter_url(letter))
                 for letter, start in starts.items()],
        open_ids=get_search().open_now.open_ids(session, utcnow()),
        page_url=page_url,
        team_url_prefix=url_for("web.team", slug="-")[:-1],  # slugs need no escaping
    )


def _az_anchor(letter: str) -> str:
    return f"letter-{letter}" if letter != "#" else "letter-other"


@bp.route("/teams/<slug>")
def team(slug: str) -> str:
    session = get_session()
    actor = auth.current_actor()
    team = services.get_team(session, slug, include_archived=bool(actor and actor.is_admin))
    now, fixed = requested_instant()
    view = build_team_view(team.data, now, reader_tz_from_request(), current_app.config.get("DIRECTORY_CHAT_URL", ""),
                           reviews.policy(session))
    department_slug = services.slugify(team.department) if team.department else None
    known_names(team.data.get("owners") or [])  # every owner's name in one query
    return render_template(
        "team.html", team=team, view=view, data=team.data, fixed_time=fixed,
        may_edit=bool(actor and actor.may_edit(team.data)),
        is_admin=bool(actor and actor.is_admin),
        department_slug=department_slug,
        performance=promises.page_summary(session, team, now),
    )


@bp.route("/me")
def my_teams() -> str | Response:
    """What a signed-in person keeps: their teams, which need reviewing, and what others changed."""
    actor = auth.current_actor()
    if actor is None or not actor.email:
        flash("Sign in to see the teams you keep.", "info")
        return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
    session = get_session()
    now = utcnow()
    owned = people.owned_teams(session, actor.email)
    cards = team_cards(owned, now)
    rule = reviews.policy(session)
    for card in cards:
        card["reviewed"] = people.last_reviewed(card["data"])
        card["review_due"] = rule.is_due(card["data"], now.date(), card["team"].created_at.date())
    changes = people.changes_by_others(session, owned, actor.email)
    known_names([r.author for r in changes])
    return render_template(
        "my_teams.html", cards=cards, due=[c for c in cards if c["review_due"]],
        changes=changes, teams_by_id={t.id: t for t in owned}, review_days=rule.interval_days,
    )


@bp.route("/departments")
def departments() -> str:
    return render_template("departments.html", departments=queries.departments(get_session()))


@bp.route("/departments/<slug>")
def department(slug: str) -> str:
    session = get_session()
    match = queries.department(session, slug)
    if match is None:
        abort(404, description=f"No department with the address '{slug}'.")
    teams = list(queries.department_teams(session, [match["name"]]))
    return render_template("department.html", department=match, teams=team_cards(teams, utcnow()))


# --------------------------------------------------------------------------- signing in


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    next_url = safe_next(request.values.get("next"))
    mode = current_app.config.get("DIRECTORY_AUTH", "local")
    if mode != "local":
        return render_template("login.html", next_url=next_url, proxy=True)
    email = ""
    error = None
    status = 200
    if request.method == "POST":
        email = (request.form.get("email") or "").strip()
        password = request.form.get("password") or ""
        if not email or not password:
            error, status = "Enter your e-mail address and your password.", 401
        elif not storable(email):  # no account has it, and PostgreSQL refuses to compare NUL
            error, status = "That e-mail address and password do not match an account.", 401
        else:
            session = get_session()
            try:
                user = accounts.authenticate(session, email, password, client=auth.sign_in_client())
            except accounts.TooManyAttempts as refused:
                error, status = refused.message, 429
            else:
                session.commit()  # the failure counts (or the slate is wiped) whatever happens next
                if user is None:
                    error, status = "That e-mail address and password do not match an account.", 401
                else:
                    login_user(user, remember=request.form.get("remember") == "yes")
                    flash(f"Signed in as {user.name or user.email}.", "success")
                    return redirect(next_url)
    return render_template("login.html", next_url=next_url, proxy=False, email=email, error=error), status  # type: ignore[return-value]


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> str | Response:
    if request.method == "GET":
        return render_template("logout.html")
    if current_user.is_authenticated:
        # A copied or stolen session cookie must not outlive signing out: end them all.
        session = get_session()
        user = session.get(User, current_user.id)
        if user is not None:
            accounts.end_sessions(user)
            session.commit()
    logout_user()
    flash("You are signed out.", "success")
    return redirect(url_for("web.home"))
