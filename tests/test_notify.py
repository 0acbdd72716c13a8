"""`directory notify` against a real SMTP server (aiosmtpd on 127.0.0.1): once, never twice, retried."""

from __future__ import annotations

import email
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select

from directory.db import get_session
from directory.models import SentNotification

TODAY = datetime.now(UTC).date()


def days_ago(n: int) -> str:
    return (TODAY - timedelta(days=n)).isoformat()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for _frm, rcpts, m in self.messages if address in rcpts]


@pytest.fixture
def smtp(app: Flask) -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_FROM="directory@example.com",
                      SITE_URL="https://directory.example")
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def teams(make_team: Callable[..., Any]) -> None:
    make_team(slug="payroll", name="Payroll", last_reviewed=days_ago(190),
              owners=["alice@example.com", "bob@example.com"])
    make_team(slug="it-help", name="IT Help", last_reviewed=days_ago(260), owners=["carol@example.com"],
              contacts=[{"kind": "email", "value": "it@example.com"}])
    make_team(slug="legal", name="Legal", last_reviewed=days_ago(10), owners=["dave@example.com"],
              contacts=[{"kind": "email", "value": "legal@example.com"}])


def text(message: Message) -> str:
    return message.get_payload(decode=True).decode()


def records(app: Flask) -> list[SentNotification]:
    with app.app_context():
        return list(get_session().scalars(select(SentNotification).order_by(SentNotification.id)))


def test_notify_sends_each_reminder_once(app: Flask, runner: Any, smtp: tuple[Inbox, int], teams: None) -> None:
    inbox, _port = smtp
    result = runner.invoke(args=["notify"])
    assert result.exit_code == 0, result.output
    assert "3 sent, 0 failed" in result.output

    assert sorted(r for _f, rcpts, _m in inbox.messages for r in rcpts) == [
        "alice@example.com", "bob@example.com", "carol@example.com"]
    (payroll,) = inbox.to("alice@example.com")
    assert payroll["Subject"] == "Please review the Payroll page in the directory"
    assert payroll["From"] == "directory@example.com"
    assert payroll["Auto-Submitted"] == "auto-generated"
    assert "https://directory.example/teams/payroll" in text(payroll)
    assert "every 180 days" in text(payroll)
    (it,) = inbox.to("carol@example.com")  # overdue at its first notice: only the overdue message
    assert it["Subject"].startswith("Overdue: the IT Help page")
    assert not inbox.to("dave@example.com")  # reviewed ten days ago

    again = runner.invoke(args=["notify"])
    assert again.exit_code == 0, again.output
    assert "0 sent, 0 failed" in again.output
    assert len(inbox.messages) == 3
    assert {(r.kind, r.status, r.attempts) for r in records(app)} == {("review_due", "sent", 1),
                                                                      ("review_overdue", "sent", 1)}


def test_due_page_later_overdue_gets_the_second_message(app: Flask, runner: Any, smtp: tuple[Inbox, int],
                                                         make_team: Callable[..., Any]) -> None:
    from directory import notify

    inbox, _port = smtp
    make_team(slug="payroll", last_reviewed=days_ago(185), owners=["alice@example.com"])
    assert runner.invoke(args=["notify"]).exit_code == 0
    assert [m["Subject"] for m in inbox.to("alice@example.com")] == ["Please review the Payroll page in the directory"]
    with app.app_context():  # 30 days on, the same cycle is overdue
        later = datetime.now(UTC) + timedelta(days=30)
        report = notify.send_due(get_session(), notify.SmtpSettings.from_config(app.config), later)
    assert [m.kind for m in report.sent] == ["review_overdue"]
    assert [m["Subject"][:8] for m in inbox.to("alice@example.com")] == ["Please r", "Overdue:"]


