"""The responder's shared memory in the database: who was answered when, the queue of replies,
the counters. Every function takes the session; the caller commits.

Writes that several responder processes may race on are single conditional statements
(`INSERT … ON CONFLICT`, `UPDATE … WHERE`), so the database decides who wins, on SQLite and
PostgreSQL alike, without savepoints.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from directory.models import MailCounter, MailOutbox, MailSenderMemory, MailTeamSetting

__all__ = [
    "bump",
    "claim_sender",
    "counters",
    "default_period_days",
    "due_ids",
    "enqueue",
    "failures",
    "lease",
    "mark_failed",
    "mark_retry",
    "mark_sent",
    "period_days",
    "prune",
    "queue_state",
    "recent_replies",
    "set_period_days",
    "summary",
    "team_periods",
]

MAX_PERIOD_DAYS = 365


def _insert(session: Session) -> Any:
    return postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def bump(session: Session, counts: Mapping[str, int]) -> None:
    """Add to the named counters (created at zero on first use), in one statement."""
    rows = [{"name": name, "value": n} for name, n in sorted(counts.items()) if n]
    if rows:
        table = MailCounter.__table__
        statement = _insert(session)(table).values(rows)
        session.connection().execute(statement.on_conflict_do_update(
            index_elements=[table.c.name], set_={"value": table.c.value + statement.excluded.value}))


def counters(session: Session) -> dict[str, int]:
    """Every counter by name: one small table read."""
    return {name: value for name, value in session.execute(select(MailCounter.name, MailCounter.value))}


def queue_state(session: Session, now: datetime) -> dict[str, Any]:
    """Replies waiting to go out, and how long the oldest has waited (seconds), for monitoring."""
    waiting, oldest = session.execute(
        select(func.count(), func.min(MailOutbox.received_at)).where(MailOutbox.status == "queued")).one()
    return {"queued": waiting, "oldest_queued_seconds": None if oldest is None else
            round((now - oldest.replace(tzinfo=now.tzinfo)).total_seconds(), 1)}


def default_period_days(config: Mapping[str, Any]) -> int:
    """MAIL_RESPONDER_PERIOD_DAYS from the app's configuration, else the environment; 1 by default."""
    raw = config.get("MAIL_RESPONDER_PERIOD_DAYS") or os.environ.get("MAIL_RESPONDER_PERIOD_DAYS") or 1
    try:
        return min(MAX_PERIOD_DAYS, max(1, int(raw)))
    except ValueError:
        return 1


def period_days(session: Session, team_id: int, default: int) -> int:
    """How many days a sender waits between two replies from this team (its own setting, else the default)."""
    table = MailTeamSetting.__table__
    own = session.connection().execute(select(table.c.period_days).where(table.c.team_id == team_id)).scalar()
    return default if own is None else own


def set_period_days(session: Session, team_id: int, days: int | None) -> None:
    """Give a team its own period (1 to MAX_PERIOD_DAYS days), or None to return to the default."""
    setting = session.get(MailTeamSetting, team_id)
    if days is None:
        if setting is not None:
            session.delete(setting)
        return
    if not 1 <= days <= MAX_PERIOD_DAYS:
        raise ValueError(f"the period is 1 to {MAX_PERIOD_DAYS} days")
    if setting is None:
        session.add(MailTeamSetting(team_id=team_id, period_days=days))
    else:
        setting.period_days = days


def claim_sender(session: Session, team_id: int, sender: str, now: datetime, days: int) -> bool:
    """True when this team may answer this sender now, and remember that it did (RFC 5230's
    once-per-period); False when it answered them less than `days` ago.

    Of several processes asking at once for one sender, exactly one gets True: the update of an
    expired memory and the insert of a new one are each a single statement the database orders.
    """
    table, connection = MailSenderMemory.__table__, session.connection()
    renewed = connection.execute(
        update(table)
        .where(table.c.team_id == team_id, table.c.sender == sender, table.c.replied_at <= now - timedelta(days=days))
        .values(replied_at=now))
    if renewed.rowcount == 1:
        return True
    inserted = connection.execute(
        _insert(session)(table).values(team_id=team_id, sender=sender, replied_at=now)
        .on_conflict_do_nothing().returning(table.c.team_id))
    return inserted.first() is not None


