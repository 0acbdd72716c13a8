"""The auto-reply: what a mail system should answer someone who just wrote to a team."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Response, jsonify
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import fields, validate

from api.common import AtArgsSchema, Blueprint, require_read, resolve_at, site_url
from directory import facts, services
from directory.autoreply import normalize_address, render_auto_reply
from directory.db import get_session
from directory.models import Team

blp = Blueprint("auto_reply", __name__, description="Auto-replies for mail systems and bots.")

MAX_AGE = 300


@blp.before_request
def _guard() -> None:
    require_read()


class AutoReplyArgsSchema(AtArgsSchema):
    format = fields.String(load_default="text", validate=validate.OneOf(["text", "html", "json"]),
                           metadata={"description": "text, html or json (subject, text, html and the facts)"})


class AutoReplyByAddressArgsSchema(AutoReplyArgsSchema):
    to = fields.String(required=True, validate=validate.Length(min=3, max=500),
                       metadata={"description": "the address written to; display names and +tags are ignored",
                                 "example": '"Payroll" <Payroll+urgent@Example.com>'})


RESPONSES = {
    "description": "the auto-reply, in the format asked for (Cache-Control says how long it holds)",
    "content": {
        "text/plain": {"schema": {"type": "string"}, "example": "Hello,\n\nThanks for writing to Payroll..."},
        "text/html": {"schema": {"type": "string"}},
        "application/json": {"schema": {"type": "object", "properties": {
            "subject": {"type": "string"}, "text": {"type": "string"}, "html": {"type": "string"},
            "team": {"type": "object"}, "facts": {"type": "object"}, "template_used": {"type": "string"},
            "template_error": {"type": "string", "nullable": True}}}},
    },
}


def _max_age(found: facts.TeamFacts, explicit_at: bool) -> int:
    """Valid until the next opening or closing; a minute at most while open (reply-by moves)."""
    if explicit_at:
        return MAX_AGE
    status = found.status
    nxt: datetime | None = status["next_close"] or status["next_open"]
    limit = 60 if status["open"] else MAX_AGE
    if nxt is None:
        return limit
    return max(0, min(limit, int((nxt - found.at) / timedelta(seconds=1))))


def answer(team: Team, args: dict[str, Any]) -> Response:
    at = resolve_at(args.get("at"), team.timezone)
    found = facts.team_facts(team.data, at, args.get("tz"))
    reply = render_auto_reply(facts.reply_facts(team.data, found, f"{site_url()}/teams/{team.slug}"),
                              team.data.get("auto_reply"))
    fmt = args["format"]
    if fmt == "json":
        response = jsonify({
            "subject": reply.subject, "text": reply.text, "html": reply.html,
            "team": {"slug": team.slug, "name": team.name, "url": f"{site_url()}/teams/{team.slug}"},
            "facts": facts.status_json(found),
            "template_used": reply.template_used, "template_error": reply.template_error,
        })
    elif fmt == "html":
        response = Response(reply.html, mimetype="text/html")
    else:
        response = Response(reply.text, mimetype="text/plain")
    response.headers["X-Auto-Reply-Subject"] = reply.subject.encode("ascii", "replace").decode()
    response.headers["Cache-Control"] = f"public, max-age={_max_age(found, args.get('at') is not None)}"
    return response


@blp.route("/auto-reply")
class AutoReplyByAddress(MethodView):
    @blp.arguments(AutoReplyByAddressArgsSchema, location="query")
    @blp.doc(responses={200: RESPONSES})
    @blp.alt_response(404, schema="Error")
    def get(self, args: dict[str, Any]) -> Response:
        """The auto-reply for the team that owns this contact address."""
        address = normalize_address(args["to"])
        if address is None:
            abort(422, errors={"to": ["is not an e-mail address"]})
        team = services.address_owner(get_session(), address)
        if team is None:
            abort(404, message=f"No team has the contact address {address}.")
        return answer(team, args)


@blp.route("/teams/<slug>/auto-reply")
class AutoReplyBySlug(MethodView):
    @blp.arguments(AutoReplyArgsSchema, location="query")
    @blp.doc(responses={200: RESPONSES})
    @blp.alt_response(404, schema="Error")
    def get(self, args: dict[str, Any], slug: str) -> Response:
        """The auto-reply of one team."""
        return answer(services.get_team(get_session(), slug), args)
