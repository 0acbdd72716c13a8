"""The mail responder: accept copies of team mail over SMTP, queue each team's auto-reply in the
database, and send the queue through a relay.

Accepting only reads the headers, decides and queues (one short transaction), so the mail server
that delivers is answered at once; the reply is in the database before it hears "250", and a
database it cannot reach gets "451" (it will try again), so nothing is lost. A worker thread sends
the queue through the relay, retrying with backoff while the relay is down or refuses. Every
message gets a session of its own from the sessionmaker: nothing is shared between messages or
tied to Flask's per-request `g`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import smtplib
import socket
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiosmtpd.smtp import MISSING, SMTP, Envelope
from aiosmtpd.smtp import Session as SMTPSession
from sqlalchemy.orm import Session, sessionmaker

from directory import facts, holiday_calendars, services
from directory.autoreply import render_auto_reply
from directory.contacts import normalize_address
from directory.mail import store
from directory.mail.compose import ReplyEnvelope, reply_body, reply_headers
from directory.mail.rules import (
    MAX_HEADER_BYTES,
    MalformedMessage,
    message_suppression,
    parse_headers,
    recipient_address,
    sender_suppression,
)
from directory.models import Team

__all__ = ["HeaderOnlySMTP", "Relay", "Responder", "Settings", "serve"]

log = logging.getLogger("directory.mail")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Settings:
    """What the responder needs to know besides the database (see `from_config`)."""

    period_days: int = 1
    mail_from: str | None = None
    site_url: str = ""
    retry_seconds: float = 30.0
    max_retry_seconds: float = 3600.0
    give_up_hours: float = 48.0
    permanent_attempts: int = 3
    lease_seconds: float = 120.0
    keep_days: int = 30

    @classmethod
    def from_config(cls, config: Any) -> Settings:
        """From the app's configuration (`MAIL_RESPONDER_*`, `MAIL_FROM`, `SITE_URL`)."""
        def get(name: str, default: Any) -> Any:
            value = config.get(name)
            return default if value in (None, "") else value

        mail_from = get("MAIL_FROM", None)
        return cls(
            period_days=store.default_period_days(config),
            mail_from=normalize_address(mail_from) if mail_from else None,
            site_url=str(get("SITE_URL", "")).rstrip("/"),
            retry_seconds=float(get("MAIL_RESPONDER_RETRY_SECONDS", 30)),
            give_up_hours=float(get("MAIL_RESPONDER_GIVE_UP_HOURS", 48)),
            keep_days=int(get("MAIL_RESPONDER_KEEP_DAYS", 30)),
        )


class Relay:
    """One SMTP connection to the relay, opened when needed and kept while mail flows."""

    def __init__(self, host: str, port: int, timeout: float = 30.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._smtp: smtplib.SMTP | None = None
        self._used = 0.0

    def send(self, recipient: str, message: bytes) -> None:
        """Send with a null return path (RFC 3834 §3.3: nothing bounces back to the responder)."""
        if self._smtp is not None and time.monotonic() - self._used > 20:
            self.close()  # servers drop idle connections; a fresh one costs less than a failed send
        if self._smtp is None:
            self._smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout, local_hostname=socket.getfqdn())
        try:
            self._smtp.sendmail("", [recipient], message)
        except smtplib.SMTPRecipientsRefused:
            self._smtp.rset()
            raise
        except Exception:
            self.close()
            raise
        finally:
            self._used = time.monotonic()

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None


