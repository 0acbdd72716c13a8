"""`directory mail-responder`: the responder as a long-running command."""

from __future__ import annotations

import logging
import os

import click
from flask import current_app
from flask.cli import with_appcontext

from directory import holiday_calendars
from directory.db import get_db, is_initialised
from directory.mail.responder import Responder, Settings, parse_host_port, serve

ENVIRONMENT = ("MAIL_FROM", "MAIL_RESPONDER_PERIOD_DAYS", "MAIL_RESPONDER_RETRY_SECONDS",
               "MAIL_RESPONDER_GIVE_UP_HOURS", "MAIL_RESPONDER_KEEP_DAYS")


def _host_port(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, int]:
    try:
        return parse_host_port(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("mail-responder")
@click.option("--listen", default="127.0.0.1:2525", show_default=True, callback=_host_port,
              help="HOST:PORT to receive copies of team mail on")
@click.option("--relay", default="127.0.0.1:25", show_default=True, callback=_host_port,
              help="HOST:PORT of the SMTP server that sends the replies")
@with_appcontext
def mail_responder(listen: tuple[str, int], relay: tuple[str, int]) -> None:
    """Answer mail to team addresses with the team's auto-reply (CONTRACT §5), until stopped.

    Never answers automatic, list or bulk mail, and one sender at most once per period and team
    (MAIL_RESPONDER_PERIOD_DAYS, default 1). See docs/mail.md.

    \f
    Flask keeps one app context pushed for this whole command; the responder uses none of it
    but the engine: each message gets its own database session.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    database = get_db()
    if not is_initialised(database.engine):
        raise click.ClickException("the database has no schema yet: run `directory init` first")
    config = {name: os.environ.get(name) for name in ENVIRONMENT}
    config.update({k: v for k, v in current_app.config.items() if k in ENVIRONMENT or k == "SITE_URL"})
    settings = Settings.from_config(config)
    if not settings.site_url:
        logging.getLogger("directory.mail").warning("SITE_URL is not set: replies link to team pages by path only")
    assert database.sessionmaker is not None
    holiday_calendars.serve_threads(current_app)  # organisation holidays close teams in these replies too
    serve(Responder(database.sessionmaker, settings), listen, relay)
