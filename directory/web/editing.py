"""Changing a team from the browser: edit, create, history with diffs and restore, mark as reviewed.

Every save validates with `directory.schemas.load_team` and writes through `directory.services`, passing
the version the editor started from, so that a save over someone else's newer edit is refused and
shown as a conflict instead of overwriting it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from directory import auth, holiday_calendars, notices, queries, services, vocabulary
from directory.contacts import normalize_address
from directory.db import get_session
from directory.errors import Conflict, Forbidden, InvalidTeam, NotFound, StaleVersion
from directory.hours import WEEKDAYS
from directory.models import Revision, Team
from directory.schemas import DESCRIPTION_MAX, load_team
from directory.services import Actor
from directory.vocabulary import BOOKING_METHODS, CONTACT_KINDS, DAY_NAMES, DURATION_UNITS, NOTICE_LEVELS
from directory.web import bp
from directory.web.diff import field_changes
from directory.web.errors import status_of
from directory.web.forms import (
    ErrorMap,
    TeamForm,
    document_from_form,
    form_errors,
    form_from_post,
    form_from_team,
    local_bound,
)

NEW_TEAM_DEFAULTS: dict[str, Any] = {"timezone": "UTC"}


def signed_in(view: Callable[..., Any]) -> Callable[..., Any]:
    """Editing needs someone signed in: anonymous visitors go to the sign-in page and come back."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if auth.current_actor() is None:
            flash("Please sign in to make changes.", "info")
            return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper


def _actor() -> Actor:
    actor = auth.current_actor()
    assert actor is not None  # guaranteed by @signed_in
    return actor


def _editable_team(slug: str, actor: Actor) -> Team:
    team = services.get_team(get_session(), slug)
    if not actor.may_edit(team.data):
        raise Forbidden(f"You may not change {team.name}: only its owners and the directory's administrators can.")
    return team


def _choices() -> dict[str, Any]:
    import holidays

    return {
        "booking_methods": BOOKING_METHODS, "contact_kinds": CONTACT_KINDS, "duration_units": DURATION_UNITS,
        "day_names": DAY_NAMES, "weekdays": WEEKDAYS, "timezones": vocabulary.time_zones(),
        "countries": sorted(holidays.list_supported_countries()),
        "description_max": DESCRIPTION_MAX, "notice_levels": NOTICE_LEVELS,
        "org_calendars": [holiday_calendars.calendar_name(c.slug) for c in holiday_calendars.list_calendars(get_session())],
    }


def _render_editor(form: TeamForm, errors: dict[str, list[str]], *, team: Team | None, status: int = 200,
                   conflict: dict[str, Any] | None = None) -> tuple[str, int]:
    reminders = [] if team is None else notices.reminders_due(
        team.data.get("notices"), datetime.now(UTC), team.timezone or "UTC")
    return render_template(
        "edit.html", form=form, errors=ErrorMap(errors, form), team=team, conflict=conflict,
        notice_reminders=reminders, **_choices(),
    ), status


def _validated(form: TeamForm) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    errors = dict(form_errors(form))
    try:
        document = load_team(document_from_form(form))
    except InvalidTeam as exc:
        for path, messages in exc.errors.items():
            errors.setdefault(path, []).extend(messages)
        return None, errors
    return (None, errors) if errors else (document, {})


def _row_change() -> TeamForm | None:
    """The "add" and "remove" buttons of the editor's lists, for browsers without JavaScript:
    the form comes back with the row added or removed, and nothing is saved."""
    add, remove = request.form.get("add"), request.form.get("remove")
    if request.form.get("save") or not (add or remove):
        return None
    posted = {k: v for k, v in request.form.items() if not (remove and k.startswith(remove + "."))}
    form = form_from_post(posted)
    if add:
        form.add_row(add)
    return form


def _problem_errors(exc: InvalidTeam | Conflict) -> dict[str, list[str]]:
    return dict(exc.errors) or {"_form": [exc.message]}


@bp.route("/teams/<slug>/edit", methods=["GET", "POST"])
@signed_in
def edit_team(slug: str) -> Any:
    actor = _actor()
    session = get_session()
    team = _editable_team(slug, actor)
    if request.method == "GET":
        return _render_editor(form_from_team(team.data, team.version), {}, team=team)

    rows = _row_change()
    if rows is not None:
        return _render_editor(rows, {}, team=team)
    version = _form_version()
    expected = -1 if version is None else version
    form = form_from_post(request.form)
    document, errors = _validated(form)
    if document is None:
        return _render_editor(form, errors, team=team, status=422)
    try:
        changed = services.update_team(session, team, document, actor, expected_version=expected)
        session.commit()
    except StaleVersion:
        session.rollback()
        team = services.get_team(session, slug)
        return _conflict(form, team, expected)
    except (InvalidTeam, Conflict) as exc:
        session.rollback()
        return _render_editor(form, _problem_errors(exc), team=team, status=status_of(exc))
    if changed:
        flash(f"Saved. {team.name} is now at version {team.version}; the previous version is in its history.",
              "success")
    else:
        flash("Nothing had changed, so nothing was saved.", "info")
    _flash_address_warnings(session, team)
    return redirect(url_for("web.team", slug=team.slug))


