"""`directory check-links` against a real local HTTP server: 200 is fine, 404 and silence are
flagged, concurrency is bounded, and a page view never fetches a link."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from directory import links, reviews
from directory.db import get_session
from directory.models import LinkCheck, Team


class Site:
    """What the local server saw: every path asked for, and the most requests it held at once."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.inflight = 0
        self.max_inflight = 0
        self.lock = threading.Lock()
        self.release = threading.Event()


@pytest.fixture
def site() -> Iterator[tuple[Site, str]]:
    seen = Site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with seen.lock:
                seen.paths.append(self.path)
            if self.path.startswith("/hang"):
                seen.release.wait(10)  # never answers while the checker waits
                return
            if self.path.startswith("/slow"):
                with seen.lock:
                    seen.inflight += 1
                    seen.max_inflight = max(seen.max_inflight, seen.inflight)
                time.sleep(0.3)
                with seen.lock:
                    seen.inflight -= 1
            status = 404 if self.path.startswith("/missing") else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield seen, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        seen.release.set()
        server.shutdown()
        server.server_close()


def team_with_links(make_team: Callable[..., Any], base: str, **overrides: Any) -> None:
    fields: dict[str, Any] = {
        "slug": "payroll", "name": "Payroll",
        "booking": {"method": "form", "url": f"{base}/ok"},
        "contacts": [{"kind": "email", "value": "payroll@example.com"},
                     {"kind": "url", "value": f"{base}/missing", "label": "Wiki"}],
        "services": [{"name": "Payslips", "booking": {"method": "calendar", "url": f"{base}/hang"}}],
    }
    make_team(**{**fields, **overrides})


def stored(app: Flask) -> dict[str, LinkCheck]:
    with app.app_context():
        return {row.url.rsplit("/", 1)[1]: row for row in get_session().scalars(select(LinkCheck))}


def test_ok_missing_and_silent_links(app: Flask, make_team: Callable[..., Any], site: tuple[Site, str]) -> None:
    seen, base = site
    team_with_links(make_team, base)
    started = time.monotonic()
    with app.app_context():
        session = get_session()
        outcomes = links.check_links(session, timeout=0.5, concurrency=4)
        session.commit()
    assert time.monotonic() - started < 5  # the silent server cost its timeout, not its 10 s
    assert outcomes[f"{base}/ok"] == links.Outcome(True, 200, None)
    assert outcomes[f"{base}/missing"] == links.Outcome(False, 404, "HTTP 404")
    assert outcomes[f"{base}/hang"] == links.Outcome(False, None, "no answer within 0.5 s")
    rows = stored(app)
    assert (rows["ok"].ok, rows["missing"].ok, rows["hang"].ok) == (True, False, False)
    assert (rows["ok"].place, rows["missing"].place, rows["hang"].place) == (
        "booking", "contact Wiki", "booking of Payslips")
    assert sorted(seen.paths) == ["/hang", "/missing", "/ok"]

    with app.app_context():
        (attention,) = reviews.needing_attention(get_session())
    assert attention.team.slug == "payroll"
    assert sorted(row.url for row in attention.broken) == [f"{base}/hang", f"{base}/missing"]


def test_cli_reports_and_forgets_links_no_longer_listed(app: Flask, runner: Any, make_team: Callable[..., Any],
                                                       site: tuple[Site, str]) -> None:
    _seen, base = site
    team_with_links(make_team, base)
    result = runner.invoke(args=["check-links", "--timeout", "0.5", "--concurrency", "2"])
    assert result.exit_code == 0, result.output
    assert f"broken: {base}/missing (contact Wiki" in result.output
    assert f"broken: {base}/hang (booking of Payslips" in result.output
    assert "3 link(s) checked, 2 broken" in result.output

    with app.app_context():  # the owner fixes the page: the old links drop out of the next check
        from directory import services
        from directory.schemas import load_team
        from tests.conftest import ADMIN

        session = get_session()
        team = session.scalar(select(Team).where(Team.slug == "payroll"))
        data = dict(team.data, contacts=[{"kind": "url", "value": f"{base}/ok2"}], services=[])
        services.update_team(session, team, load_team(data), ADMIN)
        session.commit()
    again = runner.invoke(args=["check-links", "--timeout", "0.5"])
    assert "2 link(s) checked, 0 broken" in again.output
    assert sorted(stored(app)) == ["ok", "ok2"]
    with app.app_context():
        assert reviews.needing_attention(get_session()) == []


def test_concurrency_is_bounded(app: Flask, make_team: Callable[..., Any], site: tuple[Site, str]) -> None:
    seen, base = site
    make_team(slug="payroll", booking={"method": "form", "url": f"{base}/slow/0"},
              contacts=[{"kind": "url", "value": f"{base}/slow/{i}"} for i in range(1, 6)])
    with app.app_context():
        outcomes = links.check_links(get_session(), timeout=5, concurrency=2)
    assert len(outcomes) == 6 and all(o.ok for o in outcomes.values())
    assert seen.max_inflight == 2


def test_a_page_view_never_fetches_a_link(app: Flask, client: FlaskClient, make_team: Callable[..., Any],
                                          site: tuple[Site, str]) -> None:
    seen, base = site
    team_with_links(make_team, base, booking={"method": "form", "url": f"{base}/hang"})
    started = time.monotonic()
    for path in ("/teams/payroll", "/search?q=payroll", "/", "/teams"):
        assert client.get(path).status_code == 200
    assert client.get("/api/v1/teams/payroll").status_code == 200
    assert time.monotonic() - started < 5
    assert seen.paths == []
