"""Every write to a team goes through here, whoever starts it: the API, the web forms, the import.

A service takes the session and the acting person, checks the rules that need the database (unique
slug, who may edit), writes the team, records the revision and marks the
search index stale. The caller commits once; the index catches up after the commit
(`directory.search_sync`), so a rollback can never leave the index ahead of the data.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from directory import holiday_calendars, queries
from directory.contacts import normalize_address
from directory.errors import Conflict, Forbidden, InvalidTeam, NotFound, StaleVersion
from directory.models import AddressClaim, AddressNote, ContactAddress, Revision, SlugAlias, Team, TeamTag, utcnow
from directory.slugs import slugify
from directory.text import storable

CHANGED_KEY = "directory.changed_teams"
MAX_REVISION = 2**31 - 1  # the largest number an integer column holds on every backend


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in person, a token's owner, an operator's token or the CLI."""

    name: str
    email: str | None = None
    is_admin: bool = False
    can_write: bool = True

    def may_edit(self, data: dict[str, Any]) -> bool:
        if not self.can_write:
            return False
        if self.is_admin:
            return True
        return bool(self.email) and self.email.lower() in {o.lower() for o in data.get("owners") or []}


SYSTEM = Actor(name="system", is_admin=True)


def mark_changed(session: Session, team: Team) -> None:
    session.info.setdefault(CHANGED_KEY, set()).add(team.id)


class SlugMoved(NotFound):
    """The slug is one a team used to have: callers answer with a permanent redirect to `slug`.

    A NotFound, so that a caller that does not redirect still answers 404 rather than failing.
    """

    def __init__(self, old: str, slug: str) -> None:
        super().__init__(f"The team once at '{old}' is now at '{slug}'.")
        self.old, self.slug = old, slug


def current_slug(session: Session | Connection, old: str) -> str | None:
    """The slug the team now has, when `old` is a slug it used to have."""
    return session.execute(
        select(Team.slug).join(SlugAlias, SlugAlias.team_id == Team.id).where(SlugAlias.slug == old)
    ).scalar()


def get_team(session: Session, slug: str, *, include_archived: bool = False) -> Team:
    """The team with this slug; SlugMoved when it is an old slug of a team, NotFound otherwise."""
    if not storable(slug):  # no team can have it, and PostgreSQL refuses to compare NUL
        raise NotFound(f"No team with the slug {slug!r}.")
    team = session.scalar(select(Team).where(Team.slug == slug))
    if team is None:
        moved_to = current_slug(session, slug)
        if moved_to is not None:
            raise SlugMoved(slug, moved_to)
    if team is None or (team.archived and not include_archived):
        raise NotFound(f"No team with the slug '{slug}'.")
    return team


def email_addresses(data: dict[str, Any]) -> list[str]:
    """The normalised addresses a team lists: its e-mail contacts (the auto-reply's keys)."""
    found: list[str] = []
    for contact in data.get("contacts") or []:
        if contact.get("kind") == "email":
            address = normalize_address(contact["value"])
            if address and address not in found:
                found.append(address)
    return found


_OWNER = (
    select(Team.id, Team.version)
    .join(AddressClaim, AddressClaim.team_id == Team.id)
    .join(ContactAddress, (ContactAddress.team_id == Team.id) & (ContactAddress.address == AddressClaim.address))
    .where(AddressClaim.address == bindparam("address"), Team.archived_at.is_(None))
)


def address_owner_head(connection: Session | Connection, address: str) -> Row[tuple[int, int]] | None:
    """(id, version) of the team the auto-reply answers for: the team holding the address's claim
    (`AddressClaim`), while it is active and lists the address. Light enough for every incoming mail."""
    return connection.execute(_OWNER, {"address": address}).first()


def address_owner(session: Session, address: str) -> Team | None:
    head = address_owner_head(session, address)
    return None if head is None else session.get(Team, head.id)


