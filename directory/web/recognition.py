"""Pages for surveys, kudos and the quarter's recognition, and the administrators' survey pages.

Views parse the form, call `directory.surveys`, `directory.kudos` or `directory.recognition` with
the acting person, commit once and redirect; a refusal re-renders the form with what was typed and
the message beside the field, with the error's status (422, 403, 409, 429).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from flask import Blueprint, Flask, Response, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from directory import auth, kudos, people, recognition, services, surveys
from directory.db import get_session
from directory.errors import DirectoryError, Throttled
from directory.models import Kudos, Team
from directory.services import Actor
from directory.text import storable
from directory.web import utcnow
from directory.web.admin import admin_only
from directory.web.editing import signed_in
from directory.web.errors import status_of

bp = Blueprint("recognition", __name__)
SEARCH_LIMIT = 20


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _actor() -> Actor:
    actor = auth.current_actor()
    assert actor is not None
    return actor


def _download(rows: list[list[Any]], name: str) -> Response:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _json(data: Any) -> Response:
    return Response(json.dumps(data, ensure_ascii=False, indent=1), mimetype="application/json")


# --------------------------------------------------------------------------- template helpers


@bp.app_template_global()
def team_kudos(team: Team) -> dict[str, Any]:
    """What the team page's kudos section shows: recent thanks and whether the reader may give one."""
    session = get_session()
    actor = auth.current_actor()
    own = bool(actor and actor.email and people.owns(team.data, actor.email))
    return {"items": kudos.for_team(session, team, limit=5), "count": kudos.count_for_team(session, team),
            "may_give": bool(actor and actor.email) and not own and not team.archived, "own": own,
            "signed_in": bool(actor and actor.email), "max_message": kudos.MAX_MESSAGE}


@bp.app_template_global()
def owner_kudos() -> list[Kudos]:
    """Kudos to the reader's teams, for the note on "My teams"."""
    actor = auth.current_actor()
    if actor is None or not actor.email:
        return []
    return kudos.for_owner(get_session(), actor.email, limit=10)


# --------------------------------------------------------------------------- kudos


@bp.route("/kudos")
def feed() -> str:
    session = get_session()
    before = request.args.get("before", type=int)
    before = before if before is None or 0 < before <= surveys.MAX_ID else None
    items = kudos.feed(session, limit=50, before=before)
    return render_template("kudos/feed.html", items=items, before=before,
                           older=items[-1].id if len(items) == 50 else None)


@bp.route("/teams/<slug>/kudos", methods=["GET", "POST"])
@signed_in
def give_kudos(slug: str) -> Any:
    session = get_session()
    team = services.get_team(session, slug)
    form = {"message": request.form.get("message", ""), "people": request.form.get("people", "")}
    if request.method == "GET":
        return render_template("kudos/give.html", team=team, form=form, error=None, errors={},
                               max_message=kudos.MAX_MESSAGE)
    try:
        kudos.give(session, team, form["message"], _actor(), named=kudos.parse_people(form["people"]))
    except DirectoryError as refused:
        session.rollback()
        response = render_template("kudos/give.html", team=team, form=form, error=refused.message,
                                   errors=refused.errors, max_message=kudos.MAX_MESSAGE)
        headers = {"Retry-After": str(refused.retry_after)} if isinstance(refused, Throttled) else {}
        return response, status_of(refused), headers
    session.commit()
    flash(f"Thank you: {team.name} and its owners will see your kudos.", "success")
    return redirect(url_for("web.team", slug=team.slug) + "#kudos")


# --------------------------------------------------------------------------- surveys


def _team_search(session: Any, q: str, exclude: str | None) -> list[Team]:
    if not q or not storable(q):  # no name holds NUL or a lone surrogate, and PostgreSQL refuses to compare them
        return []
    found = session.scalars(select(Team).where(Team.archived_at.is_(None),
                                               func.lower(Team.name).contains(q.lower(), autoescape=True))
                            .order_by(Team.name).limit(SEARCH_LIMIT))
    return [t for t in found if not (exclude and people.owns(t.data, exclude))]


@bp.route("/surveys")
def survey_home() -> Any:
    session = get_session()
    current = surveys.open_round(session)
    actor = auth.current_actor()
    signed = bool(actor and actor.email)
    q = (request.args.get("q") or "").strip()[:200]
    listed: list[Team] = []
    answers: dict[int, Any] = {}
    found: list[Team] = []
    if current is not None and signed and actor is not None:
        listed = surveys.teams_worked_with(session, actor)
        answers = surveys.my_answers(session, current, actor)
        known = {t.id for t in listed}
        answered = [t for t in session.scalars(select(Team).where(Team.id.in_(list(answers))))
                    if t.id not in known] if answers else []
        listed = sorted(listed + answered, key=lambda t: t.name.lower())
        found = [t for t in _team_search(session, q, actor.email) if t.id not in {x.id for x in listed}]
    closed = [r for r in surveys.rounds(session) if not r.is_open]
    return render_template("surveys/index.html", current=current, signed=signed, listed=listed, found=found, team_q=q,
                           answers=answers, closed=closed, parameters=surveys.PARAMETERS,
                           labels=surveys.PARAMETER_LABELS, errors={}, typed={}, error_slug=None)