def _permanent(exc: Exception) -> bool:
    """A 5xx refusal: worth a couple more tries (a relay's configuration may be fixed), no more."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    code = getattr(exc, "smtp_code", None)
    return isinstance(code, int) and code >= 500


@dataclass(frozen=True)
class _Team:
    id: int
    version: int
    name: str
    slug: str
    data: dict[str, Any]
    addresses: frozenset[str]


@dataclass
class Responder:
    """Decides, queues and sends; one per process, safe to use from several threads."""

    sessions: sessionmaker[Session]
    settings: Settings = field(default_factory=Settings)
    clock: Callable[[], datetime] = utcnow
    wakeup: threading.Event = field(default_factory=threading.Event)
    _renders: OrderedDict[tuple[int, int, Any, str, datetime], tuple[str, bytes]] = field(default_factory=OrderedDict)
    _teams: dict[int, _Team] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- accepting --------------------------------------------------------------------------

    def accept(self, envelope_sender: str, recipients: list[str], content: bytes,
               arrived_at: datetime | None = None) -> int:
        """Decide about one incoming message and queue its replies; the number queued.

        Commits before returning; raises only when the database fails (the caller then asks the
        sending server to try again later).
        """
        arrived_at = arrived_at or self.clock()
        counts: Counter[str] = Counter(received=1)
        queued = 0
        with self.sessions() as session:
            try:
                incoming = parse_headers(content)
            except MalformedMessage as exc:
                log.warning("skipped a malformed message from <%s> to %s: %s", envelope_sender,
                            ", ".join(recipients)[:300], exc)
                counts["suppressed:malformed"] += 1
                store.bump(session, counts)
                session.commit()
                return 0
            teams = self._teams_for(session, recipients, counts)
            reason = message_suppression(incoming, envelope_sender) if teams else None
            if reason:
                counts[f"suppressed:{reason}"] += 1
                log.info("no reply to <%s> (message %s): %s", envelope_sender, incoming.message_id, reason)
                teams = []
            sender = envelope_sender.strip().strip("<>").strip().lower()
            responder_addresses = {self.settings.mail_from} if self.settings.mail_from else set()
            for address, team in teams:
                why = sender_suppression(sender, team.addresses, responder_addresses)
                if why is None:
                    days = store.period_days(session, team.id, self.settings.period_days)
                    if not store.claim_sender(session, team.id, sender, arrived_at, days):
                        why = "recently_answered"
                if why:
                    counts[f"suppressed:{why}"] += 1
                    continue
                subject, body = self._reply(team, address, arrived_at)
                try:
                    message_id, headers = reply_headers(ReplyEnvelope(
                        team_name=team.name, team_address=address, to=sender, to_name=incoming.display_name(sender),
                        in_reply_to=incoming.message_id, references=tuple(incoming.references),
                        mail_from=self.settings.mail_from), arrived_at)
                except ValueError as exc:  # a name or address that cannot be written in a header
                    log.warning("no reply to <%s> for team %s: %s", sender, team.slug, exc)
                    counts["suppressed:bad_sender"] += 1
                    continue
                store.enqueue(session, team_id=team.id, team_address=address, recipient=sender,
                              subject=subject[:300], message_id=message_id, in_reply_to=incoming.message_id,
                              message=headers + body, received_at=arrived_at)
                counts["queued"] += 1
                queued += 1
            store.bump(session, counts)
            session.commit()
        if queued:
            self.wakeup.set()
        return queued

    def _teams_for(self, session: Session, recipients: list[str], counts: Counter[str]) -> list[tuple[str, _Team]]:
        """(address, team) for each recipient a team answers for; each team once, in team order (so
        that two messages claiming the same sender's memories lock them in one order: no deadlock)."""
        found: dict[int, tuple[str, _Team]] = {}
        for rcpt in recipients:
            address = normalize_address(recipient_address(rcpt))
            head = services.address_owner_head(session.connection(), address) if address else None
            if head is None:
                counts["suppressed:unknown_address"] += 1
                continue
            if head.id not in found:
                team = self._team(session, head.id, head.version)
                if team is not None:
                    found[head.id] = (address, team)
        return [found[team_id] for team_id in sorted(found)]

    def _team(self, session: Session, team_id: int, version: int) -> _Team | None:
        """What a reply needs of a team, loaded once per version (every save bumps it)."""
        with self._lock:
            cached = self._teams.get(team_id)
        if cached is not None and cached.version == version:
            return cached
        row = session.get(Team, team_id)
        if row is None:
            return None
        team = _Team(row.id, row.version, row.name, row.slug, row.data, frozenset(a.address for a in row.addresses))
        with self._lock:
            self._teams[team_id] = team
        return team

    def _reply(self, team: _Team, address: str, arrived_at: datetime) -> tuple[str, bytes]:
        """(subject, the team's part of the message) of its auto-reply for the minute the message
        arrived, worded as the API words it; rendered and encoded once per team version, address
        and minute, however many messages arrive in it."""
        at = arrived_at.astimezone(UTC).replace(second=0, microsecond=0)
        key = (team.id, team.version, holiday_calendars.stamp(), address, at)
        with self._lock:
            cached = self._renders.get(key)
        if cached is not None:
            return cached
        found = facts.team_facts(team.data, at)
        url = f"{self.settings.site_url}/teams/{team.slug}"
        reply = render_auto_reply(facts.reply_facts(team.data, found, url), team.data.get("auto_reply"))
        rendered = (reply.subject, reply_body(reply, team.name, address, self.settings.mail_from))
        with self._lock:
            self._renders[key] = rendered
            while len(self._renders) > 512:
                self._renders.popitem(last=False)
        return rendered

    # --- sending ----------------------------------------------------------------------------

    def deliver_due(self, relay: Relay) -> int:
        """Send every reply that is due now; the number of attempts made.

        A batch is leased in one statement; each reply is marked sent in its own commit right
        after the relay took it, so a crash can repeat at most the one reply being sent.
        """
        with self.sessions() as session:
            items = store.lease(session, store.due_ids(session, self.clock()), self.clock(),
                                self.settings.lease_seconds)
            session.commit()
            for item in items:
                if item.leased_until is None or self.clock() > item.leased_until - self._lease_margin:
                    continue  # a slow relay used up this lease: let it lapse rather than risk a second sender
                try:
                    relay.send(item.recipient, item.message)
                except (smtplib.SMTPException, OSError) as exc:
                    self._failed(session, item, exc)
                else:
                    store.mark_sent(session, item, self.clock())
                    log.info("sent %s to <%s> for team %s", item.message_id, item.recipient, item.team_id)
                session.commit()
        return len(items)

    @property
    def _lease_margin(self) -> timedelta:
        return timedelta(seconds=self.settings.lease_seconds / 2)

    def _failed(self, session: Session, item: Any, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        now = self.clock()
        too_old = now - item.received_at > timedelta(hours=self.settings.give_up_hours)
        if too_old or (_permanent(exc) and item.attempts >= self.settings.permanent_attempts):
            store.mark_failed(session, item, error)
            log.error("gave up on %s to <%s> after %d attempts: %s", item.message_id, item.recipient,
                      item.attempts, error)
            return
        delay = min(self.settings.max_retry_seconds, self.settings.retry_seconds * 2 ** (item.attempts - 1))
        store.mark_retry(session, item, now, error, delay)
        log.warning("relay did not take %s (attempt %d), again in %.1fs: %s", item.message_id, item.attempts,
                    delay, error)

    def run_worker(self, relay: Relay, stop: threading.Event) -> None:
        """Send the queue until `stop` is set; woken at once when a reply is queued here."""
        poll = max(0.05, min(1.0, self.settings.retry_seconds))
        pruned = 0.0
        while not stop.is_set():
            try:
                attempts = self.deliver_due(relay)
                if time.monotonic() - pruned > 3600:
                    with self.sessions() as session:
                        store.prune(session, self.clock(), self.settings.keep_days, self.settings.period_days)
                        session.commit()
                    pruned = time.monotonic()
            except Exception:  # the database may be away for a while; keep trying
                log.exception("mail worker: could not read or update the queue")
                attempts = 0
            if attempts == 0:
                self.wakeup.wait(poll)
                self.wakeup.clear()
        relay.close()


class HeaderOnlySMTP(SMTP):
    """aiosmtpd's SMTP server reading DATA to its end but keeping only the header block.

    A reply needs the headers alone, so the body (of any size) is drained and dropped as it comes,
    and a big message is accepted rather than refused: refusing a copy would bounce mail to the
    person who wrote to the team. Headers past MAX_HEADER_BYTES are dropped too.
    """

    line_length_limit = 10_000  # RFC 5322 allows 998; some mailers write longer header lines

    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        head = bytearray()
        in_headers, continued = True, False
        while self.transport is not None:
            try:
                line, complete = await self._reader.readuntil(b"\r\n"), True
            except asyncio.CancelledError:
                self._writer.close()
                raise
            except asyncio.LimitOverrunError as exc:  # a line longer than the stream's buffer
                line, complete = await self._reader.read(exc.consumed), False
            if complete and not continued and line == b".\r\n":
                break
            if in_headers:
                if continued or not complete or line == b"\r\n" or len(head) + len(line) > MAX_HEADER_BYTES:
                    in_headers = False
                else:
                    head += line[1:] if line.startswith(b".") else line
            continued = not complete
        self.envelope.content = self.envelope.original_content = bytes(head)
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)


class _Handler:
    """aiosmtpd's hooks: every recipient is accepted (mail for no team is ignored, not refused)."""

    def __init__(self, responder: Responder, executor: ThreadPoolExecutor) -> None:
        self.responder, self.executor = responder, executor

    async def handle_DATA(self, server: SMTP, session: SMTPSession, envelope: Envelope) -> str:
        arrived_at = utcnow()
        content = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self.executor, self.responder.accept, envelope.mail_from or "",
                                       list(envelope.rcpt_tos), content, arrived_at)
        except Exception:
            log.exception("could not record a message from <%s>; asked the sender to retry", envelope.mail_from)
            return "451 4.3.0 Temporary failure, please try again later"
        return "250 2.0.0 OK"


