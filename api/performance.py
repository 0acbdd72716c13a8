"""Promises kept (CONTRACT §4): requests a team received, and how often its promises held."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from api.common import Blueprint, TimeField, check_json_body, require_read, require_writer, resolve_at
from directory import auth, performance, services
from directory.db import get_session
from directory.models import ServiceRequest, Team
from directory.schemas import StorableString

blp = Blueprint("performance", __name__, description="Promises kept: requests reported by integrations, measured.")


@blp.before_request
def _guard() -> None:
    require_read()
    check_json_body()


def _team(slug: str) -> Team:
    actor = auth.current_actor()
    return services.get_team(get_session(), slug, include_archived=bool(actor and actor.is_admin))


class RequestSchema(Schema):
    id = StorableString(required=True, validate=validate.Length(min=1, max=performance.MAX_ID_LENGTH),
                        metadata={"description": "the integration's own id of the request", "example": "INC-1042"})
    received_at = TimeField(required=True, metadata={"example": "2026-11-24T10:00:00Z"})
    first_reply_at = TimeField(allow_none=True, load_default=None, metadata={"example": "2026-11-24T11:30:00Z"})
    resolved_at = TimeField(allow_none=True, load_default=None, metadata={"example": None})
    service = StorableString(allow_none=True, load_default=None, validate=validate.Length(max=200),
                             metadata={"description": "one of the team's service names", "example": None})

    # What a POST answers besides the report, accepted and ignored, so a client may send back what it read.
    reply_by = fields.Raw(allow_none=True, metadata={"description": "read-only: ignored on write"})
    done_by = fields.Raw(allow_none=True, metadata={"description": "read-only: ignored on write"})
    revision = fields.Raw(allow_none=True, metadata={"description": "read-only: ignored on write"})

    @validates_schema
    def _not_blank(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "id" in data and not data["id"].strip():
            raise ValidationError("must not be blank", "id")

    @post_load
    def _drop_read_only(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {k: v for k, v in data.items() if k not in {"reply_by", "done_by", "revision"}}


class RecordedRequestSchema(Schema):
    id = fields.String()
    received_at = fields.String()
    first_reply_at = fields.String(allow_none=True)
    resolved_at = fields.String(allow_none=True)
    service = fields.String(allow_none=True)
    reply_by = fields.String(allow_none=True, metadata={"description": "the reply promise at received_at"})
    done_by = fields.String(allow_none=True, metadata={"description": "the service's promise at received_at"})
    revision = fields.Integer(metadata={"description": "the team's revision in force at received_at"})


class OutcomeSchema(Schema):
    measured = fields.Integer(metadata={"example": 212})
    kept = fields.Integer(metadata={"example": 200})
    kept_ratio = fields.Float(allow_none=True, metadata={"example": 0.9434})


class ServiceOutcomeSchema(Schema):
    name = fields.String()
    requests = fields.Integer()
    resolution = fields.Nested(OutcomeSchema)


class SatisfactionSchema(Schema):
    responses = fields.Integer()
    average = fields.Float(allow_none=True)


class PerformanceSchema(Schema):
    since = fields.String()
    until = fields.String()
    requests = fields.Integer()
    reply = fields.Nested(OutcomeSchema)
    resolution = fields.Nested(OutcomeSchema)
    services = fields.List(fields.Nested(ServiceOutcomeSchema))
    satisfaction = fields.Nested(SatisfactionSchema)


class WeekSchema(Schema):
    week = fields.String(metadata={"description": "the Monday of the week", "example": "2026-11-23"})
    requests = fields.Integer()
    reply = fields.Nested(OutcomeSchema)
    resolution = fields.Nested(OutcomeSchema)


class WeeklySchema(Schema):
    since = fields.String()
    until = fields.String()
    weeks = fields.List(fields.Nested(WeekSchema))


class WindowArgsSchema(Schema):
    since = TimeField(metadata={"description": "start of the window (received_at ≥ since); default until − 90 days"})
    until = TimeField(metadata={"description": "end of the window (received_at < until), and the instant judged "
                                              "as of; default now"})


class WeeklyArgsSchema(WindowArgsSchema):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


def _recorded(row: ServiceRequest, team: Team) -> dict[str, Any]:
    zone = performance.timezone_of(team.timezone)

    def local(value: datetime | None) -> str | None:
        return None if value is None else _iso(value.astimezone(zone))

    return {
        "id": row.external_id, "received_at": local(row.received_at), "first_reply_at": local(row.first_reply_at),
        "resolved_at": local(row.resolved_at), "service": row.service, "reply_by": local(row.reply_by),
        "done_by": local(row.done_by), "revision": row.revision_number,
    }


def _window(args: dict[str, Any], team: Team) -> tuple[datetime, datetime]:
    until = resolve_at(args.get("until"), team.timezone)
    since = resolve_at(args["since"], team.timezone) if args.get("since") else until - performance.DEFAULT_WINDOW
    if since >= until:
        abort(422, message="Invalid input: since: must be before until",
              errors={"since": ["must be before until"]})
    return since, until


@blp.route("/teams/<slug>/requests")
class Requests(MethodView):
    @blp.arguments(RequestSchema)
    @blp.response(201, RecordedRequestSchema)
    @blp.alt_response(200, schema=RecordedRequestSchema, description="an earlier report of the same id, updated")
    @blp.doc(security=[{"bearerAuth": []}])
    @blp.alt_response(401, schema="Error")
    @blp.alt_response(403, schema="Error")
    @blp.alt_response(404, schema="Error")
    def post(self, data: dict[str, Any], slug: str) -> Any:
        """Record a request the team received, or update the one with the same `id`.

        Its promises are those the team's page made at `received_at` (the revision then in force).
        """
        actor = require_writer()
        session = get_session()
        team = _team(slug)
        report = performance.Report(id=data["id"], received_at=data["received_at"],
                                    first_reply_at=data.get("first_reply_at"), resolved_at=data.get("resolved_at"),
                                    service=data.get("service"))
        row, created = performance.record_request(session, team, report, actor)
        session.commit()
        return _recorded(row, team), 201 if created else 200


@blp.route("/teams/<slug>/performance")
class Performance(MethodView):
    @blp.arguments(WindowArgsSchema, location="query")
    @blp.response(200, PerformanceSchema)
    @blp.alt_response(404, schema="Error")
    def get(self, args: dict[str, Any], slug: str) -> dict[str, Any]:
        """How often the team kept its promises for requests received in [since, until), judged as of until."""
        team = _team(slug)
        since, until = _window(args, team)
        return performance.performance(get_session(), team, since, until)


@blp.route("/teams/<slug>/performance/weekly")
class WeeklyPerformance(MethodView):
    @blp.arguments(WeeklyArgsSchema, location="query")
    @blp.response(200, WeeklySchema, content_type="application/json")
    @blp.doc(responses={200: {"content": {"text/csv": {
        "schema": {"type": "string"},
        "example": "week,requests,reply_measured,reply_kept,reply_kept_ratio,resolution_measured,"
                   "resolution_kept,resolution_kept_ratio\r\n2026-11-30,12,10,9,0.9,4,4,1.0\r\n"}}}})
    @blp.alt_response(404, schema="Error")
    def get(self, args: dict[str, Any], slug: str) -> Any:
        """The same figures week by week (`format=csv` for a spreadsheet)."""
        team = _team(slug)
        since, until = _window(args, team)
        weeks = performance.weekly(get_session(), team, since, until)
        if args["format"] == "csv":
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(performance.WEEKLY_CSV_COLUMNS)
            writer.writerows(["" if v is None else v for v in row] for row in performance.weekly_rows(weeks))
            return Response(out.getvalue(), mimetype="text/csv", headers={
                "Content-Disposition": f'attachment; filename="{team.slug}-performance-weekly.csv"'})
        return {"since": _iso(since), "until": _iso(until), "weeks": weeks}
