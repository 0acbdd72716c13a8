"""Administration: teams (add, archive, bring back), people and their roles, API tokens.

A person's "owner" role is not stored on the person: it is the `owners` list of each team, so
changing who owns what goes through `services.update_team` like any other edit of a team.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import wraps
from typing import Any

from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from directory import accounts, auth, notify, people, queries, reviews, services
from directory.db import get_session
from directory.errors import Conflict, Forbidden, Invalid, InvalidTeam, NotFound, StaleVersion
from directory.mail import rules as mail_rules
from directory.mail import store as mail_store
from directory.models import ApiToken, Team, User
from directory.schemas import load_team
from directory.services import Actor
from directory.web import bp, utcnow
from directory.web.editing import signed_in
from directory.web.errors import status_of
from directory.web.views import known_names


def admin_only(view: Callable[..., Any]) -> Callable[..., Any]:
    @signed_in
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        actor = auth.current_actor()
        if actor is None or not actor.is_admin:
            raise Forbidden("Only the directory's administrators can use this page.")
        return view(*args, **kwargs)

    return wrapper


def _actor() -> Actor:
    actor = auth.current_actor()
    assert actor is not None
    return actor


def _owned_by(teams: list[Team], email: str) -> list[Team]:
    email = email.lower()
    return [t for t in teams if email in {o.lower() for o in t.data.get("owners") or []}]


SORTS: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
    "name": ("Team", lambda row: row["team"].name.lower()),
    "department": ("Department", lambda row: (row["team"].department is None, (row["team"].department or "").lower(),
                                              row["team"].name.lower())),
    "reviewed": ("Reviewed", lambda row: (row["reviewed"] or date.min, row["team"].name.lower())),
    "changed": ("Last changed", lambda row: (row["team"].updated_at, row["team"].name.lower())),
}

# Oldest review first (what needs attention), newest change first (what just happened).
FIRST_DIRECTION = {"changed": "desc"}


@dataclass
class TeamTable:
    """The admin teams table as asked for in the query string: filters, sort and the rows they give.

    Sorting and filtering happen on the server, so links and the form work without JavaScript and
    a view can be bookmarked or shared.
    """

    q: str = ""
    department: str = ""
    stale_only: bool = False
    sort: str = "name"
    descending: bool = False
    problems: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    departments: list[str] = field(default_factory=list)
    stale_count: int = 0

    @classmethod
    def from_args(cls, args: Any) -> TeamTable:
        table = cls(q=(args.get("q") or "").strip()[:200], department=(args.get("department") or "").strip(),
                    stale_only=args.get("stale") in {"1", "on", "yes", "true"})
        sort = args.get("sort") or "name"
        if sort not in SORTS:
            table.problems.append(f"sort: '{sort[:40]}' is not a column to sort by "
                                  f"(use {', '.join(SORTS)}); sorted by name instead.")
            sort = "name"
        direction = args.get("dir") or FIRST_DIRECTION.get(sort, "asc")
        if direction not in {"asc", "desc"}:
            table.problems.append(f"dir: '{direction[:40]}' is not a direction (use asc or desc); ascending instead.")
            direction = "asc"
        table.sort, table.descending = sort, direction == "desc"
        return table

    def fill(self, teams: list[Team], today: date, names: dict[str, str], rule: reviews.Policy) -> None:
        self.departments = sorted({t.department for t in teams if t.department}, key=str.lower)
        rows = []
        for team in teams:
            row = {"team": team, "reviewed": people.last_reviewed(team.data),
                   "stale": rule.is_due(team.data, today, team.created_at.date())}
            row["review_age_days"] = (today - row["reviewed"]).days if row["reviewed"] else None
            self.stale_count += row["stale"]
            if self._matches(team, row, names):
                rows.append(row)
        rows.sort(key=SORTS[self.sort][1], reverse=self.descending)
        self.rows = rows

    def _matches(self, team: Team, row: dict[str, Any], names: dict[str, str]) -> bool:
        if self.stale_only and not row["stale"]:
            return False
        if self.department and (team.department or "").lower() != self.department.lower():
            return False
        if self.q:
            owners = team.data.get("owners") or []
            haystack = " ".join([team.name, team.slug, team.department or "", *owners,
                                 *(names.get(o.lower(), "") for o in owners)]).lower()
            return all(word in haystack for word in self.q.lower().split())
        return True

    def url(self, **changes: Any) -> str:
        """This view with some arguments changed (a column's sort link, say)."""
        args = {"q": self.q, "department": self.department, "stale": "1" if self.stale_only else "",
                "sort": self.sort, "dir": "desc" if self.descending else "asc"}
        args.update(changes)
        return url_for("web.admin", **{k: v for k, v in args.items() if v and (k, v) != ("sort", "name")})

    def sort_url(self, column: str) -> str:
        """A column's first click sorts it the useful way round; the current column's link reverses it."""
        if column == self.sort:
            return self.url(sort=column, dir="asc" if self.descending else "desc")
        return self.url(sort=column, dir=FIRST_DIRECTION.get(column, "asc"))

    def aria_sort(self, column: str) -> str:
        if column != self.sort:
            return "none"
        return "descending" if self.descending else "ascending"


@bp.route("/admin")
@admin_only
def admin() -> str:
    session = get_session()
    teams = list(session.scalars(select(Team).order_by(Team.name)))
    users = list(session.scalars(select(User).order_by(User.email)))
    tokens = list(session.scalars(select(ApiToken).where(ApiToken.revoked_at.is_(None))))
    active = [t for t in teams if not t.archived]
    names = known_names([o for t in active for o in t.data.get("owners") or []])
    table = TeamTable.from_args(request.args)
    rule = reviews.policy(session)
    table.fill(active, utcnow().date(), names, rule)
    return render_template(
        "admin/index.html", table=table, sorts={k: label for k, (label, _key) in SORTS.items()},
        active=active, archived=[t for t in teams if t.archived], review_days=rule.interval_days,
        user_count=len(users), admin_count=sum(1 for u in users if u.is_admin), token_count=len(tokens),
    )


@bp.route("/teams/<slug>/archive", methods=["POST"])
@admin_only
def archive(slug: str) -> Response:
    session = get_session()
    team = services.get_team(session, slug)
    try:
        version = int(request.form.get("version", ""))
    except ValueError:
        version = None
    try:
        services.archive_team(session, team, _actor(), expected_version=version)
        session.commit()
    except StaleVersion:
        session.rollback()
        flash(f"{team.name} changed since the page was loaded; nothing was archived. Try again.", "error")
        return redirect(url_for("web.admin"))
    flash(f"{team.name} is archived: it has left lists, search and the auto-reply. Its history is kept.", "success")
    return redirect(url_for("web.admin"))


@bp.route("/teams/<slug>/unarchive", methods=["POST"])
@admin_only
def unarchive(slug: str) -> Response:
    session = get_session()
    team = services.get_team(session, slug, include_archived=True)
    if not team.archived:
        flash(f"{team.name} is not archived.", "info")
        return redirect(url_for("web.team", slug=slug))
    try:
        services.restore_revision(session, team, team.version, _actor(), expected_version=team.version)
        session.commit()
    except Conflict as exc:
        session.rollback()
        flash(f"{team.name} cannot come back as it is: {exc.message}", "error")
        return redirect(url_for("web.admin"))
    flash(f"{team.name} is back in the directory.", "success")
    return redirect(url_for("web.team", slug=slug))


# --------------------------------------------------------------------------- people


@bp.route("/admin/users", methods=["GET", "POST"])
@admin_only
def users() -> Any:
    session = get_session()
    errors: dict[str, list[str]] = {}
    values = {"email": "", "name": "", "is_admin": False}
    status = 200
    if request.method == "POST":
        values = {
            "email": (request.form.get("email") or "").strip(),
            "name": (request.form.get("name") or "").strip(),
            "is_admin": request.form.get("is_admin") == "yes",
        }
        password = request.form.get("password") or None
        try:
            user = accounts.create_user(session, values["email"], values["name"], password,
                                        is_admin=bool(values["is_admin"]))
            session.commit()
        except (Invalid, Conflict) as exc:
            session.rollback()
            errors = dict(exc.errors) or {"email": [exc.message]}
            status = status_of(exc)
        else:
            flash(f"{user.email} can now sign in" + ("" if password else " (through the proxy)") + ".", "success")
            return redirect(url_for("web.user_detail", user_id=user.id))
    people = list(session.scalars(select(User).order_by(User.email)))
    teams = list(queries.active_teams(session))
    owned = {u.id: len(_owned_by(teams, u.email)) for u in people}
    return render_template("admin/users.html", people=people, owned=owned, errors=errors, values=values), status


def _user(user_id: int) -> User:
    user = get_session().get(User, user_id)
    if user is None:
        raise NotFound(f"No person with the number {user_id}.")
    return user


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@admin_only
def user_detail(user_id: int) -> Any:
    session = get_session()
    user = _user(user_id)
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action == "password":
                accounts.set_password(user, request.form.get("password") or "")
            elif action == "profile":
                accounts.update_user(session, user, _actor(), name=request.form.get("name") or "",
                                     is_admin=request.form.get("is_admin") == "yes",
                                     active=request.form.get("active") == "yes")
            session.commit()
        except Invalid as exc:
            session.rollback()
            errors, status = dict(exc.errors), status_of(exc)
        else:
            flash(f"Saved the changes to {user.email}.", "success")
            return redirect(url_for("web.user_detail", user_id=user.id))
    teams = list(queries.active_teams(session))
    owned = _owned_by(teams, user.email)
    tokens = list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at)))
    return render_template(
        "admin/user.html", person=user, owned=owned, others=[t for t in teams if t not in owned], tokens=tokens,
        errors=errors,
    ), status


