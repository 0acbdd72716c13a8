"""The pages people use: search, team pages, editing, history and administration.

Server-rendered from `templates/`, enhanced by `static/js/directory.js`; every page works without
JavaScript. Views validate with `directory.schemas.load_team` and write through `directory.services`, like
every other writer.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, redirect, request, url_for
from flask_login import current_user

bp = Blueprint("web", __name__)

# Endpoints reachable without signing in when DIRECTORY_REQUIRE_LOGIN is set.
OPEN_ENDPOINTS = {"web.login", "web.logout", "static"}


def init_app(app: Flask) -> None:
    from directory import vocabulary
    from directory.web import admin, editing, search_insights, views  # noqa: F401
    from directory.web.forms import field_id
    from directory.web.markdown import render_markdown

    app.register_blueprint(bp)
    from directory.web import feedback as feedback_pages

    app.register_blueprint(feedback_pages.bp)  # what colleagues say: its own blueprint
    from directory.web import recognition as recognition_pages

    recognition_pages.init_app(app)  # surveys, kudos and recognition: their own blueprint
    app.before_request(_require_login)
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["long_date"] = long_date
    app.jinja_env.filters["short_date"] = short_date
    app.jinja_env.globals["nav_active"] = nav_active
    app.jinja_env.globals["field_id"] = field_id
    app.jinja_env.globals["vocabulary"] = vocabulary  # each closed list with its wording, for any template
    app.context_processor(_template_context)


def _require_login() -> Any:
    """With DIRECTORY_REQUIRE_LOGIN, every page but sign-in and static files needs a signed-in reader.

    The API answers 401 itself (its own guard), so only pages are redirected here.
    """
    if not current_app.config.get("DIRECTORY_REQUIRE_LOGIN"):
        return None
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if request.path.startswith("/api/") and request.endpoint not in {"api_docs", "api_redoc"}:
        return None
    from directory import auth

    if auth.may_read():
        return None
    return redirect(url_for("web.login", next=request.full_path.rstrip("?")))


def _template_context() -> dict[str, Any]:
    from directory import auth

    try:
        actor = auth.current_actor()
    except Exception:  # an error page must render even when who-is-asking cannot be worked out
        actor = None
    return {
        "actor": actor,
        "user": current_user if current_user.is_authenticated else None,
        "auth_mode": current_app.config.get("DIRECTORY_AUTH", "local"),
    }


def nav_active(*endpoints: str) -> str:
    """aria-current for the navigation link of the page being shown."""
    return "page" if request.endpoint in endpoints else "false"


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths are followed after sign-in (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _as_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def long_date(value: Any) -> str:
    """'Sunday 1 November 2026'."""
    d = _as_date(value)
    if d is None:
        return str(value or "")
    return f"{WEEKDAYS[d.weekday()]} {d.day} {MONTHS[d.month - 1]} {d.year}"


def short_date(value: Any) -> str:
    """'1 Nov 2026'."""
    d = _as_date(value)
    if d is None:
        return str(value or "")
    return f"{d.day} {MONTHS[d.month - 1][:3]} {d.year}"


def utcnow() -> datetime:
    return datetime.now(UTC)
