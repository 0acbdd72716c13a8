"""Messages per second handled by one `directory mail-responder` process.

Starts the real command on a temporary SQLite database (or `--database-url`) with `--teams` teams,
a local SMTP sink as its relay, and sends `--messages` messages from `--clients` connections:

* answered: every message from a new sender to a team (each queued, rendered and sent);
* suppressed: `Precedence: bulk` mail (read, decided, counted, nothing queued).

Figures: accepted per second (the rate the mail server sees: each "250" means the reply is in the
database), answered per second end to end (until the last reply reached the relay), and the
responder's CPU time per message (which the machine's other load hardly changes). The
baseline is the same clients against a bare aiosmtpd server that only says "250" (measured in the
same run), so the ratio is the responder's own cost.

    python benchmarks/bench_mail.py [--messages 1000] [--clients 4] [--teams 50]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """The relay: counts what it is given."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.count += 1
        return "250 OK"


def message(sender: str, to: str, bulk: bool) -> bytes:
    extra = "Precedence: bulk\r\n" if bulk else ""
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: Help please\r\nMessage-ID: <{uuid.uuid4().hex}@bench>\r\n"
            f"{extra}\r\n" + "Hello, my laptop will not start.\r\n" * 40).encode()


def blast(port: int, jobs: list[tuple[str, str, bytes]], clients: int) -> float:
    """Send every job over `clients` persistent connections; seconds taken."""
    chunks = [jobs[i::clients] for i in range(clients)]
    errors: list[BaseException] = []

    def run(chunk: list[tuple[str, str, bytes]]) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
                for sender, to, data in chunk:
                    smtp.sendmail(sender, [to], data)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in chunks]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started


def make_jobs(n: int, addresses: list[str], bulk: bool) -> list[tuple[str, str, bytes]]:
    jobs = []
    for i in range(n):
        sender = f"person{i}-{uuid.uuid4().hex[:6]}@staff.example.com"
        to = addresses[i % len(addresses)]
        jobs.append((sender, to, message(sender, to, bulk)))
    return jobs


def setup_database(instance: Path, url: str, teams: int) -> list[str]:
    os.environ.update({"DIRECTORY_INSTANCE": str(instance), "DATABASE_URL": url, "SECRET_KEY": "bench"})
    from directory import create_app, services
    from directory.db import get_db, get_session, upgrade
    from directory.schemas import load_team

    app = create_app({"INDEX_DIR": str(instance / "index")})
    addresses = []
    with app.app_context():
        upgrade(get_db().engine)
        session = get_session()
        actor = services.Actor(name="bench", is_admin=True)
        for i in range(teams):
            address = f"team{i}@example.com"
            services.create_team(session, load_team({
                "name": f"Team {i}", "slug": f"team-{i}", "timezone": "Europe/London",
                "hours": {"weekly": {d: [["09:00", "17:30"]] for d in ("mon", "tue", "wed", "thu", "fri")}},
                "response_time": {"value": 4, "unit": "business_hours"},
                "contacts": [{"kind": "email", "value": address}],
                "services": [{"name": "Laptops", "turnaround": {"value": 2, "unit": "business_days"}}],
            }), actor)
            addresses.append(address)
        session.commit()
        get_db().engine.dispose()
    return addresses


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux /proc): a figure other load hardly moves."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit("the responder exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the responder did not listen")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--teams", type=int, default=50)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    args = parser.parse_args()

    instance = Path(tempfile.mkdtemp(prefix="bench-mail-"))
    sink = Sink()
    relay = Controller(sink, hostname="127.0.0.1", port=free_port())
    relay.start()
    bare = Controller(Sink(), hostname="127.0.0.1", port=free_port())
    bare.start()
    process = None
    try:
        url = args.database_url or f"sqlite:///{instance / 'directory.sqlite3'}"
        addresses = setup_database(instance, url, args.teams)
        baseline = blast(bare.port, make_jobs(args.messages, addresses, False), args.clients)

        port = free_port()
        env = {**os.environ, "MAIL_RESPONDER_RETRY_SECONDS": "1", "SITE_URL": "https://directory.example"}
        log = (instance / "responder.log").open("wb")
        process = subprocess.Popen([str(BIN / "directory"), "mail-responder", "--listen", f"127.0.0.1:{port}",
                                    "--relay", f"127.0.0.1:{relay.port}"], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        wait_listening(port, process)
        blast(port, make_jobs(20, addresses, False), 1)  # warm-up: imports, connections, renders
        while sink.count < 20:
            time.sleep(0.05)

        jobs = make_jobs(args.messages, addresses, False)
        cpu = cpu_seconds(process.pid)
        started = time.perf_counter()
        accepted = blast(port, jobs, args.clients)
        while sink.count < 20 + args.messages:
            time.sleep(0.01)
            if time.perf_counter() - started > 600:
                raise SystemExit(f"only {sink.count - 20} of {args.messages} replies arrived")
        answered = time.perf_counter() - started
        answered_cpu = cpu_seconds(process.pid) - cpu

        cpu = cpu_seconds(process.pid)
        suppressed = blast(port, make_jobs(args.messages, addresses, True), args.clients)
        suppressed_cpu = cpu_seconds(process.pid) - cpu
        time.sleep(0.5)
        extra = sink.count - 20 - args.messages

        n = args.messages
        backend = url.split(":", 1)[0]
        print(f"one responder process, {backend}, {args.teams} teams, {n} messages over {args.clients} connections")
        print(f"  bare aiosmtpd (baseline)        {n / baseline:8.0f} msg/s accepted")
        print(f"  answered: accepted              {n / accepted:8.0f} msg/s  ({baseline / accepted:.2f}x the baseline)")
        print(f"  answered: end to end (sent)     {n / answered:8.0f} msg/s  (last reply {answered:.1f} s after the first)")
        print(f"  answered: responder CPU         {answered_cpu / n * 1000:8.1f} ms per message (received, queued, sent)")
        print(f"  suppressed (Precedence: bulk)   {n / suppressed:8.0f} msg/s accepted")
        print(f"  suppressed: responder CPU       {suppressed_cpu / n * 1000:8.1f} ms per message")
        print(f"  machine load average            {os.getloadavg()[0]:8.1f} (figures above are for a machine this busy)")
        print(f"  replies to suppressed mail      {extra:8d}")
    finally:
        if process is not None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        relay.stop()
        bare.stop()
        shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    main()
