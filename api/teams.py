"""Teams: list, read, create, replace, patch, archive, revisions and restore, status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, jsonify, url_for
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, fields
from sqlalchemy import func, select

from api.cache import LRUCache
from api.common import (
    AtArgsSchema,
    Blueprint,
    check_json_body,
    refuse_wildcard_if_match,
    require_read,
    require_writer,
    resolve_at,
    site_url,
)
from api.schemas import TeamPatchSchema, TeamQueryArgsSchema
from directory import auth, facts, queries, services, team_documents
from directory.contacts import normalize_address
from directory.db import get_db, get_session
from directory.models import Revision, Team, TeamTag
from directory.schemas import TEAM_FIELDS, DumpedTeam, TeamSchema, canonical_team, load_team
from directory.search_sync import get_search
from directory.text import storable

blp = Blueprint("teams", __name__, description="Teams: what they help with, their hours and turnaround.")


def _documents() -> LRUCache[tuple[int, int, str], DumpedTeam]:
    """Dumped documents by (team, version, site), per app (see directory.team_documents)."""
    return current_app.extensions["directory_documents"]


@blp.before_request
def _guard() -> None:
    require_read()
    check_json_body()


def etag_data(team: Team) -> dict[str, Any]:
    return {"team": team.id, "version": team.version}


def _team_for_read(slug: str) -> Team:
    """Archived teams stay retrievable (and restorable) by administrators only."""
    actor = auth.current_actor()
    return services.get_team(get_session(), slug, include_archived=bool(actor and actor.is_admin))


class RevisionSummarySchema(Schema):
    number = fields.Integer(metadata={"example": 3})
    action = fields.String(metadata={"example": "update",
                                     "description": "create, update, import, review, restore, archive, or "
                                                    "repair (text no database can store, fixed on upgrade)"})
    author = fields.String(metadata={"example": "alice@example.com"})
    note = fields.String(allow_none=True)
    created_at = fields.String(metadata={"example": "2026-11-20T10:12:00+00:00"})
    team = fields.Nested(TeamSchema, metadata={"description": "the whole team as saved in this revision"})


class StatusServiceSchema(Schema):
    name = fields.String()
    done_by = fields.String(allow_none=True, metadata={"example": "2026-11-26T11:00:00+00:00"})
    done_by_text = fields.String(allow_none=True, metadata={"example": "Thu 26 Nov at 11:00"})


class ClosedReasonSchema(Schema):
    kind = fields.String(metadata={"description": "holiday or closure", "example": "holiday"})
    name = fields.String(allow_none=True, metadata={"description": "the holiday's name or the closure's reason",
                                                    "example": "Christmas Day"})
    date = fields.String(metadata={"description": "the local date it applies from", "example": "2026-12-25"})


class ActiveNoticeSchema(Schema):
    message = fields.String(metadata={"example": "Reduced capacity this week: replies may take a day longer."})
    level = fields.String(metadata={"description": "info or warning", "example": "warning"})
    starts = fields.String(metadata={"example": "2026-11-30"})
    ends = fields.String(allow_none=True, metadata={"description": "null: until removed", "example": "2026-12-04"})
    starts_at = fields.String(metadata={"description": "the instant it started", "example": "2026-11-30T00:00:00+00:00"})
    ends_at = fields.String(allow_none=True, metadata={"description": "the instant it ends (exclusive), or null",
                                                       "example": "2026-12-05T00:00:00+00:00"})


class StatusSchema(Schema):
    open = fields.Boolean(metadata={"example": True})
    next_open = fields.String(allow_none=True, metadata={"example": None})
    next_close = fields.String(allow_none=True, metadata={"example": "2026-11-24T17:30:00+00:00"})
    reply_by = fields.String(allow_none=True, metadata={"example": "2026-11-24T13:30:00+00:00"})
    services = fields.List(fields.Nested(StatusServiceSchema))
    closed_reason = fields.Nested(
        ClosedReasonSchema, allow_none=True,
        metadata={"description": "why the team is closed, when a public holiday or closure is the cause; "
                                 "null when open or closed as usual (nights, weekends)"})
    at = fields.String(metadata={"description": "the instant answered for"})
    timezone = fields.String(metadata={"example": "Europe/London"})
    text = fields.Dict(metadata={"description": "the same facts in words: badge (with the reason when a holiday or "
                                                "closure keeps the team closed), badge_zoned (naming the team's zone), "
                                                "reply, and the reader's versions",
                                 "example": {"badge": "Open until 17:30", "reply": "Reply expected by Tue 24 Nov, 13:30"}})
    notices = fields.List(fields.Nested(ActiveNoticeSchema),
                          metadata={"description": "the team's notices active at `at` (CONTRACT §1 notices)"})


def _revision_json(revision: Revision) -> dict[str, Any]:
    return {
        "number": revision.number, "action": revision.action, "author": revision.author, "note": revision.note,
        "created_at": revision.created_at.isoformat(timespec="seconds"), "team": revision.data,
    }


@blp.route("/teams")
class Teams(MethodView):
    @blp.arguments(TeamQueryArgsSchema, location="query")
    @blp.response(200, TeamSchema(many=True))
    @blp.paginate(page_size=100, max_page_size=100)
    def get(self, args: dict[str, Any], pagination_parameters: Any) -> list[dict[str, Any]]:
        """List teams, by name, with filters."""
        session = get_session()
        stmt = select(Team)
        actor = auth.current_actor()
        if not (args.get("include_archived") and actor and actor.is_admin):
            stmt = stmt.where(Team.archived_at.is_(None))
        if args.get("department"):
            stmt = stmt.where(func.lower(Team.department) == args["department"].strip().lower())
        if args.get("tag"):
            stmt = stmt.where(Team.id.in_(select(TeamTag.team_id).where(TeamTag.tag == args["tag"].strip().lower())))
        if args.get("q"):
            stmt = stmt.where(Team.name.ilike(f"%{args['q'].strip()}%"))
        if args.get("open_now") is not None:
            open_ids = get_search().open_now.open_ids(session, resolve_at(None, "UTC"))
            stmt = stmt.where(Team.id.in_(open_ids) if args["open_now"] else Team.id.not_in(open_ids))
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        pagination_parameters.item_count = total
        if pagination_parameters.first_item >= total:
            return []
        page = stmt.order_by(Team.name, Team.id).offset(pagination_parameters.first_item).limit(
            pagination_parameters.page_size)
        base = site_url()
        return [services.team_document(t, base) for t in session.scalars(page)]

    @blp.arguments(TeamSchema, as_kwargs=False)
    @blp.response(201, TeamSchema, headers={"Location": {"description": "the new team's API URL",
                                                         "schema": {"type": "string"}}})
    @blp.doc(security=[{"bearerAuth": []}])
    @blp.alt_response(401, schema="Error")
    @blp.alt_response(403, schema="Error")
    @blp.alt_response(409, schema="Error")
    @blp.alt_response(415, schema="Error")
    def post(self, data: dict[str, Any]) -> Any:
        """Create a team (administrators and operator tokens)."""
        actor = require_writer()
        session = get_session()
        team = services.create_team(session, canonical_team(data), actor)
        session.commit()
        blp.set_etag(etag_data(team))
        return _saved(team), 201, {
            "Location": url_for("teams.TeamBySlug", slug=team.slug, _external=True)}


def _saved(team: Team) -> Any:
    """The saved team as a read shows it, plus `warnings` when it lists an address that another team
    answers for: the save stands, but its editor should know whose auto-replies that mail gets."""
    doc = services.team_document(team, site_url())
    warnings = services.address_warnings(get_session(), team)
    if not warnings:
        return doc
    return jsonify({**TeamSchema().dump(doc), "warnings": warnings})


def _save(slug: str, document_for: Callable[[Team], dict[str, Any]]) -> Any:
    """A conditional write: the If-Match ETag must name the version being replaced."""
    actor = require_writer()
    session = get_session()
    team = _team_for_read(slug)
    refuse_wildcard_if_match()
    blp.check_etag(etag_data(team))
    services.update_team(session, team, document_for(team), actor, expected_version=team.version)
    session.commit()
    blp.set_etag(etag_data(team))
    return _saved(team)


@blp.route("/teams/<slug>")
class TeamBySlug(MethodView):
    @blp.etag
    @blp.response(200, TeamSchema)
    @blp.alt_response(404, schema="Error")
    def get(self, slug: str) -> DumpedTeam:
        """One team, with an ETag for conditional writes."""
        actor = auth.current_actor()
        include_archived = bool(actor and actor.is_admin)
        if not storable(slug):
            abort(404, message=f"No team with the slug {slug!r}.")
        with get_db().engine.connect() as connection:  # the hot path: no ORM session for a cache hit
            head = queries.team_head(connection, slug)
        if head is None:
            moved_to = services.current_slug(get_session(), slug)
            if moved_to is not None:
                raise services.SlugMoved(slug, moved_to)
        if head is None or (head.archived_at is not None and not include_archived):
            abort(404, message=f"No team with the slug '{slug}'.")
        blp.set_etag({"team": head.id, "version": head.version})
        return team_documents.team_document(_documents(), get_session, head.id, head.version, site_url())

    @blp.etag
    @blp.arguments(TeamSchema, as_kwargs=False)
    @blp.response(200, TeamSchema)
    @blp.doc(security=[{"bearerAuth": []}])
    @blp.alt_response(401, schema="Error")
    @blp.alt_response(403, schema="Error")
    @blp.alt_response(404, schema="Error")
    @blp.alt_response(409, schema="Error")
    def put(self, data: dict[str, Any], slug: str) -> dict[str, Any]:
        """Replace a team; send back the ETag you read in If-Match (`*` is refused with 428).

        The answer adds `warnings` when the team lists an e-mail address another team answers for.
        """
        return _save(slug, lambda team: canonical_team(data))

    @blp.etag
    @blp.arguments(TeamPatchSchema(partial=TEAM_FIELDS), as_kwargs=False)
    @blp.response(200, TeamSchema)
    @blp.doc(security=[{"bearerAuth": []}])
    @blp.alt_response(401, schema="Error")
    @blp.alt_response(403, schema="Error")
    @blp.alt_response(404, schema="Error")
    @blp.alt_response(409, schema="Error")
    def patch(self, data: dict[str, Any], slug: str) -> dict[str, Any]:
        """Change some fields of a team; the others stay as they are."""
        writable = {name for name, field in TeamSchema().fields.items() if not field.dump_only}
        return _save(slug, lambda team: load_team({**team.data, **{k: v for k, v in data.items() if k in writable}}))

    @blp.etag
    @blp.response(204)
    @blp.doc(security=[{"bearerAuth": []}])
    @blp.alt_response(401, schema="Error")
    @blp.alt_response(403, schema="Error")
    @blp.alt_response(404, schema="Error")
    def delete(self, slug: str) -> None:
        """Archive a team: it leaves lists and search; its data and history are kept."""
        actor = require_writer()
        session = get_session()
        team = _team_for_read(slug)
        refuse_wildcard_if_match()
        blp.check_etag(etag_data(team))
        services.archive_team(session, team, actor, expected_version=team.version)
        session.commit()


@blp.route("/teams/<slug>/revisions")
class Revisions(MethodView):
    @blp.response(200, RevisionSummarySchema(many=True))
    @blp.alt_response(404, schema="Error")
    def get(self, slug: str) -> list[dict[str, Any]]:
        """Every saved version of the team, newest first."""
        team = _team_for_read(slug)
        return [_revision_json(r) for r in queries.revisions(get_session(), team.id)]


MAX_REVISION = 2**31 - 1


@blp.route("/teams/<slug>/revisions/<int:number>")
class RevisionByNumber(MethodView):
    @blp.response(200, RevisionSummarySchema)
    @blp.alt_response(404, schema="Error")
    def get(self, slug: str, number: int) -> dict[str, Any]:
        """One saved version of the team."""
        team = _team_for_read(slug)
        if number > MAX_REVISION:
            abort(404, message=f"{team.name} has no revision {number}.")
        revision = queries.revision(get_session(), team.id, number)
        if revision is None:
            abort(404, message=f"{team.name} has no revision {number}.")
        return _revision_json(revision)


@blp.route("/teams/<slug>/revisions/<int:number>/restore")
class RestoreRevision(MethodView):
    @blp.etag
    @blp.response(200, TeamSchema)
    @blp.doc(security=[{"bearerAuth": []}])
    @blp.alt_response(401, schema="Error")
    @blp.alt_response(403, schema="Error")
    @blp.alt_response(404, schema="Error")
    def post(self, slug: str, number: int) -> dict[str, Any]:
        """Make an earlier version current again, as a new revision. If-Match is honoured when sent."""
        actor = require_writer()
        session = get_session()
        team = _team_for_read(slug)
        if number > MAX_REVISION:
            abort(404, message=f"{team.name} has no revision {number}.")
        blp.check_if_match(etag_data(team))
        services.restore_revision(session, team, number, actor, expected_version=team.version)
        session.commit()
        blp.set_etag(etag_data(team))
        return services.team_document(team, site_url())


@blp.route("/teams/<slug>/review")
class Review(MethodView):
    @blp.etag
    @blp.response(200, TeamSchema)
    @blp.doc(security=[{"bearerAuth": []}])
    @blp.alt_response(401, schema="Error")
    @blp.alt_response(403, schema="Error")
    @blp.alt_response(404, schema="Error")
    def post(self, slug: str) -> dict[str, Any]:
        """Mark the team's page as reviewed today (sets `last_reviewed`)."""
        actor = require_writer()
        session = get_session()
        team = _team_for_read(slug)
        blp.check_if_match(etag_data(team))
        services.mark_reviewed(session, team, actor, resolve_at(None, team.timezone).date())
        session.commit()
        blp.set_etag(etag_data(team))
        return services.team_document(team, site_url())


