"""Full-text search and search-as-you-type suggestions."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from api.common import Blueprint, require_read, resolve_at
from directory.db import get_session
from directory.models import Team
from directory.notices import active_notices
from directory.schemas import StorableString
from directory.search_sync import get_search

blp = Blueprint("search", __name__, description="Find the team from the words staff type.")


@blp.before_request
def _guard() -> None:
    require_read()


class SearchArgsSchema(Schema):
    q = StorableString(load_default="", validate=validate.Length(max=500),
                       metadata={"description": "what the person typed", "example": "laptop wont start"})
    department = fields.List(StorableString(), load_default=list, metadata={"description": "filter (repeatable)"})
    tag = fields.List(StorableString(), load_default=list, metadata={"description": "filter (repeatable)"})
    location = fields.List(StorableString(), load_default=list, metadata={"description": "filter (repeatable)"})
    open_now = fields.Boolean(load_default=False, metadata={"description": "only teams open right now"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class SearchHitSchema(Schema):
    slug = fields.String(metadata={"example": "payroll"})
    name = fields.String(metadata={"example": "Payroll"})
    summary = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    score = fields.Float(metadata={"example": 12.5})
    highlights = fields.Dict(keys=fields.String(), values=fields.String(),
                             metadata={"description": "field -> escaped HTML snippet with <mark> around matches",
                                       "example": {"summary": "Salaries, <mark>payslips</mark> and tax codes."}})
    last_reviewed = fields.String(allow_none=True, metadata={"example": "2026-11-01"})
    review_overdue = fields.Boolean(metadata={
        "description": "the page is overdue for review: ranked a little lower, and may be out of date"})
    notices = fields.List(fields.Dict(), metadata={
        "description": "the team's notices active now (message, level, starts, ends, starts_at, ends_at)"})
    match = fields.String(validate=validate.OneOf(("strong", "related")), metadata={
        "description": "strong: the team answers the query (it scores close to the best, or uses a word of "
                       "the query that few teams use); related: it only mentions some of the words. "
                       "Strong matches come first. Every team is strong when the query is empty.",
        "example": "strong"})


HIT_FIELDS = ("slug", "name", "summary", "department", "score", "highlights", "last_reviewed", "review_overdue",
              "match")


def _notices_now(hits: list[dict[str, Any]], at: Any) -> dict[int, list[dict[str, Any]]]:
    """Active notices by team id for one page of hits: read from the database at the instant asked
    (the index holds no times), only the `notices` value of each team."""
    ids = [hit["id"] for hit in hits]
    if not ids:
        return {}
    rows = get_session().execute(select(Team.id, Team.timezone, Team.data["notices"]).where(Team.id.in_(ids)))
    return {row[0]: active_notices(row[2], at, row[1]) if row[2] else [] for row in rows}


class SearchResultsSchema(Schema):
    total = fields.Integer(metadata={"example": 1})
    page = fields.Integer()
    page_size = fields.Integer()
    results = fields.List(fields.Nested(SearchHitSchema))
    facets = fields.Dict(metadata={"description": "counts per value of department, tags, location and open_now",
                                   "example": {"department": {"Finance": 3}, "open_now": {"true": 2, "false": 1}}})
    suggestion = fields.String(allow_none=True, metadata={"description": "did you mean", "example": "payroll"})
    strong = fields.Integer(allow_none=True, metadata={
        "description": "how many of the `total` teams are strong matches (listed before the others); null when "
                       "the search index is being rebuilt and results come from a plainer match",
        "example": 1})


class SuggestArgsSchema(Schema):
    q = StorableString(required=True, validate=validate.Length(min=1, max=100), metadata={"example": "payr"})
    limit = fields.Integer(load_default=8, validate=validate.Range(min=1, max=20))


class SuggestionSchema(Schema):
    slug = fields.String()
    name = fields.String()
    department = fields.String(allow_none=True)


class SuggestionsSchema(Schema):
    q = fields.String()
    suggestions = fields.List(fields.Nested(SuggestionSchema))


@blp.route("/search")
class Search(MethodView):
    @blp.arguments(SearchArgsSchema, location="query")
    @blp.response(200, SearchResultsSchema)
    def get(self, args: dict[str, Any]) -> Response:
        """Search teams by name, summary, description, services, tags and contacts."""
        filters = {key: args[key] for key in ("department", "tag", "location") if args[key]}
        at = resolve_at(None, "UTC")
        found = get_search().query(
            get_session(), args["q"], filters=filters, open_now=args["open_now"], at=at,
            page=args["page"], page_size=args["page_size"])
        notices = _notices_now(found.hits, at)
        # Already plain JSON types: serialised directly (the schema documents it) to keep search fast.
        return jsonify({
            "total": found.total, "page": found.page, "page_size": found.page_size,
            "results": [{**{key: hit[key] for key in HIT_FIELDS if key in hit}, "notices": notices.get(hit["id"], [])}
                        for hit in found.hits],
            "facets": found.facets, "suggestion": found.suggestion, "strong": found.strong,
        })


@blp.route("/search/suggest")
class Suggest(MethodView):
    @blp.arguments(SuggestArgsSchema, location="query")
    @blp.response(200, SuggestionsSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Teams whose words start with what has been typed so far, for search-as-you-type."""
        return {"q": args["q"], "suggestions": get_search().suggest(args["q"], args["limit"])}
