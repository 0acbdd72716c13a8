"""The responder's shared memory, queue and retries, on SQLite and PostgreSQL, without SMTP."""

from __future__ import annotations

import smtplib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from directory import services
from directory.db import get_db, get_session
from directory.mail import store
from directory.mail.responder import Responder, Settings
from tests.conftest import ADMIN, make_app, team_doc

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def _mail_db(url: str, tmp_path: Path) -> Iterator[tuple[Flask, sessionmaker[Session], int]]:
    from directory.schemas import load_team

    app = make_app(tmp_path, DATABASE_URL=url)
    with app.app_context():
        session = get_session()
        team = services.create_team(session, load_team(team_doc()), ADMIN)
        session.commit()
        team_id = team.id
        sessions = get_db().sessionmaker
    yield app, sessions, team_id
    app.extensions["directory_db"].engine.dispose()


@pytest.fixture
def mail_db(storage_url: str, tmp_path: Path) -> Iterator[tuple[Flask, sessionmaker[Session], int]]:
    """An app on either backend (for what races or uses a backend's own SQL), its sessionmaker,
    and the id of a team with payroll@example.com."""
    yield from _mail_db(storage_url, tmp_path)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[tuple[Flask, sessionmaker[Session], int]]:
    yield from _mail_db(f"sqlite:///{tmp_path / 'directory.sqlite3'}", tmp_path)


def test_one_process_wins_when_many_claim_a_sender_at_once(mail_db: Any) -> None:
    _app, sessions, team_id = mail_db
    barrier, results = threading.Barrier(6), []

    def claim() -> None:
        with sessions() as session:
            barrier.wait()
            results.append(store.claim_sender(session, team_id, "alice@example.com", T0, 1))
            session.commit()

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True]


def test_a_team_period_of_its_own(sqlite_db: Any) -> None:
    _app, sessions, team_id = sqlite_db
    with sessions() as session:
        store.set_period_days(session, team_id, 3)
        session.commit()
        days = store.period_days(session, team_id, default=1)
        assert days == 3
        assert store.claim_sender(session, team_id, "bob@example.com", T0, days)
        assert not store.claim_sender(session, team_id, "bob@example.com", T0 + timedelta(days=2, hours=23), days)
        assert store.claim_sender(session, team_id, "bob@example.com", T0 + timedelta(days=3), days)
        assert not store.claim_sender(session, team_id, "bob@example.com", T0 + timedelta(days=4), days)
        store.set_period_days(session, team_id, None)
        session.commit()
        assert store.period_days(session, team_id, default=1) == 1
        with pytest.raises(ValueError):
            store.set_period_days(session, team_id, 0)


def test_counters_add_up_across_sessions(mail_db: Any) -> None:
    _app, sessions, _team_id = mail_db
    for _ in range(3):
        with sessions() as session:
            store.bump(session, {"received": 2, "suppressed:precedence": 1, "queued": 0})
            session.commit()
    with sessions() as session:
        assert store.counters(session) == {"received": 6, "suppressed:precedence": 3}
        assert store.summary(session, T0)["suppressed"] == {"precedence": 3}


def _queue_one(sessions: sessionmaker[Session], team_id: int, received_at: datetime = T0) -> int:
    with sessions() as session:
        item_id = store.enqueue(session, team_id=team_id, team_address="payroll@example.com",
                                recipient="a@example.com", subject="s", message_id="<m@x>", in_reply_to=None,
                                message=b"Subject: s\r\n\r\nhi\r\n", received_at=received_at)
        session.commit()
        return item_id


def test_a_lease_goes_to_one_worker_and_lapses(sqlite_db: Any) -> None:
    _app, sessions, team_id = sqlite_db
    item_id = _queue_one(sessions, team_id)
    other_id = _queue_one(sessions, team_id)
    with sessions() as first, sessions() as second:
        assert [i.id for i in store.lease(first, [item_id], T0, 60)] == [item_id]
        first.commit()
        assert [i.id for i in store.lease(second, [item_id, other_id], T0 + timedelta(seconds=30), 60)] == [other_id]
        second.commit()
        assert store.due_ids(second, T0 + timedelta(seconds=30)) == []
        assert store.due_ids(second, T0 + timedelta(seconds=91)) == [item_id, other_id]
        [taken] = store.lease(second, [item_id], T0 + timedelta(seconds=61), 60)
        assert taken.attempts == 2


