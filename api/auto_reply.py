"""The auto-reply: what a mail system should answer someone who just wrote to a team."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import fields, validate

from api.cache import LRUCache, RenderBudget
from api.common import AtArgsSchema, Blueprint, require_read, resolve_at, site_url
from directory import facts, holiday_calendars, services
from directory.autoreply import AutoReply, render_auto_reply
from directory.contacts import normalize_address
from directory.db import get_db, get_session
from directory.models import Team
from directory.schemas import StorableString

blp = Blueprint("auto_reply", __name__, description="Auto-replies for mail systems and bots.")

MAX_AGE = 300
# Renders of one team's own template per minute and process, whatever the parameters vary
# (AUTO_REPLY_RENDERS_PER_MINUTE overrides): the usual request, a reader's time zone, an instant.
RENDERS_PER_MINUTE = 3


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
            "notices": {"type": "array", "items": {"type": "object"},
                        "description": "the team's notices active at the instant (also at the top of text and html)"},
            "template_error": {"type": "string", "nullable": True},
            "template_skipped": {"type": "string", "nullable": True,
                                 "description": "why the default wording answers although the team has a "
                                                "template (it was rendered too often this minute)"}}}},
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


@dataclass(frozen=True)
class _Rendered:
    """One render of a team's reply for one minute, shared by every format asked for."""

    reply: AutoReply
    found: facts.TeamFacts
    team: dict[str, str]
    until: datetime | None  # None for an instant given explicitly: it holds as long as the version
    template_skipped: str | None = None


def _replies() -> LRUCache[tuple[Any, ...], _Rendered]:
    return current_app.extensions["directory_replies"]


def _renders() -> RenderBudget[int]:
    budget = current_app.extensions.get("directory_reply_renders")
    if budget is None:
        per_minute = int(current_app.config.get("AUTO_REPLY_RENDERS_PER_MINUTE", RENDERS_PER_MINUTE))
        budget = current_app.extensions.setdefault("directory_reply_renders", RenderBudget(per_minute))
    return budget


def _has_template(template: Any) -> bool:
    return isinstance(template, dict) and any(
        isinstance(template.get(part), str) and template[part].strip() for part in ("subject", "body"))


def answer(team_id: int, version: int, args: dict[str, Any]) -> Response:
    """The reply for the minute asked about (`at`, else now).

    Replies are worded to the minute and hours are whole minutes, so every instant of a minute
    gets its minute's reply. One render serves every format, cached per team version, minute,
    reader time zone and site; and a team's own template is rendered at most
    AUTO_REPLY_RENDERS_PER_MINUTE times a minute per process, whatever varies: beyond that the
    default wording answers, with the same facts, uncached. So varying `at`, `tz`, `format` or
    the Host cannot make a costly template render without bound.
    """
    explicit = args.get("at") is not None
    now = datetime.now(UTC)
    if explicit:
        at = args["at"]
        asked = (at if at.tzinfo is None else at.astimezone(UTC)).replace(second=0, microsecond=0)
    else:
        asked = now.replace(second=0, microsecond=0)
    key = (team_id, version, holiday_calendars.stamp(), explicit, asked, args.get("tz"), site_url())
    rendered = _replies().get(key)
    if rendered is None or (rendered.until is not None and rendered.until <= now):
        rendered = _render(team_id, asked, explicit, args.get("tz"), now)
        if rendered.template_skipped is None:
            _replies().put(key, rendered)
    body, mimetype = _body(rendered, args["format"])
    response = Response(body, mimetype=mimetype)
    response.headers["X-Auto-Reply-Subject"] = rendered.reply.subject.encode("ascii", "replace").decode()
    if rendered.template_skipped is not None:
        response.headers["Cache-Control"] = "no-cache"
    else:
        max_age = MAX_AGE if rendered.until is None else max(0, int((rendered.until - now).total_seconds()))
        response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return response


def _render(team_id: int, asked: datetime, explicit: bool, tz: str | None, now: datetime) -> _Rendered:
    team = get_session().get(Team, team_id)
    at = resolve_at(asked, team.timezone) if explicit else asked
    found = facts.team_facts(team.data, at, tz)
    url = f"{site_url()}/teams/{team.slug}"
    template = team.data.get("auto_reply")
    skipped = None
    if _has_template(template) and not _renders().take(team_id):
        template, skipped = None, "the team's template was rendered too often this minute; default wording"
    reply = render_auto_reply(facts.reply_facts(team.data, found, url), template)
    until = None if explicit else now + timedelta(seconds=_valid_for(found, False))
    if until is not None and found.notices_change is not None:  # a notice starts or ends: the reply changes then
        until = min(until, found.notices_change.astimezone(UTC))
    return _Rendered(reply, found, {"slug": team.slug, "name": team.name, "url": url}, until, skipped)


def _body(rendered: _Rendered, fmt: str) -> tuple[bytes, str]:
    reply = rendered.reply
    if fmt == "json":
        return json.dumps({
            "subject": reply.subject, "text": reply.text, "html": reply.html, "team": rendered.team,
            "facts": facts.status_json(rendered.found), "notices": rendered.found.notices,
            "template_used": reply.template_used, "template_error": reply.template_error,
            "template_skipped": rendered.template_skipped,
        }, ensure_ascii=False).encode(), "application/json"
    if fmt == "html":
        return reply.html.encode(), "text/html"
    return reply.text.encode(), "text/plain"


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