@bp.route("/admin/users/<int:user_id>/teams", methods=["POST"])
@admin_only
def user_teams(user_id: int) -> Response:
    """Make the person an owner of a team, or no longer one: an edit of that team's `owners`."""
    session = get_session()
    user = _user(user_id)
    team = services.get_team(session, request.form.get("slug") or "")
    owners = [o for o in team.data.get("owners") or [] if o.lower() != user.email.lower()]
    adding = request.form.get("action") == "add"
    if adding:
        owners.append(user.email)
    try:
        document = load_team({**team.data, "owners": owners})
        services.update_team(session, team, document, _actor(), expected_version=team.version,
                             note=f"{'added' if adding else 'removed'} owner {user.email}")
        session.commit()
    except (InvalidTeam, Conflict, StaleVersion) as exc:
        session.rollback()
        flash(f"{team.name} was not changed: {exc.message}", "error")
    else:
        verb = "now owns" if adding else "no longer owns"
        flash(f"{user.email} {verb} {team.name}.", "success")
    return redirect(url_for("web.user_detail", user_id=user.id))


# --------------------------------------------------------------------------- API tokens


@bp.route("/admin/tokens", methods=["GET", "POST"])
@admin_only
def tokens() -> Any:
    session = get_session()
    created: tuple[ApiToken, str] | None = None
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        name = (request.form.get("name") or "").strip()
        scope = request.form.get("scope") or "read"
        email = (request.form.get("user") or "").strip()
        owner = accounts.find_user(session, email) if email else None
        if email and owner is None:
            errors["user"] = [f"no person with the address {email}"]
        if not name:
            errors["name"] = ["give the token a name that says what uses it"]
        if not errors:
            try:
                created = accounts.create_token(session, name, scope, owner)
                session.commit()
            except Invalid as exc:
                session.rollback()
                errors = dict(exc.errors)
        if errors:
            status = 422
    rows = list(session.scalars(select(ApiToken).order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc())))
    people = list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.email)))
    response = make_response(render_template(
        "admin/tokens.html", tokens=rows, created=created, errors=errors, people=people,
        values=request.form if errors else {}), status)
    if created is not None:
        response.headers["Cache-Control"] = "no-store"  # the plain token is shown once, never cached
    return response


