"""The auto-reply: what a mail system should answer someone who just wrote to a team."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import fields, validate

from api.cache import LRUCache
from api.common import AtArgsSchema, Blueprint, require_read, resolve_at, site_url
from api.schemas import StorableString
from directory import facts, services
from directory.autoreply import normalize_address, render_auto_reply
from directory.db import get_db, get_session
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
    to = StorableString(required=True, validate=validate.Length(min=3, max=500),
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


def _valid_for(found: facts.TeamFacts, explicit_at: bool) -> int:
    """Seconds the answer holds: until the next opening or closing, a minute at most while open
    (the reply-by time moves), five minutes at most in any case (the team may be edited)."""
    if explicit_at:
        return MAX_AGE
    status = found.status
    nxt: datetime | None = status["next_close"] or status["next_open"]
    limit = 60 if status["open"] else MAX_AGE
    if nxt is None:
        return limit
    return max(0, min(limit, int((nxt.astimezone(UTC) - found.at.astimezone(UTC)) / timedelta(seconds=1))))


def _replies() -> LRUCache[tuple[Any, ...], tuple[bytes, str, str, datetime]]:
    return current_app.extensions["directory_replies"]


def answer(team_id: int, version: int, args: dict[str, Any]) -> Response:
    """Render the reply; without `at`, "now" is the current minute and the answer is reused
    within it (and within its validity), per team version, format and reader time zone."""
    explicit = args.get("at") is not None
    now = datetime.now(UTC)
    minute = now.replace(second=0, microsecond=0)
    key = (team_id, version, minute, args["format"], args.get("tz"), site_url())
    cached = None if explicit else _replies().get(key)
    if cached is None or cached[3] <= now:
        team = get_session().get(Team, team_id)
        at = resolve_at(args["at"], team.timezone) if explicit else minute
        body, mimetype, subject, valid = _render(team, at, args)
        cached = (body, mimetype, subject, now + timedelta(seconds=valid))
        if not explicit:
            _replies().put(key, cached)
    body, mimetype, subject, until = cached
    response = Response(body, mimetype=mimetype)
    response.headers["X-Auto-Reply-Subject"] = subject
    max_age = MAX_AGE if explicit else max(0, int((until - now).total_seconds()))
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return response


def _render(team: Team, at: datetime, args: dict[str, Any]) -> tuple[bytes, str, str, int]:
    found = facts.team_facts(team.data, at, args.get("tz"))
    reply = render_auto_reply(facts.reply_facts(team.data, found, f"{site_url()}/teams/{team.slug}"),
                              team.data.get("auto_reply"))
    fmt = args["format"]
    if fmt == "json":
        body = json.dumps({
            "subject": reply.subject, "text": reply.text, "html": reply.html,
            "team": {"slug": team.slug, "name": team.name, "url": f"{site_url()}/teams/{team.slug}"},
            "facts": facts.status_json(found),
            "template_used": reply.template_used, "template_error": reply.template_error,
        }, ensure_ascii=False).encode()
        mimetype = "application/json"
    elif fmt == "html":
        body, mimetype = reply.html.encode(), "text/html"
    else:
        body, mimetype = reply.text.encode(), "text/plain"
    subject = reply.subject.encode("ascii", "replace").decode()
    return body, mimetype, subject, _valid_for(found, args.get("at") is not None)


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
        with get_db().engine.connect() as connection:
            head = services.address_owner_head(connection, address)
        if head is None:
            abort(404, message=f"No team has the contact address {address}.")
        return answer(head.id, head.version, args)


@blp.route("/teams/<slug>/auto-reply")
class AutoReplyBySlug(MethodView):
    @blp.arguments(AutoReplyArgsSchema, location="query")
    @blp.doc(responses={200: RESPONSES})
    @blp.alt_response(404, schema="Error")
    def get(self, args: dict[str, Any], slug: str) -> Response:
        """The auto-reply of one team."""
        team = services.get_team(get_session(), slug)
        return answer(team.id, team.version, args)
