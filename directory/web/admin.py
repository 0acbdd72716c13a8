"""Administration: teams (add, archive, bring back), people and their roles, API tokens.

A person's "owner" role is not stored on the person: it is the `owners` list of each team, so
changing who owns what goes through `services.update_team` like any other edit of a team.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import flash, make_response, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from api.schemas import load_team
from directory import accounts, auth, services
from directory.db import get_session
from directory.errors import Conflict, Forbidden, InvalidTeam, NotFound, StaleVersion
from directory.models import ApiToken, Team, User
from directory.services import Actor
from directory.web import bp
from directory.web.editing import signed_in


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


@bp.route("/admin")
@admin_only
def admin() -> str:
    session = get_session()
    teams = list(session.scalars(select(Team).order_by(Team.name)))
    users = list(session.scalars(select(User).order_by(User.email)))
    tokens = list(session.scalars(select(ApiToken).where(ApiToken.revoked_at.is_(None))))
    return render_template(
        "admin/index.html",
        active=[t for t in teams if not t.archived], archived=[t for t in teams if t.archived],
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
    except (StaleVersion, StaleDataError):
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
        except (InvalidTeam, Conflict) as exc:
            session.rollback()
            errors = dict(exc.errors) or {"email": [exc.message]}
            status = exc.status
        else:
            flash(f"{user.email} can now sign in" + ("" if password else " (through the proxy)") + ".", "success")
            return redirect(url_for("web.user_detail", user_id=user.id))
    people = list(session.scalars(select(User).order_by(User.email)))
    teams = list(services.active_teams(session))
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
        me = _actor().email == user.email
        if action == "profile":
            user.name = (request.form.get("name") or "").strip()
            wants_admin = request.form.get("is_admin") == "yes"
            wants_active = request.form.get("active") == "yes"
            if me and (not wants_admin or not wants_active):
                errors["is_admin"] = ["you cannot take away your own administrator role or deactivate yourself"]
            else:
                user.is_admin, user.active = wants_admin, wants_active
        elif action == "password":
            try:
                accounts.set_password(user, request.form.get("password") or "")
            except InvalidTeam as exc:
                errors = dict(exc.errors)
        if errors:
            session.rollback()
            status = 422
        else:
            session.commit()
            flash(f"Saved the changes to {user.email}.", "success")
            return redirect(url_for("web.user_detail", user_id=user.id))
    teams = list(services.active_teams(session))
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
    except (InvalidTeam, Conflict, StaleVersion, StaleDataError) as exc:
        session.rollback()
        flash(f"{team.name} was not changed: {getattr(exc, 'message', 'it changed at the same moment')}", "error")
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
            except InvalidTeam as exc:
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
