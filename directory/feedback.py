"""What colleagues say about a team: ratings, comments, concerns followed up, public answers.

Anonymity is the rule everything here keeps. A rating is stored with its rater only so that the
same person's later rating of the same request replaces the earlier one, so that one person cannot
flood a team, and so that people can see their own feedback. What leaves this module for anyone
else is either an aggregate over at least `ANONYMITY_FLOOR` different people (and, in a breakdown,
only when the rest of the total also spans none or at least that many, so that subtracting a shown
part from the total reveals nobody), or a comment without its author's name unless the author chose
to sign it. The functions for other readers return plain dicts, never rows, so no caller can reach
`rater_id` by accident.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from directory.errors import Conflict, Forbidden, Invalid, Throttled
from directory.hours import Schedule
from directory.models import (
    Feedback,
    FeedbackAnswer,
    FeedbackAudit,
    FeedbackFollowUp,
    ServiceRequest,
    Team,
    User,
    utcnow,
)
from directory.services import Actor
from directory.text import storable

ANONYMITY_FLOOR = 5  # different people behind any average or distribution that is shown
WRITES_PER_HOUR = 10  # feedback writes one person may make in an hour
FOLLOW_UP_BUSINESS_DAYS = 5  # after this long without a reply, a concern is overdue
COMMENT_MAX = 2000
ANSWER_MAX = 1000
REQUEST_ID_MAX = 200
LOW_RATING = 2  # ratings at or below it open a follow-up

STATES = ("open", "acknowledged", "replied", "resolved")
# action -> (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "acknowledge": (("open",), "acknowledged"),
    "reply": (("open", "acknowledged", "replied"), "replied"),
    "resolve": (("open", "acknowledged", "replied"), "resolved"),
}


class InvalidFeedback(Invalid):
    """Input outside what feedback accepts; `errors` names the field."""


class TooMuchFeedback(Throttled):
    """One person wrote more feedback within the hour than anyone needs to."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"You have sent {WRITES_PER_HOUR} pieces of feedback within the hour; "
                         f"try again in {math.ceil(retry_after / 60)} minutes.", retry_after)


@dataclass(frozen=True)
class Given:
    feedback: Feedback
    replaced: bool


# --------------------------------------------------------------------------- writing


def rater_for(session: Session, actor: Actor | None) -> User:
    """The person behind a write: feedback counts people, so an operator's token (naming nobody) cannot give it."""
    if actor is None:
        raise Forbidden("Sign in to give feedback.")
    user = session.scalar(select(User).where(func.lower(User.email) == actor.email.lower())) if actor.email else None
    if user is None:
        raise Forbidden("Feedback is one person's view: use a signed-in session or a token made for a person "
                        "(directory create-token --user EMAIL), not an integration's token that names nobody.")
    return user


def _is_owner(team: Team, email: str) -> bool:
    return email.lower() in {o.lower() for o in team.data.get("owners") or []}


