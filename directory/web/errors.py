"""Error pages: how the pages answer a refused rule or an HTTP error, in the site's own layout.

The domain's errors carry no HTTP status; `PAGE_STATUS` gives each kind the status its page
answers with, looked up along the exception's class hierarchy, and views that show a refusal
beside a field ask `status_of` for it too. The app factory sends errors on page paths to `respond`.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from directory.errors import Conflict, DirectoryError, Forbidden, Invalid, NotFound, StaleVersion, Throttled
from directory.services import SlugMoved

PAGE_STATUS: dict[type[DirectoryError], int] = {
    DirectoryError: 400,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    StaleVersion: 412,
    Invalid: 422,
    Throttled: 429,
}

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


def status_of(error: DirectoryError) -> int:
    """The status of the nearest kind in the error's class hierarchy."""
    for kind in type(error).__mro__:
        if kind in PAGE_STATUS:
            return PAGE_STATUS[kind]
    raise TypeError(f"{type(error).__name__} is not a DirectoryError")


def respond(error: HTTPException | DirectoryError) -> Any:
    """The answer to any error raised while serving a page."""
    if isinstance(error, SlugMoved):
        return slug_moved(error)
    return render_error(error)


def slug_moved(error: SlugMoved) -> Any:
    """Old links keep working for good: the same page (or sub-page) under the team's current slug.

    301 for page reads; 308 for everything else, so that a form post keeps its method and body.
    """
    view_args = dict(request.view_args or {})
    if request.endpoint is None or view_args.get("slug") != error.old:
        return render_error(error)
    view_args["slug"] = error.slug
    target = url_for(request.endpoint, **view_args)
    if request.query_string:
        target += "?" + request.query_string.decode("latin-1")
    return redirect(target, 301 if request.method in {"GET", "HEAD"} else 308)


def render_error(error: HTTPException | DirectoryError) -> Any:
    status = (error.code if isinstance(error, HTTPException) else status_of(error)) or 500
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
