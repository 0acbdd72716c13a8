"""directory.jobs: the periodic commands for cron (`notify`, `check-links`, `purge-search-log`): their
options, their refusals and what they print; the work itself is tested with its own modules."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from directory.models import SearchEvent
from tests.test_search_learning import choose, person, team_id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_jobs_are_commands_of_the_app(runner: Any) -> None:
    listed = runner.invoke(args=["--help"]).output
    for name in ("notify", "check-links", "purge-search-log"):
        assert name in listed, name


def test_notify_refuses_to_run_without_a_mail_server(runner: Any, app: Flask) -> None:
    app.config.update(SMTP_HOST="", SMTP_FROM="")
    result = runner.invoke(args=["notify"])
    assert result.exit_code != 0
    assert "SMTP_HOST is not set" in result.output


def test_notify_names_the_one_setting_missing(runner: Any, app: Flask) -> None:
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_FROM="")
    result = runner.invoke(args=["notify"])
    assert result.exit_code != 0
    assert "SMTP_FROM is not set" in result.output and "SMTP_HOST" not in result.output


def test_a_dry_run_needs_no_mail_server(runner: Any, app: Flask) -> None:
    app.config.update(SMTP_HOST="", SMTP_FROM="")
    result = runner.invoke(args=["notify", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dry run: 0 message(s) would be sent; nothing sent or recorded" in result.output


def test_purge_command_deletes_old_searches(app: Any, session: Any, make_team: Any) -> None:
    make_team()
    payroll = team_id(session, "payroll")
    now = datetime.now(UTC)
    choose(session, person(1), "payslip", payroll, now - timedelta(days=10))
    choose(session, person(2), "payslip", payroll, now - timedelta(hours=1))
    answer = app.test_cli_runner().invoke(args=["purge-search-log", "--days", "7"])
    assert answer.exit_code == 0, answer.output
    assert "1 search(es), 1 choice(s)" in answer.output
    session.expire_all()
    assert set(session.scalars(select(SearchEvent.searcher))) == {person(2)}
    bad = app.test_cli_runner().invoke(args=["purge-search-log", "--days", "0"])
    assert bad.exit_code != 0 and "--days" in bad.output


def test_purge_keeps_the_configured_number_of_days_by_default(app: Any, session: Any, make_team: Any) -> None:
    make_team()
    payroll = team_id(session, "payroll")
    now = datetime.now(UTC)
    choose(session, person(1), "payslip", payroll, now - timedelta(days=6))
    choose(session, person(2), "payslip", payroll, now - timedelta(days=4))
    app.config["SEARCH_LOG_RETENTION_DAYS"] = 5
    answer = app.test_cli_runner().invoke(args=["purge-search-log"])
    assert answer.exit_code == 0, answer.output
    assert "1 search(es), 1 choice(s)" in answer.output and "older than 5 days are gone" in answer.output
    session.expire_all()
    assert set(session.scalars(select(SearchEvent.searcher))) == {person(2)}


@pytest.mark.parametrize(("args", "option"), [
    (["--concurrency", "0"], "--concurrency"), (["--concurrency", "65"], "--concurrency"),
    (["--timeout", "0"], "--timeout"), (["--timeout", "soon"], "--timeout"),
])
def test_check_links_refuses_options_out_of_range_naming_them(runner: Any, args: list[str], option: str) -> None:
    result = runner.invoke(args=["check-links", *args])
    assert result.exit_code == 2
    assert option in result.output


def test_check_links_lists_each_broken_link_and_counts(runner: Any, make_team: Any) -> None:
    url = f"http://127.0.0.1:{free_port()}/form"  # nothing listens there
    make_team(contacts=[], booking={"method": "form", "url": url, "instructions": None}, services=[])
    result = runner.invoke(args=["check-links", "--timeout", "2"])
    assert result.exit_code == 0, result.output
    assert f"broken: {url} (" in result.output
    assert result.output.strip().endswith("1 link(s) checked, 1 broken")


def test_check_links_with_nothing_to_check(runner: Any) -> None:
    result = runner.invoke(args=["check-links"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "0 link(s) checked, 0 broken"