class TeamRefSchema(Schema):
    slug = fields.String(metadata={"example": "payroll"})
    name = fields.String(metadata={"example": "Payroll"})


class AddressSchema(Schema):
    address = fields.String(metadata={"example": "payroll@example.com"})
    listed = fields.Boolean(metadata={"description": "whether this team lists it among its contacts (a team keeps "
                                                     "answering for an address it removed until it hands it over)"})
    answered_by = fields.Nested(TeamRefSchema, allow_none=True,
                                metadata={"description": "the team whose auto-reply answers mail to the address"})
    also_listed_by = fields.List(fields.Nested(TeamRefSchema), metadata={"description": "other teams listing it"})


class AddressNoteSchema(Schema):
    address = fields.String()
    message = fields.String()
    author = fields.String()
    created_at = fields.String()


class AddressesSchema(Schema):
    addresses = fields.List(fields.Nested(AddressSchema))
    notes = fields.List(fields.Nested(AddressNoteSchema), metadata={
        "description": "only for the team's owners and administrators: other teams listing its addresses, "
                       "addresses handed over to it"})


class HandOverSchema(Schema):
    to = fields.String(load_default=None, allow_none=True, metadata={
        "description": "the slug of the team to answer for the address from now on (it must list it); null "
                       "hands it to the team that has listed it longest", "example": "payroll-queries"})


