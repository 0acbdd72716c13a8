"""The quarter's recognition and survey results as JSON: the same figures as the pages."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, fields

from api.common import Blueprint, require_read
from directory import recognition, surveys
from directory.db import get_session
from directory.errors import NotFound
from directory.models import utcnow

blp = Blueprint("recognition_api", __name__, description="Recognition per quarter and survey results.")


@blp.before_request
def _guard() -> None:
    require_read()


class QuarterArgsSchema(Schema):
    quarter = fields.String(metadata={"description": "like 2026-Q4; the current quarter by default",
                                      "example": "2026-Q4"})


class ReplySchema(Schema):
    measured = fields.Integer(metadata={"example": 42})
    kept = fields.Integer(metadata={"example": 40})
    kept_ratio = fields.Float(allow_none=True, metadata={"example": 0.9524})


class RatingSchema(Schema):
    average = fields.Float(allow_none=True, metadata={"example": 4.33})
    people = fields.Integer(metadata={"example": 7})
    source = fields.String(allow_none=True, metadata={"description": "survey or feedback", "example": "survey"})


class RecognisedTeamSchema(Schema):
    slug = fields.String()
    name = fields.String()
    department = fields.String()
    rank = fields.Integer(metadata={"description": "within the department; recognised teams only"})
    recognised = fields.Boolean()
    reasons = fields.List(fields.String(), metadata={"description": "why the team was not recognised"})
    reply = fields.Nested(ReplySchema)
    rating = fields.Nested(RatingSchema)


class RuleSchema(Schema):
    min_measured = fields.Integer()
    min_kept_ratio = fields.Float()
    min_rating = fields.Float()
    min_raters = fields.Integer()
    text = fields.String()


class RecognisedDepartmentSchema(Schema):
    name = fields.String()
    teams = fields.List(fields.Nested(RecognisedTeamSchema))


class RecognitionSchema(Schema):
    quarter = fields.String(metadata={"example": "2026-Q4"})
    since = fields.String()
    until = fields.String()
    previous_quarter = fields.String()
    next_quarter = fields.String()
    rule = fields.Nested(RuleSchema)
    sources = fields.Dict(keys=fields.String(), values=fields.Boolean())
    departments = fields.List(fields.Nested(RecognisedDepartmentSchema))
    considered = fields.List(fields.Nested(RecognisedTeamSchema))


class ComparisonRowSchema(Schema):
    key = fields.String()
    name = fields.String()
    department = fields.String()
    people = fields.Integer()
    responsiveness = fields.Float(allow_none=True)
    clarity = fields.Float(allow_none=True)
    helpfulness = fields.Float(allow_none=True)
    overall = fields.Float(allow_none=True)
    previous_people = fields.Integer()
    previous_overall = fields.Float(allow_none=True)
    change = fields.Float(allow_none=True)


class RoundSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    open = fields.Boolean()


class SurveyResultsSchema(Schema):
    round = fields.Nested(RoundSchema)
    previous_round = fields.Nested(RoundSchema, allow_none=True)
    floor = fields.Integer(metadata={"example": 5})
    parameters = fields.List(fields.String())
    teams = fields.List(fields.Nested(ComparisonRowSchema))
    departments = fields.List(fields.Nested(ComparisonRowSchema))


@blp.route("/recognition")
class Recognition(MethodView):
    @blp.arguments(QuarterArgsSchema, location="query")
    @blp.response(200, RecognitionSchema)
    @blp.alt_response(422, schema="Error")
    def get(self, args: dict[str, Any]) -> Any:
        """Teams that kept their promises and were rated highest in the quarter, by department, with
        the rule that chose them, the figures behind each, and every team's figures and reasons."""
        try:
            return recognition.recognise(get_session(), args.get("quarter") or recognition.quarter_of(utcnow()))
        except recognition.InvalidQuarter as refused:
            abort(422, message=refused.message, errors={"quarter": refused.errors["quarter"]})


@blp.route("/surveys/<int:round_id>/results")
class SurveyResults(MethodView):
    @blp.response(200, SurveyResultsSchema)
    @blp.alt_response(404, schema="Error")
    def get(self, round_id: int) -> Any:
        """One survey round per team and department beside the previous round; averages are null
        where fewer than 5 different people contributed (the anonymity floor)."""
        session = get_session()
        try:
            survey = surveys.get_round(session, round_id)
        except NotFound as missing:
            abort(404, message=missing.message)
        return surveys.comparison(session, survey)
