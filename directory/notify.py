"""E-mail to owners whose pages come due for review or become overdue, sent by `directory notify`
(run from cron or a systemd timer) through the organisation's SMTP server.

Every message is a row in `sent_notifications`, keyed by team, kind, review cycle (the due date)
and recipient, and committed right after its send: running the job twice sends nothing twice, and
a send that failed stays `failed` and is tried again by the next run until it is delivered. A
crash between a delivery and its commit can repeat that one message: a reminder twice is better
than a reminder lost.
"""

from __future__ import annotations

import hashlib
import smtplib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from directory import notices, reviews
from directory.models import SentNotification, Team, utcnow
from directory.wording import MONTH_ABBR

KINDS = ("review_due", "review_overdue", "notice_open")


@dataclass(frozen=True)
class SmtpSettings:
    host: str = ""
    port: int = 25
    sender: str = ""
    user: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 30.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SmtpSettings:
        return cls(host=config.get("SMTP_HOST") or "", port=int(config.get("SMTP_PORT") or 25),
                   sender=config.get("SMTP_FROM") or "", user=config.get("SMTP_USER") or "",
                   password=config.get("SMTP_PASSWORD") or "", starttls=bool(config.get("SMTP_STARTTLS")),
                   timeout=float(config.get("SMTP_TIMEOUT") or 30))

    def problems(self) -> list[str]:
        return [f"{name} is not set" for name, value in (("SMTP_HOST", self.host), ("SMTP_FROM", self.sender))
                if not value]


@dataclass
class Message:
    team: Team
    kind: str
    cycle: str
    recipient: str
    subject: str
    body: str
    record: SentNotification | None = None  # an earlier failed attempt, retried


@dataclass
class Report:
    sent: list[Message] = field(default_factory=list)
    failed: list[tuple[Message, str]] = field(default_factory=list)
    pending: list[Message] = field(default_factory=list)


def format_date(day: date) -> str:
    return f"{day.day} {MONTH_ABBR[day.month - 1]} {day.year}"


def _page_url(site_url: str, team: Team) -> str:
    return f"{site_url.rstrip('/')}/teams/{team.slug}"


def _review_message(team: Team, item: reviews.TeamReview, kind: str, rule: reviews.Policy,
                    site_url: str) -> tuple[str, str]:
    reviewed = f"was last reviewed on {format_date(item.reviewed)}" if item.reviewed else "has never been reviewed"
    due = format_date(item.due_on) if item.due_on else "now"
    if kind == "review_due":
        subject = f"Please review the {team.name} page in the directory"
        lead = f"The {team.name} page {reviewed}, and pages are reviewed every {rule.interval_days} days: it came due on {due}."
    else:
        subject = f"Overdue: the {team.name} page in the directory needs a review"
        lead = (f"The {team.name} page {reviewed}; its review has been due since {due}. Until it is reviewed, "
                "search shows it a little lower and says it may be out of date.")
    body = (f"{lead}\n\nColleagues rely on its hours, contacts and booking details. Please check them, correct "
            f"what changed, and press \"Mark as reviewed\":\n\n    {_page_url(site_url, team)}\n\n"
            "You receive this because you are listed as an owner of the page.\n")
    return subject, body