@blp.route("/teams/<slug>/addresses")
class Addresses(MethodView):
    @blp.response(200, AddressesSchema)
    @blp.alt_response(404, schema="Error")
    def get(self, slug: str) -> dict[str, Any]:
        """The team's e-mail addresses: which team's auto-reply answers each, and who else lists it."""
        session = get_session()
        team = _team_for_read(slug)
        body: dict[str, Any] = {"addresses": services.address_listing(session, team)}
        if services.may_manage_addresses(auth.current_actor(), team):
            body["notes"] = [{"address": n.address, "message": n.message, "author": n.author,
                              "created_at": n.created_at.isoformat(timespec="seconds")}
                             for n in services.address_notes(session, team)]
        return body


@blp.route("/teams/<slug>/addresses/<address>/hand-over")
class HandOverAddress(MethodView):
    @blp.arguments(HandOverSchema)
    @blp.response(200, AddressSchema)
    @blp.doc(security=[{"bearerAuth": []}])
    @blp.alt_response(401, schema="Error")
    @blp.alt_response(403, schema="Error")
    @blp.alt_response(404, schema="Error")
    @blp.alt_response(409, schema="Error")
    def post(self, data: dict[str, Any], slug: str, address: str) -> dict[str, Any]:
        """Let another team answer for an address this team answers for (its owners or an administrator)."""
        actor = require_writer()
        session = get_session()
        team = _team_for_read(slug)
        to = None
        if data.get("to"):
            try:
                to = services.get_team(session, data["to"])
            except services.SlugMoved as moved:  # an old slug in the body names the team; no redirect
                to = services.get_team(session, moved.slug)
        holder = services.hand_over_address(session, team, address, to, actor)
        session.commit()
        normal = normalize_address(address)
        entry = [a for a in services.address_listing(session, holder or team) if a["address"] == normal]
        return entry[0] if entry else {"address": normal, "listed": False, "answered_by": None, "also_listed_by": []}


@blp.route("/teams/<slug>/status")
class Status(MethodView):
    @blp.arguments(AtArgsSchema, location="query")
    @blp.response(200, StatusSchema)
    @blp.alt_response(404, schema="Error")
    def get(self, args: dict[str, Any], slug: str) -> dict[str, Any]:
        """Open now? Next opening and closing, and by when a request sent at `at` gets a reply."""
        team = _team_for_read(slug)
        at = resolve_at(args.get("at"), team.timezone)
        found = facts.team_facts(team.data, at, args.get("tz"))
        return facts.status_json(found)