def shared_addresses(session: Session, team: Team) -> dict[str, list[str]]:
    """For each address this team lists that other active teams list too: their names, the team
    answering for it first."""
    mine = [a.address for a in team.addresses]
    if not mine:
        return {}
    holders = _holders(session, mine)
    rows = session.execute(
        select(ContactAddress.address, Team.id, Team.name).join(Team)
        .where(ContactAddress.address.in_(mine), Team.id != team.id, Team.archived_at.is_(None))
        .order_by(ContactAddress.id)
    ).all()
    rows = sorted(rows, key=lambda row: holders.get(row.address) != row.id)  # stable: listing order otherwise
    shared: dict[str, list[str]] = {}
    for address, _team_id, name in rows:
        shared.setdefault(address, []).append(name)
    return shared


# --- who answers for an address -----------------------------------------------------------------


def _holders(session: Session, addresses: Iterable[str]) -> dict[str, int]:
    """Address -> id of the team holding its claim."""
    return dict(session.execute(
        select(AddressClaim.address, AddressClaim.team_id).where(AddressClaim.address.in_(list(addresses)))).all())


def _note(session: Session, team_id: int, address: str, message: str, actor: Actor) -> None:
    session.add(AddressNote(team_id=team_id, address=address, message=message, author=actor.name))


def _claim_addresses(session: Session, team: Team, actor: Actor, before: set[str]) -> None:
    """The first team to list an address comes to answer for it; a team that lists an address
    another team answers for changes nothing but a note to that team's owners.

    The insert does nothing when a concurrent save claimed the address first, so the database
    decides who was first and neither save fails.
    """
    listed = [a.address for a in team.addresses]
    if not listed:
        return
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for address in listed:
        session.execute(insert(AddressClaim).values(
            address=address, team_id=team.id, claimed_at=utcnow(), claimed_by=actor.name,
        ).on_conflict_do_nothing(index_elements=["address"]))
    holders = _holders(session, listed)
    for address in listed:
        holder_id = holders[address]
        if holder_id != team.id and address not in before:
            holder = session.get(Team, holder_id)
            _note(session, holder_id, address,
                  f"{address} is also listed by {team.name} ({team.slug}), added by {actor.name}. "
                  f"Auto-replies for it still come from {holder.name if holder else 'your team'}; only your "
                  f"owners or an administrator can hand it over.", actor)


def address_warnings(session: Session, team: Team) -> list[str]:
    """For the editor who saved `team`: each address it lists that another team answers for."""
    listed = [a.address for a in team.addresses]
    holders = _holders(session, listed)
    warnings = []
    for address in listed:
        holder = session.get(Team, holders[address]) if address in holders else None
        if holder is not None and holder.id != team.id:
            warnings.append(
                f"{address} is answered by {holder.name} ({holder.slug}): auto-replies for it come from "
                f"{holder.name}, not {team.name}. {holder.name}'s owners have been told it is also listed by "
                f"{team.name}; only they or an administrator can hand it over.")
    return warnings


def _next_lister(session: Session, address: str, team: Team) -> Team | None:
    """The active team other than `team` that has listed the address longest."""
    return session.scalar(
        select(Team).join(ContactAddress)
        .where(ContactAddress.address == address, Team.id != team.id, Team.archived_at.is_(None))
        .order_by(ContactAddress.id).limit(1))


def _pass_on(session: Session, claim: AddressClaim, to: Team | None, actor: Actor, why: str) -> None:
    if to is None:
        session.delete(claim)
        return
    claim.team_id, claim.claimed_at, claim.claimed_by = to.id, utcnow(), actor.name
    _note(session, to.id, claim.address, f"{to.name} now answers for {claim.address}: {why}", actor)


def _pass_on_claims(session: Session, team: Team, actor: Actor) -> None:
    """Archiving a team (an administrator's decision) hands each address it answers for to the
    team that has listed it longest, or leaves it unclaimed."""
    for claim in session.scalars(select(AddressClaim).where(AddressClaim.team_id == team.id)).all():
        _pass_on(session, claim, _next_lister(session, claim.address, team), actor,
                 f"{team.name}, which answered for it, was archived by {actor.name}.")


