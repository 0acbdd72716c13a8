"""The pages people use: search, team pages, editing, history and administration.

Server-rendered from `templates/`, enhanced by `static/js/directory.js`; every page works without
JavaScript. Views validate with `directory.schemas.load_team` and write through `directory.services`, like
every other writer.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from directory.errors import DirectoryError

bp = Blueprint("web", __name__)

# Endpoints reachable without signing in when DIRECTORY_REQUIRE_LOGIN is set.
OPEN_ENDPOINTS = {"web.login", "web.logout", "static"}

ERROR_TITLES = {
    400: "That request could not be handled",
    401: "Please sign in",
    403: "You may not do that",
    404: "Page not found",
    405: "Not allowed here",
    409: "That clashes with another team",
    412: "Someone else changed this first",
    413: "That was too large",
    422: "Some fields need attention",
    500: "Something went wrong on our side",
}
DEFAULT_MESSAGES = {
    400: "The request could not be understood.",
    404: "There is no page at this address.",
    405: "This page cannot be used that way.",
    413: "What was sent is larger than the directory accepts.",
    500: "The page could not be shown because of an unexpected error.",
}
ERROR_HINTS = {
    400: "If you were submitting a form, reload the page and try again.",
    403: "Only a team's owners and the directory's administrators can change it.",
    404: "The page may have moved, or the team may have been archived. Try searching for it.",
    500: "The problem has been logged. Please try again in a minute.",
}


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


def render_error(error: HTTPException | DirectoryError) -> Any:
    status = error.code if isinstance(error, HTTPException) else error.status
    status = status or 500
    message = error.description if isinstance(error, HTTPException) else error.message
    if isinstance(error, HTTPException) and message == type(error).description:
        message = DEFAULT_MESSAGES.get(status, message)  # werkzeug's generic wording, said plainly
    if status == 400 and getattr(error, "name", "") == "Bad Request" and "CSRF" in (message or ""):
        message = ("The form could not be accepted because its security token was missing or had expired. "
                   "Nothing was saved. Go back, reload the page and try again.")
    return render_template(
        "error.html",
        status=status,
        title=ERROR_TITLES.get(status, "That did not work"),
        message=message,
        hint=ERROR_HINTS.get(status),
    ), status


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
