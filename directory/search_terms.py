"""Search terms a team's owners adopt from the words people searched with.

Kept in their own table rather than in the team's document: integrations and imports replace
whole documents (a PUT of what an HR system knows would otherwise wipe every adopted term), the
published shape (CONTRACT §1) stays as it is, and the terms record who adopted each and when.
Every adoption or removal is still a revision of the team (`services.record_change_beside`), so the
history shows it and the search index of every host re-indexes the team through the usual sync.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from directory.errors import Forbidden, InvalidTeam, NotFound
from directory.models import Team, TeamSearchTerm
from directory.search_learning import normalise_query
from directory.services import Actor, record_change_beside

TERM_MIN, TERM_MAX = 2, 60
MAX_TERMS = 40
ACTION = "search_terms"


def terms_of(team: Team) -> list[TeamSearchTerm]:
    return sorted(team.search_terms, key=lambda t: t.term)


def clean_term(text: str | None) -> str:
    """The term as stored and searched; InvalidTeam naming the field `term` when unusable."""
    term = normalise_query(text)
    if len(term) < TERM_MIN or len(term) > TERM_MAX:
        raise InvalidTeam(f"A search term has {TERM_MIN} to {TERM_MAX} characters of words.",
                          {"term": [f"give a word or phrase of {TERM_MIN} to {TERM_MAX} characters"]})
    return term


def adopt(session: Session, team: Team, text: str | None, actor: Actor, now: datetime) -> TeamSearchTerm:
    """Adopt a word or phrase as one of the team's search terms (its owners or an administrator).

    Adopting a term the team already has changes nothing and returns it.
    """
    if not actor.may_edit(team.data):
        raise Forbidden(f"Only the owners of {team.name} and administrators may choose its search terms.")
    term = clean_term(text)
    current = terms_of(team)
    for existing in current:
        if existing.term == term:
            return existing
    if len(current) >= MAX_TERMS:
        raise InvalidTeam(f"{team.name} already has {MAX_TERMS} search terms; remove one first.",
                          {"term": [f"at most {MAX_TERMS} search terms per team"]})
    adopted = TeamSearchTerm(term=term, adopted_by=actor.email or actor.name, adopted_at=now)
    team.search_terms.append(adopted)
    record_change_beside(session, team, ACTION, actor, f"search term “{term}” adopted")
    return adopted


def remove(session: Session, team: Team, term_id: int, actor: Actor) -> str:
    """Remove one of the team's search terms; returns the term removed."""
    if not actor.may_edit(team.data):
        raise Forbidden(f"Only the owners of {team.name} and administrators may choose its search terms.")
    found = next((t for t in team.search_terms if t.id == term_id), None)
    if found is None:
        raise NotFound(f"{team.name} has no such search term.")
    term = found.term
    team.search_terms.remove(found)
    record_change_beside(session, team, ACTION, actor, f"search term “{term}” removed")
    return term