def may_manage_addresses(actor: Actor | None, team: Team) -> bool:
    """The team's owners and administrators (whatever a token's scope) may see its address notes."""
    if actor is None:
        return False
    return actor.is_admin or (bool(actor.email) and actor.email.lower() in
                              {o.lower() for o in team.data.get("owners") or []})


def hand_over_address(session: Session, team: Team, address: str, to: Team | None, actor: Actor) -> Team | None:
    """Change which team answers for an address `team` answers for: only its owners or an
    administrator may. `to` must list the address; None releases it to the team that has listed it
    longest (or to nobody). Returns the team that now answers for it."""
    normal = normalize_address(address)
    claim = session.get(AddressClaim, normal) if normal else None
    if claim is None:
        raise NotFound(f"No team answers for {address}.")
    if claim.team_id != team.id:
        holder = session.get(Team, claim.team_id)
        raise Conflict(f"{normal} is answered by {holder.name if holder else 'another team'}, not {team.name}.")
    if not actor.may_edit(team.data):
        raise Forbidden(f"Only {team.name}'s owners or an administrator may hand over {normal}.")
    if to is not None:
        if to.id == team.id:
            return team
        if to.archived or normal not in {a.address for a in to.addresses}:
            raise InvalidTeam(f"{to.name} does not list {normal}.",
                              {"to": [f"{to.name} must list {normal} among its e-mail contacts first"]})
    else:
        to = _next_lister(session, normal, team)
        if to is None and normal in {a.address for a in team.addresses}:
            raise InvalidTeam(f"No other team lists {normal}: name the team to answer for it, or remove it from "
                              f"{team.name}'s contacts first.", {"to": ["no other team lists this address"]})
    _pass_on(session, claim, to, actor, f"{team.name} handed it over ({actor.name}).")
    session.flush()
    return to


def address_listing(session: Session, team: Team) -> list[dict[str, Any]]:
    """The addresses `team` lists or answers for, each with who answers and who else lists it."""
    held = session.scalars(select(AddressClaim.address).where(AddressClaim.team_id == team.id)).all()
    addresses = list(dict.fromkeys([a.address for a in team.addresses] + list(held)))
    holders = _holders(session, addresses)
    listers: dict[str, list[Team]] = {}
    for address, other in session.execute(
        select(ContactAddress.address, Team).join(Team)
        .where(ContactAddress.address.in_(addresses), Team.id != team.id, Team.archived_at.is_(None))
        .order_by(ContactAddress.id)
    ).all():
        listers.setdefault(address, []).append(other)
    mine = {a.address for a in team.addresses}
    listing = []
    for address in addresses:
        holder = session.get(Team, holders[address]) if address in holders else None
        listing.append({
            "address": address,
            "listed": address in mine,
            "answered_by": None if holder is None else {"slug": holder.slug, "name": holder.name},
            "also_listed_by": [{"slug": t.slug, "name": t.name} for t in listers.get(address, [])],
        })
    return listing


def address_notes(session: Session, team: Team) -> list[AddressNote]:
    return list(session.scalars(
        select(AddressNote).where(AddressNote.team_id == team.id).order_by(AddressNote.id.desc())))


def _check_unique(session: Session, data: dict[str, Any], team_id: int | None) -> None:
    other = session.scalar(select(Team).where(Team.slug == data["slug"], Team.id != (team_id or -1)))
    if other is not None:
        raise Conflict(f"Another team already uses the slug '{data['slug']}'.",
                       {"slug": [f"'{data['slug']}' is already the slug of {other.name}"]})


def _flush_unique(session: Session, data: dict[str, Any]) -> None:
    """Flush, reporting a slug taken by a concurrent save as the same Conflict `_check_unique` gives.

    `_check_unique` cannot see a team another transaction is inserting at the same moment; the
    database's unique index is the last word, and its refusal is a conflict, not a server error.
    """
    try:
        session.flush()
    except IntegrityError as exc:
        if "slug" not in str(exc.orig).lower():
            raise
        raise Conflict(f"Another team already uses the slug '{data['slug']}'.",
                       {"slug": [f"'{data['slug']}' was taken by another team saved at the same moment"]}) from exc