@bp.route("/surveys/<int:round_id>/teams/<slug>", methods=["POST"])
@signed_in
def survey_answer(round_id: int, slug: str) -> Any:
    session = get_session()
    survey = surveys.get_round(session, round_id)
    team = services.get_team(session, slug)
    typed = {p: request.form.get(p, "") for p in surveys.PARAMETERS}
    try:
        surveys.respond(session, survey, team, typed, _actor())
    except DirectoryError as refused:
        session.rollback()
        return render_template("surveys/answer.html", survey=survey, team=team, typed=typed,
                               error=refused.message, errors=refused.errors, parameters=surveys.PARAMETERS,
                               labels=surveys.PARAMETER_LABELS), status_of(refused)
    session.commit()
    flash(f"Thank you: your ratings of {team.name} are saved. You can change them while the round is open.", "success")
    return redirect(url_for("recognition.survey_home") + f"#team-{team.slug}")


def _comparison(round_id: int) -> dict[str, Any]:
    session = get_session()
    return surveys.comparison(session, surveys.get_round(session, round_id))


@bp.route("/surveys/<int:round_id>/results")
def survey_results(round_id: int) -> str:
    data = _comparison(round_id)
    return render_template("surveys/results.html", data=data, labels=surveys.PARAMETER_LABELS,
                           chart=comparison_chart(data["teams"]))


@bp.route("/surveys/<int:round_id>/results.json")
def survey_results_json(round_id: int) -> Response:
    return _json(_comparison(round_id))


@bp.route("/surveys/<int:round_id>/results.csv")
def survey_results_csv(round_id: int) -> Response:
    return _download(surveys.comparison_csv_rows(_comparison(round_id)), f"survey-{round_id}-results.csv")


CHART_ROW, CHART_BAR, CHART_LEFT, CHART_WIDTH = 44, 16, 190, 300


def comparison_chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Geometry of the inline SVG: for each team with a figure in either round, a plain bar for
    the previous round and a hatched one for this round, each labelled with its value (so the
    chart reads without colour), on a 0-5 scale."""
    shown = [r for r in rows if r["overall"] is not None or r["previous_overall"] is not None]
    bars = []
    for index, row in enumerate(shown):
        top = 28 + index * CHART_ROW
        bars.append({
            "name": row["name"], "y": top, "label_y": top + CHART_BAR,
            "previous": _bar(row["previous_overall"], top), "current": _bar(row["overall"], top + CHART_BAR + 2),
        })
    return {"bars": bars, "height": 40 + len(shown) * CHART_ROW, "left": CHART_LEFT, "width": CHART_WIDTH,
            "ticks": [{"x": CHART_LEFT + CHART_WIDTH * i / 5, "label": i} for i in range(6)],
            "bar": CHART_BAR}


def _bar(value: float | None, y: int) -> dict[str, Any]:
    width = 0 if value is None else round(CHART_WIDTH * value / 5, 1)
    return {"value": value, "y": y, "width": width, "text_x": CHART_LEFT + width + 6,
            "text": "hidden (fewer than 5 people)" if value is None else f"{value:.2f}"}


# --------------------------------------------------------------------------- administration


@bp.route("/admin/surveys", methods=["GET", "POST"])
@admin_only
def admin_surveys() -> Any:
    session = get_session()
    title = (request.form.get("title") or "").strip() if request.method == "POST" else ""
    errors: dict[str, list[str]] = {}
    error = None
    status = 200
    if request.method == "POST":
        try:
            survey = surveys.start_round(session, title, _actor())
        except DirectoryError as refused:
            session.rollback()
            error, errors, status = refused.message, refused.errors, status_of(refused)
        else:
            session.commit()
            flash(f"The round '{survey.title}' is open: everyone can now rate the teams they worked with.", "success")
            return redirect(url_for("recognition.admin_surveys"))
    return render_template("surveys/admin.html", rounds=surveys.rounds(session), title=title, error=error,
                           errors=errors, parameters=surveys.PARAMETERS, labels=surveys.PARAMETER_LABELS,
                           default_title=f"Rate the teams you worked with this quarter ({recognition.quarter_of(utcnow())})"
                           ), status


@bp.route("/admin/surveys/<int:round_id>/close", methods=["POST"])
@admin_only
def admin_close_survey(round_id: int) -> Any:
    session = get_session()
    survey = surveys.get_round(session, round_id)
    try:
        surveys.close_round(session, survey, _actor())
    except DirectoryError as refused:
        session.rollback()
        flash(refused.message, "error")
    else:
        session.commit()
        flash(f"The round '{survey.title}' is closed.", "success")
    return redirect(url_for("recognition.admin_surveys"))


@bp.route("/admin/audit")
@admin_only
def admin_audit() -> str:
    return render_template("surveys/audit.html", records=surveys.audit_log(get_session()))


# --------------------------------------------------------------------------- recognition


def _recognition() -> dict[str, Any]:
    quarter = request.args.get("quarter") or recognition.quarter_of(utcnow())
    return recognition.recognise(get_session(), quarter)


@bp.route("/recognition")
def recognition_page() -> Any:
    try:
        data = _recognition()
    except recognition.InvalidQuarter as refused:
        return render_template("recognition.html", data=None, error=refused.message,
                               typed=request.args.get("quarter", "")), 422
    return render_template("recognition.html", data=data, error=None, typed=data["quarter"])


@bp.route("/recognition.csv")
def recognition_csv() -> Response:
    try:
        data = _recognition()
    except recognition.InvalidQuarter as refused:
        abort(422, description=refused.message)
    return _download(recognition.csv_rows(data), f"recognition-{data['quarter']}.csv")
