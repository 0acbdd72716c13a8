"""What every API resource shares: errors, authorisation, pagination links and time arguments."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, g, request
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest import abort
from marshmallow import Schema, ValidationError, fields

from directory import auth, hours
from directory.schemas import StorableString
from directory.security import csrf
from directory.services import Actor

JSON_TYPES = ("application/json", "application/merge-patch+json")
# A team document nests six levels at most; far deeper bodies are refused before any schema walks them.
MAX_JSON_DEPTH = 32


class ErrorSchema(Schema):
    code = fields.String(required=True, metadata={"example": "not_found"})
    status = fields.Integer(required=True, metadata={"example": 404})
    message = fields.String(required=True, metadata={"example": "No team with the slug 'payrol'."})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"example": {"hours.weekly.mon": ["interval 1: '25:00' is not a time of day"]}})


class Blueprint(SmorestBlueprint):
    """Adds RFC 8288 `Link` headers (first, prev, next, last) beside `X-Pagination`."""

    def _set_pagination_metadata(self, page_params: Any, result: Any, headers: Any) -> Any:
        result, headers = super()._set_pagination_metadata(page_params, result, headers)
        meta = json.loads(headers[self.PAGINATION_HEADER_NAME])
        links = []
        args = request.args.to_dict()
        for rel, key in (("first", "first_page"), ("prev", "previous_page"), ("next", "next_page"),
                         ("last", "last_page")):
            if key in meta:
                args["page"] = str(meta[key])
                args["page_size"] = str(page_params.page_size)
                query = "&".join(f"{k}={_quote(v)}" for k, v in args.items())
                links.append(f'<{request.base_url}?{query}>; rel="{rel}"')
        if links:
            headers["Link"] = ", ".join(links)
        return result, headers


    def _document_pagination_metadata(self, spec: Any, resp_doc: dict[str, Any]) -> None:
        """The header carries JSON text, so it is documented as a string, beside `Link`."""
        resp_doc.setdefault("headers", {}).update({
            self.PAGINATION_HEADER_NAME: {
                "description": "JSON: total, total_pages, first_page, last_page, page, previous_page, next_page",
                "schema": {"type": "string"},
                "example": '{"total": 45, "total_pages": 3, "first_page": 1, "last_page": 3, "page": 1, "next_page": 2}',
            },
            "Link": {"description": "RFC 8288 links to the first, prev, next and last pages",
                     "schema": {"type": "string"}},
        })

    def check_if_match(self, etag_data: Any) -> None:
        """If-Match on a POST action (restore, review): optional, but honoured when sent."""
        refuse_wildcard_if_match()
        if request.if_match and self._generate_etag(etag_data) not in request.if_match:
            abort(412, message="The team changed since you read it; reload and try again.")


def refuse_wildcard_if_match() -> None:
    """`If-Match: *` matches every version, so a client sending it would overwrite edits it never
    saw: writes must name the version they replace (428, like a missing If-Match)."""
    if request.if_match.star_tag:
        abort(428, message="If-Match: * is not accepted: send the ETag of the version you read "
                           "(GET the team first), so that nobody's edit is overwritten unseen.")


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def require_read() -> None:
    if not auth.may_read():
        abort(401, message="Sign in or send a bearer token: this directory requires it for reading.")


def require_writer() -> Actor:
    """The acting person for a write, or 401/403: a token with write scope, or a session with CSRF."""
    actor = auth.current_actor()
    if actor is None:
        abort(401, message="Writes need a bearer token with write scope or a signed-in session.")
    if g.get("auth_via") == "session":
        try:
            csrf.protect()
        except Exception:
            abort(400, message="The CSRF token is missing or invalid: reload the page and try again.")
    if not actor.can_write:
        abort(403, message="This token has read scope only; writes need a token with write scope.")
    return actor


def check_json_body() -> None:
    """Writes take JSON; anything else is refused with 415 rather than read as an empty document."""
    if request.method not in {"POST", "PUT", "PATCH"}:
        return
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length and limit and request.content_length > limit:
        abort(413, message=f"The body is larger than the {limit} bytes this server accepts.")
    if request.content_length or request.data:
        mimetype = request.mimetype or ""
        if mimetype not in JSON_TYPES and not mimetype.endswith("+json"):
            abort(415, message=f"Send the body as application/json, not {mimetype or 'an unnamed type'}.")
        try:
            document = request.get_json(silent=True)
        except RecursionError:
            abort(400, message=f"The body is nested too deeply; at most {MAX_JSON_DEPTH} levels are accepted.")
        if document is None:
            abort(400, message="The body is not valid JSON.")
        if json_depth(document) > MAX_JSON_DEPTH:
            abort(400, message=f"The body is nested too deeply; at most {MAX_JSON_DEPTH} levels are accepted.")


def json_depth(document: Any) -> int:
    """How deeply arrays and objects nest in a parsed document, measured without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


class TimeField(StorableString):
    """An ISO 8601 instant; without an offset it is read in the team's own time zone."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return hours.parse_instant(text)
        except ValueError as exc:
            if "years" in str(exc):
                raise ValidationError(str(exc)) from exc
            raise ValidationError("is not an ISO 8601 date-time, e.g. 2026-11-24T09:30:00+00:00") from exc


class TimeZoneField(StorableString):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        name = super()._deserialize(value, attr, data, **kwargs).strip()
        problems = hours.validate_timezone(name)
        if problems:
            raise ValidationError(problems)
        return name


class AtArgsSchema(Schema):
    at = TimeField(metadata={"description": "the instant to answer for (ISO 8601; default now; "
                                            "without an offset, the team's local time)",
                             "example": "2026-11-24T09:30:00+00:00"})
    tz = TimeZoneField(metadata={"description": "the reader's IANA time zone, for wording in their local time",
                                 "example": "America/New_York"})


def resolve_at(at: datetime | None, timezone: str) -> datetime:
    if at is None:
        return datetime.now(UTC)
    if at.tzinfo is None:
        return at.replace(tzinfo=ZoneInfo(timezone))
    return at


def site_url() -> str:
    return current_app.config.get("SITE_URL") or request.host_url.rstrip("/")