def due_messages(session: Session, now: datetime, site_url: str = "") -> list[Message]:
    """Every message that should have gone out by `now` and has not been delivered yet."""
    today = now.astimezone(UTC).date()
    rule = reviews.policy(session)
    teams = list(session.scalars(select(Team).where(Team.archived_at.is_(None)).order_by(Team.name)))
    records = {(r.team_id, r.kind, r.cycle, r.recipient.lower()): r
               for r in session.scalars(select(SentNotification))}
    messages = []

    def add(team: Team, kind: str, cycle: str, recipient: str, subject: str, body: str) -> None:
        record = records.get((team.id, kind, cycle, recipient.lower()))
        if record is None or record.status != "sent":
            messages.append(Message(team, kind, cycle, recipient, subject, body, record))

    for item in reviews.reviews_of(teams, today, rule):
        if item.state == "current":
            continue
        cycle = item.due_on.isoformat() if item.due_on else "never"
        for recipient in item.owners:
            # An overdue page gets the overdue message only (an undelivered "due" one is moot by then).
            if item.state == "due":
                subject, body = _review_message(item.team, item, "review_due", rule, site_url)
                add(item.team, "review_due", cycle, recipient, subject, body)
            if item.state == "overdue":
                subject, body = _review_message(item.team, item, "review_overdue", rule, site_url)
                add(item.team, "review_overdue", cycle, recipient, subject, body)
    for team in teams:
        for notice in notices.reminders_due(team.data.get("notices"), now, team.timezone or "UTC"):
            text = str(notice.get("message") or "").strip()
            digest = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:12]
            cycle = f"{str(notice.get('starts'))[:16]}:{digest}"
            subject = f"Is the notice on the {team.name} page still true?"
            body = (f"Since {notice.get('starts')}, the {team.name} page shows this notice, with no end date:\n\n"
                    f"    {text}\n\nIf it no longer applies, remove it or give it an end:\n\n"
                    f"    {_page_url(site_url, team)}/edit\n")
            for recipient in reviews.recipients(team.data):
                add(team, "notice_open", cycle, recipient, subject, body)
    return messages


def compose(message: Message, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: auto-responders must not answer it
    email.set_content(message.body)
    return email


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        if settings.starttls:
            smtp.starttls()
        if settings.user:
            smtp.login(settings.user, settings.password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def send_due(session: Session, settings: SmtpSettings, now: datetime, *, site_url: str = "", dry_run: bool = False,
             on_message: Callable[[Message, str], None] | None = None) -> Report:
    """Send what is due and record each outcome, committing after each message (see the module's
    docstring). A dry run lists what would be sent and changes nothing."""
    report = Report()
    messages = due_messages(session, now, site_url)
    if dry_run:
        report.pending = messages
        for message in messages:
            if on_message:
                on_message(message, "would send")
        return report
    if not messages:
        return report
    try:
        smtp: smtplib.SMTP | None = _connect(settings)
        connect_error = ""
    except smtplib.SMTPException as exc:  # it answered, and refused (TLS, sign-in)
        smtp, connect_error = None, f"{settings.host}:{settings.port} refused: {type(exc).__name__}: {exc}"
    except OSError as exc:
        smtp, connect_error = None, f"cannot reach {settings.host}:{settings.port}: {exc}"
    try:
        for message in messages:
            error = connect_error
            if smtp is not None:
                try:
                    refused = smtp.send_message(compose(message, settings.sender))
                    error = f"refused: {refused}" if refused else ""
                except (OSError, smtplib.SMTPException) as exc:
                    error = f"{type(exc).__name__}: {exc}"
            _record(session, message, error)
            session.commit()
            if error:
                report.failed.append((message, error))
            else:
                report.sent.append(message)
            if on_message:
                on_message(message, f"failed ({error})" if error else "sent")
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
    return report


def _record(session: Session, message: Message, error: str) -> None:
    record = message.record
    if record is None:
        record = SentNotification(team_id=message.team.id, kind=message.kind, cycle=message.cycle,
                                  recipient=message.recipient, subject=message.subject, status="failed", attempts=0)
        session.add(record)
        message.record = record
    record.attempts += 1
    record.subject = message.subject
    if error:
        record.status, record.last_error = "failed", error[:2000]
    else:
        record.status, record.last_error, record.sent_at = "sent", None, utcnow()
    session.flush()


def failed_notifications(session: Session, now: datetime) -> list[SentNotification]:
    """Failed sends the next run will retry, for the admin page (a failure about a page reviewed or
    an owner removed since is moot: it is not listed, and not retried)."""
    return [m.record for m in due_messages(session, now) if m.record is not None]