def _flash_address_warnings(session: Any, team: Any) -> None:
    """Tell the editor at once when an address they listed is answered by another team."""
    for warning in services.address_warnings(session, team):
        flash(warning, "warning")


@bp.route("/teams/<slug>/notices", methods=["POST"])
@signed_in
def post_notice(slug: str) -> Any:
    """The team page's quick "Post a notice": one notice added to the document, saved like any edit.

    An empty start means from now (today, for whole days). Refused input comes back in the editor
    (422), the notice as typed in its row and each problem beside its field.
    """
    actor = _actor()
    session = get_session()
    team = _editable_team(slug, actor)
    now = datetime.now(ZoneInfo(team.timezone or "UTC"))
    ends = local_bound(request.form.get("ends", "").strip())
    starts = local_bound(request.form.get("starts", "").strip()) or (
        now.strftime("%Y-%m-%dT%H:%M") if ends and "T" in ends else now.date().isoformat())
    notice = {"message": request.form.get("message", ""), "starts": starts, "ends": ends,
              "level": request.form.get("level") or "info"}
    raw = {**team.data, "notices": [*(team.data.get("notices") or []), notice]}
    try:
        document = load_team(raw)
        services.update_team(session, team, document, actor, expected_version=_form_version())
        session.commit()
    except StaleVersion:
        session.rollback()
        flash("The page changed since you opened it, so the notice was not posted: check it and post again.", "error")
        return redirect(url_for("web.team", slug=slug))
    except (InvalidTeam, Conflict) as exc:
        session.rollback()
        form = form_from_team(raw, team.version)
        return _render_editor(form, _problem_errors(exc), team=team, status=status_of(exc))
    flash(f"Notice posted. {team.name} is now at version {team.version}.", "success")
    return redirect(url_for("web.team", slug=team.slug))


def _conflict(form: TeamForm, team: Team, expected: int) -> tuple[str, int]:
    """Someone saved first: keep what this editor typed, show what the other person changed."""
    base = queries.revision(get_session(), team.id, expected)
    theirs = field_changes(base.data if base else None, team.data) if base else []
    authors = list(get_session().scalars(
        select(Revision.author).where(Revision.team_id == team.id, Revision.number > expected)
        .order_by(Revision.number)))
    form.version = str(team.version)
    conflict = {
        "expected": expected, "current": team.version, "changes": theirs,
        "authors": list(dict.fromkeys(authors)), "updated_at": team.updated_at,
    }
    return _render_editor(form, {}, team=team, status=409, conflict=conflict)


@bp.route("/teams/new", methods=["GET", "POST"])
@signed_in
def new_team() -> Any:
    actor = _actor()
    if not actor.is_admin:
        raise Forbidden("Only the directory's administrators can add teams.")
    if request.method == "GET":
        return _render_editor(form_from_team(NEW_TEAM_DEFAULTS), {}, team=None)
    rows = _row_change()
    if rows is not None:
        return _render_editor(rows, {}, team=None)
    form = form_from_post(request.form)
    document, errors = _validated(form)
    if document is None:
        return _render_editor(form, errors, team=None, status=422)
    session = get_session()
    try:
        team = services.create_team(session, document, actor)
        session.commit()
    except (InvalidTeam, Conflict) as exc:
        session.rollback()
        return _render_editor(form, _problem_errors(exc), team=None, status=status_of(exc))
    flash(f"{team.name} is in the directory.", "success")
    _flash_address_warnings(session, team)
    return redirect(url_for("web.team", slug=team.slug))


# --------------------------------------------------------------------------- history


def _revision(team: Team, number: int | None) -> Revision | None:
    if number is None:
        return None
    return queries.revision(get_session(), team.id, number)


def _int_arg(name: str) -> int | None:
    try:
        return int(request.args.get(name, ""))
    except ValueError:
        return None


