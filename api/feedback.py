"""Feedback (CONTRACT §4): a person's rating of a team, the figures above the anonymity floor, and
the signed "How did we do?" links a team's own tools send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app, url_for
from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields, validate

from api.common import Blueprint, TimeField, check_json_body, require_read, require_writer, site_url
from directory import feedback, services
from directory.db import get_session
from directory.errors import Forbidden
from directory.schemas import StorableString

blp = Blueprint("feedback", __name__, description="What colleagues say: ratings, anonymous above a floor of 5 people.")

DEFAULT_WINDOW = timedelta(days=90)


@blp.before_request
def _guard() -> None:
    require_read()
    check_json_body()


class Rating(fields.Integer):
    """1 to 5, a JSON number: true, 4.5 and "4" are refused rather than read as ratings."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("must be a whole number from 1 to 5")
        if not 1 <= value <= 5:
            raise ValidationError(f"must be a whole number from 1 to 5, not {value}")
        return value


class FeedbackSchema(Schema):
    rating = Rating(required=True, metadata={"example": 4})
    comment = StorableString(allow_none=True, validate=validate.Length(max=feedback.COMMENT_MAX),
                             metadata={"example": "Quick and friendly."})
    request_id = StorableString(allow_none=True, validate=validate.Length(max=feedback.REQUEST_ID_MAX),
                                metadata={"description": "the integration's id of the request rated (`requests`); "
                                                         "the same person's later rating of it replaces this one"})
    service = StorableString(allow_none=True, metadata={"description": "optional: one of the team's services"})
    complaint = fields.Boolean(load_default=False, metadata={
        "description": "a concern the owners must follow up (a rating of 1 or 2 is one anyway)"})
    signed = fields.Boolean(load_default=False, metadata={
        "description": "show the author's name with the comment to the team's owners (anonymous otherwise)"})


class FollowUpSchema(Schema):
    state = fields.String(metadata={"example": "open"})
    due_at = fields.String(metadata={"description": "after this, without a reply, it is overdue"})


class GivenSchema(Schema):
    team = fields.String(metadata={"example": "payroll"})
    rating = fields.Integer()
    comment = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    service = fields.String(allow_none=True)
    complaint = fields.Boolean()
    signed = fields.Boolean()
    replaced = fields.Boolean(metadata={"description": "true when it replaced your earlier rating of the request"})
    rated_at = fields.String()
    follow_up = fields.Nested(FollowUpSchema, allow_none=True)


class WindowArgsSchema(Schema):
    since = TimeField(metadata={"description": "start of the window (default: 90 days before `until`)"})
    until = TimeField(metadata={"description": "end of the window, exclusive (default: now)"})


class FigureSchema(Schema):
    responses = fields.Integer()
    average = fields.Float(allow_none=True, metadata={"description": "null below 5 different people"})
    distribution = fields.Dict(keys=fields.String(), values=fields.Integer(), allow_none=True,
                               metadata={"description": "how many gave each rating; null below 5 people"})


class ServiceFigureSchema(FigureSchema):
    name = fields.String()


class AnswerSchema(Schema):
    said = fields.String()
    did = fields.String()
    created_at = fields.String()


class SummarySchema(FigureSchema):
    since = fields.String()
    until = fields.String()
    services = fields.List(fields.Nested(ServiceFigureSchema))
    answers = fields.List(fields.Nested(AnswerSchema), metadata={"description": "the owners' \"you said, we did\""})


class LinkArgsSchema(Schema):
    request_id = StorableString(required=True, validate=validate.Length(min=1, max=feedback.REQUEST_ID_MAX))


class LinkSchema(Schema):
    url = fields.String(metadata={"description": "the confirmation page, with no rating chosen"})
    ratings = fields.Dict(keys=fields.String(), values=fields.String(),
                          metadata={"description": "one link per rating, 1 to 5 (one-click, still confirmed)"})


