"""Calendars: a team's hours as an iCalendar feed, and the organisation holiday calendars teams may select."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, url_for
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from api.common import Blueprint, TimeField, require_read, resolve_at, site_url
from api.teams import _team_for_read
from directory import calendar_feed, holiday_calendars
from directory.db import get_session

blp = Blueprint("calendar", __name__, description="Calendars: team hours as iCalendar feeds, organisation holidays.")


@blp.before_request
def _guard() -> None:
    require_read()


class CalendarArgsSchema(Schema):
    at = TimeField(metadata={"description": "where the feed starts (ISO 8601; default now; without an offset, "
                                            "the team's local time)", "example": "2026-03-23T00:00:00+00:00"})
    days = fields.Integer(load_default=calendar_feed.DEFAULT_DAYS, strict=False,
                          validate=validate.Range(min=1, max=calendar_feed.MAX_DAYS,
                                                  error=f"must be between 1 and {calendar_feed.MAX_DAYS}"),
                          metadata={"description": f"how many days the feed covers (1 to {calendar_feed.MAX_DAYS})",
                                    "example": calendar_feed.DEFAULT_DAYS})


FEED_RESPONSE = {
    "description": "an iCalendar (RFC 5545) feed: one event per open period (CATEGORIES:OPEN) and per closure "
                   "or holiday (CATEGORIES:CLOSED, SUMMARY the reason or holiday name); times carry the "
                   "team's TZID with its VTIMEZONE",
    "content": {"text/calendar": {"schema": {"type": "string"},
                                  "example": "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n...\r\nEND:VCALENDAR\r\n"}},
}


@blp.route("/teams/<slug>/calendar.ics")
class TeamCalendar(MethodView):
    @blp.arguments(CalendarArgsSchema, location="query")
    @blp.doc(responses={200: FEED_RESPONSE})
    @blp.alt_response(404, schema="Error")
    @blp.alt_response(422, schema="Error")
    def get(self, args: dict[str, Any], slug: str) -> Response:
        """The team's hours, closures and holidays from `at` for `days` days, to subscribe to in a calendar app."""
        team = _team_for_read(slug)
        at = resolve_at(args.get("at"), team.timezone)
        page = site_url() + url_for("web.team", slug=team.slug)
        body = calendar_feed.build_feed(team.data, at, args["days"], stamp=datetime.now(UTC), url=page)
        response = Response(body, content_type="text/calendar; charset=utf-8")
        response.headers["Content-Disposition"] = f'inline; filename="{team.slug}.ics"'
        response.headers["Cache-Control"] = "max-age=300"
        return response


class HolidayCalendarSchema(Schema):
    name = fields.String(metadata={"description": "what a team writes in hours.holidays.calendar",
                                   "example": "org:company-days"})
    title = fields.String(metadata={"example": "Company days"})
    days = fields.Integer(metadata={"description": "how many dates it closes", "example": 12})
    first = fields.String(allow_none=True, metadata={"example": "2026-12-24"})
    last = fields.String(allow_none=True, metadata={"example": "2027-12-31"})
    version = fields.Integer(metadata={"description": "increments whenever its days change", "example": 2})


@blp.route("/holiday-calendars")
class HolidayCalendars(MethodView):
    @blp.response(200, HolidayCalendarSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """The organisation holiday calendars a team may select (administrators add them on the site)."""
        return [
            {"name": holiday_calendars.calendar_name(c.slug), "title": c.name, "days": len(c.days),
             "first": min(c.days) if c.days else None, "last": max(c.days) if c.days else None, "version": c.version}
            for c in holiday_calendars.list_calendars(get_session())
        ]