@bp.route("/admin/tokens/<int:token_id>/revoke", methods=["POST"])
@admin_only
def revoke_token(token_id: int) -> Response:
    session = get_session()
    token = accounts.revoke_token(session, token_id)
    session.commit()
    flash(f"Token “{token.name}” ({token.prefix}…) is revoked; it no longer works.", "success")
    return redirect(url_for("web.tokens"))


# --------------------------------------------------------------------------- mail responder


@bp.route("/admin/mail", methods=["GET", "POST"])
@admin_only
def mail_responder() -> Any:
    """What the mail responder did (from its counters in the database) and each team's own period."""
    session = get_session()
    if request.method == "POST":
        team = services.get_team(session, request.form.get("slug") or "")
        raw = (request.form.get("period_days") or "").strip()
        try:
            mail_store.set_period_days(session, team.id, int(raw) if raw else None)
        except ValueError:
            session.rollback()
            flash(f"{team.name}: the period is a whole number of days from 1 to {mail_store.MAX_PERIOD_DAYS}, "
                  "or empty for the default.", "error")
        else:
            session.commit()
            flash(f"{team.name} now answers a sender at most once every "
                  f"{raw or 'default number of'} day(s).", "success")
        return redirect(url_for("web.mail_responder"))
    periods = mail_store.team_periods(session)
    teams = list(queries.active_teams(session))
    return render_template(
        "admin/mail.html", summary=mail_store.summary(session, utcnow()), reasons=mail_rules.SUPPRESSION_REASONS,
        failures=mail_store.failures(session), teams=teams, periods=periods,
        default_period=mail_store.default_period_days(current_app.config),
    )


