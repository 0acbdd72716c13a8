"""Periodic jobs for cron or a systemd timer: `directory notify`, `directory check-links` and
`directory purge-search-log`.

Flask pushes the app's context for them (they are registered on `app.cli`); the work itself is in
`directory.notify` and `directory.links`, which take a session like every service.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import with_appcontext

from directory import links, notify, search_learning
from directory.db import get_session


@click.command("notify")
@click.option("--dry-run", is_flag=True, help="print what would be sent; send and record nothing")
@with_appcontext
def notify_command(dry_run: bool) -> None:
    """E-mail owners whose pages came due for review or are overdue (and open-ended notices).

    Safe to run as often as you like: each message is sent once; failed sends are retried by the
    next run. Exit status 1 when a send failed.
    """
    session = get_session()
    settings = notify.SmtpSettings.from_config(current_app.config)
    if not dry_run and (problems := settings.problems()):
        raise click.ClickException("; ".join(problems) + " (the organisation's mail server, see README)")

    def show(message: notify.Message, outcome: str) -> None:
        click.echo(f"{outcome}: {message.kind} {message.team.slug} to {message.recipient}: {message.subject}")

    report = notify.send_due(session, settings, datetime.now(UTC),
                             site_url=current_app.config.get("SITE_URL", ""), dry_run=dry_run, on_message=show)
    if dry_run:
        click.echo(f"dry run: {len(report.pending)} message(s) would be sent; nothing sent or recorded")
        return
    click.echo(f"{len(report.sent)} sent, {len(report.failed)} failed (retried next run)")
    if report.failed:
        raise SystemExit(1)


@click.command("check-links")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=links.DEFAULT_TIMEOUT, show_default=True,
              help="seconds to wait for each URL")
@click.option("--concurrency", type=click.IntRange(min=1, max=64), default=links.DEFAULT_CONCURRENCY,
              show_default=True, help="URLs checked at once")
@with_appcontext
def check_links_command(timeout: float, concurrency: int) -> None:
    """Check every team's booking and contact links; broken ones are listed for administrators."""
    session = get_session()

    def show(link: links.Link, outcome: links.Outcome) -> None:
        if not outcome.ok:
            click.echo(f"broken: {link.url} ({link.place}, team {link.team_id}): {outcome.error}")

    outcomes = links.check_links(session, timeout=timeout, concurrency=concurrency, progress=show)
    session.commit()
    broken = sum(1 for o in outcomes.values() if not o.ok)
    click.echo(f"{len(outcomes)} link(s) checked, {broken} broken")


@click.command("purge-search-log")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="keep this many days of searches (default SEARCH_LOG_RETENTION_DAYS)")
@with_appcontext
def purge_search_log_command(days: int | None) -> None:
    """Delete searches and choices past the retention window, and with them every searcher key.

    What ranking learned (people per query and team per day) is kept. Searching also purges, at
    most hourly; run this daily where searches are rare.
    """
    session = get_session()
    retention = days or int(current_app.config.get("SEARCH_LOG_RETENTION_DAYS", search_learning.RETENTION_DAYS))
    report = search_learning.purge(session, datetime.now(UTC), retention)
    session.commit()
    click.echo(f"{report.events} search(es), {report.choices} choice(s) and {report.aggregates} "
               f"daily count(s) deleted; searches older than {retention} days are gone")