class FlakyRelay:
    """A relay that raises the given errors in turn, then takes everything."""

    def __init__(self, *errors: Exception) -> None:
        self.errors, self.sent = list(errors), []

    def send(self, recipient: str, message: bytes) -> None:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append((recipient, message))


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_retries_with_backoff_then_sends_once(sqlite_db: Any) -> None:
    _app, sessions, team_id = sqlite_db
    clock = Clock()
    responder = Responder(sessions, Settings(retry_seconds=10), clock=clock)
    item_id = _queue_one(sessions, team_id)
    relay = FlakyRelay(ConnectionRefusedError("down"), smtplib.SMTPServerDisconnected("gone"))
    assert responder.deliver_due(relay) == 1  # refused: again in 10 s
    clock.now += timedelta(seconds=9)
    assert responder.deliver_due(relay) == 0
    clock.now += timedelta(seconds=1)
    assert responder.deliver_due(relay) == 1  # disconnected: again in 20 s
    clock.now += timedelta(seconds=19)
    assert responder.deliver_due(relay) == 0
    clock.now += timedelta(seconds=1)
    assert responder.deliver_due(relay) == 1
    assert len(relay.sent) == 1
    clock.now += timedelta(hours=1)
    assert responder.deliver_due(relay) == 0
    with sessions() as session:
        [item] = store.recent_replies(session, team_id)
        assert (item.id, item.status, item.attempts) == (item_id, "sent", 3)
        assert store.counters(session) == {"answered": 1, "relay_errors": 2}


def test_a_refusal_is_given_up_after_a_few_tries_and_an_outage_after_the_deadline(sqlite_db: Any) -> None:
    _app, sessions, team_id = sqlite_db
    clock = Clock()
    responder = Responder(sessions, Settings(retry_seconds=1, give_up_hours=2), clock=clock)
    refused = smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"no such user")})
    _queue_one(sessions, team_id)
    relay = FlakyRelay(*[refused] * 5)
    for _ in range(5):
        responder.deliver_due(relay)
        clock.now += timedelta(minutes=5)
    with sessions() as session:
        [item] = store.recent_replies(session, team_id)
        assert (item.status, item.attempts) == ("failed", 3)
        assert "550" in item.last_error

    _queue_one(sessions, team_id, received_at=clock.now)
    down = FlakyRelay(*[ConnectionRefusedError("down")] * 100)
    for _ in range(20):
        responder.deliver_due(down)
        clock.now += timedelta(minutes=15)
    with sessions() as session:
        latest = store.recent_replies(session, team_id)[0]
        assert latest.status == "failed" and latest.attempts < 20
        assert store.counters(session)["failed"] == 2


def test_accept_queues_the_reply_in_the_same_transaction_as_the_memory(mail_db: Any) -> None:
    _app, sessions, team_id = mail_db
    responder = Responder(sessions, Settings(site_url="https://directory.example"), clock=Clock())
    content = b"From: alice@staff.example.com\r\nSubject: hi\r\nMessage-ID: <x@y>\r\n\r\n"
    assert responder.accept("alice@staff.example.com", ["Payroll+urgent@Example.com"], content, T0) == 1
    assert responder.accept("alice@staff.example.com", ["payroll@example.com"], content, T0 + timedelta(hours=23)) == 0
    assert responder.accept("alice@staff.example.com", ["payroll@example.com"], content, T0 + timedelta(days=1)) == 1
    with sessions() as session:
        replies = store.recent_replies(session, team_id)
        assert [r.in_reply_to for r in replies] == ["<x@y>", "<x@y>"]
        assert b"https://directory.example/teams/payroll" in replies[0].message
        assert store.counters(session) == {"received": 3, "queued": 2, "suppressed:recently_answered": 1}