@bp.route("/teams/<slug>/history")
def team_history(slug: str) -> str:
    actor = auth.current_actor()
    session = get_session()
    team = services.get_team(session, slug, include_archived=bool(actor and actor.is_admin))
    revisions = queries.revisions(session, team.id)
    numbers = [r.number for r in revisions]
    newer, older = _int_arg("to"), _int_arg("from")
    for number in (newer, older):
        if number is not None and number not in numbers:  # checked here: a huge one overflows a query
            raise NotFound(f"{team.name} has no version {number}: its versions are 1 to {max(numbers, default=0)}.")
    if newer is None and older is None and len(numbers) >= 2:
        newer, older = numbers[0], numbers[1]
    if newer is not None and older is not None and older > newer:
        newer, older = older, newer
    a, b = _revision(team, older), _revision(team, newer)
    from directory.web.views import known_names, reader_tz_from_request

    owners = [o for r in (a, b) if r for o in r.data.get("owners") or []]
    names = known_names([*owners, *(r.author for r in revisions)])  # one query for the whole page
    changes = field_changes(a.data, b.data, names) if a and b else None

    reader_tz = reader_tz_from_request() or "UTC"
    return render_template(
        "history.html", team=team, revisions=revisions, older=a, newer=b, changes=changes,
        may_edit=bool(actor and actor.may_edit(team.data)), is_admin=bool(actor and actor.is_admin),
        tz=ZoneInfo(reader_tz), tz_name=reader_tz,
    )


def _form_version() -> int | None:
    """The version the form was opened at; None when none was sent, 400 when it is not a version."""
    text = request.form.get("version", "").strip()
    if not text:
        return None
    try:
        number = int(text)
    except ValueError:
        number = 0
    if not 0 < number <= services.MAX_REVISION:
        abort(400, description=f"The form's version field ({text[:20]!r}) is not a version number, so nothing "
                               "was saved: reload the page and try again.")
    return number


@bp.route("/teams/<slug>/history/<int:number>/restore", methods=["POST"])
@signed_in
def restore(slug: str, number: int) -> Response:
    actor = _actor()
    session = get_session()
    team = services.get_team(session, slug, include_archived=actor.is_admin)
    if not actor.may_edit(team.data):
        raise Forbidden(f"You may not change {team.name}: only its owners and the directory's administrators can.")
    try:
        services.restore_revision(session, team, number, actor, expected_version=_form_version())
        session.commit()
    except StaleVersion:
        session.rollback()
        flash("The page changed while you were looking at its history, so nothing was restored. "
              "Check the newest version below and try again.", "error")
        return redirect(url_for("web.team_history", slug=slug))
    except NotFound:
        session.rollback()
        raise
    flash(f"Restored version {number} of {team.name}; it is now version {team.version}.", "success")
    return redirect(url_for("web.team_history", slug=team.slug))


@bp.route("/teams/<slug>/review", methods=["POST"])
@signed_in
def mark_reviewed(slug: str) -> Response:
    actor = _actor()
    session = get_session()
    team = _editable_team(slug, actor)
    today = datetime.now(ZoneInfo(team.timezone or "UTC")).date()
    try:
        changed = services.mark_reviewed(session, team, actor, today, expected_version=_form_version())
        session.commit()
    except StaleVersion:
        session.rollback()
        flash("The page changed since you opened it; check it again before marking it as reviewed.", "error")
        return redirect(url_for("web.team", slug=slug))
    if changed:
        flash(f"Thank you: {team.name} is marked as reviewed today.", "success")
    else:
        flash(f"{team.name} was already marked as reviewed today.", "info")
    return redirect(url_for("web.team", slug=slug))


# --------------------------------------------------------------------------- shared mailboxes


@bp.app_template_global()
def also_listed_by(team: Team | None, value: str | None) -> str | None:
    """'Also listed by Legal and HR' for an e-mail address other active teams list too, else None.

    Several teams may list one mailbox; the editor and the team page say so instead of promising
    addresses unique to a team. One query per team and request, kept on `g`.
    """
    if team is None or team.id is None or not value:
        return None
    address = normalize_address(value)
    if address is None:
        return None
    cache: dict[int, dict[str, list[str]]] = g.setdefault("shared_addresses", {})
    if team.id not in cache:
        cache[team.id] = services.shared_addresses(get_session(), team)
    names = cache[team.id].get(address)
    if not names:
        return None
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"Also listed by {listed}"


# --------------------------------------------------------------------------- the editor's body limit

EDITOR_MAX_BYTES = 8 * 1024 * 1024
"""What the editor's forms may post: well above MAX_CONTENT_LENGTH (1 MiB, which stays for the API),
so an over-long paste comes back as a field error with the text kept instead of a bare 413."""


@bp.url_value_preprocessor
def _editor_body_limit(endpoint: str | None, values: dict[str, Any] | None) -> None:
    # URL value preprocessors run before every before_request hook, CSRF's form read included.
    if endpoint in ("web.edit_team", "web.new_team") and request.method == "POST":
        limit = max(EDITOR_MAX_BYTES, request.max_content_length or 0)
        request.max_content_length = limit
        request.max_form_memory_size = limit
