"""The read document of one team version, dumped once and kept: the hot read (GET a team by slug)
answers from here, through its response schema, without loading the team or dumping it again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sqlalchemy.orm import Session

from directory import services
from directory.errors import NotFound
from directory.models import Team
from directory.schemas import DumpedTeam, TeamSchema

Key = tuple[int, int, str]


class DocumentCache(Protocol):
    def get(self, key: Key) -> DumpedTeam | None: ...

    def put(self, key: Key, value: DumpedTeam) -> None: ...


def team_document(cache: DocumentCache, session: Callable[[], Session], team_id: int, version: int,
                  site_url: str) -> DumpedTeam:
    """The team's document at `version` as reads show it; a version never changes, so entries never go
    stale. `session` is called on a miss only, so a hit opens no ORM session."""
    key = (team_id, version, site_url)
    document = cache.get(key)
    if document is not None:
        return document
    team = session().get(Team, team_id)
    if team is None:
        raise NotFound(f"No team with the id {team_id}.")
    document = DumpedTeam(TeamSchema().dump(services.team_document(team, site_url)))
    if team.version == version:  # a write since the caller read the version: answer it, keep nothing
        cache.put(key, document)
    return document
