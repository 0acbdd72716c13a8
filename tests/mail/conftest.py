"""A real responder (the `directory mail-responder` command, in a subprocess) on loopback, with a
local SMTP sink (aiosmtpd's Controller) as its relay, over one database shared with the tests."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

from directory import services
from directory.db import get_session
from directory.mail import store
from tests.conftest import ADMIN, team_doc
from tests.conftest import make_app as make_test_app

ROOT = Path(__file__).resolve().parents[2]
DIRECTORY = Path(sys.executable).parent / "directory"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> Message:
        return message_from_bytes(self.data, policy=default_policy)


@dataclass
class Sink:
    """The relay: an SMTP server that keeps what it is given (and can be taken down and back)."""

    port: int
    received: list[Delivered] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.changed:
            self.received.append(Delivered(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
            self.changed.notify_all()
        return "250 OK"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[Delivered]:
        with self.changed:
            return [d for d in self.received if address in d.rcpt_tos]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> list[Delivered]:
        deadline = time.monotonic() + timeout
        with self.changed:
            while len([d for d in self.received if address in d.rcpt_tos]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.changed.wait(left)
        return self.to(address)


@dataclass
class MailWorld:
    app: Flask
    sink: Sink
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    other_port: int
    """A second responder process on the same database."""
    pool: list[dict[str, Any]] = field(default_factory=list)

    def send(self, mail_from: str, rcpt_tos: list[str], message: bytes | str, *, port: int | None = None) -> None:
        """Hand a message to the responder as a mail server would; raises unless it is accepted."""
        data = message.encode() if isinstance(message, str) else message
        with smtplib.SMTP("127.0.0.1", port or self.port, timeout=30) as smtp:
            refused = smtp.sendmail(mail_from, rcpt_tos, data)
        assert not refused

    def team(self, **overrides: Any) -> dict[str, Any]:
        """A new team with a unique slug and mailbox (so tests sharing the responder stay apart);
        from the pool made in advance unless it must have something of its own."""
        if not overrides and self.pool:
            return self.pool.pop()
        return self.teams(1, **overrides)[0]

    def teams(self, count: int, **overrides: Any) -> list[dict[str, Any]]:
        """`count` new teams, saved in one transaction (each save updates the search index too)."""
        from directory.schemas import load_team

        made = []
        with self.app.app_context():
            session = get_session()
            for _ in range(count):
                key = uuid.uuid4().hex[:8]
                address = f"team-{key}@example.com"
                doc = team_doc(slug=f"team-{key}", name=f"Team {key}",
                               contacts=[{"kind": "email", "value": address, "label": "Team mailbox"}])
                doc.update(overrides)
                made.append((services.create_team(session, load_team(doc), ADMIN), address))
            session.commit()
            return [{**services.team_document(team), "address": address, "id": team.id} for team, address in made]

    def outbox(self, team_id: int) -> list[Any]:
        with self.app.app_context():
            return store.recent_replies(get_session(), team_id, limit=100)

    def counters(self) -> dict[str, int]:
        with self.app.app_context():
            return store.counters(get_session())

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def spawn_responder(app: Flask, tmp: Path, sink_port: int) -> tuple[subprocess.Popen[bytes], int, Path]:
    """The real command, started (see `wait_listening`)."""
    port = free_port()
    log_path = tmp / f"responder-{port}.log"
    environment = {
        **os.environ,
        "DIRECTORY_INSTANCE": app.instance_path,
        "DATABASE_URL": app.config["DATABASE_URL"],
        "INDEX_DIR": app.config["INDEX_DIR"],
        "SECRET_KEY": "test-secret",
        "SITE_URL": "https://directory.example",
        "MAIL_RESPONDER_RETRY_SECONDS": "0.2",
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(DIRECTORY), "mail-responder", "--listen", f"127.0.0.1:{port}", "--relay", f"127.0.0.1:{sink_port}"],
            cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
    return process, port, log_path


def wait_listening(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the responder exited: {log_path.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the responder did not listen: {log_path.read_text()}")


def stop_responder(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def mail_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = make_test_app(tmp_path_factory.mktemp("mail"), SITE_URL="https://directory.example")
    yield app
    get_db_engine = app.extensions["directory_db"].engine
    get_db_engine.dispose()


@pytest.fixture(scope="module")
def world(mail_app: Flask, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailWorld]:
    """Two responder processes on one database (started together: each takes seconds to start)."""
    sink = Sink(port=free_port())
    sink.start()
    logs = tmp_path_factory.mktemp("logs")
    started = [spawn_responder(mail_app, logs, sink.port) for _ in range(2)]
    try:
        (process, port, log_path), (_other, other_port, _other_log) = started
        world = MailWorld(mail_app, sink, port, process, log_path, other_port)
        world.pool = world.teams(48)  # while the processes start
        for process, port, log_path in started:
            wait_listening(process, port, log_path)
        yield world
    finally:
        for process, _port, _log in started:
            stop_responder(process)
        sink.stop()


def message(sender: str, to: str, subject: str = "Where is my payslip?", *, headers: dict[str, str] | None = None,
            message_id: str | None = None, body: str = "Hello, my payslip is missing.\r\n") -> str:
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}",
             f"Message-ID: {message_id or f'<{uuid.uuid4().hex}@mail.example.com>'}",
             "Date: Tue, 01 Dec 2026 10:00:00 +0000"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return "\r\n".join(lines) + "\r\n\r\n" + body


def unique_sender(name: str = "person") -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}@staff.example.com"


@pytest.fixture
def probe(world: MailWorld) -> Callable[[], None]:
    """Send one message that is answered and wait for its reply: the worker sends in order, so
    anything queued before it would have arrived first."""
    def run() -> None:
        team = world.team()
        sender = unique_sender("probe")
        world.send(sender, [team["address"]], message(sender, team["address"]))
        assert world.sink.wait_for(sender), world.log()

    return run