def _text(value: Any, field: str, limit: int, errors: dict[str, list[str]]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors[field] = ["must be text or null"]
        return None
    value = value.strip()
    if not storable(value):
        errors[field] = ["contains characters that cannot be stored (NUL or lone surrogates)"]
    elif len(value) > limit:
        errors[field] = [f"must be at most {limit} characters (it has {len(value)})"]
    return value or None


def _check(team: Team, rating: Any, comment: Any, request_id: Any, service: Any) -> tuple[str | None, str | None, str | None]:
    errors: dict[str, list[str]] = {}
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        errors["rating"] = ["must be a whole number from 1 to 5"]
    comment = _text(comment, "comment", COMMENT_MAX, errors)
    request_id = _text(request_id, "request_id", REQUEST_ID_MAX, errors)
    service = _text(service, "service", 200, errors)
    if service is not None and "service" not in errors:
        names = [s.get("name") for s in team.data.get("services") or []]
        if service not in names:
            errors["service"] = [f"is not one of this team's services ({', '.join(map(str, names)) or 'it lists none'})"]
    if errors:
        raise InvalidFeedback("Invalid input: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()), errors)
    return comment, request_id, service


def _throttle(session: Session, user: User, now: datetime, limit: int) -> None:
    since = now - timedelta(hours=1)
    times = list(session.scalars(
        select(FeedbackAudit.at).where(FeedbackAudit.actor_user_id == user.id, FeedbackAudit.action.like("feedback.%"),
                                       FeedbackAudit.at > since).order_by(FeedbackAudit.at)))
    if len(times) >= limit:
        frees_at = times[len(times) - limit] + timedelta(hours=1)
        raise TooMuchFeedback(max(1, math.ceil((frees_at - now).total_seconds())))


def _audit(session: Session, actor: Actor, action: str, team: Team | None, subject: str = "",
           user: User | None = None, now: datetime | None = None) -> None:
    session.add(FeedbackAudit(at=now or utcnow(), actor=actor.email or actor.name, actor_user_id=user.id if user else None,
                              action=action, team_id=team.id if team else None, subject=subject[:200]))


def give_feedback(session: Session, team: Team, actor: Actor | None, *, rating: Any, comment: Any = None,
                  request_id: Any = None, service: Any = None, complaint: bool = False, signed: bool = False,
                  now: datetime | None = None, limit: int = WRITES_PER_HOUR) -> Given:
    """Record one person's rating; the same person's rating of the same request replaces the earlier one.

    Refuses (in this order) bad input (422), an actor who is no person or who keeps the team (403),
    and a person past the hourly limit (429); nothing is written when it refuses. A low rating or a
    complaint opens a follow-up for the owners (or reopens a resolved one). The caller commits.
    """
    now = now or utcnow()
    comment, request_id, service = _check(team, rating, comment, request_id, service)
    user = rater_for(session, actor)
    assert actor is not None
    if _is_owner(team, user.email):
        raise Forbidden("You keep this team's page: its feedback comes from the colleagues it serves, not its owners.")
    _throttle(session, user, now, limit)
    existing = None
    if request_id is not None:
        existing = session.scalar(select(Feedback).where(
            Feedback.team_id == team.id, Feedback.rater_id == user.id, Feedback.request_id == request_id))
    if service is None and request_id is not None:  # a rated request counts for its service too
        service = session.scalar(select(ServiceRequest.service).where(
            ServiceRequest.team_id == team.id, ServiceRequest.external_id == request_id))
    entry = existing or Feedback(team_id=team.id, rater_id=user.id, request_id=request_id, created_at=now)
    entry.rating, entry.comment, entry.service = rating, comment, service
    entry.complaint, entry.signed = bool(complaint), bool(signed)
    entry.rated_at = now
    if existing is None:
        session.add(entry)
    session.flush()
    if rating <= LOW_RATING or entry.complaint:
        _open_follow_up(session, team, entry, now)
    _audit(session, actor, "feedback.replace" if existing else "feedback.give", team, team.slug, user, now)
    session.flush()
    return Given(entry, existing is not None)


def follow_up_due(team: Team, opened_at: datetime, days: int = FOLLOW_UP_BUSINESS_DAYS) -> datetime:
    """`days` of the team's own business days later (its hours and holidays); Monday to Friday
    when it publishes no hours."""
    schedule = Schedule.from_team(team.data.get("hours"), team.timezone) if team.data.get("hours") else None
    due = schedule.add(opened_at, days, "business_days") if schedule is not None else None
    if due is not None:
        return due
    due, left = opened_at, days
    while left:
        due += timedelta(days=1)
        if due.weekday() < 5:
            left -= 1
    return due


def _open_follow_up(session: Session, team: Team, entry: Feedback, now: datetime) -> None:
    reason = "complaint" if entry.complaint else "low_rating"
    follow_up = entry.follow_up
    if follow_up is None:
        entry.follow_up = FeedbackFollowUp(team_id=team.id, reason=reason, state="open", opened_at=now,
                                           due_at=follow_up_due(team, now))
    elif follow_up.state == "resolved":  # a fresh concern about the same request: back to the owners
        follow_up.state, follow_up.reason, follow_up.opened_at = "open", reason, now
        follow_up.due_at = follow_up_due(team, now)
        follow_up.acknowledged_at = follow_up.replied_at = follow_up.resolved_at = None


def advance_follow_up(session: Session, team: Team, follow_up_id: int, actor: Actor | None, action: str,
                      message: str | None = None, now: datetime | None = None) -> FeedbackFollowUp:
    """Move a concern on (acknowledge, reply with a message the author reads, resolve); owners and admins only."""
    if actor is None or not actor.may_edit(team.data):
        raise Forbidden("Only the team's owners and administrators answer its feedback.")
    follow_up = session.get(FeedbackFollowUp, follow_up_id)
    if follow_up is None or follow_up.team_id != team.id:
        raise InvalidFeedback("No such follow-up for this team.", {"follow_up": ["is not one of this team's"]})
    if action not in TRANSITIONS:
        raise InvalidFeedback("Unknown action.", {"action": [f"must be one of {', '.join(TRANSITIONS)}"]})
    starts, target = TRANSITIONS[action]
    if follow_up.state not in starts:
        raise Conflict(f"This follow-up is {follow_up.state}; it cannot be {target} now.")
    errors: dict[str, list[str]] = {}
    text = _text(message, "message", COMMENT_MAX, errors)
    if action == "reply" and not text and "message" not in errors:
        errors["message"] = ["write the reply the author will read"]
    if errors:
        raise InvalidFeedback("Invalid input: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()), errors)
    now = now or utcnow()
    follow_up.state = target
    setattr(follow_up, f"{target}_at", now)
    if action == "reply":
        follow_up.reply = text
    _audit(session, actor, f"follow_up.{action}", team, f"follow-up {follow_up.id}", now=now)
    session.flush()
    return follow_up


def is_overdue(follow_up: FeedbackFollowUp, now: datetime | None = None) -> bool:
    """Overdue while nobody has replied by the due time (acknowledging alone does not address it)."""
    return follow_up.state in ("open", "acknowledged") and (now or utcnow()) >= follow_up.due_at


def publish_answer(session: Session, team: Team, actor: Actor | None, said: Any, did: Any) -> FeedbackAnswer:
    """A public "you said, we did" on the team page, in the owners' own words (never a quoted comment)."""
    if actor is None or not actor.may_edit(team.data):
        raise Forbidden("Only the team's owners and administrators answer its feedback.")
    errors: dict[str, list[str]] = {}
    said_text = _text(said, "said", ANSWER_MAX, errors)
    did_text = _text(did, "did", ANSWER_MAX, errors)
    for field, value in (("said", said_text), ("did", did_text)):
        if not value and field not in errors:
            errors[field] = ["must not be empty"]
    if errors:
        raise InvalidFeedback("Invalid input: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()), errors)
    answer = FeedbackAnswer(team_id=team.id, said=said_text, did=did_text, author=actor.email or actor.name)
    session.add(answer)
    _audit(session, actor, "answer.publish", team, team.slug)
    session.flush()
    return answer


# --------------------------------------------------------------------------- figures above the floor


def _rows(session: Session, team: Team, since: datetime, until: datetime) -> list[tuple[int, int, str | None, datetime]]:
    return [tuple(row) for row in session.execute(  # type: ignore[misc]
        select(Feedback.rater_id, Feedback.rating, Feedback.service, Feedback.rated_at)
        .where(Feedback.team_id == team.id, Feedback.rated_at >= since, Feedback.rated_at < until))]


def _figure(rows: list[tuple[int, int, Any, Any]], shown: bool = True) -> dict[str, Any]:
    """responses, and the average and distribution when at least the floor of people gave them."""
    people = {row[0] for row in rows}
    visible = shown and len(people) >= ANONYMITY_FLOOR
    ratings = [row[1] for row in rows]
    return {
        "responses": len(rows),
        "average": round(sum(ratings) / len(ratings), 2) if visible else None,
        "distribution": {n: ratings.count(n) for n in range(1, 6)} if visible else None,
    }


def satisfaction(session: Session, team: Team, since: datetime, until: datetime) -> dict[str, Any]:
    """CONTRACT §4's `satisfaction`: ratings in [since, until); the average stays null while fewer
    than `ANONYMITY_FLOOR` different people gave them."""
    figure = _figure(_rows(session, team, since, until))
    return {"responses": figure["responses"], "average": figure["average"]}


def summary(session: Session, team: Team, since: datetime, until: datetime) -> dict[str, Any]:
    """`satisfaction` with the distribution (counts of each rating), under the same floor."""
    return _figure(_rows(session, team, since, until))


def breakdown(session: Session, team: Team, since: datetime, until: datetime, by: str = "service") -> list[dict[str, Any]]:
    """Figures per service (by="service") or per calendar month in the team's zone (by="month").

    A part is shown only when its own people reach the floor and the rest of the window's ratings
    come from none or at least the floor of people: otherwise the total minus the shown part would
    give away the few ratings outside it.
    """
    rows = _rows(session, team, since, until)
    zone = ZoneInfo(team.timezone)
    groups: dict[str | None, list[tuple[int, int, Any, Any]]] = {}
    for row in rows:
        key = row[2] if by == "service" else row[3].astimezone(zone).strftime("%Y-%m")
        groups.setdefault(key, []).append(row)
    keys: Iterable[str | None]
    if by == "service":
        keys = [s.get("name") for s in team.data.get("services") or []]
    else:
        keys = sorted(k for k in groups if k is not None)
    found = []
    for key in keys:
        part = groups.get(key, [])
        rest = {row[0] for k, other in groups.items() if k != key for row in other}
        found.append({"key": key, **_figure(part, shown=len(rest) == 0 or len(rest) >= ANONYMITY_FLOOR)})
    return found


# --------------------------------------------------------------------------- what each reader sees


def comments_for_owners(session: Session, team: Team, limit: int = 100) -> list[dict[str, Any]]:
    """Comments, newest first, dated by day and without their author unless signed; never the
    rating, the request or the time of day, which the team's own records could tie to a person."""
    rows = session.execute(
        select(Feedback, User).join(User, User.id == Feedback.rater_id)
        .where(Feedback.team_id == team.id, Feedback.comment.is_not(None))
        .order_by(Feedback.rated_at.desc()).limit(limit)).all()
    return [{"comment": entry.comment, "date": entry.rated_at.date(), "complaint": entry.complaint,
             "signed_by": (user.name or user.email) if entry.signed else None,
             "follow_up_id": entry.follow_up.id if entry.follow_up else None} for entry, user in rows]


def follow_ups_for_owners(session: Session, team: Team, now: datetime | None = None) -> list[dict[str, Any]]:
    """The team's concerns, unresolved first: what was said (if anything), state and deadline, no author."""
    now = now or utcnow()
    rows = session.execute(
        select(FeedbackFollowUp, Feedback, User).join(Feedback, Feedback.id == FeedbackFollowUp.feedback_id)
        .join(User, User.id == Feedback.rater_id).where(FeedbackFollowUp.team_id == team.id)
        .order_by(FeedbackFollowUp.state == "resolved", FeedbackFollowUp.opened_at.desc())).all()
    return [{"id": f.id, "state": f.state, "reason": f.reason, "opened": f.opened_at.date(), "due_at": f.due_at,
             "overdue": is_overdue(f, now), "reply": f.reply, "comment": entry.comment,
             "signed_by": (user.name or user.email) if entry.signed else None} for f, entry, user in rows]


def own_feedback(session: Session, user_email: str, now: datetime | None = None) -> list[dict[str, Any]]:
    """A person's own feedback and the state of each concern, with the escalation path once overdue."""
    now = now or utcnow()
    rows = session.execute(
        select(Feedback, Team).join(Team, Team.id == Feedback.team_id).join(User, User.id == Feedback.rater_id)
        .where(func.lower(User.email) == user_email.lower()).order_by(Feedback.rated_at.desc())).all()
    found = []
    for entry, team in rows:
        follow_up = entry.follow_up
        found.append({
            "team": team, "rating": entry.rating, "comment": entry.comment, "request_id": entry.request_id,
            "rated_at": entry.rated_at, "signed": entry.signed, "complaint": entry.complaint,
            "follow_up": None if follow_up is None else {
                "state": follow_up.state, "due_at": follow_up.due_at, "reply": follow_up.reply,
                "overdue": is_overdue(follow_up, now),
                "escalation": team.data.get("escalation") or "Ask the team's owners, or the directory's administrators.",
            },
        })
    return found


def answers(session: Session, team: Team, limit: int = 10) -> list[FeedbackAnswer]:
    return list(session.scalars(select(FeedbackAnswer).where(FeedbackAnswer.team_id == team.id)
                                .order_by(FeedbackAnswer.created_at.desc(), FeedbackAnswer.id.desc()).limit(limit)))


def audit_log(session: Session, limit: int = 500) -> list[tuple[FeedbackAudit, str | None]]:
    """Newest writes first, with the team's slug (None once the team is gone)."""
    return [tuple(row) for row in session.execute(  # type: ignore[misc]
        select(FeedbackAudit, Team.slug).outerjoin(Team, Team.id == FeedbackAudit.team_id)
        .order_by(FeedbackAudit.at.desc(), FeedbackAudit.id.desc()).limit(limit))]


# --------------------------------------------------------------------------- "How did we do?" links


def link_signature(secret: str | bytes, team_id: int, request_id: str) -> str:
    """Binds a request id to a team, so a link's `r` cannot be changed to rate someone else's request.
    The rating in the link is only a preselection the person confirms or changes, so it is not signed."""
    key = secret.encode() if isinstance(secret, str) else secret
    message = f"feedback-link\0{team_id}\0{request_id}".encode("utf-8", "surrogatepass")
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def signed_links(secret: str | bytes, team_id: int, page_url: str, request_id: str) -> dict[str, Any]:
    """The "How did we do?" links for one request: the form, and one per preselected rating."""
    query = {"r": request_id, "sig": link_signature(secret, team_id, request_id)}
    return {"url": f"{page_url}?{urlencode(query)}",
            "ratings": {str(n): f"{page_url}?{urlencode({**query, 'rating': n})}" for n in range(1, 6)}}


def link_is_valid(secret: str | bytes, team_id: int, request_id: str | None, signature: str | None) -> bool:
    if request_id is None:
        return True  # feedback about the team in general needs no link at all
    return bool(signature) and hmac.compare_digest(link_signature(secret, team_id, request_id), str(signature))
