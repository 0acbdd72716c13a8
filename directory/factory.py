"""The app factory: `create_app` builds the Flask app, its extensions, blueprints and error pages."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, has_app_context

from directory.config import ROOT, from_environment


class DirectoryFlask(Flask):
    """Flask whose every request gets an application context of its own.

    Flask reuses an application context that is already pushed (by a CLI command, a test, a
    server started from inside one), which would let `g` (the acting user or token, the CSRF
    token, the database session) carry over from one request to the next. Here nothing
    per-request can outlive its request, however the app is served.
    """

    def wsgi_app(self, environ: Any, start_response: Any) -> Any:
        if has_app_context():
            with self.app_context():
                return super().wsgi_app(environ, start_response)
        return super().wsgi_app(environ, start_response)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app; `config` overrides the environment (tests pass their own folders here)."""
    config = dict(config or {})
    instance_path = Path(config.pop("INSTANCE_PATH", None) or os.environ.get("DIRECTORY_INSTANCE") or ROOT / "instance")
    instance_path.mkdir(parents=True, exist_ok=True)
    app = DirectoryFlask(
        "directory",  # the package's name, as before the factory had a module of its own (app.name, its logger)
        instance_path=str(instance_path),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(from_environment(instance_path))
    app.config.update(config)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # documents keep the contract's field order
    if app.config["PROXY_FIX"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    from directory import auth, db, holiday_calendars, search_sync, security

    db.Database().init_app(app)
    auth.init_app(app)
    security.init_app(app)
    search_sync.init_app(app)
    holiday_calendars.init_app(app)

    import api

    api.init_app(app)

    from directory import web

    web.init_app(app)
    _answer_errors(app)

    @app.route("/healthz")
    def healthz() -> dict[str, str]:
        """For load balancers: the process answers (touches neither database nor index).

        `search` is "rebuilding" while this process rebuilds a lost index (searches then answer
        from the database), else "ok"; still a 200, since the app answers. `semantic` is "ok",
        "loading" while missing team vectors are computed, "unavailable" when the model cannot be
        loaded, "off" by SEARCH_SEMANTIC (the last three: search ranks by words alone)."""
        return {"status": "ok", "search": app.extensions["directory_search"].status(),
                "semantic": app.extensions["directory_search"].semantic.status()}

    @app.route("/healthz/mail")
    def healthz_mail() -> dict[str, Any]:
        """For monitoring the mail responder: its counters and queue, two small reads of the
        database (kept apart from /healthz, which touches none)."""
        from datetime import UTC, datetime

        from directory.db import get_session
        from directory.mail import store

        return {"status": "ok", "mail": store.summary(get_session(), datetime.now(UTC))}

    from directory.cli import register

    register(app)
    return app


def _answer_errors(app: Flask) -> None:
    """Every error answers in the language of whoever asked: the API's JSON shape on its paths
    (`api.errors`), an error page in the site's layout everywhere else (`directory.web.errors`).

    Registered here, where both layers are known, so that neither has to know the other.
    """
    from flask import request
    from werkzeug.exceptions import HTTPException

    import api
    from api import errors as api_errors
    from directory.errors import DirectoryError
    from directory.web import errors as page_errors

    def answer(error: HTTPException | DirectoryError) -> Any:
        if request.path.startswith(api.API_PREFIX):
            return api_errors.respond(error)
        return page_errors.respond(error)

    app.register_error_handler(HTTPException, answer)
    app.register_error_handler(DirectoryError, answer)