def test_marking_reviewed_ends_the_reminders(app: Flask, runner: Any, smtp: tuple[Inbox, int],
                                             make_team: Callable[..., Any]) -> None:
    from directory import services
    from directory.models import Revision, Team
    from tests.conftest import ADMIN

    inbox, _port = smtp
    make_team(slug="payroll", last_reviewed=days_ago(250), owners=["alice@example.com"])
    with app.app_context():
        session = get_session()
        team = session.scalar(select(Team).where(Team.slug == "payroll"))
        assert services.mark_reviewed(session, team, ADMIN, TODAY)
        session.commit()
        revision = session.scalar(select(Revision).where(Revision.team_id == team.id)
                                  .order_by(Revision.number.desc()).limit(1))
        assert (revision.action, revision.data["last_reviewed"]) == ("review", TODAY.isoformat())
    assert runner.invoke(args=["notify"]).exit_code == 0
    assert inbox.messages == []


def test_dry_run_sends_and_records_nothing(app: Flask, runner: Any, smtp: tuple[Inbox, int], teams: None) -> None:
    inbox, _port = smtp
    result = runner.invoke(args=["notify", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would send: review_due payroll to alice@example.com" in result.output
    assert "would send: review_overdue it-help to carol@example.com" in result.output
    assert "3 message(s) would be sent" in result.output
    assert inbox.messages == []
    assert records(app) == []
    assert "3 sent" in runner.invoke(args=["notify"]).output  # the dry run held nothing back
    assert len(inbox.messages) == 3


def test_smtp_down_is_reported_then_retried_and_delivered_once(app: Flask, runner: Any,
                                                                make_team: Callable[..., Any]) -> None:
    make_team(slug="payroll", last_reviewed=days_ago(190), owners=["alice@example.com"])
    port = free_port()  # nothing listens here yet
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_FROM="directory@example.com")

    down = runner.invoke(args=["notify"])
    assert down.exit_code == 1
    assert "failed (cannot reach 127.0.0.1" in down.output
    assert "0 sent, 1 failed" in down.output
    (record,) = records(app)
    assert (record.status, record.attempts, record.sent_at) == ("failed", 1, None)
    assert "cannot reach" in (record.last_error or "")
    from tests.web.conftest import sign_in

    client = app.test_client()
    sign_in(client, app, "admin@example.com", is_admin=True)
    waiting = client.get("/admin/reviews").get_data(as_text=True)
    assert "Reminders waiting for the mail server (1)" in waiting and "alice@example.com" in waiting

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        up = runner.invoke(args=["notify"])
        assert up.exit_code == 0, up.output
        assert "1 sent, 0 failed" in up.output
        assert "0 sent" in runner.invoke(args=["notify"]).output
    finally:
        controller.stop()
    assert [rcpts for _f, rcpts, _m in inbox.messages] == [["alice@example.com"]]
    (record,) = records(app)
    assert (record.status, record.attempts, record.last_error) == ("sent", 2, None)
    assert "Reminders waiting" not in client.get("/admin/reviews").get_data(as_text=True)


def test_open_ended_notice_reminds_owners_once(app: Flask, runner: Any, smtp: tuple[Inbox, int],
                                               make_team: Callable[..., Any]) -> None:
    inbox, _port = smtp
    make_team(slug="payroll", last_reviewed=days_ago(5), owners=["alice@example.com"],
              notices=[{"message": "Reduced capacity: replies take a day longer.", "starts": days_ago(20),
                        "ends": None},
                       {"message": "Fresh notice", "starts": days_ago(3), "ends": None}])
    assert runner.invoke(args=["notify"]).exit_code == 0
    (reminder,) = inbox.to("alice@example.com")
    assert reminder["Subject"] == "Is the notice on the Payroll page still true?"
    assert "Reduced capacity" in text(reminder)
    assert "0 sent" in runner.invoke(args=["notify"]).output


def test_one_rule_for_due_and_overdue() -> None:
    from directory.reviews import Policy

    rule = Policy(interval_days=180, overdue_after_days=30)
    reviewed = {"last_reviewed": "2026-01-01"}
    assert rule.due_on(reviewed) == date(2026, 6, 30)
    assert rule.state(reviewed, date(2026, 6, 29)) == "current"
    assert rule.state(reviewed, date(2026, 6, 30)) == "due"
    assert rule.state(reviewed, date(2026, 7, 30)) == "overdue"
    assert rule.state({}, date(2026, 1, 10), created=date(2026, 1, 1)) == "due"  # never reviewed: due at once
    assert rule.state({}, date(2026, 1, 31), created=date(2026, 1, 1)) == "overdue"
    assert rule.overdue_cutoffs(date(2026, 7, 30)) == ("2026-01-01", "2026-06-30")


def test_notify_and_link_records_on_each_backend(storage_url: str, tmp_path: Any) -> None:
    """The migration's tables hold on SQLite and PostgreSQL alike: once sent, never twice."""
    from directory import links, services
    from directory.schemas import load_team
    from tests.conftest import ADMIN, get_db_engine, make_app, team_doc

    app = make_app(tmp_path, DATABASE_URL=storage_url)
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_FROM="directory@example.com")
    try:
        with app.app_context():
            session = get_session()
            services.create_team(session, load_team(team_doc(last_reviewed=days_ago(200), booking={
                "method": "form", "url": f"http://127.0.0.1:{free_port()}/closed"})), ADMIN)
            session.commit()
            links.check_links(session, timeout=1)
            session.commit()
            assert [(c.ok, c.place) for c in links.broken_links(session)[1]] == [(False, "booking")]
        runner = app.test_cli_runner()
        assert "1 sent" in runner.invoke(args=["notify"]).output
        assert "0 sent" in runner.invoke(args=["notify"]).output
        assert len(inbox.messages) == 1
    finally:
        controller.stop()
        get_db_engine(app).dispose()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_signs_in_to_the_mail_server_when_told_to(app: Flask, runner: Any, make_team: Callable[..., Any]) -> None:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"directory", b"s3cret")
        return AuthResult(success=ok, handled=False)

    make_team(slug="payroll", last_reviewed=days_ago(190), owners=["alice@example.com"])
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_required=True, auth_require_tls=False, auth_exclude_mechanism=["LOGIN"])
    controller.start()
    try:
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_FROM="directory@example.com",
                          SMTP_USER="directory", SMTP_PASSWORD="wrong")
        refused = runner.invoke(args=["notify"])
        assert refused.exit_code == 1 and "SMTPAuthenticationError" in refused.output
        assert inbox.messages == []
        app.config.update(SMTP_PASSWORD="s3cret")
        assert "1 sent, 0 failed" in runner.invoke(args=["notify"]).output
        assert len(inbox.messages) == 1
    finally:
        controller.stop()


def test_an_undelivered_due_reminder_gives_way_to_the_overdue_one(app: Flask, smtp: tuple[Inbox, int],
                                                                  make_team: Callable[..., Any]) -> None:
    from directory import notify

    inbox, port = smtp
    make_team(slug="payroll", last_reviewed=days_ago(185), owners=["alice@example.com"])
    down = notify.SmtpSettings(host="127.0.0.1", port=free_port(), sender="directory@example.com")
    with app.app_context():
        session = get_session()
        assert [m.kind for m, _error in notify.send_due(session, down, datetime.now(UTC)).failed] == ["review_due"]
        up = notify.SmtpSettings(host="127.0.0.1", port=port, sender="directory@example.com")
        report = notify.send_due(session, up, datetime.now(UTC) + timedelta(days=30))
        assert [m.kind for m in report.sent] == ["review_overdue"]
        assert notify.failed_notifications(session, datetime.now(UTC) + timedelta(days=30)) == []
    assert [m["Subject"][:8] for m in inbox.to("alice@example.com")] == ["Overdue:"]