def _unused_slug(session: Session, base: str) -> str:
    taken = set(session.scalars(select(Team.slug).where(Team.slug.like(f"{base}%"))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _claim_slug(session: Session, slug: str, team_id: int | None, previous: str | None) -> None:
    """Keep old links working: the previous slug becomes an alias of the team; the new slug, if it
    was an alias (of this team or another), is one no longer, since a current slug always wins."""
    for alias in session.scalars(select(SlugAlias).where(SlugAlias.slug == slug)):
        session.delete(alias)
    if previous is not None and previous != slug and team_id is not None:
        session.flush()
        session.add(SlugAlias(slug=previous, team_id=team_id))


def _apply(team: Team, data: dict[str, Any]) -> None:
    team.slug = data["slug"]
    team.name = data["name"]
    team.department = data.get("department")
    team.location = data.get("location")
    team.timezone = data.get("timezone") or "UTC"
    team.data = copy.deepcopy(data)
    wanted_tags = list(dict.fromkeys(data.get("tags") or []))
    team.tags = [t for t in team.tags if t.tag in wanted_tags]
    have = {t.tag for t in team.tags}
    team.tags.extend(TeamTag(tag=tag) for tag in wanted_tags if tag not in have)
    wanted = [] if team.archived_at else email_addresses(data)
    team.addresses = [a for a in team.addresses if a.address in wanted]
    have = {a.address for a in team.addresses}
    team.addresses.extend(ContactAddress(address=a) for a in wanted if a not in have)


def _record(session: Session, team: Team, action: str, actor: Actor, note: str | None = None) -> Revision:
    revision = Revision(
        team=team, number=team.version, action=action, author=actor.name, note=note,
        data=copy.deepcopy(team.data), created_at=team.updated_at,
    )
    session.add(revision)
    mark_changed(session, team)
    return revision


def create_team(session: Session, data: dict[str, Any], actor: Actor) -> Team:
    """Create a team from a validated document; the slug comes from the name when absent."""
    if not actor.can_write or not actor.is_admin:
        raise Forbidden("Only administrators may create teams.")
    data = dict(data)
    holiday_calendars.check_selected(session, data)
    if not data.get("slug"):
        data["slug"] = _unused_slug(session, slugify(data["name"]))
    _check_unique(session, data, None)
    _claim_slug(session, data["slug"], None, None)
    now = utcnow()
    team = Team(created_at=now, updated_at=now, data={})
    _apply(team, data)
    session.add(team)
    _flush_unique(session, data)
    _claim_addresses(session, team, actor, set())
    _record(session, team, "create", actor)
    return team


def update_team(
    session: Session,
    team: Team,
    data: dict[str, Any],
    actor: Actor,
    *,
    expected_version: int | None = None,
    action: str = "update",
    note: str | None = None,
) -> bool:
    """Replace a team's document; returns False (and records nothing) when nothing changed.

    `expected_version` is the version the editor started from: a save over a newer version is
    refused rather than silently overwriting someone else's edit.
    """
    if not actor.may_edit(team.data):
        raise Forbidden(f"You may not change {team.name}: only its owners and administrators can.")
    if expected_version is not None and expected_version != team.version:
        raise StaleVersion(
            f"{team.name} was changed by someone else (now version {team.version}, you edited version "
            f"{expected_version}). Reload to see their changes.",
            team.version,
        )
    data = dict(data)
    if not data.get("slug"):
        data["slug"] = team.slug
    if not actor.is_admin and not data.get("owners"):
        raise InvalidTeam("A team needs at least one owner.",
                          {"owners": ["only an administrator can leave a team without owners"]})
    if data == team.data and action not in {"restore", "unarchive"}:
        return False
    holiday_calendars.check_selected(session, data, team.data)
    _check_unique(session, data, team.id)
    if data["slug"] != team.slug:
        _claim_slug(session, data["slug"], team.id, team.slug)
    before = {a.address for a in team.addresses}
    team.updated_at = utcnow()
    _apply(team, data)
    _flush_unique(session, data)
    _claim_addresses(session, team, actor, before)
    _record(session, team, action, actor, note)
    return True


def archive_team(session: Session, team: Team, actor: Actor, *, expected_version: int | None = None) -> None:
    """Take a team out of lists, search and the auto-reply; its data and history are kept."""
    if not actor.can_write or not actor.is_admin:
        raise Forbidden("Only administrators may archive teams.")
    if expected_version is not None and expected_version != team.version:
        raise StaleVersion(f"{team.name} changed since you loaded it (now version {team.version}).", team.version)
    if team.archived:
        return
    _pass_on_claims(session, team, actor)
    team.archived_at = utcnow()
    team.updated_at = team.archived_at
    team.addresses = []
    session.flush()
    _record(session, team, "archive", actor)


def restore_revision(
    session: Session, team: Team, number: int, actor: Actor, *, expected_version: int | None = None
) -> Team:
    """Make an earlier version current again, as a new revision (history is never rewritten)."""
    if not 0 < number <= MAX_REVISION:  # beyond what the column holds: no such revision
        raise NotFound(f"{team.name} has no revision {number}.")
    revision = queries.revision(session, team.id, number)
    if revision is None:
        raise NotFound(f"{team.name} has no revision {number}.")
    data = copy.deepcopy(revision.data)
    data["slug"] = team.slug
    was_archived = team.archived
    if was_archived:
        if not actor.is_admin:
            raise Forbidden("Only administrators may bring back an archived team.")
        team.archived_at = None
    update_team(
        session, team, data, actor, expected_version=expected_version,
        action="restore", note=f"restored revision {number}" + (" and unarchived" if was_archived else ""),
    )
    return team


def mark_reviewed(session: Session, team: Team, actor: Actor, today: date,
                  *, expected_version: int | None = None) -> bool:
    data = dict(team.data)
    data["last_reviewed"] = today.isoformat()
    if data == team.data:
        return False
    return update_team(session, team, data, actor, expected_version=expected_version, action="review",
                       note="marked as reviewed")


def record_change_beside(session: Session, team: Team, action: str, actor: Actor, note: str) -> Revision:
    """Record a change to what the team is found by that its document does not hold (its adopted
    search terms, `directory.search_terms`) as a new version: the history shows who changed what,
    and every host's search index picks the team up through the change sequence."""
    if not actor.may_edit(team.data):
        raise Forbidden(f"You may not change {team.name}: only its owners and administrators can.")
    team.updated_at = utcnow()
    session.flush()
    return _record(session, team, action, actor, note)


def team_document(team: Team, site_url: str = "") -> dict[str, Any]:
    """The §1 document as reads return it, with the server's read-only fields added.

    A shallow copy: callers serialise it and never change the nested values.
    """
    doc = dict(team.data)
    doc["url"] = f"{site_url}/teams/{team.slug}"
    doc["api_url"] = f"{site_url}/api/v1/teams/{team.slug}"
    doc["version"] = team.version
    doc["created_at"] = _iso(team.created_at)
    doc["updated_at"] = _iso(team.updated_at)
    if team.archived:
        doc["archived"] = True
    return doc


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def import_teams(
    session: Session, records: Sequence[dict[str, Any]], actor: Actor, *, progress: Any = None
) -> ImportReport:
    """Create or update teams by slug, all or nothing: every record is checked before any write.

    `records` come from `directory.schemas.load_teams`, which has checked each document and that no two
    records share a slug, so every write below is valid; the caller commits or rolls back once.
    """
    prepared = [dict(record, slug=record.get("slug") or slugify(record["name"])) for record in records]
    existing = {t.slug: t for t in session.scalars(select(Team))}

    report = ImportReport()
    for data in prepared:
        team = existing.get(data["slug"])
        if team is None:
            create_team(session, data, actor)
            report.created.append(data["slug"])
        elif update_team(session, team, data, actor, action="import"):
            report.updated.append(data["slug"])
        else:
            report.unchanged.append(data["slug"])
        if progress is not None:
            progress(1)
    return report