def parse_host_port(value: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """`HOST:PORT`, `[v6]:PORT` or `:PORT`."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} is not HOST:PORT")
    return host.strip("[]") or default_host, int(port)


def serve(responder: Responder, listen: tuple[str, int], relay: tuple[str, int],
          ready: Callable[[tuple[str, int]], None] | None = None, stop: threading.Event | None = None) -> None:
    """Receive on `listen` and send through `relay` until SIGTERM/SIGINT (or `stop`, when given)."""
    stop = stop or threading.Event()
    worker = threading.Thread(target=responder.run_worker, args=(Relay(*relay), stop), name="mail-worker",
                              daemon=True)
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="mail-accept")
    hostname = socket.getfqdn()  # once: aiosmtpd would look it up for every connection

    async def main() -> None:
        loop = asyncio.get_running_loop()
        handler = _Handler(responder, executor)
        server = await loop.create_server(
            lambda: HeaderOnlySMTP(handler, data_size_limit=None, enable_SMTPUTF8=True, hostname=hostname,
                                   ident="directory responder", loop=loop),
            host=listen[0], port=listen[1])
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
        worker.start()
        bound = server.sockets[0].getsockname()[:2]
        log.info("mail responder listening on %s:%s, relaying through %s:%s", *bound, *relay)
        if ready is not None:
            ready(bound)
        while not stop.is_set():
            await asyncio.sleep(0.1)
        server.close()
        await server.wait_closed()

    try:
        asyncio.run(main())
    finally:
        stop.set()
        responder.wakeup.set()
        executor.shutdown(wait=True)
        if worker.is_alive():
            worker.join(timeout=30)