@bp.route("/teams/<slug>/auto-replies")
@signed_in
def team_mail_replies(slug: str) -> str:
    """The replies the mail responder last sent on a team's behalf: for its owners and administrators."""
    session = get_session()
    team = services.get_team(session, slug)
    if not _actor().may_edit(team.data):
        raise Forbidden(f"Only the owners of {team.name} and the directory's administrators can see its replies.")
    return render_template("team_mail.html", team=team, replies=mail_store.recent_replies(session, team.id, 50))


# --------------------------------------------------------------------------- holiday calendars


@bp.route("/admin/holiday-calendars", methods=["GET", "POST"])
@admin_only
def holiday_calendars_page() -> Any:
    """Organisation holiday calendars: upload an ICS file (a new name adds one, an existing name
    replaces its days), see which teams use each, delete unused ones."""
    from directory import holiday_calendars

    session = get_session()
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        upload = request.files.get("file")
        content = upload.read() if upload is not None else b""
        if not content:
            errors["file"] = ["choose an iCalendar (.ics) file"]
        else:
            try:
                calendar = holiday_calendars.save_calendar(session, request.form.get("name") or "", content)
                session.commit()
            except InvalidTeam as exc:
                session.rollback()
                errors = dict(exc.errors) or {"file": [exc.message]}
            else:
                holiday_calendars.store().invalidate()
                flash(f"{calendar.name} holds {len(calendar.days)} days; teams select it as "
                      f"“{holiday_calendars.calendar_name(calendar.slug)}”.", "success")
                return redirect(url_for("web.holiday_calendars_page"))
        status = 422
    calendars = [(c, holiday_calendars.teams_using(session, c.slug)) for c in holiday_calendars.list_calendars(session)]
    return render_template("admin/holiday_calendars.html", calendars=calendars, errors=errors,
                           values=request.form if errors else {},
                           calendar_name=holiday_calendars.calendar_name), status


@bp.route("/admin/holiday-calendars/<slug>/delete", methods=["POST"])
@admin_only
def delete_holiday_calendar(slug: str) -> Response:
    from directory import holiday_calendars

    session = get_session()
    try:
        holiday_calendars.delete_calendar(session, slug)
        session.commit()
    except Conflict as exc:
        session.rollback()
        flash(exc.message, "error")
    else:
        holiday_calendars.store().invalidate()
        flash(f"The holiday calendar “{slug}” is deleted.", "success")
    return redirect(url_for("web.holiday_calendars_page"))


# --------------------------------------------------------------------------- reviews


@bp.app_template_filter("interval_words")
def interval_words(days: int) -> str:
    return reviews.interval_words(int(days))


@bp.route("/admin/reviews", methods=["GET", "POST"])
@admin_only
def reviews_admin() -> Any:
    """Pages overdue for review, pages that fail their readers (no owner, no contact, broken links),
    reminders waiting for the mail server, and the review interval for every team."""
    session = get_session()
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        raw = (request.form.get("interval_days") or "").strip()
        try:
            reviews.set_interval(session, int(raw), _actor())
        except ValueError:
            errors["interval_days"] = ["a whole number of days"]
        except InvalidTeam as exc:
            errors = dict(exc.errors)
        if errors:
            session.rollback()
            status = 422
        else:
            session.commit()
            flash(f"Pages now come due for review {raw} days after their last review.", "success")
            return redirect(url_for("web.reviews_admin"))
    rule = reviews.policy(session)
    today = utcnow().date()
    overdue = reviews.overdue(session, today, rule)
    known_names([o for r in overdue for o in r.owners])
    return render_template(
        "admin/reviews.html", rule=rule, overdue=overdue, today=today, errors=errors,
        attention=reviews.needing_attention(session), failed=notify.failed_notifications(session, utcnow()),
        limits=reviews.INTERVAL_LIMITS, typed=request.form.get("interval_days") if errors else None,
    ), status
