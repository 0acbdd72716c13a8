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


@blp.route("/recognition")
class Recognition(MethodView):
    @blp.arguments(QuarterArgsSchema, location="query")
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