def enqueue(session: Session, **fields: Any) -> int:
    """Queue one reply (its message whole, so a retry sends exactly the same bytes and Message-ID);
    its id."""
    table = MailOutbox.__table__
    return session.connection().execute(
        insert(table).values(status="queued", attempts=0, next_attempt_at=fields["received_at"], **fields)
        .returning(table.c.id)).scalar_one()


def due_ids(session: Session, now: datetime, limit: int = 20) -> list[int]:
    """Queued replies whose time has come and that no worker holds, oldest first."""
    return list(session.scalars(
        select(MailOutbox.id)
        .where(MailOutbox.status == "queued", MailOutbox.next_attempt_at <= now,
               or_(MailOutbox.leased_until.is_(None), MailOutbox.leased_until <= now))
        .order_by(MailOutbox.next_attempt_at, MailOutbox.id).limit(limit)))


def lease(session: Session, item_ids: list[int], now: datetime, seconds: float) -> list[MailOutbox]:
    """Take these queued replies for `seconds` (each counted as an attempt), in one statement;
    those another worker holds, or no longer queued, are left out. A worker that dies mid-send
    lets its lease lapse, and another sends the reply."""
    if not item_ids:
        return []
    table = MailOutbox.__table__
    taken = session.execute(
        update(table)
        .where(table.c.id.in_(item_ids), table.c.status == "queued",
               or_(table.c.leased_until.is_(None), table.c.leased_until <= now))
        .values(leased_until=now + timedelta(seconds=seconds), attempts=table.c.attempts + 1)
        .returning(table.c.id)).scalars().all()
    if not taken:
        return []
    return list(session.scalars(select(MailOutbox).where(MailOutbox.id.in_(taken)).order_by(MailOutbox.id)
                                .execution_options(populate_existing=True)))


def mark_sent(session: Session, item: MailOutbox, now: datetime) -> None:
    item.status, item.sent_at, item.leased_until, item.last_error = "sent", now, None, None
    bump(session, {"answered": 1})


def mark_retry(session: Session, item: MailOutbox, now: datetime, error: str, delay: float) -> None:
    item.next_attempt_at, item.leased_until, item.last_error = now + timedelta(seconds=delay), None, error[:1000]
    bump(session, {"relay_errors": 1})


def mark_failed(session: Session, item: MailOutbox, error: str) -> None:
    item.status, item.leased_until, item.last_error = "failed", None, error[:1000]
    bump(session, {"failed": 1, "relay_errors": 1})


def recent_replies(session: Session, team_id: int, limit: int = 20) -> list[MailOutbox]:
    """The replies last made on a team's behalf (sent, waiting or given up), newest first."""
    return list(session.scalars(
        select(MailOutbox).where(MailOutbox.team_id == team_id).order_by(MailOutbox.id.desc()).limit(limit)))


def prune(session: Session, now: datetime, keep_days: int, default_period: int) -> None:
    """Forget replies sent or given up over `keep_days` ago, and memories older than any period."""
    session.execute(delete(MailOutbox).where(
        MailOutbox.status != "queued", MailOutbox.received_at < now - timedelta(days=keep_days)))
    longest = max(default_period, session.scalar(select(func.max(MailTeamSetting.period_days))) or 0)
    session.execute(delete(MailSenderMemory).where(MailSenderMemory.replied_at < now - timedelta(days=longest)))


def summary(session: Session, now: datetime) -> dict[str, Any]:
    """What monitoring and the admin page show: outcomes so far, suppressions by reason, the queue."""
    counts = counters(session)
    return {
        "received": counts.get("received", 0),
        "queued": counts.get("queued", 0),
        "answered": counts.get("answered", 0),
        "failed": counts.get("failed", 0),
        "relay_errors": counts.get("relay_errors", 0),
        "suppressed": {name.removeprefix("suppressed:"): n for name, n in sorted(counts.items())
                       if name.startswith("suppressed:")},
        "queue": queue_state(session, now),
    }


def failures(session: Session, limit: int = 20) -> list[MailOutbox]:
    """Replies given up on, newest first, for administrators."""
    return list(session.scalars(
        select(MailOutbox).where(MailOutbox.status == "failed").order_by(MailOutbox.id.desc()).limit(limit)))


def team_periods(session: Session) -> dict[int, int]:
    """Every team's own period, by team id."""
    return {team_id: days for team_id, days in session.execute(
        select(MailTeamSetting.team_id, MailTeamSetting.period_days))}
