"""The pages of "what colleagues say": giving feedback (from the team page or a "How did we do?"
link), the owners' inbox of nameless comments and concerns, the author's own page, the admins' audit.

A GET never writes: a link only opens the confirmation form, and the rating is saved when the
signed-in person sends it (with its CSRF token).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from directory import auth, feedback, services
from directory.db import get_session
from directory.errors import Forbidden
from directory.models import Team
from directory.services import Actor
from directory.web import utcnow
from directory.web.editing import signed_in

bp = Blueprint("feedback_pages", __name__)

TEAM_PAGE_WINDOW = timedelta(days=90)
TRUE_WORDS = {"1", "on", "yes", "true"}
BAR_WIDTH = 200  # px of the longest bar in the distribution chart


def _actor() -> Actor:
    actor = auth.current_actor()
    assert actor is not None  # guaranteed by @signed_in
    return actor


def _owner_only(team: Team) -> Actor:
    actor = _actor()
    if not actor.may_edit(team.data):
        raise Forbidden("Only the team's owners and the directory's administrators read its feedback.")
    return actor


def _keeps(actor: Actor | None, team: Team) -> bool:
    return bool(actor and actor.email and actor.email.lower() in {o.lower() for o in team.data.get("owners") or []})


@bp.app_template_global()
def feedback_section(team: Team) -> dict[str, Any]:
    """What the team page shows: figures only above the floor, the owners' public answers, and
    whether the reader may rate (signed in, not an owner) or read the inbox (owners, admins)."""
    session = get_session()
    actor = auth.current_actor()
    until = utcnow()
    since = until - TEAM_PAGE_WINDOW
    figure = feedback.summary(session, team, since, until)
    parts = [p for p in feedback.breakdown(session, team, since, until, by="service") if p["average"] is not None]
    return {
        "figure": figure, "bars": _bars(figure["distribution"]), "services": parts,
        "answers": feedback.answers(session, team, limit=5), "floor": feedback.ANONYMITY_FLOOR,
        "days": TEAM_PAGE_WINDOW.days, "signed_in": actor is not None and bool(actor.email),
        "keeps": _keeps(actor, team), "may_read": bool(actor and actor.may_edit(team.data)),
        "service_names": [s.get("name") for s in team.data.get("services") or []],
    }


def _bars(distribution: dict[int, int] | None) -> list[dict[str, Any]]:
    """Rows of the SVG chart, 5 stars first; each row says its rating and count in words too."""
    if not distribution:
        return []
    most = max(distribution.values()) or 1
    return [{"rating": n, "count": distribution[n], "y": i * 28, "width": round(BAR_WIDTH * distribution[n] / most)}
            for i, n in enumerate(range(5, 0, -1))]


def _form_value(name: str) -> str | None:
    value = (request.form.get(name) or "").strip()
    return value or None


def _preselected(text: str | None) -> int | None:
    return int(text) if text in {"1", "2", "3", "4", "5"} else None


def _check_link(team: Team, request_id: str | None, signature: str | None) -> None:
    if not feedback.link_is_valid(current_app.config["SECRET_KEY"], team.id, request_id, signature):
        raise Forbidden("This feedback link is not one the directory made (it was changed or cut short). "
                        "Nothing was saved. Use the link as you received it, or rate the team from its page.")


@bp.route("/teams/<slug>/feedback", methods=["GET", "POST"])
@signed_in
def give(slug: str) -> Any:
    """The confirmation form (from a link or the team page); POST saves the rating."""
    session = get_session()
    team = services.get_team(session, slug)
    actor = _actor()
    values = request.form if request.method == "POST" else request.args
    request_id, signature = (values.get("r") or None), (values.get("sig") or None)
    _check_link(team, request_id, signature)
    form = {"rating": _preselected(values.get("rating")), "comment": values.get("comment") or "",
            "complaint": (values.get("complaint") or "") in TRUE_WORDS,
            "signed": (values.get("signed") or "") in TRUE_WORDS, "service": values.get("service") or "",
            "r": request_id or "", "sig": signature or ""}
    if _keeps(actor, team):
        raise Forbidden("You keep this team's page: its feedback comes from the colleagues it serves, not its owners.")
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        try:
            given = feedback.give_feedback(
                session, team, actor, rating=_preselected(request.form.get("rating")),
                comment=_form_value("comment"), request_id=request_id, service=_form_value("service"),
                complaint=form["complaint"], signed=form["signed"],
                limit=current_app.config.get("FEEDBACK_WRITES_PER_HOUR", feedback.WRITES_PER_HOUR))
        except feedback.InvalidFeedback as refused:
            session.rollback()
            errors, status = refused.errors, 422
            if "rating" in errors:
                errors["rating"] = ["choose a rating from 1 (poor) to 5 (excellent)"]
        except feedback.TooMuchFeedback as refused:
            session.rollback()
            errors, status = {"_": [refused.message]}, 429
        else:
            session.commit()
            if given.feedback.follow_up is not None and given.feedback.follow_up.state == "open":
                flash("Thank you. Your concern went to the team's owners; follow it on “My feedback”.", "success")
                return redirect(url_for("feedback_pages.mine"))
            flash("Thank you for your feedback." + (" It replaced your earlier rating of this request."
                                                    if given.replaced else ""), "success")
            return redirect(url_for("web.team", slug=team.slug))
    return render_template("feedback/give.html", team=team, data=team.data, form=form, errors=errors,
                           service_names=[s.get("name") for s in team.data.get("services") or []]), status


@bp.route("/teams/<slug>/feedback/inbox")
@signed_in
def inbox(slug: str) -> Any:
    """The owners' view: concerns to address and comments, without their authors' names."""
    session = get_session()
    team = services.get_team(session, slug)
    _owner_only(team)
    return _inbox(team)


def _inbox(team: Team, errors: dict[str, list[str]] | None = None, values: dict[str, str] | None = None,
           status: int = 200) -> Any:
    """The inbox, with a refused form's messages beside its fields and what was typed kept."""
    session = get_session()
    link = None
    wanted = (request.args.get("request_id") or "").strip()
    if wanted:
        page = (current_app.config.get("SITE_URL") or request.host_url.rstrip("/")) + url_for(
            "feedback_pages.give", slug=team.slug)
        link = {"request_id": wanted, **feedback.signed_links(
            current_app.config["SECRET_KEY"], team.id, page, wanted[:feedback.REQUEST_ID_MAX])}
    return render_template(
        "feedback/inbox.html", team=team, data=team.data, now=utcnow(),
        follow_ups=feedback.follow_ups_for_owners(session, team),
        comments=feedback.comments_for_owners(session, team),
        answers=feedback.answers(session, team, limit=50), link=link, errors=errors or {}, values=values or {},
    ), status