def _aware(value: datetime | None, default: datetime) -> datetime:
    if value is None:
        return default
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _figure(found: dict[str, Any]) -> dict[str, Any]:
    dist = found["distribution"]
    return {"responses": found["responses"], "average": found["average"],
            "distribution": {str(k): v for k, v in dist.items()} if dist else None}


@blp.route("/teams/<slug>/feedback")
class TeamFeedback(MethodView):
    @blp.arguments(WindowArgsSchema, location="query")
    @blp.response(200, SummarySchema)
    def get(self, args: dict[str, Any], slug: str) -> dict[str, Any]:
        """Figures over a window (default the last 90 days), per service, and the owners' public answers.

        Averages and distributions are null unless at least 5 different people gave the ratings behind them."""
        session = get_session()
        team = services.get_team(session, slug)
        until = _aware(args.get("until"), datetime.now(UTC))
        since = _aware(args.get("since"), until - DEFAULT_WINDOW)
        if since >= until:
            raise feedback.InvalidFeedback("Invalid input: since: must be before until",
                                           {"since": ["must be before until"]})
        return {
            "since": since.isoformat(), "until": until.isoformat(),
            **_figure(feedback.summary(session, team, since, until)),
            "services": [{"name": part["key"], **_figure(part)}
                         for part in feedback.breakdown(session, team, since, until, by="service")],
            "answers": [{"said": a.said, "did": a.did, "created_at": a.created_at.isoformat(timespec="seconds")}
                        for a in feedback.answers(session, team)],
        }

    @blp.arguments(FeedbackSchema)
    @blp.response(201, GivenSchema)
    @blp.doc(security=[{"bearerAuth": []}])
    @blp.alt_response(401, schema="Error")
    @blp.alt_response(403, schema="Error")
    @blp.alt_response(429, schema="Error")
    def post(self, data: dict[str, Any], slug: str) -> dict[str, Any]:
        """Rate the team, 1 to 5, as yourself: a signed-in session or a token made for a person.

        Owners cannot rate their own team; at most 10 feedback writes per person an hour. A rating
        of 1 or 2, or a complaint, opens a follow-up for the owners, shown to you on /me/feedback."""
        actor = require_writer()
        session = get_session()
        team = services.get_team(session, slug)
        given = feedback.give_feedback(session, team, actor, **data, limit=current_app.config.get(
            "FEEDBACK_WRITES_PER_HOUR", feedback.WRITES_PER_HOUR))
        session.commit()
        entry = given.feedback
        follow_up = entry.follow_up
        return {
            "team": team.slug, "rating": entry.rating, "comment": entry.comment, "request_id": entry.request_id,
            "service": entry.service, "complaint": entry.complaint, "signed": entry.signed,
            "replaced": given.replaced, "rated_at": entry.rated_at.isoformat(timespec="seconds"),
            "follow_up": None if follow_up is None else {"state": follow_up.state,
                                                         "due_at": follow_up.due_at.isoformat(timespec="seconds")},
        }


@blp.route("/teams/<slug>/feedback-link")
class FeedbackLink(MethodView):
    @blp.arguments(LinkArgsSchema, location="query")
    @blp.response(200, LinkSchema)
    @blp.doc(security=[{"bearerAuth": []}])
    @blp.alt_response(403, schema="Error")
    def get(self, args: dict[str, Any], slug: str) -> dict[str, Any]:
        """Signed "How did we do?" links for one request, for the team's own tools to send (owners,
        administrators and operator tokens with write scope)."""
        actor = require_writer()
        session = get_session()
        team = services.get_team(session, slug)
        if not actor.may_edit(team.data):
            raise Forbidden("Only the team's owners, administrators and operator tokens make feedback links.")
        return feedback_links(team.id, team.slug, args["request_id"])


def feedback_links(team_id: int, slug: str, request_id: str) -> dict[str, Any]:
    page = site_url() + url_for("feedback_pages.give", slug=slug)
    return feedback.signed_links(current_app.config["SECRET_KEY"], team_id, page, request_id)