@bp.route("/teams/<slug>/feedback/follow-ups/<int:follow_up_id>", methods=["POST"])
@signed_in
def follow_up(slug: str, follow_up_id: int) -> Any:
    session = get_session()
    team = services.get_team(session, slug)
    try:
        feedback.advance_follow_up(session, team, follow_up_id, _actor(), request.form.get("action") or "",
                                   _form_value("message"))
    except feedback.InvalidFeedback as refused:
        session.rollback()
        _owner_only(team)
        errors = {f"follow_up.{follow_up_id}.{field}": messages for field, messages in refused.errors.items()}
        return _inbox(team, errors, {f"follow_up.{follow_up_id}.message": request.form.get("message") or ""}, 422)
    session.commit()
    flash("The follow-up was updated; its author sees it on their feedback page.", "success")
    return redirect(url_for("feedback_pages.inbox", slug=team.slug) + "#follow-ups")


@bp.route("/teams/<slug>/feedback/answers", methods=["POST"])
@signed_in
def answer(slug: str) -> Any:
    session = get_session()
    team = services.get_team(session, slug)
    try:
        feedback.publish_answer(session, team, _actor(), _form_value("said"), _form_value("did"))
    except feedback.InvalidFeedback as refused:
        session.rollback()
        return _inbox(team, {f"answer.{k}": v for k, v in refused.errors.items()},
                      {"answer.said": request.form.get("said") or "", "answer.did": request.form.get("did") or ""}, 422)
    session.commit()
    flash("Published on the team page under “You said, we did”.", "success")
    return redirect(url_for("web.team", slug=team.slug) + "#feedback-title")


@bp.route("/me/feedback")
@signed_in
def mine() -> str:
    """Your own feedback, and where each concern stands (with the escalation path once overdue)."""
    actor = _actor()
    entries = feedback.own_feedback(get_session(), actor.email) if actor.email else []
    return render_template("feedback/mine.html", entries=entries)


@bp.route("/admin/feedback")
@signed_in
def audit() -> str:
    """Every feedback write, for administrators: who did what to which team, never what they said."""
    actor = _actor()
    if not actor.is_admin:
        raise Forbidden("Only the directory's administrators can use this page.")
    return render_template("feedback/audit.html", entries=feedback.audit_log(get_session()))
